-- jetlab.dist_train — what train.fit does when it runs as one of K MPI ranks
-- (jl.dist.size() > 1; `mpirun -n K jetlab script.lua`). Owner: train.fit.
--
--   local group = dist_train.group()      -- nil in a single process
--   group:start(model)                    -- rank 0's parameters, buffers and generator everywhere
--   group:sync_rng()                      -- at each epoch start: rank 0's generator (the same shuffle)
--   local mine, share = group:shard(batch, N) -- this rank's jets of a global batch of N
--   value = group:mean_loss(value, share) -- the global batch's mean loss, on every rank
--   loss = group:before_backward(loss, params, share)  -- then loss:backward()
--   group:average_grads()                 -- gradients of the global batch (bucketed allreduce)
--   local signal = group:interrupted()    -- after every step: any rank's signal, agreed
--   if group:owns_batch(b) then ... end; group:gather_batches(outs, labels)   -- shared validation
--   group:finish()                        -- at the end: Dropout back to whole batches, a barrier
--
-- Batch sizes stay global: every rank iterates the same shuffled order (rank
-- 0's generator) and keeps its own contiguous block of rows of each batch
-- (batch N over K ranks: N // K rows, the first N % K ranks one more; graph and
-- ragged batches by jets, jetlab.dist_shard). Sources offering can_shard
-- (train.batches asks them for this rank's jets) give the block already
-- prepared alone; group:shard then only checks it. Each rank's loss is scaled by
-- its share (n / N, or its part of Σ w with weights) before backward (not its
-- gradients after: synchronised BatchNorm sums gradients over ranks inside
-- backward), so the sum over ranks of a (weighted) mean loss's gradients is
-- the single-process gradient up to the order of the float sums.
-- Gradients are reduced in 4 MiB buckets whose MPI_Iallreduce starts during
-- backward, as soon as backward has made a bucket's gradients (autograd's
-- gradient-ready hook, jl.dist.reducer); the optimizer waits for all of them.
-- Graph networks' BatchNorm layers are synchronised (nn.BatchNorm1d sync).
-- Validation is shared: each rank evaluates every K-th batch and the logits
-- are gathered (the numbers of one process, on every rank); only rank 0 logs
-- and writes checkpoints (group.writes).

local jl = require "jetlab"
local dist_shard = require "jetlab.dist_shard"
local Dropout = require "jetlab.nn.dropout"

local dist_train = {BUCKET_MB = 4}

local Group = {}
Group.__index = Group

--- dist_train.group() → the process group when there are several ranks, else nil.
function dist_train.group()
  local size = jl.dist.size()
  if size == 1 then return nil end
  local rank = jl.dist.rank()
  return setmetatable({rank = rank, size = size, writes = rank == 0, loss_buffer = jl.zeros(1)}, Group)
end

-- The modules that make a network a graph network (its BatchNorm layers synchronised).
local GRAPH_MODULES = {EdgeConv = true, GraphEdgeConv = true, LundEdgeConv = true, LundNet = true, ParticleNet = true}

--- dist_train.sync_batchnorm(model) → the number of BatchNorm1d layers set to
--- sync = true: those of a graph network (LundNet, ParticleNet, any EdgeConv
--- block) whose sync option was left unset; none in other networks.
function dist_train.sync_batchnorm(model)
  if type(model.named_modules) ~= "function" then return 0 end
  local modules, graph = model:named_modules(), false
  for _, e in ipairs(modules) do graph = graph or GRAPH_MODULES[e[2].__name] ~= nil end
  if not graph then return 0 end
  local n = 0
  for _, e in ipairs(modules) do
    if e[2].__name == "BatchNorm1d" and e[2].sync == nil then
      e[2].sync = true
      n = n + 1
    end
  end
  return n
end

--- group:start(model): rank 0's parameters, buffers and generator on every rank;
--- synchronised BatchNorm in graph networks.
function Group:start(model)
  for _, t in ipairs(model:parameters()) do jl.dist.broadcast(t, 0) end
  for _, t in ipairs(model:buffers()) do jl.dist.broadcast(t, 0) end
  self.synced_batchnorms = dist_train.sync_batchnorm(model)
  self:sync_rng()
end

--- group:sync_rng(): rank 0's generator state on every rank.
function Group:sync_rng()
  local s = jl.dist.broadcast_integers({jl.rng_state()}, 0)
  jl.set_rng_state(s[1], s[2])
end

--- group:shard(batch, N) → this rank's batch (jetlab.dist_shard: tensors, graph and
--- ragged batches; its n field is its sample count), its share of the global batch's mean loss.
--- Dropout layers then draw the global batch's mask and keep this rank's rows (nn.Dropout.rows).
function Group:shard(batch, n)
  local mine, count, share = dist_shard.split(batch, n, self.rank, self.size)
  Dropout.rows = {first = dist_shard.rows(self.rank, self.size, n), count = count, total = n}
  return mine, share
end

