-- jetlab.nn.edgeconv — EdgeConv blocks on ragged batches (DESIGN.md, Models):
-- ParticleNet's EdgeConv on a kNN graph and LundNet's EdgeConv on a fixed
-- (Lund-tree) graph. Both take a node table x (N, C) and a graph in CSR form:
--
--   graph = {nbr = (E) i64 1-based neighbour rows, edge_offsets = (N+1) i64}
--
-- node i's edges are edge_offsets[i]+1 .. edge_offsets[i+1] (1-based), each
-- with centre i and neighbour nbr[e] (jl.knn's output; for LundNet the centre
-- is the edge's dst and the neighbour its src: edges grouped by dst).
--
--   local ec = nn.EdgeConv(16, 7, {64, 64, 64})      -- k, in channels, MLP widths
--   local nbr, eoff = jl.knn(coords, offsets, 16)
--   local h = ec(x, {nbr = nbr, edge_offsets = eoff})  -- (N, 64)
--
--   local lc = nn.LundEdgeConv(5, {32, 32})           -- in channels, layer widths
--   local h2 = lc(x, graph)                           -- graph grouped by dst
--
-- ParticleNet EdgeConv: edge feature [x_i, x_j - x_i] -> per layer
-- Linear(no bias) -> BatchNorm (over all E edge rows) -> ReLU; mean over each
-- node's neighbours; shortcut Linear(no bias) + BatchNorm; ReLU(h + shortcut).
-- The first layer never builds the (E, 2C) edge features: with W = [W1 W2],
-- W [x_i, x_j - x_i] = (W1 - W2) x_i + W2 x_j, so one GEMM on the N nodes
-- gives [(W1 - W2) x | W2 x] (N, 2 C1) and jl.edge_gather adds the centre's
-- and the neighbour's rows per edge. The weight stays one (C1, 2C) parameter
-- (PyTorch's layout); autograd goes through the views.
--
-- LundNet EdgeConv: per layer message theta(x_dst - x_src) + phi(x_src)
-- = theta x_dst + (phi - theta) x_src (two Linear without bias, the same
-- gather trick), BatchNorm over edges, ReLU, mean over incoming edges; a
-- shortcut Linear(with bias) + BatchNorm when the channel count changes,
-- else the identity; ReLU(h + shortcut(x)).
--
-- Per edge layer the work is a GEMM plus one fused C op: jl.batch_norm_relu
-- (training statistics over the E rows), and the last layer's mean over
-- neighbours is fused into it (jl.batch_norm_relu(z, ..., {segments =
-- edge_offsets})), so the (E, C) activations of the last layer are never
-- written, nor their gradient in backward. Setting
-- require("jetlab.nn.edgeconv").composed = true runs the same maths from the
-- plain ops (index_select, batch_norm, relu, segment_mean): the reference the
-- tests compare the fused path against.
--
-- A graph with no edges (jets of one constituent) gives zero messages: the
-- block's output is then ReLU(shortcut).

local jl = require "jetlab"
local Module = require "jetlab.nn.module"
local Sequential = require "jetlab.nn.sequential"
local Linear = require "jetlab.nn.linear"
local BatchNorm1d = require "jetlab.nn.batchnorm"

local M = {composed = false}

-- The running-statistics bookkeeping of BatchNorm1d:forward, for the fused op.
local function bn_args(bn)
  local momentum = bn.momentum
  if bn.training and bn.track_running_stats then
    local n = bn.num_batches_tracked
    n:copy_(n + 1)
    if momentum == false then momentum = 1 / n:item() end
  end
  local use_running = not bn.training or bn.track_running_stats
  return use_running and bn.running_mean or nil, use_running and bn.running_var or nil,
    {training = bn.training or not bn.track_running_stats, momentum = momentum or 0.1, eps = bn.eps}
end

-- ReLU and bn (an nn.BatchNorm1d) on z in the given order, and the mean over segments
-- when given: one fused C op, or the plain ops (M.composed, synchronised BatchNorm).
local function norm_relu(bn, z, segments, relu_first)
  if M.composed or (bn.sync and bn.training) then -- synchronised BatchNorm: composed from ops
    local y
    if relu_first then
      local r <close> = z:relu()
      y = bn(r)
    else
      y = bn(z):relu()
    end
    return segments and jl.segment_mean(y, segments) or y
  end
  local rm, rv, o = bn_args(bn)
  o.segments = segments
  return (relu_first and jl.relu_batch_norm or jl.batch_norm_relu)(z, bn.weight, bn.bias, rm, rv, o)
end

--- M.bn_relu(bn, z[, segments]) → ReLU(bn(z)) (E, C), or its mean over the
--- segments given by offsets (S+1) (S, C); bn is an nn.BatchNorm1d.
function M.bn_relu(bn, z, segments) return norm_relu(bn, z, segments, false) end

--- M.relu_bn(bn, z[, segments]) → bn(ReLU(z)) (N, C), or its mean over the segments
--- given by offsets (S+1) (S, C), in one C op (jl.relu_batch_norm): LundNet's fusion
--- layer (Linear, ReLU, BatchNorm1d) and its mean over each jet's nodes, without writing
--- the (N, C) activations or their gradient.
function M.relu_bn(bn, z, segments) return norm_relu(bn, z, segments, true) end

--- M.edge_gather(ab, graph) → (E, C): row e = ab[centre(e), 1..C] + ab[nbr[e], C+1..2C],
--- ab (N, 2C).
function M.edge_gather(ab, graph)
  if M.composed then
    local c = ab.shape[2] // 2
    local ctr = graph.ctr or jl.segment_ids(graph.edge_offsets)
    graph.ctr = ctr
    return ab:narrow(2, 1, c):index_select(1, ctr) + ab:narrow(2, c + 1, c):index_select(1, graph.nbr)
  end
  return jl.edge_gather(ab, graph.edge_offsets, graph.nbr)
end

-- Number of edges of a graph.
local function n_edges(graph) return graph.nbr.shape[1] end

-- True when a graph without edges may skip the edge layers: not with
-- synchronised BatchNorm in training (bn.sync, under MPI), whose collectives
-- every rank must run; there the layers run on no rows and give the same zeros.
local function may_skip(graph, bn) return n_edges(graph) == 0 and not (bn.sync and bn.training) end

-- The messages of a graph without edges: zeros (N, c).
local function no_messages(x, c) return jl.zeros(x.shape[1], c, {device = x.device}) end

-- ------------------------------------------------------------ ParticleNet EdgeConv
local EdgeConv = Module:extend("EdgeConv")
M.EdgeConv = EdgeConv

-- Checks the channel arguments of an EdgeConv constructor (errors at the caller's caller).
local function check_channels(what, in_channels, widths)
  if math.type(in_channels) ~= "integer" or in_channels < 1 then
    error(what .. ": in_channels must be a positive integer", 3)
  end
  if type(widths) ~= "table" or #widths < 1 then error(what .. ": widths must be a non-empty list", 3) end
end

--- M.add_shortcut(block, in_channels): the shortcut of weaver's and LundNet's EdgeConv
--- blocks: children sc (Linear, no bias) and sc_bn (BatchNorm1d) when the block changes
--- the channel count, none (the identity) when it keeps it.
function M.add_shortcut(block, in_channels)
  if in_channels == block.out_channels then return end
  block:register_module("sc", Linear(in_channels, block.out_channels, {bias = false}))
  block:register_module("sc_bn", BatchNorm1d(block.out_channels))
end

--- nn.EdgeConv(k, in_channels, widths): children lins (Linear, no bias; the
--- first (widths[1], 2 in_channels)), bns (BatchNorm1d), and sc (Linear no bias),
--- sc_bn when in_channels ~= widths[#widths] (else the identity, as weaver's).
function EdgeConv:__init(k, in_channels, widths)
  Module.__init(self)
  if math.type(k) ~= "integer" or k < 1 then error("EdgeConv: k must be a positive integer", 2) end
  check_channels("EdgeConv", in_channels, widths)
  self.k, self.in_channels, self.widths = k, in_channels, widths
  self.out_channels = widths[#widths]
  local lins, bns = Sequential(), Sequential()
  local c = 2 * in_channels
  for _, w in ipairs(widths) do
    lins:add(Linear(c, w, {bias = false}))
    bns:add(BatchNorm1d(w))
    c = w
  end
  self:register_module("lins", lins)
  self:register_module("bns", bns)
  M.add_shortcut(self, in_channels)
end

--- M.release(t): drops this handle's reference to t's storage now instead of at the
--- next garbage collection (autograd keeps its own references to what backward needs),
--- so large per-edge temporaries go back to the allocator within the step.
function M.release(t)
  if jl.is_tensor(t) then getmetatable(t).__close(t) end
end
local release = M.release

-- The mean over each node's edges of an edge MLP whose first layer is
-- wc x_centre + wn x_neighbour (wc, wn (C1, C)); bns (L BatchNorm1d) and
-- later (the weights of layers 2..L) give the rest. (N, C_L)
local function edge_mlp(x, graph, wc, wn, bns, later, out_channels)
  if may_skip(graph, bns[1]) then return no_messages(x, out_channels) end
  local wcat <close> = jl.cat({wc, wn}, 1)               -- (2 C1, C)
  local ab <close> = jl.linear(x, wcat)                  -- (N, 2 C1)
  local z = M.edge_gather(ab, graph)                     -- (E, C1)
  local L = #later + 1
  for l = 1, L - 1 do
    local y <close> = M.bn_relu(bns[l], z)
    release(z)
    z = jl.linear(y, later[l])
  end
  local out = M.bn_relu(bns[L], z, graph.edge_offsets)
  release(z)
  return out
end

-- ReLU(h + shortcut(x)) of a block with children sc, sc_bn or none (the identity).
local function add_shortcut_relu(block, h, x)
  if not block.sc then
    local sum <close> = h + x
    return sum:relu()
  end
  local lin <close> = jl.linear(x, block.sc.weight)
  local sc <close> = block.sc_bn(lin)
  local sum <close> = h + sc
  return sum:relu()
end

-- The weights of the layers after the first of a Sequential of Linear.
local function later_weights(lins, first)
  local w = {}
  for l = first, #lins._child_names do w[#w + 1] = lins[l].weight end
  return w
end

--- ec:messages(x, graph) → (N, C_out): the mean over each node's edges of the edge MLP.
function EdgeConv:messages(x, graph)
  local c = self.in_channels
  local w = self.lins[1].weight                          -- (C1, 2C) = [W1 W2]
  local w2 <close> = w:narrow(2, c + 1, c)
  local w1 <close> = w:narrow(2, 1, c)
  local diff <close> = w1 - w2
  return edge_mlp(x, graph, diff, w2, self.bns, later_weights(self.lins, 2), self.out_channels)
end

--- ec(x, graph) → (N, C_out)
function EdgeConv:forward(x, graph)
  local h <close> = self:messages(x, graph)
  return add_shortcut_relu(self, h, x)
end

function EdgeConv:extra_repr()
  return string.format("k=%d, %d -> {%s}", self.k, self.in_channels, table.concat(self.widths, ", "))
end

-- ------------------------------------------------------------ the published LundNet's EdgeConv
local GraphEdgeConv = Module:extend("GraphEdgeConv")
M.GraphEdgeConv = GraphEdgeConv

--- nn.GraphEdgeConv(in_channels, widths): the EdgeConv block of the published LundNet
--- (fdreyer/LundNet EdgeConv.py, DGL's EdgeConv with an MLP) on a fixed graph grouped
--- by dst: message theta(x_dst - x_src) + phi(x_src) (children theta, phi: Linear
--- without bias), then per layer BatchNorm1d (bns) and ReLU with Linear without bias
--- (fcs) between layers, mean over incoming edges; shortcut sc, sc_bn when the
--- channel count changes, else the identity; ReLU(h + shortcut).
function GraphEdgeConv:__init(in_channels, widths)
  Module.__init(self)
  check_channels("GraphEdgeConv", in_channels, widths)
  self.in_channels, self.widths = in_channels, widths
  self.out_channels = widths[#widths]
  self:register_module("theta", Linear(in_channels, widths[1], {bias = false}))
  self:register_module("phi", Linear(in_channels, widths[1], {bias = false}))
  local fcs, bns = Sequential(), Sequential()
  for l, w in ipairs(widths) do
    if l > 1 then fcs:add(Linear(widths[l - 1], w, {bias = false})) end
    bns:add(BatchNorm1d(w))
  end
  if #widths > 1 then self:register_module("fcs", fcs) end
  self:register_module("bns", bns)
  M.add_shortcut(self, in_channels)
end

--- gc(x, graph) → (N, C_out); the centre of an edge is its dst, the neighbour its src.
function GraphEdgeConv:forward(x, graph)
  local th = self.theta.weight
  local diff <close> = self.phi.weight - th              -- theta x_dst + (phi - theta) x_src
  local h <close> = edge_mlp(x, graph, th, diff, self.bns, self.fcs and later_weights(self.fcs, 1) or {},
    self.out_channels)
  return add_shortcut_relu(self, h, x)
end

function GraphEdgeConv:extra_repr()
  return string.format("%d -> {%s}", self.in_channels, table.concat(self.widths, ", "))
end

-- ------------------------------------------------------------ LundNet EdgeConv
local LundEdgeConv = Module:extend("LundEdgeConv")
M.LundEdgeConv = LundEdgeConv

--- nn.LundEdgeConv(in_channels, widths): children theta, phi (Linear, no bias),
--- bns (BatchNorm1d), and sc = Sequential(Linear, BatchNorm1d) when
--- in_channels ~= widths[#widths] (else no shortcut layer: the identity).
function LundEdgeConv:__init(in_channels, widths)
  Module.__init(self)
  check_channels("LundEdgeConv", in_channels, widths)
  self.in_channels, self.widths = in_channels, widths
  self.out_channels = widths[#widths]
  local theta, phi, bns = Sequential(), Sequential(), Sequential()
  local c = in_channels
  for _, w in ipairs(widths) do
    theta:add(Linear(c, w, {bias = false}))
    phi:add(Linear(c, w, {bias = false}))
    bns:add(BatchNorm1d(w))
    c = w
  end
  self:register_module("theta", theta)
  self:register_module("phi", phi)
  self:register_module("bns", bns)
  if in_channels ~= self.out_channels then
    self:register_module("sc", Sequential(Linear(in_channels, self.out_channels), BatchNorm1d(self.out_channels)))
  end
end

--- lc(x, graph) → (N, C_out); graph grouped by dst (nbr = src).
function LundEdgeConv:forward(x, graph)
  local h = x
  local empty = may_skip(graph, self.bns[1])
  for l = 1, #self.widths do
    local nxt
    if empty then
      nxt = no_messages(x, self.widths[l])
    else
      local th = self.theta[l].weight
      local diff <close> = self.phi[l].weight - th
      local wcat <close> = jl.cat({th, diff}, 1)          -- (2 C_l, C_{l-1})
      local ab <close> = jl.linear(h, wcat)
      local z <close> = M.edge_gather(ab, graph)
      nxt = M.bn_relu(self.bns[l], z, graph.edge_offsets)
    end
    if h ~= x then release(h) end
    h = nxt
  end
  local sc = self.sc and self.sc(x) or x
  local sum <close> = h + sc
  release(h)
  if sc ~= x then release(sc) end
  return sum:relu()
end

function LundEdgeConv:extra_repr()
  return string.format("%d -> {%s}", self.in_channels, table.concat(self.widths, ", "))
end

return M
