-- test_compile_lundnet.lua — nn.compile of a LundNet (published and peer variants) into
-- a graph plan (jl.graph_plan, every BatchNorm folded): equals the eager eval-mode
-- model on the Lund graphs of real-layout jets (LundNet5 and LundNet3, BatchNorm
-- statistics and affine parameters away from (0, 1)), whole batch (jets split over
-- the pool), jet by jet, with one-node jets (ln kt cut) and a jet without nodes, with
-- logits or probabilities; a plan is a snapshot; bad models, options and batches
-- are refused naming what is wrong. (The published models against PyTorch:
-- test_published_models.lua.)
local T = require "jetlab.test"
local nn = require "jetlab.nn"
local lundnet = require "jetlab.nn.models.lundnet"

local function jets()
  local f = assert(jl.io.open_jets("tests/fixtures/atlas2022.h5"))
  local b = assert(f:read(1, f:count()))
  f:close()
  return b
end

local function max_diff(a, b) return (a - b):abs():max():item() end

-- A LundNet whose BatchNorms have running statistics from the batch (train-mode
-- forwards) and affine parameters away from (1, 0); then eval mode.
local function warmed(features, batch, variant)
  jl.manual_seed(features)
  local net = nn.models.lundnet{features = features, variant = variant}
  net:train()
  jl.no_grad(function() for _ = 1, 3 do net(batch) end end)
  for _, e in ipairs(net:named_parameters()) do
    local bn = e[1]:match("bns%.%d+%.") or e[1]:match("bn%a*%.") or e[1]:match("fusion%.3%.") or e[1]:match("sc%.2%.")
    if bn and e[1]:match("weight$") then
      jl.no_grad(function() e[2]:copy_(jl.rand(e[2].shape[1]) + 0.5) end)
    elseif bn and e[1]:match("bias$") then
      jl.no_grad(function() e[2]:copy_(jl.randn(e[2].shape[1]) * 0.3) end)
    end
  end
  net:eval()
  return net
end

local function eager(net, batch, softmax)
  return jl.no_grad(function()
    local y = net(batch)
    return softmax and y:softmax(2) or y
  end)
end

-- Relative error of got against want (B, 2).
local function rel(got, want) return max_diff(got, want) / math.max(want:abs():max():item(), 1e-12) end

