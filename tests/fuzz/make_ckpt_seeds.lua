-- make_ckpt_seeds.lua — writes the checkpoint seeds of corpus/ckpt:
--   build/jetlab tests/fuzz/make_ckpt_seeds.lua tests/fuzz/corpus/ckpt
local ckpt = require "jetlab.ckpt"
local nn = require "jetlab.nn"
local out = arg and arg[1] or "/tmp/ckseed"
jl.manual_seed(3)
local model = nn.Linear(3, 2)
local opt = require("jetlab.optim").Adam(model:parameters(), {lr = 0.01})
local x = jl.randn(4, 3)
model:forward(x):sum():backward()
opt:step()
assert(ckpt.save(out .. "/linear_adam.h5", {model = model, optimizer = opt, epoch = 3,
  config = {name = "fuzz", lr = 0.01, layers = {3, 2}}, extra = {mean = jl.zeros(3), std = jl.ones(3)}}))
assert(ckpt.save(out .. "/model_only.h5", {model = {w = jl.arange(6):view(2, 3)}}))
assert(jl.h5tensors.save(out .. "/dtypes.h5", {
  {"/a/f32", jl.randn(2, 2)}, {"/a/i32", jl.from({1, 2}, {dtype = "i32"})},
  {"/b/i64", jl.from({{1}, {2}}, {dtype = "i64"})}, {"/b/u8", jl.from({1, 0, 1}, {dtype = "u8"})},
  {"/scalar", jl.from(5)}, {"/empty", jl.zeros(0, 3)},
}, {{"/", "format", "jetlab-checkpoint"}, {"/a", "note", "x"}, {"/b/i64", "n", 2}}))
print("ok")
