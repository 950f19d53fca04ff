-- jetlab.nn.models.lundnet — LundNet on batches of Lund-plane graphs (DESIGN.md,
-- Models): input BatchNorm; 6 EdgeConv blocks on the fixed tree, channels
-- (32,32), (32,32), (64,64), (64,64), (128,128), (128,128); fusion: concat of the
-- 6 block outputs (448) -> Linear 384 -> ReLU -> BatchNorm; mean over each jet's
-- nodes; head Linear 256 -> ReLU -> Dropout 0.1 -> Linear 2.
--
-- Two block variants:
--   variant = "published" (the default): the network of the LundNet paper and of
--     its authors' published models (fdreyer/LundNet LundNet.py, EdgeConv.py):
--     nn.GraphEdgeConv blocks, message theta(x_dst - x_src) + phi(x_src) once, then
--     BatchNorm over edges, ReLU, Linear (fcs), BatchNorm, ReLU, mean over the
--     incoming edges; shortcut Linear(no bias) + BatchNorm when the width changes,
--     else the identity. 391,724 params (3 features: 391,528).
--   variant = "peer": the PyTorch peer's LundNet (shared/peers/torch_peer.py,
--     LundEdgeConv): theta and phi in every layer, each layer's message averaged
--     before the next; shortcut Linear(with bias) + BatchNorm. 434,956 params
--     (3 features: 434,760). The speed comparison (jetlab bench) uses it.
--
--   local net = models.lundnet{features = 5}            -- or {features = 3, variant = "peer"}
--   local g = jl.lund.graphs(jets, {features = 5})      -- or any graphs with these fields:
--   local logits = net{x = g.x, offsets = g.offsets, src = g.src, dst = g.dst,
--                      edge_offsets = g.edge_offsets}    -- (B, 2)
--
-- batch: x (N, features), offsets (B+1) (jet b owns nodes offsets[b]+1 .. offsets[b+1]),
-- src, dst (E) 1-based node rows. When the edges are grouped by dst (jl.lund.graphs
-- gives them so) pass edge_offsets (N+1) too and they are used as they are;
-- otherwise they are grouped here (jl.edges_by_dst, a counting sort). The grouped
-- graph is cached in the batch table (batch._graph) for the next forward.
-- A node without incoming edges gets a zero message (PyTorch's index_add_ / clamp(deg, 1)).
--
--   local batch = models.lundnet_select(g, {3, 17, 42})  -- some jets of a graph table, as a batch
--
-- Sub-modules: bn_input, blocks (1..6: nn.GraphEdgeConv with theta, phi, fcs, bns, sc,
-- sc_bn; or nn.LundEdgeConv with theta, phi, bns, sc), fusion (1 Linear, 2 ReLU,
-- 3 BatchNorm1d), head (1 Linear, 2 ReLU, 3 Dropout, 4 Linear). The names of outside
-- files map onto these in jetlab.layouts (lundnet: the published models; peer).
-- bn_input, blocks and fusion are the backbone (net:represent(batch) → the pooled
-- (B, fusion)); jetlab.nn.backbone.freeze(net) fixes it for transfer learning.

local jl = require "jetlab"
local Module = require "jetlab.nn.module"
local Sequential = require "jetlab.nn.sequential"
local Linear = require "jetlab.nn.linear"
local BatchNorm1d = require "jetlab.nn.batchnorm"
local Dropout = require "jetlab.nn.dropout"
local activation = require "jetlab.nn.activation"
local edgeconv = require "jetlab.nn.edgeconv"
local backbone = require "jetlab.nn.backbone"

local M = {}

local LundNet = Module:extend("LundNet")
M.LundNet = LundNet

local defaults = {features = 5, blocks = {{32, 32}, {32, 32}, {64, 64}, {64, 64}, {128, 128}, {128, 128}},
  fusion = 384, fc = 256, dropout = 0.1, outputs = 2, variant = "published"}

local block_of_variant = {published = edgeconv.GraphEdgeConv, peer = edgeconv.LundEdgeConv}

function LundNet:__init(opts)
  Module.__init(self)
  if opts ~= nil and type(opts) ~= "table" then error("lundnet: an options table is expected", 3) end
  local o = {}
  for k, v in pairs(defaults) do o[k] = v end
  for k, v in pairs(opts or {}) do
    if defaults[k] == nil then error("lundnet: unknown option '" .. tostring(k) .. "'", 3) end
    o[k] = v
  end
  if o.features ~= 5 and o.features ~= 3 then -- the Lund-plane node features jl.lund.graphs makes
    error(string.format("lundnet: features must be 5 (ln z, ln Δ, ψ, ln m, ln kt) or 3 (ln z, ln Δ, ln kt), got %s",
      type(o.features) == "string" and string.format("%q", o.features) or tostring(o.features)), 3)
  end
  local Block = block_of_variant[o.variant]
  if not Block then
    error(string.format("lundnet: variant must be \"published\" or \"peer\", got %s", tostring(o.variant)), 3)
  end
  self.features, self.variant, self.config = o.features, o.variant, o
  self:register_module("bn_input", BatchNorm1d(o.features))
  local blocks = Sequential()
  local c, total = o.features, 0
  for _, widths in ipairs(o.blocks) do
    blocks:add(Block(c, widths))
    c = widths[#widths]
    total = total + c
  end
  self:register_module("blocks", blocks)
  self:register_module("fusion", Sequential(Linear(total, o.fusion), activation.ReLU(), BatchNorm1d(o.fusion)))
  self:register_module("head", Sequential(Linear(o.fusion, o.fc), activation.ReLU(), Dropout(o.dropout),
    Linear(o.fc, o.outputs)))
end

--- M.graph(batch) → {nbr = src grouped by dst (1-based), edge_offsets = (N+1)}: the
--- CSR form of the batch's edges (cached as batch._graph).
function M.graph(batch)
  if batch._graph then return batch._graph end
  local n = batch.x.shape[1]
  local g
  if batch.edge_offsets then
    g = {nbr = batch.src, edge_offsets = batch.edge_offsets}
  else
    local nbr, eoff = jl.edges_by_dst(batch.src, batch.dst, n)
    g = {nbr = nbr, edge_offsets = eoff}
  end
  batch._graph = g
  return g
end

--- M.select(graphs, jets) → the batch {x, offsets, src, dst, edge_offsets} of the
--- graphs jets (a list of 1-based jet numbers or an i64 tensor) of a graph table
--- (jl.lund.graphs's fields; edges grouped by dst). The bookkeeping is one C call
--- (jl.graph_select); x is gathered on its own device.
function M.select(graphs, jets)
  if type(graphs) ~= "table" or not jl.is_tensor(graphs.x) or not jl.is_tensor(graphs.offsets)
    or not jl.is_tensor(graphs.src) or not jl.is_tensor(graphs.edge_offsets) then
    error("lundnet_select: expected a graph table {x, offsets, src, edge_offsets} (jl.lund.graphs)", 2)
  end
  if not jl.is_tensor(jets) then jets = jl.tensor(jets, {dtype = "i64"}) end
  local rows, offsets, src, dst, edge_offsets = jl.graph_select(graphs.offsets, graphs.edge_offsets, graphs.src, jets)
  return {x = graphs.x:index_select(1, rows:to(graphs.x.device)), offsets = offsets, src = src, dst = dst,
    edge_offsets = edge_offsets}
end

-- The pooled jet representation (B, fusion) of the backbone (bn_input, blocks, fusion).
local function embed(self, batch)
  if type(batch) ~= "table" or not jl.is_tensor(batch.x) or not jl.is_tensor(batch.offsets)
    or not jl.is_tensor(batch.src) or not jl.is_tensor(batch.dst) then
    error("LundNet: expected a batch {x = (N, F), offsets = (B+1), src = (E), dst = (E)}", 3)
  end
  local graph = M.graph(batch)
  local h = self.bn_input(batch.x)
  local outs = {}
  for i = 1, #self.blocks._child_names do
    h = self.blocks[i](h, graph)
    outs[i] = h
  end
  local cat <close> = jl.cat(outs, 2)
  for i = 1, #outs do edgeconv.release(outs[i]) end   -- autograd keeps what backward needs
  -- fusion (Linear, ReLU, BatchNorm1d) and the mean over each jet's nodes: the ReLU,
  -- BatchNorm and mean as one op that writes only the (B, fusion) result
  local z <close> = self.fusion[1](cat)
  return edgeconv.relu_bn(self.fusion[3], z, batch.offsets)
end

--- net:represent(batch) → the pooled jet representation (B, fusion), under no_grad when
--- the backbone is frozen (jetlab.nn.backbone); batch.pooled when the batch carries it.
function LundNet:represent(batch) return backbone.represent(self, batch, embed) end

--- net(batch) → logits (B, outputs)
function LundNet:forward(batch) return backbone.forward(self, batch, embed) end

LundNet.train = backbone.train

function LundNet:extra_repr() return string.format("features=%d, variant=%s", self.features, self.variant) end

--- models.lundnet{features = 5 | 3, ...}
function M.lundnet(opts) return LundNet(opts) end
function M.lundnet5(opts)
  local o = {features = 5}
  for k, v in pairs(opts or {}) do o[k] = v end
  return LundNet(o)
end
function M.lundnet3(opts)
  local o = {features = 3}
  for k, v in pairs(opts or {}) do o[k] = v end
  return LundNet(o)
end

return M
