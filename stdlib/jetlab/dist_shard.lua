-- jetlab.dist_shard — one rank's share of a global training batch (owner:
-- jetlab.dist_train, under `mpirun -n K`). Every rank holds the same global
-- batch of B jets and keeps the contiguous block of jets [first, first + count)
-- (B // K jets, the first B % K ranks one more).
--
--   local mine, count, share = dist_shard.split(batch, B, rank, size)
--
-- What is split, by the form of a batch field (x, x_teacher, ... ; y, w, n):
--   tensor with first dimension B      its rows (narrow: a view)
--   Lund graph {x (N, C), offsets (B+1), src, dst (E) 1-based[, edge_offsets (N+1)]}
--                                      the jets' graphs (jl.graph_select; nodes renumbered)
--   ragged {x (N, C), offsets (B+1)[, coords (N, 2)]}  (ParticleNet)
--                                      the jets' node rows, offsets shifted to start at 0
--   table of tensors with first dimension B ({pooled = (B, C)})   their rows
--   anything else                      kept as it is
-- share is the rank's weight in the global batch's mean loss: count / B, or
-- with per-sample weights w (a weighted mean, loss.functional) Σ w(mine) / Σ w.
--
-- A source that prepares only a rank's jets (it offers can_shard = true and
-- its batches{shard = {rank =, size =}} gives them: jetlab.data views, the
-- Lund and pooled sources) yields batches already split: the rank's jets
-- [first, first + count) of the global batch, with n = count and
-- shard = {rank =, size =, n = B, w = (B) the global batch's weights or nil};
-- dist_shard.split then only checks them and computes the share.
--
--   local mine, count, share = dist_shard.split(presharded, B, rank, size)

local jl = require "jetlab"

local dist_shard = {}

--- dist_shard.rows(rank, size, n) → first (1-based), count: the jets of a batch of n that rank takes.
function dist_shard.rows(rank, size, n)
  local base, extra = n // size, n % size
  return rank * base + math.min(rank, extra) + 1, base + (rank < extra and 1 or 0)
end

--- dist_shard.pick(idx, shard) → the rank's part of a global batch's sample
--- indices idx (B) (a view), and the batch's shard field without w ({rank =,
--- size =, n = B}); with shard nil (or size 1): idx, nil. For sources that
--- gather a batch from its indices (pooled, Lund graph sources).
function dist_shard.pick(idx, shard)
  if shard == nil or shard.size == 1 then return idx, nil end
  local n = idx:numel()
  dist_shard.check_size(n, shard.size)
  local first, count = dist_shard.rows(shard.rank, shard.size, n)
  return idx:narrow(1, first, count), {rank = shard.rank, size = shard.size, n = n}
end

-- The node fields of a ragged batch (first dimension N, the node count).
local NODE_FIELDS = {x = true, coords = true}

-- The jets [first, first + count) of a Lund graph batch g (edges grouped by dst or not).
local function split_graph(g, first, count)
  local n_nodes = g.x.shape[1]
  local nbr, eoff = g.src, g.edge_offsets
  if eoff == nil then nbr, eoff = jl.edges_by_dst(g.src, g.dst, n_nodes) end
  local jets = jl.arange(first, first + count, {dtype = "i64"})
  local rows, offsets, src, dst, edge_offsets = jl.graph_select(g.offsets, eoff, nbr, jets)
  local device = g.x.device
  local out = {offsets = offsets:to(device), src = src:to(device), dst = dst:to(device),
    edge_offsets = edge_offsets:to(device)}
  local node_rows = rows:to(device)
  for k, v in pairs(g) do
    if out[k] == nil and k ~= "_graph" then
      if jl.is_tensor(v) and v.ndim >= 1 and v.shape[1] == n_nodes then out[k] = v:index_select(1, node_rows)
      else out[k] = v end
    end
  end
  return out
end

-- The jets [first, first + count) of a ragged batch r (nodes of a jet contiguous).
local function split_ragged(r, first, count)
  local offsets = r.offsets:to("cpu")
  local lo, hi = offsets[first], offsets[first + count]
  local out = {offsets = (r.offsets:narrow(1, first, count + 1) - lo):contiguous()}
  for k, v in pairs(r) do
    if k ~= "offsets" then
      if NODE_FIELDS[k] and jl.is_tensor(v) then out[k] = v:narrow(1, lo + 1, hi - lo)
      else out[k] = v end
    end
  end
  return out
end

-- The rows [first, first + count) of every tensor field of t whose first dimension is n.
local function split_rows(t, n, first, count)
  local out = {}
  for k, v in pairs(t) do
    if jl.is_tensor(v) and v.ndim >= 1 and v.shape[1] == n then out[k] = v:narrow(1, first, count)
    else out[k] = v end
  end
  return out
end

-- True when v is a ragged batch of n jets: x and offsets (n+1) tensors.
local function is_ragged(v, n)
  return type(v) == "table" and jl.is_tensor(v.x) and jl.is_tensor(v.offsets) and v.offsets.ndim == 1
    and v.offsets.shape[1] == n + 1
end

-- One field of a batch of n jets, split.
local function split_field(v, n, first, count)
  if jl.is_tensor(v) then
    if v.ndim >= 1 and v.shape[1] == n then return v:narrow(1, first, count) end
    return v
  end
  if is_ragged(v, n) then
    if jl.is_tensor(v.src) then return split_graph(v, first, count) end
    return split_ragged(v, first, count)
  end
  if type(v) == "table" and getmetatable(v) == nil then return split_rows(v, n, first, count) end
  return v
end

--- dist_shard.check_size(n, size): raises when a batch of n samples has fewer samples than ranks.
function dist_shard.check_size(n, size)
  if n < size then
    error(string.format("train.fit: a batch of %d samples cannot be split between %d MPI ranks (use batches of at least %d)",
      n, size, size), 0)
  end
end

-- A batch its source already split (batch.shard): checked against rank and size; its count and share.
local function presharded(batch, n, rank, size)
  local s = batch.shard
  if s.rank ~= rank or s.size ~= size then
    error(string.format("train.fit: the source gave rank %s of %s ranks' jets to rank %d of %d", tostring(s.rank),
      tostring(s.size), rank, size), 0)
  end
  dist_shard.check_size(n, size)
  local _, count = dist_shard.rows(rank, size, n)
  if batch.n ~= count then
    error(string.format("train.fit: the source gave rank %d %s of a batch of %d jets, expected %d", rank,
      tostring(batch.n), n, count), 0)
  end
  local share = count / n
  if jl.is_tensor(batch.w) then share = batch.w:sum():item() / s.w:sum():item() end
  return batch, count, share
end

--- dist_shard.split(batch, n, rank, size) → this rank's batch, its jet count, its share of the mean loss.
function dist_shard.split(batch, n, rank, size)
  if batch.shard ~= nil then return presharded(batch, n, rank, size) end
  dist_shard.check_size(n, size)
  local x = batch.x
  if not jl.is_tensor(x) and not is_ragged(x, n) and type(x) ~= "table" then
    error(string.format("train.fit: under MPI (%d ranks) a batch's x must be a tensor or a table of tensors to be split between ranks, got a %s",
      size, type(x)), 0)
  end
  local first, count = dist_shard.rows(rank, size, n)
  local mine = {}
  for k, v in pairs(batch) do mine[k] = split_field(v, n, first, count) end
  mine.n = count
  local share = count / n
  if jl.is_tensor(batch.w) then share = mine.w:sum():item() / batch.w:sum():item() end
  return mine, count, share
end

return dist_shard
