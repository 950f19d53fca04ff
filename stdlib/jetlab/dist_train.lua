-- jetlab.dist_train — what train.fit does when it runs as one of K MPI ranks
-- (jl.dist.size() > 1; `mpirun -n K jetlab script.lua`). Owner: train.fit.
--
--   local group = dist_train.group()      -- nil in a single process
--   group:start(model)                    -- rank 0's parameters, buffers and generator everywhere
--   group:sync_rng()                      -- at each epoch start: rank 0's generator (the same shuffle)
--   local mine, n = group:shard(batch, N) -- this rank's rows of a global batch of N samples
--   value = group:mean_loss(value, n, N)  -- the global batch's mean loss, on every rank
--   group:average_grads(params, n, N)     -- gradients of the global batch (bucketed allreduce)
--
-- Batch sizes stay global: every rank iterates the same shuffled order (rank
-- 0's generator) and keeps its own contiguous block of rows of each batch
-- (batch N over K ranks: N // K rows, the first N % K ranks one more). Each
-- rank's gradient is scaled by n / N before the sum, so an unweighted mean
-- loss gives the single-process gradient up to the order of the float sums.
-- Gradients are reduced after backward (not overlapped with it), in 4 MiB
-- buckets. Every rank evaluates the whole validation set (the same numbers
-- everywhere); only rank 0 logs and writes checkpoints (group.writes).

local jl = require "jetlab"

local dist_train = {}

local Group = {}
Group.__index = Group

--- dist_train.group() → the process group when there are several ranks, else nil.
function dist_train.group()
  local size = jl.dist.size()
  if size == 1 then return nil end
  local rank = jl.dist.rank()
  return setmetatable({rank = rank, size = size, writes = rank == 0, loss_buffer = jl.zeros(1)}, Group)
end

--- group:start(model): rank 0's parameters, buffers and generator on every rank.
function Group:start(model)
  for _, t in ipairs(model:parameters()) do jl.dist.broadcast(t, 0) end
  for _, t in ipairs(model:buffers()) do jl.dist.broadcast(t, 0) end
  self:sync_rng()
end

--- group:sync_rng(): rank 0's generator state on every rank.
function Group:sync_rng()
  local s = jl.dist.broadcast_integers({jl.rng_state()}, 0)
  jl.set_rng_state(s[1], s[2])
end

-- The rows [first, first + count) of a global batch of n rows that this rank takes.
local function rows(rank, size, n)
  local base, extra = n // size, n % size
  return rank * base + math.min(rank, extra) + 1, base + (rank < extra and 1 or 0)
end

--- group:shard(batch, N) → this rank's batch (every tensor field whose first
--- dimension is N narrowed to its rows), its sample count.
function Group:shard(batch, n)
  if not jl.is_tensor(batch.x) then
    error(string.format("train.fit: under MPI (%d ranks) a batch's x must be a tensor to be split between ranks, got a %s",
      self.size, type(batch.x)), 0)
  end
  if n < self.size then
    error(string.format("train.fit: a batch of %d samples cannot be split between %d MPI ranks", n, self.size), 0)
  end
  local first, count = rows(self.rank, self.size, n)
  local mine = {}
  for k, v in pairs(batch) do
    if jl.is_tensor(v) and v.ndim >= 1 and v.shape[1] == n then mine[k] = v:narrow(1, first, count) else mine[k] = v end
  end
  mine.n = count
  return mine, count
end

--- group:mean_loss(value, n, N) → the mean loss over the global batch (every rank's value weighted by its n).
function Group:mean_loss(value, n, total)
  local b = self.loss_buffer
  b[1] = value * n / total
  jl.dist.allreduce(b, "sum")
  return b[1]
end

--- group:average_grads(params, n, N): every gradient becomes the sum over ranks
--- of n / N times its own (a parameter without one gets zeros first, so every
--- rank reduces the same list).
function Group:average_grads(params, n, total)
  local grads = {}
  for i, p in ipairs(params) do
    if p.grad == nil then p.grad = jl.zeros_like(p) end
    grads[i] = p.grad
  end
  jl.dist.allreduce_many(grads, {scale = n / total})
end

return dist_train