for _, run in ipairs({{5, "published"}, {3, "published"}, {5, "peer"}, {3, "peer"}}) do
  local features, variant = run[1], run[2]
  T.case("LundNet" .. features .. " (" .. variant .. "): compiled equals eager, whole batch and jet by jet", function()
    local g = jl.lund.graphs(jets(), {features = features})
    local net = warmed(features, g, variant)
    local B = g.offsets.shape[1] - 1
    T.ok(B >= 8, "enough jets to split over the pool")
    for _, softmax in ipairs({false, true}) do
      local plan = nn.compile(net, {softmax = softmax})
      local err = rel(plan(g), eager(net, g, softmax))
      T.ok(err < 1e-5, string.format("batch of %d jets: relative error %.3g", B, err))
      for _, j in ipairs({1, B // 2, B}) do
        local one = lundnet.select(g, {j})
        local e1 = rel(plan(one), eager(net, one, softmax))
        T.ok(e1 < 1e-5, string.format("jet %d alone: relative error %.3g", j, e1))
      end
    end
  end)
end

T.case("one-node jets (ln kt cut) and a zero-node jet: zero messages, as the eager model", function()
  local g = jl.lund.graphs(jets(), {features = 5, ln_kt_min = 4})
  local o = g.offsets:tolist()
  local one = 0
  for b = 1, #o - 1 do one = one + (o[b + 1] - o[b] == 1 and 1 or 0) end
  T.ok(one > 0, "the batch holds one-node jets")
  local net = warmed(5, jl.lund.graphs(jets(), {features = 5}))
  local plan = nn.compile(net)
  local err = rel(plan(g), eager(net, g))
  T.ok(err < 1e-5, string.format("relative error %.3g", err))
  local two = lundnet.select(g, {1, 2})
  local n1 = two.offsets[2]
  two.offsets = jl.tensor({0, n1, n1, two.x.shape[1]}, {dtype = "i64"}) -- jet 2 has no nodes
  local got, want = plan(two), eager(net, two)
  T.eq(got.shape, {3, 2})
  T.ok(rel(got, want) < 1e-5, string.format("with an empty jet: relative error %.3g", rel(got, want)))
end)

T.case("a LundNet plan is a snapshot; its sizes", function()
  local g = jl.lund.graphs(jets(), {features = 5})
  local net = warmed(5, g)
  local plan = nn.compile(net, {softmax = true})
  T.eq(plan.features, 5)
  T.eq(plan.outputs, 2)
  T.eq(#plan, 6)
  T.ok(tostring(plan):match("GraphPlan%(6 blocks"), tostring(plan))
  local before = plan(g)
  jl.no_grad(function() net.head[4].bias:copy_(net.head[4].bias + jl.tensor({1, 0})) end)
  T.eq(max_diff(plan(g), before), 0)
  T.ok(max_diff(nn.compile(net, {softmax = true})(g), before) > 1e-4, "compiling again takes the new weights")
end)

T.case("bad LundNets, options and batches", function()
  local g = jl.lund.graphs(jets(), {features = 5})
  local net = nn.models.lundnet5()
  net:eval()
  T.raises(function() nn.compile(net, {inputs = 3}) end, "unknown option 'inputs' for a LundNet")
  local plan = nn.compile(net)
  T.raises(function() plan(g.x) end, "expected a batch {x = %(N, F%)")
  local narrow = {x = g.x:narrow(2, 1, 3), offsets = g.offsets, src = g.src, dst = g.dst, edge_offsets = g.edge_offsets}
  T.raises(function() plan(narrow) end, "x must be %(nodes, 5%) f32 cpu, got f32 %(%d+, 3%)")
  local bad_off = {x = g.x, offsets = g.offsets:narrow(1, 1, 2), src = g.src, dst = g.dst,
    edge_offsets = g.edge_offsets}
  T.raises(function() plan(bad_off) end, "offsets end at %d+ but there are %d+ rows")
  -- an edge whose neighbour is in another jet
  local src = g.src:clone()
  src[1] = g.x.shape[1]
  local cross = {x = g.x, offsets = g.offsets, src = src, dst = g.dst, edge_offsets = g.edge_offsets}
  T.raises(function() plan(cross) end, "nbr%[0%] = %d+ is outside its jet 1")
  T.raises(function() jl.graph_plan{features = 5, blocks = {}, head = jl.plan(4, {})} end,
    "add the blocks before the fusion layer")
  T.raises(function()
    jl.graph_plan{features = 5, blocks = {{centre = jl.zeros(4, 5), neighbour = jl.zeros(4, 5), bias = jl.zeros(4),
      pass = true}}, fusion = {jl.zeros(3, 4), jl.zeros(3)}, head = jl.plan(3, {})}
  end, "1 passes without the block that ends them")
  T.raises(function()
    jl.graph_plan{features = 5, blocks = {{centre = jl.zeros(4, 5), neighbour = jl.zeros(4, 5), bias = jl.zeros(4)}},
      fusion = {jl.zeros(3, 4), jl.zeros(3)}, head = jl.plan(3, {})}
  end, "graph plan block 1: graph plan: a block from 5 to 4 channels needs a shortcut weight")
  T.raises(function()
    jl.graph_plan{features = 5, blocks = {{centre = jl.zeros(4, 5), neighbour = jl.zeros(4, 6), bias = jl.zeros(4),
      shortcut = {jl.zeros(4, 5), jl.zeros(4)}}}, fusion = {jl.zeros(3, 4), jl.zeros(3)}, head = jl.plan(3, {})}
  end, "the neighbour weight must be %(4, 5%), got %(4, 6%)")
  T.raises(function()
    jl.graph_plan{features = 5, blocks = {{centre = jl.zeros(4, 5), neighbour = jl.zeros(4, 5), bias = jl.zeros(4),
      shortcut = {jl.zeros(4, 5), jl.zeros(4)}}}, fusion = {jl.zeros(3, 4), jl.zeros(3)}, head = jl.plan(2, {})}
  end, "the head takes 2 inputs but the fusion layer gives 3")
end)

T.run()
