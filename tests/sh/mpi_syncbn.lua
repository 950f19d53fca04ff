-- mpi_syncbn.lua — the synchronised BatchNorm check of test_mpi_graph.sh: a
-- batch of 37 rows split between the ranks (contiguous blocks) through
-- nn.BatchNorm1d{sync = true} and ReLU (edgeconv.bn_relu, as the graph
-- networks use it) gives the rows, input gradients,
-- weight and bias gradients (summed over ranks) and running statistics of
-- plain BatchNorm (the fused kernel) on the whole batch in one process.
--   jetlab mpi_syncbn.lua       (each rank prints "syncbn <rank> <max difference> <what>")
local nn = require "jetlab.nn"
local edgeconv = require "jetlab.nn.edgeconv"
local dist_shard = require "jetlab.dist_shard"

local rank, size = jl.dist.rank(), jl.dist.size()
jl.manual_seed(11)
local n, c = 37, 6
local x = jl.randn(n, c) * 3 + 5           -- (37, 6): far from zero mean, unit variance
local upstream = jl.randn(n, c)             -- (37, 6): the gradient reaching the layer's output
local first, count = dist_shard.rows(rank, size, n)

local worst, what = 0, "nothing"
local function compare(name, a, b)
  local d = (a - b):abs():max():item()
  if d > worst then worst, what = d, name end
end

-- one step of: plain BN on every row (the reference) and sync BN on this rank's rows
for step = 1, 3 do
  local ref, bn = nn.BatchNorm1d(c), nn.BatchNorm1d(c, {sync = true})
  for _ = 1, step do   -- step forwards move the running statistics
    local xr, xs = x:clone():requires_grad_(), x:narrow(1, first, count):clone():requires_grad_()
    local yr = ref(xr):relu()
    local ys = edgeconv.bn_relu(bn, xs)
    compare("rows " .. step, ys, yr:narrow(1, first, count))
    ;(yr * upstream):sum():backward()
    ;(ys * upstream:narrow(1, first, count)):sum():backward()
    compare("input gradient " .. step, xs.grad, xr.grad:narrow(1, first, count))
  end
  jl.dist.allreduce(bn.weight.grad, "sum")
  jl.dist.allreduce(bn.bias.grad, "sum")
  compare("weight gradient", bn.weight.grad, ref.weight.grad)
  compare("bias gradient", bn.bias.grad, ref.bias.grad)
  compare("running mean", bn.running_mean, ref.running_mean)
  compare("running var", bn.running_var, ref.running_var)
end
print(string.format("syncbn %d %.3g %s", rank, worst, what))
