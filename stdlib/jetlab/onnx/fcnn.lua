-- jetlab.onnx.fcnn — the FCNN (nn.models.fcnn: a Sequential of Linear, BatchNorm1d,
-- ReLU, Dropout, an optional leading Flatten) as an ONNX graph:
--   features (batch, inputs) f32 → Gemm (BatchNorm folded in) → Relu → ... → Gemm
--   → Softmax → probabilities (batch, outputs)
-- Dropout is the identity (eval mode); a Flatten model reads the same flattened row.

local G = require "jetlab.onnx.graph"

local M = {}

-- The layers of a Sequential as {linear, bn} groups and ReLU markers, in order.
local function layers(model)
  local out = {}
  for i = 1, #model._child_names do
    local m, kind = model[i], model[i].__name
    if kind == "Linear" then
      out[#out + 1] = {linear = m}
    elseif kind == "BatchNorm1d" then
      local last = out[#out]
      if not (last and last.linear and not last.bn) then return nil, "a BatchNorm1d that follows no Linear" end
      last.bn = m
    elseif kind == "ReLU" then
      out[#out + 1] = {relu = true}
    elseif kind ~= "Dropout" and not (kind == "Flatten" and i == 1) then
      return nil, string.format("layer %d is a %s, which the FCNN export does not know", i, kind)
    end
  end
  return out
end

--- fcnn.graph(model) → a jetlab.onnx.graph builder and {inputs =, outputs =} | nil, message
function M.graph(model, name)
  if model.__name ~= "Sequential" then return nil, "an FCNN is an nn.Sequential, got " .. model.__name end
  local list, why = layers(model)
  if not list then return nil, why end
  local first = list[1] and list[1].linear
  if not first then return nil, "the first layer is not a Linear" end
  local g = G.new(name)
  local h = g:input("features", "f32", {"batch", first.in_features},
    "(batch, inputs) the flattened, standardised constituent features (metadata_props: preprocessing)")
  local outputs
  for _, l in ipairs(list) do
    if l.relu then
      h = g:op("Relu", {h})
    else
      h = g:linear(h, l.linear, l.bn)
      outputs = l.linear.out_features
    end
  end
  g:op("Softmax", {h}, {axis = -1}, "probabilities")
  g:output("probabilities", "f32", {"batch", outputs}, "(batch, classes) softmax of the logits; class 2 = signal")
  return g, {inputs = first.in_features, outputs = outputs}
end

return M
