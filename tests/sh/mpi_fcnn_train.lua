-- mpi_fcnn_train.lua — the training run of test_mpi_train.sh: an FCNN (no
-- BatchNorm, no dropout) trained with Adam by train.fit on 50 generated jets'
-- features in global batches of 25 (shuffled every epoch: 2 steps an epoch,
-- 10 epochs = 20 steps), the same in one process and under mpirun.
--   jetlab mpi_fcnn_train.lua OUT [fail_rank]
-- Rank 0 writes OUT: one "loss <epoch> <train_loss>" line per epoch, then
-- "weight <name> <index> <value>" for every parameter element. With
-- fail_rank, that rank raises an error in epoch 3; "forever" writes
-- OUT.rank<r>.pid (each rank's process id) and trains (nearly) without end,
-- for the kill check.
package.path = (arg[0]:match("^(.*)/") or ".") .. "/../lua/?.lua;" .. package.path
local train = require "jetlab.train"
local nn = require "jetlab.nn"
local optim = require "jetlab.optim"

local out_path, mode = arg[1], arg[2]
jl.manual_seed(7)
local n, features, batch = 50, 12, 25
local x = jl.randn(n, features)
local y = (x:narrow(2, 1, 1):squeeze(2):gt(0)):to("i64") + 1
local source = {num_batches = n // batch}
function source.batches()
  local order = jl.randperm(n)
  local b = 0
  return function()
    b = b + 1
    if b > n // batch then return nil end
    local idx = order:narrow(1, (b - 1) * batch + 1, batch)
    return {x = x:index_select(1, idx), y = y:index_select(1, idx)}
  end
end

if mode == "forever" then
  local pid = assert(io.open("/proc/self/stat")):read("l"):match("^%d+")
  local f = assert(io.open(string.format("%s.rank%d.pid", out_path, jl.dist.rank()), "w"))
  f:write(pid, "\n")
  f:close()
end

local net = nn.models.fcnn{inputs = features, hidden = {16, 16}}
local epochs = mode == "forever" and 100000 or 10
local fail_rank = tonumber(mode)
local history = train.fit{model = net, optimizer = optim.Adam(net:parameters(), {lr = 1e-2}), train = source,
  epochs = epochs, seed = 3, log = false,
  on_epoch = function(r)
    if fail_rank == jl.dist.rank() and r.epoch == 3 then
      error("rank " .. jl.dist.rank() .. " failed on purpose in epoch 3", 0)
    end
  end}

if jl.dist.rank() == 0 then require("train_record").write(out_path, history, net) end
