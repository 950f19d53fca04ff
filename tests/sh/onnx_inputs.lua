-- onnx_inputs.lua — a checkpoint's inputs and jetlab's probabilities on a jets file,
-- as JSON for tests/reference/onnx_check.py (ONNX Runtime on the exported file):
--   jetlab tests/sh/onnx_inputs.lua CKPT.h5 JETS.h5 OUT.json [MAX_JETS]
-- OUT.json: {family = "fcnn" | "lundnet", batches = {{inputs = {name = nested lists},
-- probabilities = (B, 2)}...}} in the graph's input names (jetlab.onnx), indices 0-based.
local jl = require "jetlab"
local ckpt = require "jetlab.ckpt"
local predict = require "jetlab.predict"
local json = require "jetlab.json"
local fs = require "jetlab.fs"

local ckpt_path, jets_path, out, max_jets = arg[1], arg[2], arg[3], tonumber(arg[4] or "512")
local model, state = assert(ckpt.model(ckpt_path))
local inputs = state.spec.inputs
local reader = assert(predict.chunks(jets_path, inputs, {batch = 128, degrade = false}))

-- The ONNX inputs of a LundNet batch: 0-based src/dst, node_jet from the offsets.
local function lund_inputs(b)
  local offsets, node_jet = b.offsets:tolist(), {}
  for j = 1, #offsets - 1 do
    for _ = offsets[j] + 1, offsets[j + 1] do node_jet[#node_jet + 1] = j - 1 end
  end
  return {node_features = b.x:tolist(), edge_src = json.array((b.src - 1):tolist()),
    edge_dst = json.array((b.dst - 1):tolist()), node_jet = node_jet, num_jets = #offsets - 1}
end

local batches, done = {}, 0
while done < max_jets do
  local c = reader.next()
  if not c then break end
  local p = jl.no_grad(function() return model(c.x):softmax(2) end)
  local x = inputs.kind == "lund" and lund_inputs(c.x) or {features = c.x:reshape(c.x.shape[1], -1):tolist()}
  batches[#batches + 1] = {inputs = x, probabilities = p:tolist()}
  done = done + c.n
end
fs.write(out, json.encode({family = inputs.kind == "lund" and "lundnet" or "fcnn", batches = batches}))
print(string.format("onnx_inputs: %d jets in %d batches → %s", done, #batches, out))
