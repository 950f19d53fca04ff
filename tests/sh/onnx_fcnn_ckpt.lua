-- onnx_fcnn_ckpt.lua — an FCNN checkpoint for test_onnx_export.sh: the student
-- (1 x 64, BatchNorm) on the first 20 constituents of JETS.h5, standardised with the
-- file's statistics (spec.inputs as train.fit records it), with its BatchNorm
-- running statistics set to values that fold into visible changes.
--   jetlab tests/sh/onnx_fcnn_ckpt.lua JETS.h5 OUT.h5
local jl = require "jetlab"
local nn = require "jetlab.nn"
local ckpt = require "jetlab.ckpt"
local data = require "jetlab.data"

jl.manual_seed(7)
local ds = assert(data.open(arg[1]))
local stats = ds:stats{features = {max_constituents = 20}}
local model = nn.models.fcnn_student(20 * 7, {batchnorm = true})
local bn = model[2]
bn.running_mean:copy_(jl.randn(64) * 0.2)
bn.running_var:copy_(jl.rand(64) + 0.5)
bn.weight:detach():copy_(jl.rand(64) + 0.5)
bn.bias:detach():copy_(jl.randn(64) * 0.1)
local inputs = {kind = "flat", max_constituents = 20, standardize = {mean = stats.mean, std = stats.std}}
assert(ckpt.save(arg[2], {model = model, spec = {model = model.spec, inputs = inputs}}))
print("onnx_fcnn_ckpt: wrote " .. arg[2])
