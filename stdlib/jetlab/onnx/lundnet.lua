-- jetlab.onnx.lundnet — the published LundNet (nn.models.lundnet, variant
-- "published": nn.GraphEdgeConv blocks) as an ONNX graph on a batch of Lund graphs:
--   node_features (nodes, F) f32, edge_src / edge_dst (edges) i64 0-based node rows,
--   node_jet (nodes) i64 0-based jet of each node, num_jets () i64
--   → probabilities (jets, 2)
-- Per block: the first edge layer theta (x_dst - x_src) + phi (x_src), with its
-- BatchNorm folded in, is two Gemms on the nodes, Gathered at dst and src and added
-- (E, C1); later layers are Gemms on the edges (BatchNorm folded); the mean over a
-- node's incoming edges is ScatterND(reduction = add) divided by max(in-degree, 1);
-- shortcut Gemm (sc_bn folded) or the identity; Relu(h + shortcut). The fusion's
-- BatchNorm (after its Relu) folds into the head's first Linear through the mean
-- over each jet's nodes (ScatterND add / node counts). Dropout is the identity.

local jl = require "jetlab"
local G = require "jetlab.onnx.graph"

local M = {}

-- A (rows, width) f32 table filled with value, rows a (1) i64 value.
local function filled(g, rows, width, value)
  local shape = g:op("Concat", {rows, g:const("width", {width})}, {axis = 0})
  return g:op("Expand", {g:const("fill", jl.zeros(1, 1) + value), shape})
end

-- The sum of the rows of values (n, C) sent to rows index (n, 1) of a (rows, C) table.
local function scatter_sum(g, values, index, rows, width)
  return g:op("ScatterND", {filled(g, rows, width, 0), index, values}, {reduction = "add"})
end

-- 1 / max(count, 1) (rows, 1): how many of the n entries of index (n, 1) name each row.
local function inverse_counts(g, index, n, rows)
  local counts = scatter_sum(g, filled(g, n, 1, 1), index, rows, 1)
  return g:op("Reciprocal", {g:op("Max", {counts, g:const("one", jl.ones(1))})})
end

-- One GraphEdgeConv block on h (N, C); graph: {src, dst (E) i64, dst_index (E, 1), inv_deg (N, 1), nodes}.
local function block(g, b, h, graph)
  local wt, bt = G.fold(b.theta.weight, nil, b.bns[1])           -- BN(theta x_dst + (phi - theta) x_src)
  local wd = G.fold(b.phi.weight - b.theta.weight, nil, b.bns[1]) -- its shift is bt's, added once
  local at_dst = g:op("Gemm", {h, g:const("theta", wt), g:const("bias", bt)}, {transB = 1})
  local at_src = g:op("Gemm", {h, g:const("phi_minus_theta", wd)}, {transB = 1})
  local z = g:op("Add", {g:op("Gather", {at_dst, graph.dst}, {axis = 0}), g:op("Gather", {at_src, graph.src}, {axis = 0})})
  z = g:op("Relu", {z})
  for l = 2, #b.widths do
    z = g:op("Relu", {g:linear(z, b.fcs[l - 1], b.bns[l])})
  end
  local sum = scatter_sum(g, z, graph.dst_index, graph.nodes, b.out_channels)
  local mean = g:op("Mul", {sum, graph.inv_deg})
  local shortcut = b.sc and g:linear(h, b.sc, b.sc_bn) or h
  return g:op("Relu", {g:op("Add", {mean, shortcut})})
end

--- lundnet.graph(model, name) → a jetlab.onnx.graph builder, {features =} | nil, message
function M.graph(model, name)
  if model.variant ~= "published" then
    return nil, string.format("LundNet variant '%s' has no ONNX form (the published variant has)", model.variant)
  end
  local F = model.features
  local g = G.new(name)
  local x = g:input("node_features", "f32", {"nodes", F},
    "(nodes, F) Lund-plane node features, jl.lund.graphs rows (metadata_props: node_features)")
  local src = g:input("edge_src", "i64", {"edges"}, "(edges) 0-based source node row of each edge")
  local dst = g:input("edge_dst", "i64", {"edges"}, "(edges) 0-based destination node row of each edge")
  local node_jet = g:input("node_jet", "i64", {"nodes"}, "(nodes) 0-based jet of each node")
  local num_jets = g:input("num_jets", "i64", {}, "() the number of jets (rows of probabilities)")
  local nodes = g:op("Slice", {g:op("Shape", {x}), g:const("start", {0}), g:const("end", {1})})
  local dst_index = g:op("Unsqueeze", {dst, g:const("axes", {1})})
  local edges = g:op("Shape", {dst})
  local graph = {src = src, dst = dst, dst_index = dst_index, nodes = nodes}
  graph.inv_deg = inverse_counts(g, dst_index, edges, nodes)
  local scale, shift = G.bn_affine(model.bn_input)
  local h = g:affine(x, scale, shift)
  local outs = {}
  for i = 1, #model.blocks._child_names do
    h = block(g, model.blocks[i], h, graph)
    outs[i] = h
  end
  local cat = g:op("Concat", outs, {axis = 1})
  local fusion, head = model.fusion, model.head
  local fused = g:op("Relu", {g:linear(cat, fusion[1])})
  local jets = g:op("Reshape", {num_jets, g:const("shape", {1})})
  local jet_index = g:op("Unsqueeze", {node_jet, g:const("axes", {1})})
  local pooled = g:op("Mul", {scatter_sum(g, fused, jet_index, jets, fusion[1].out_features),
    inverse_counts(g, jet_index, nodes, jets)})
  -- head[1] (W, b) after BN(u) = s u + t: W diag(s) u + (W t + b)
  local s, t = G.bn_affine(fusion[3])
  local w1 = head[1].weight:detach()
  local b1 = head[1].bias:detach() + w1:matmul(t:unsqueeze(2)):squeeze(2)
  local a = g:op("Relu", {g:op("Gemm", {pooled, g:const("weight", w1 * s:unsqueeze(1)), g:const("bias", b1)},
    {transB = 1})})
  local logits = g:linear(a, head[4])
  g:op("Softmax", {logits}, {axis = -1}, "probabilities")
  g:output("probabilities", "f32", {"jets", head[4].out_features},
    "(jets, classes) softmax of the logits; class 2 = signal")
  return g, {features = F}
end

return M
