-- mpi_view_train.lua — the training run of test_mpi_shard_source.sh: an FCNN
-- trained with Adam by train.fit on a jetlab.data view (flat features of 12
-- constituents, per-jet weights, row cache on: epoch 1 fills it, epochs 2-3
-- gather from it) in shuffled global batches of 50, validated on a view too;
-- the same in one process and under mpirun.
--   jetlab mpi_view_train.lua OUT
-- Rank 0 writes OUT: "loss <epoch> <train_loss>" and "val_loss <epoch> <v>"
-- per epoch, then "weight <name> <index> <value>" for every parameter element.
-- Every rank writes OUT.rank<r>: "rows <jets of x> <n> <global n>" for each
-- training batch as the source handed it to train.fit (before any split).
package.path = "tests/lua/?.lua;" .. package.path
local data = require "jetlab.data"
local dc = require "jetlab.data_cache"
local jets_file = require "jets_file"
local nn = require "jetlab.nn"
local optim = require "jetlab.optim"
local train = require "jetlab.train"

local out_path = arg[1]
local path = jets_file(600, 16, 11, {empty = true}) -- each rank its own copy of the same jets
dc.configure{mb = 64}
local tr, va = assert(data.open(path)):split{0.8, 0.2, seed = 3}
local opts = {batch_size = 50, shuffle = true, format = "flat", features = {max_constituents = 12}}
local view = tr:with(opts)
local seen = {} -- one line per training batch, as the source gave it
local source = setmetatable({batches = function(_, o)
  local next_batch = view:batches(o)
  return function()
    local b = next_batch()
    if b then seen[#seen + 1] = string.format("rows %d %d %d", b.x.shape[1], b.n, b.shard and b.shard.n or b.n) end
    return b
  end
end}, {__index = view})

jl.manual_seed(7)
local net = nn.models.fcnn{inputs = 12 * 7, hidden = {16, 16}}
local history = train.fit{model = net, optimizer = optim.Adam(net:parameters(), {lr = 1e-2}), train = source,
  val = va:with(opts), epochs = 3, seed = 3, log = false}
os.remove(path)

local f = assert(io.open(string.format("%s.rank%d", out_path, jl.dist.rank()), "w"))
f:write(table.concat(seen, "\n"), "\n")
f:close()
if jl.dist.rank() == 0 then require("train_record").write(out_path, history, net, {val = true}) end
