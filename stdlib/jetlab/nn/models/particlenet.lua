-- jetlab.nn.models.particlenet — ParticleNet on ragged batches (DESIGN.md, Models):
-- input BatchNorm; EdgeConv blocks (block 1 kNN on the (eta, phi) coordinates,
-- later blocks kNN on the current features, k neighbours inside each jet, self
-- excluded, min(k, n - 1) for a jet of n constituents); global mean over each
-- jet's real constituents; head Linear(fc) -> ReLU -> Dropout -> Linear(outputs).
--
--   local pn = models.particlenet{inputs = 7, k = 16, blocks = {{64, 64, 64}, {128, 128, 128},
--                                 {256, 256, 256}}, fc = 256, dropout = 0.1, outputs = 2}
--   local logits = pn{x = x, offsets = offsets, coords = coords}   -- x (N, 7), (B+1), (N, 2) → (B, 2)
--   models.particlenet_lite()      -- k = 7, {{32,32,32}, {64,64,64}}, fc 128:   26,416 params
--   models.particlenet()           -- the defaults above:                       366,160 params
--   models.particlenet_teacher()   -- the seed GNN teacher: = particlenet()
--   models.particlenet_student()   -- the seed compact student (below):           5,904 params
--
-- batch.coords may be omitted: then the first two columns of batch.x (before the
-- input BatchNorm) are the coordinates, as the PyTorch peer's pts = x[..., :2].
--
-- The compact student ("1 EdgeConv with one hidden layer"): one EdgeConv block,
-- k = 16, whose edge MLP is a single Linear(2 * 7 -> 64) + BatchNorm + ReLU,
-- then the mean over neighbours, the shortcut, the jet mean and a head
-- Linear(64 -> 64) -> ReLU -> Dropout(0.1) -> Linear(64 -> 2).
--
-- fusion = true (or a width) adds weaver-core's fusion block (hqucms/weaver-core
-- ParticleNet, use_fusion): the block outputs concatenated, Linear(no bias) ->
-- BatchNorm -> ReLU to clip(floor(sum / 128) * 128, 128, 1024) channels (or the
-- width given), before the jet mean; the head then starts from that width.
--
-- Sub-modules (for transfer learning): bn_input, blocks (blocks.1 .. blocks.n, each an
-- nn.EdgeConv with lins, bns, sc, sc_bn), fusion when asked (1 Linear, 2 BatchNorm1d,
-- 3 ReLU), head (a Sequential: 1 Linear, 2 ReLU, 3 Dropout, 4 Linear), so
-- model:freeze("blocks"), model:reset_parameters("head"). bn_input, blocks and fusion are
-- the backbone (pn:represent(batch) → the pooled (B, C)); jetlab.nn.backbone.freeze(pn)
-- fixes it for transfer learning.
-- Parameter names map one to one to the PyTorch peer's (torch_peer.py ParticleNet):
--   bn.*                 -> bn_input.*
--   blocks.<i>.*         -> blocks.<i+1>.*   (lins.<j> -> lins.<j+1>, bns.<j> -> bns.<j+1>; sc, sc_bn)
--   fc.0.* / fc.3.*      -> head.1.* / head.4.*

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

local ParticleNet = Module:extend("ParticleNet")
M.ParticleNet = ParticleNet

local defaults = {inputs = 7, k = 16, blocks = {{64, 64, 64}, {128, 128, 128}, {256, 256, 256}}, fc = 256,
  dropout = 0.1, outputs = 2, fusion = false}

local function options(opts, base)
  if opts ~= nil and type(opts) ~= "table" then error("particlenet: an options table is expected", 3) end
  local o = {}
  for k, v in pairs(base) do o[k] = v end
  for k, v in pairs(opts or {}) do
    if defaults[k] == nil then error("particlenet: unknown option '" .. tostring(k) .. "'", 3) end
    o[k] = v
  end
  for _, key in ipairs({"inputs", "k", "fc", "outputs"}) do
    if math.type(o[key]) ~= "integer" or o[key] < 1 then
      error("particlenet: " .. key .. " must be a positive integer, got " .. tostring(o[key]), 3)
    end
  end
  if type(o.blocks) ~= "table" or #o.blocks < 1 then error("particlenet: blocks must be a non-empty list", 3) end
  if o.fusion ~= false and o.fusion ~= true and not (math.type(o.fusion) == "integer" and o.fusion >= 1) then
    error("particlenet: fusion must be false, true or a positive integer width, got " .. tostring(o.fusion), 3)
  end
  return o
