-- onnx_inputs.lua — a checkpoint's inputs and jetlab's probabilities on a jets file,
-- as JSON for tests/reference/onnx_check.py (ONNX Runtime on the exported file);
-- the file and its options: jetlab.onnx.inputs.
--   jetlab tests/sh/onnx_inputs.lua CKPT.h5 JETS.h5 OUT.json [MAX_JETS [POINTS [BATCH]]]
local inputs = require "jetlab.onnx.inputs"

local out = arg[3]
local r = assert(inputs.write(arg[1], arg[2], out, {max_jets = tonumber(arg[4]),
  points = math.tointeger(tonumber(arg[5])), batch = math.tointeger(tonumber(arg[6]))}))
print(string.format("onnx_inputs: %d jets (%d left out) in %d batches → %s", r.jets, r.skipped, r.batches, out))