--- group:mean_loss(value, share) → the mean loss over the global batch (every rank's value weighted by its share).
function Group:mean_loss(value, share)
  local b = self.loss_buffer
  b[1] = value * share
  jl.dist.allreduce(b, "sum")
  return b[1]
end

--- group:owns_batch(b) → true when this rank evaluates batch b (round robin).
function Group:owns_batch(b) return (b - 1) % self.size == self.rank end

--- group:gather_batches(outs, labels): outs[b] is this rank's output (n_b, K)
--- for the batches it owns and false for the others (labels[b] (n_b) gives
--- every n_b); afterwards every outs[b] is the owner's output, on every rank
--- (one allreduce of an (N, K) table zero outside each rank's rows: exact).
function Group:gather_batches(outs, labels)
  local width = jl.zeros(self.size, {dtype = "i64"})
  for _, out in ipairs(outs) do
    if out then
      if out.ndim ~= 2 then
        error(string.format("train.evaluate: under MPI the model must output (n, K) logits to be gathered, got (%s)",
          table.concat(out.shape, ", ")), 0)
      end
      width[self.rank + 1] = out.shape[2]
    end
  end
  jl.dist.allreduce(width, "sum")
  local k = width:max():item()
  local total = 0
  for _, y in ipairs(labels) do total = total + y.shape[1] end
  local all = jl.zeros(total, k)
  local row = 1
  for b, y in ipairs(labels) do
    if outs[b] then all:narrow(1, row, y.shape[1]):copy_(outs[b]:to("cpu")) end
    row = row + y.shape[1]
  end
  jl.dist.allreduce(all, "sum")
  row = 1
  for b, y in ipairs(labels) do
    outs[b] = all:narrow(1, row, y.shape[1])
    row = row + y.shape[1]
  end
end

-- The signals train.fit stops on, numbered for the vote of group:interrupted().
local SIGNALS = {"SIGINT", "SIGTERM"}

--- group:interrupted() → the signal (a name) when any rank has been
--- interrupted (jl.interrupted()), else false: the same answer on every rank
--- (one small allreduce), so every rank stops after the same step; a rank
--- that had no signal records it (jl.interrupt), to exit as the others do.
function Group:interrupted()
  local mine = jl.interrupted()
  local votes = self.signal_votes or jl.zeros(#SIGNALS + 1, {dtype = "i64"})
  self.signal_votes = votes
  votes:fill_(0)
  if mine then
    local k = #SIGNALS + 1
    for i, name in ipairs(SIGNALS) do if name == mine then k = i end end
    votes[k] = 1
  end
  jl.dist.allreduce(votes, "sum")
  if mine then return mine end
  for i = 1, #SIGNALS do
    if votes[i] > 0 then
      jl.interrupt(SIGNALS[i]) -- as if it came here too: this process then exits as the signalled one
      return SIGNALS[i]
    end
  end
  return votes[#SIGNALS + 1] > 0 and "a signal" or false
end

local SIGNAL_STATUS = {SIGINT = 130, SIGTERM = 143}

--- group:stop_together(signal): after rank 0 has written interrupted.h5, every
--- rank waits for the others, and exiting with the host's status for signal
--- (130, 143) then ends the job cleanly (MPI_Finalize, not MPI_Abort).
function Group:stop_together(signal)
  Dropout.rows = nil
  jl.dist.barrier()
  if SIGNAL_STATUS[signal] then jl.dist.exit_together(SIGNAL_STATUS[signal]) end
end

--- group:finish(): at the end of train.fit, Dropout back to whole batches and
--- every rank waits for the others (rank 0's checkpoints are then on disk).
function Group:finish()
  Dropout.rows = nil
  jl.dist.barrier()
end

--- group:before_backward(loss, params, share) → share * loss, the tensor to run
--- backward from: the next backward hands each gradient of params to the
--- bucketed reduction as soon as it is whole (jl.dist.reducer: buckets of
--- BUCKET_MB, the last layers first, start their MPI_Iallreduce while backward
--- goes on). The loss is scaled before backward, not the gradients after it,
--- because synchronised BatchNorm sums gradients over ranks inside backward:
--- each rank's part must already carry its share of the global mean.
function Group:before_backward(loss, params, share)
  self.on_gpu = params[1] ~= nil and params[1].device ~= "cpu"
  if self.on_gpu then -- one NCCL group of allreduces after backward (average_grads)
    self.gpu_params = params
    return loss * share
  end
  if self.reducer_params ~= params then
    local reversed = {}
    for i = #params, 1, -1 do reversed[#reversed + 1] = params[i] end
    self.reducer, self.reducer_params = jl.dist.reducer(reversed, {bucket_mb = dist_train.BUCKET_MB}), params
  end
  self.reducer:arm(1)
  return loss * share
end

--- group:average_grads(): after backward, every gradient is the sum over ranks
--- of its own (of share times the rank's loss; a parameter backward did not
--- reach gets zeros, so every rank reduces the same list). Parameters on the
--- GPU are reduced here, by NCCL (jl.dist.nccl()), not during backward.
--- Returns the bucket count and how many started during backward.
function Group:average_grads()
  if not self.on_gpu then return self.reducer:finish() end
  local grads = {}
  for i, p in ipairs(self.gpu_params or {}) do
    if p.grad == nil then p.grad = jl.zeros_like(p) end
    grads[i] = p.grad
  end
  jl.dist.allreduce_many(grads)
  return 1, 0
end

return dist_train
