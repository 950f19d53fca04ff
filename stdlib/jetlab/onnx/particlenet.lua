-- jetlab.onnx.particlenet — ParticleNet (nn.models.particlenet: ParticleNet, -Lite, the
-- seed GNN teacher and student, with or without fusion) as an ONNX graph in the padded
-- form of the experiments' software (weaver-core's ParticleNetTagger export):
--   points (batch, 2, P) f32 raw (eta', phi'), features (batch, C, P) f32 standardised,
--   mask (batch, 1, P) f32 1 for a real constituent, 0 for padding
--   → probabilities (batch, 2)
-- Inside, tensors are channels-last (batch, P, C), as jetlab's (N, C) rows.
-- bn_input is one Mul/Add; features are multiplied by the mask after it and after every
-- block (padding stays 0, as weaver's). kNN per block: squared distances from the
-- coordinates' differences (B, P, P, D) summed over D (jl.knn sums the same differences;
-- a Gram-matrix expansion would reorder near ties), padded points pushed 1e9 away
-- (coordinates + (1 - mask) 1e9), self excluded by 1e30 on the diagonal, TopK(k,
-- smallest; ties to the lower index as jl.knn's). EdgeConv: the first edge layer
-- W [x_i, x_j - x_i] = (W1 - W2) x_i + W2 x_j is two MatMuls on the points, the
-- neighbours' rows GatherND(batch_dims = 1) (B, P, k, C1); every BatchNorm folds into
-- the Linear before it (edge layers, shortcut, fusion); the mean over the k neighbours
-- is ReduceSum times 1/k (as jl.segment_mean; ReduceMean's axes move to an input at
-- opset 18); Relu(mean + shortcut). Global mean over real points: ReduceSum / max(count, 1).
-- For a jet of n constituents with k < n <= P this is jetlab's ragged forward; with n <= k
-- jetlab takes min(k, n - 1) neighbours, while this graph (and weaver) fills the k with
-- padded points (zero features): the scores differ. Jets with n > P are truncated by
-- whoever pads them.
-- Memory: the distance tensor is batch x P x P x D floats per block (D = the block's input
-- channels; 8 MB per jet for ParticleNet's third block at P = 128).

local jl = require "jetlab"
local G = require "jetlab.onnx.graph"

local M = {}

-- (P, P) f32: 1e30 on the diagonal, 0 elsewhere (added to the distances: self is never a neighbour).
local function self_penalty(P)
  local t = {}
  for i = 1, P * P do t[i] = 0 end
  for i = 0, P - 1 do t[i * P + i + 1] = 1e30 end
  return jl.tensor(t):view(P, P)
end

-- (B, P, D) coordinates → (B, P, k) i64 indices of each point's k nearest others.
local function knn(g, coords, shift, k, diag)
  local c = g:op("Add", {coords, shift})
  local diff = g:op("Sub", {g:op("Unsqueeze", {c, g:const("axes", {2})}), g:op("Unsqueeze", {c, g:const("axes", {1})})})
  local d = g:op("ReduceSum", {g:op("Mul", {diff, diff}), g:const("axes", {3})}, {keepdims = 0})   -- (B, P, P)
  local _, idx = g:op("TopK", {g:op("Add", {d, diag}), g:const("k", {k})}, {axis = -1, largest = 0, sorted = 1},
    {g:fresh("topk_values"), g:fresh("topk_indices")})
  return idx
end

-- One nn.EdgeConv block on h (B, P, C) with neighbours idx (B, P, k) → (B, P, C_out) masked.
local function edgeconv(g, b, h, idx, mask)
  local c = b.in_channels
  local w = b.lins[1].weight:detach()                              -- (C1, 2C) = [W1 W2]
  local w1, w2 = w:narrow(2, 1, c), w:narrow(2, c + 1, c)
  local wc, bias = G.fold(w1 - w2, nil, b.bns[1])
  local wn = G.fold(w2, nil, b.bns[1])
  local centre = g:dense(h, wc, bias)                              -- (B, P, C1)
  local nbr_rows = g:dense(h, wn)
  local nbr = g:op("GatherND", {nbr_rows, g:op("Unsqueeze", {idx, g:const("axes", {3})})}, {batch_dims = 1})
  local z = g:op("Relu", {g:op("Add", {g:op("Unsqueeze", {centre, g:const("axes", {2})}), nbr})}) -- (B, P, k, C1)
  for l = 2, #b.widths do
    z = g:op("Relu", {g:dense(z, G.fold(b.lins[l].weight, nil, b.bns[l]))})
  end
  local sum = g:op("ReduceSum", {z, g:const("axes", {2})}, {keepdims = 0})   -- (B, P, C_out)
  local mean = g:op("Mul", {sum, g:const("inv_k", jl.ones(1) / b.k)})
  local shortcut = h
  if b.sc then shortcut = g:dense(h, G.fold(b.sc.weight, nil, b.sc_bn)) end
  return g:op("Mul", {g:op("Relu", {g:op("Add", {mean, shortcut})}), mask})
end

--- particlenet.graph(model, name, points) → a jetlab.onnx.graph builder,
--- {inputs =, points =, k =} | nil, message
function M.graph(model, name, points)
  local P = points
  local C = model.inputs
  for i = 1, #model.blocks._child_names do
    if model.blocks[i].k >= P then
      return nil, string.format("block %d's k = %d needs more than %d points (--points)", i, model.blocks[i].k, P)
    end
  end
  local g = G.new(name)
  local perm = {perm = {0, 2, 1}}
  local pts = g:op("Transpose", {g:input("points", "f32", {"batch", 2, P},
    "(batch, 2, P) raw (eta', phi') of each constituent (padding: 0)")}, perm)
  local x = g:op("Transpose", {g:input("features", "f32", {"batch", C, P},
    "(batch, C, P) standardised constituent features (metadata_props: preprocessing; padding: 0)")}, perm)
  local mask = g:op("Transpose", {g:input("mask", "f32", {"batch", 1, P},
    "(batch, 1, P) 1 for a real constituent, 0 for padding")}, perm)           -- (B, P, 1)
  local far = g:op("Sub", {g:const("one", jl.ones(1)), mask})
  local shift = g:op("Mul", {far, g:const("far", jl.ones(1) * 1e9)})
  local diag = g:const("self", self_penalty(P))
  local scale, offset = G.bn_affine(model.bn_input)
  local h = g:op("Mul", {g:affine(x, scale, offset), mask})
  local outs = {}
  for i = 1, #model.blocks._child_names do
    local block = model.blocks[i]
    local idx = knn(g, i == 1 and pts or h, shift, block.k, diag)
    h = edgeconv(g, block, h, idx, mask)
    outs[i] = h
  end
  if model.fusion then
    local cat = #outs > 1 and g:op("Concat", outs, {axis = 2}) or outs[1]
    h = g:op("Mul", {g:op("Relu", {g:dense(cat, G.fold(model.fusion[1].weight, nil, model.fusion[2]))}), mask})
  end
  local counts = g:op("Max", {g:op("ReduceSum", {mask, g:const("axes", {1})}, {keepdims = 0}),
    g:const("one", jl.ones(1))})                                                   -- (B, 1)
  local pooled = g:op("Div", {g:op("ReduceSum", {h, g:const("axes", {1})}, {keepdims = 0}), counts})
  local head = model.head
  local a = g:op("Relu", {g:linear(pooled, head[1])})
  local logits = g:linear(a, head[4])
  g:op("Softmax", {logits}, {axis = -1}, "probabilities")
  g:output("probabilities", "f32", {"batch", head[4].out_features},
    "(batch, classes) softmax of the logits; class 2 = signal")
  return g, {inputs = C, points = P, k = model.k}
end

return M
