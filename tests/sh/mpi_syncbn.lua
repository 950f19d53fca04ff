-- mpi_syncbn.lua — the synchronised BatchNorm check of test_mpi_graph.sh: a
-- batch of 37 rows split between the ranks (contiguous blocks) through
-- nn.BatchNorm1d{sync = true} and ReLU (edgeconv.bn_relu, as the graph
-- networks use it) gives the rows, input gradients,
-- weight and bias gradients (summed over ranks) and running statistics of
-- plain BatchNorm (the fused kernel) on the whole batch in one process; a
-- GraphEdgeConv block with synchronised BatchNorm on 4 jets split between
-- the ranks, one rank's share without edges, = the block on all 4 jets.
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
local jets_first, jets_count = dist_shard.rows(rank, size, 4)

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
-- A GraphEdgeConv block (the published LundNet's) on 4 jets whose last two
-- have one node each: under 2 ranks rank 1's share has no edge, and its
-- edge layers still run (on no rows) so that the BatchNorm collectives match.
local edge_block = edgeconv.GraphEdgeConv(5, {8, 8})
local ref_block = edgeconv.GraphEdgeConv(5, {8, 8})
ref_block:load_state_dict(edge_block:state_dict())
for _, e in ipairs(edge_block:named_modules()) do
  if e[2].__name == "BatchNorm1d" then e[2].sync = true end
end
local g = {x = jl.randn(7, 5), offsets = jl.tensor({0, 3, 5, 6, 7}, {dtype = "i64"}),
  src = jl.tensor({2, 3, 5}, {dtype = "i64"}), dst = jl.tensor({1, 1, 4}, {dtype = "i64"})}
local function run(block, graph)
  local nbr, eoff = jl.edges_by_dst(graph.src, graph.dst, graph.x.shape[1])
  local nodes = graph.x:clone():requires_grad_()
  local y = block(nodes, {nbr = nbr, edge_offsets = eoff})
  ;(y * y):sum():backward()
  return y, nodes.grad
end
local y_ref, gx_ref = run(ref_block, g)
local mine = dist_shard.split({x = g}, 4, rank, size).x
local y, gx = run(edge_block, mine)
local lo, hi = g.offsets[jets_first], g.offsets[jets_first + jets_count]
compare("edge block rows", y, y_ref:narrow(1, lo + 1, hi - lo))
compare("edge block input gradient", gx, gx_ref:narrow(1, lo + 1, hi - lo))
local ref_params = ref_block:named_parameters()
for i, e in ipairs(edge_block:named_parameters()) do
  jl.dist.allreduce(e[2].grad, "sum")
  compare("edge block " .. e[1] .. " gradient", e[2].grad, ref_params[i][2].grad)
end

print(string.format("syncbn %d %.3g %s", rank, worst, what))
