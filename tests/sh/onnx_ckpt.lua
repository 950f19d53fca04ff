-- onnx_ckpt.lua — a checkpoint for test_onnx_export.sh and bench/onnx_latency.sh: MODEL
-- (fcnn_student: 1 x 64 with BatchNorm on the first 20 constituents, flat inputs; or a
-- ParticleNet constructor of nn.models: particlenet_lite, particlenet_student,
-- particlenet_teacher, ..., ragged inputs, fusion when asked) standardised with JETS.h5's
-- statistics (spec.inputs as train.fit records it), every BatchNorm's running statistics
-- and affine set to values that fold into visible changes, and the last Linear scaled up
-- so that the probabilities spread over (0, 1).
--   jetlab tests/sh/onnx_ckpt.lua JETS.h5 OUT.h5 MODEL [fusion]
local jl = require "jetlab"
local nn = require "jetlab.nn"
local ckpt = require "jetlab.ckpt"
local data = require "jetlab.data"

jl.manual_seed(11)
local name, flat = arg[3], arg[3] == "fcnn_student"
local ds = assert(data.open(arg[1]))
local stats = ds:stats{features = {max_constituents = flat and 20 or nil}}
local model, inputs, last
if flat then
  model = nn.models.fcnn_student(20 * 7, {batchnorm = true})
  inputs, last = {kind = "flat", max_constituents = 20}, model[#model._child_names]
else
  model = nn.models[name]{fusion = arg[4] == "fusion"}
  inputs, last = {kind = "ragged"}, model.head[4]
end
inputs.standardize = {mean = stats.mean, std = stats.std}
for _, entry in ipairs(model:named_modules()) do
  local m = entry[2]
  if m.__name == "BatchNorm1d" then
    local c = m.running_mean.shape[1]
    m.running_mean:copy_(jl.randn(c) * 0.2)
    m.running_var:copy_(jl.rand(c) + 0.5)
    m.weight:detach():copy_(jl.rand(c) + 0.5)
    m.bias:detach():copy_(jl.randn(c) * 0.1)
  end
end
last.weight:detach():copy_(last.weight:detach() * 10)
assert(ckpt.save(arg[2], {model = model, spec = {model = model.spec, inputs = inputs}}))
print("onnx_ckpt: wrote " .. arg[2])
