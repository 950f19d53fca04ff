-- jetlab.pooled_source — the training data of a model whose backbone is frozen
-- (jetlab.nn.backbone.freeze), as pooled jet representations computed once per run.
--
--   backbone.freeze(model); model:reset_parameters("head")
--   local src = pooled_source(model, fam:source(train_view), {batch_size = 256, shuffle = true})
--   train.fit{model = model, train = src, ...}          -- epochs train the head only
--
-- The frozen backbone is a fixed, deterministic function of a jet: its BatchNorm
-- layers keep the pre-trained running statistics (eval mode), it has no dropout
-- and its weights do not change. So the first batches() call runs every batch of
-- source (one pass, in its own order) through model:represent once, under no_grad,
-- and keeps the (n, C) representations with the labels and weights; each epoch then
-- draws jl.randperm(n) (when shuffle) and yields batches {x = {pooled = (B, C)}, y,
-- w, n}, which the model's forward hands straight to its head. Given an unshuffled
-- source, the batches hold the jets a source drawing jl.randperm(n) per epoch would
-- (experiments/common.lua's Lund source). The first epoch's time includes the pass
-- over source; memory: n × C floats.
-- Not for a backbone with parts still training (backbone.freeze(model, {upto = "blocks"})).

local jl = require "jetlab"
local train = require "jetlab.train"
local backbone = require "jetlab.nn.backbone"
local dist_shard = require "jetlab.dist_shard"

local PooledSource = {can_shard = true}
PooledSource.__index = PooledSource

local function pooled_source(model, source, opts)
  if not backbone.is_frozen(model) then
    error("pooled_source: the model's backbone must be frozen up to the pooled representation " ..
      "(jetlab.nn.backbone.freeze(model))", 2)
  end
  opts = opts or {}
  return setmetatable({model = model, source = source, batch_size = opts.batch_size or 256,
    shuffle = opts.shuffle or false}, PooledSource)
end

-- One pass over the source: the representations, labels and weights of every jet in order.
function PooledSource:build()
  local reps, ys, ws = {}, {}, {}
  for batch in train.batches(self.source) do
    reps[#reps + 1] = self.model:represent(batch.x)
    ys[#ys + 1] = batch.y
    ws[#ws + 1] = batch.w
  end
  if #reps == 0 then error("pooled_source: the source yielded no batch", 0) end
  self.pooled, self.y = jl.cat(reps, 1), jl.cat(ys, 1)
  self.w = #ws == #reps and jl.cat(ws, 1) or nil
  self.n = self.pooled.shape[1]
end

--- src:size() → jets (after the first pass); src:num_batches() → batches per epoch.
function PooledSource:size() return self.n end
function PooledSource:num_batches()
  if not self.n then return nil end
  return (self.n + self.batch_size - 1) // self.batch_size
end

--- src:inputs() → the underlying source's description (what the checkpoint's model reads).
function PooledSource:inputs()
  local s = self.source
  if type(s) == "table" and type(s.inputs) == "function" then return s:inputs() end
  return nil
end

--- src:batches([{shard = {rank =, size =}}]) → an iterator of batches; with shard
--- (train.fit under MPI) only the rank's rows of each batch (jetlab.dist_shard).
function PooledSource:batches(opts)
  if not self.pooled then self:build() end
  local n = self.n
  local perm = self.shuffle and jl.randperm(n) or jl.arange(1, n + 1, {dtype = "i64"})
  local s = 1
  return function()
    if s > n then return nil end
    local len = math.min(self.batch_size, n - s + 1)
    local all = perm:narrow(1, s, len):to(self.pooled.device)
    s = s + len
    local idx, shard = dist_shard.pick(all, opts and opts.shard)
    if shard then shard.w = self.w and self.w:index_select(1, all) end
    return {x = {pooled = self.pooled:index_select(1, idx)}, y = self.y:index_select(1, idx),
      w = self.w and self.w:index_select(1, idx), n = idx:numel(), shard = shard}
  end
end

return pooled_source