end

function ParticleNet:__init(o)
  Module.__init(self)
  self.k, self.inputs, self.config = o.k, o.inputs, o
  self:register_module("bn_input", BatchNorm1d(o.inputs))
  local blocks = Sequential()
  local c, total = o.inputs, 0
  for _, widths in ipairs(o.blocks) do
    blocks:add(edgeconv.EdgeConv(o.k, c, widths))
    c = widths[#widths]
    total = total + c
  end
  self:register_module("blocks", blocks)
  if o.fusion then
    c = o.fusion == true and math.max(128, math.min(1024, total // 128 * 128)) or o.fusion
    self:register_module("fusion", Sequential(Linear(total, c, {bias = false}), BatchNorm1d(c), activation.ReLU()))
  end
  self:register_module("head", Sequential(Linear(c, o.fc), activation.ReLU(), Dropout(o.dropout),
    Linear(o.fc, o.outputs)))
end

-- The pooled jet representation (B, C) of the backbone (bn_input, blocks, fusion when present).
local function embed(self, batch)
  if type(batch) ~= "table" or not jl.is_tensor(batch.x) or not jl.is_tensor(batch.offsets) then
    error("ParticleNet: expected a ragged batch {x = (N, C), offsets = (B+1), coords = (N, 2)}", 3)
  end
  local x, offsets = batch.x, batch.offsets
  local coords = batch.coords or x:narrow(2, 1, 2)
  local h = self.bn_input(x)
  local outs = {}
  for i = 1, #self.blocks._child_names do
    local block = self.blocks[i]
    local nbr, eoff = jl.knn(i == 1 and coords or h, offsets, block.k)
    local nxt = block(h, {nbr = nbr, edge_offsets = eoff})
    edgeconv.release(nbr)      -- autograd keeps what backward needs; free the rest now
    edgeconv.release(eoff)
    if not self.fusion or i == 1 then edgeconv.release(h) end   -- fusion keeps the block outputs
    if self.fusion then outs[i] = nxt end
    h = nxt
  end
  if self.fusion then
    local cat <close> = jl.cat(outs, 2)
    for i = 1, #outs do edgeconv.release(outs[i]) end
    h = self.fusion(cat)
  end
  local pooled = jl.segment_mean(h, offsets)
  edgeconv.release(h)
  return pooled
end

--- pn:represent(batch) → the pooled jet representation (B, C), under no_grad when the
--- backbone is frozen (jetlab.nn.backbone); batch.pooled when the batch carries it.
function ParticleNet:represent(batch) return backbone.represent(self, batch, embed) end

--- pn(batch) → logits (B, outputs); batch = {x = (N, inputs), offsets = (B+1) i64, coords = (N, 2)}.
function ParticleNet:forward(batch) return backbone.forward(self, batch, embed) end

ParticleNet.train = backbone.train

function ParticleNet:extra_repr()
  return string.format("inputs=%d, k=%d", self.inputs, self.k)
end

--- models.particlenet([opts]) with opts as above (defaults: the full ParticleNet).
function M.particlenet(opts) return ParticleNet(options(opts, defaults)) end

local function preset(base)
  return function(opts)
    local o = {}
    for k, v in pairs(defaults) do o[k] = v end
    for k, v in pairs(base) do o[k] = v end
    return ParticleNet(options(opts, o))
  end
end

M.particlenet_lite = preset{k = 7, blocks = {{32, 32, 32}, {64, 64, 64}}, fc = 128}
M.particlenet_teacher = preset{}
M.particlenet_student = preset{k = 16, blocks = {{64}}, fc = 64}

return M
