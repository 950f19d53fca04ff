-- test_dist_shard.lua — one rank's share of a global batch (jetlab.dist_shard,
-- train.fit under MPI), in one process for every rank of 3: the blocks cover
-- the batch once; tensors by rows; Lund graph batches = nn.models.lundnet_select
-- of the rank's jets; ragged batches = the rank's jets' node rows; weighted
-- shares; nn.Dropout.rows draws the global mask and keeps the rank's rows.
local T = require "jetlab.test"
local nn = require "jetlab.nn"
local shard = require "jetlab.dist_shard"

T.case("the ranks' blocks cover a batch once, the first n % K one larger", function()
  local covered, counts = {}, {}
  for rank = 0, 2 do
    local first, count = shard.rows(rank, 3, 8)
    counts[#counts + 1] = count
    for i = first, first + count - 1 do covered[#covered + 1] = i end
  end
  T.eq(counts, {3, 3, 2})
  T.eq(covered, {1, 2, 3, 4, 5, 6, 7, 8})
end)

T.case("tensors by rows; shares by count, or by weight", function()
  local x, y, w = jl.randn(8, 3), jl.arange(1, 9, {dtype = "i64"}), jl.rand(8) + 0.5
  local total = 0
  for rank = 0, 2 do
    local first, count = shard.rows(rank, 3, 8)
    local mine, n, share = shard.split({x = x, y = y, w = w, tag = "kept"}, 8, rank, 3)
    T.eq(n, count)
    T.eq(mine.n, count)
    T.eq(mine.tag, "kept")
    T.eq(mine.x:tolist(), x:narrow(1, first, count):tolist())
    T.eq(mine.y:tolist(), y:narrow(1, first, count):tolist())
    T.near(share, w:narrow(1, first, count):sum():item() / w:sum():item(), 1e-6)
    total = total + share
    local _, _, plain = shard.split({x = x, y = y}, 8, rank, 3)
    T.near(plain, count / 8, 1e-12)
  end
  T.near(total, 1, 1e-6)
end)

T.case("a Lund graph batch by jets = lundnet_select of the rank's jets", function()
  local jets = jl.gen.jets{signal = "top", pt = {500, 600}, n = 7, seed = 2}
  local g = jl.lund.graphs(jets, {features = 5})
  local batch = nn.models.lundnet_select(g, {1, 2, 3, 4, 5, 6, 7})
  for rank = 0, 2 do
    local first, count = shard.rows(rank, 3, 7)
    local want = nn.models.lundnet_select(g, jl.arange(first, first + count, {dtype = "i64"}))
    local got = shard.split({x = batch}, 7, rank, 3).x
    for _, k in ipairs({"x", "offsets", "src", "dst", "edge_offsets"}) do T.eq(got[k]:tolist(), want[k]:tolist(), k) end
  end
end)

T.case("a ragged batch by jets: node rows and offsets from 0", function()
  local x = jl.randn(9, 4)
  local coords = jl.randn(9, 2)
  local offsets = jl.tensor({0, 2, 5, 6, 9}, {dtype = "i64"})
  local mine = shard.split({x = {x = x, offsets = offsets, coords = coords}}, 4, 1, 2).x -- jets 3, 4
  T.eq(mine.offsets:tolist(), {0, 1, 4})
  T.eq(mine.x:tolist(), x:narrow(1, 6, 4):tolist())
  T.eq(mine.coords:tolist(), coords:narrow(1, 6, 4):tolist())
  local pooled = shard.split({x = {pooled = jl.randn(4, 3)}}, 4, 1, 2).x.pooled
  T.eq(pooled.shape, {2, 3})
end)

T.case("errors: a batch smaller than the ranks, an x that cannot be split", function()
  T.raises(function() shard.split({x = jl.randn(2, 3)}, 2, 0, 3) end, "a batch of 2 samples cannot be split between 3 MPI ranks")
  T.raises(function() shard.split({x = "text"}, 4, 0, 2) end, "x must be a tensor or a table of tensors")
end)

T.case("Dropout.rows: the rank's rows of the global batch's mask", function()
  local drop = nn.Dropout(0.5)
  local ones = jl.ones(6, 4)
  jl.manual_seed(5)
  local whole = drop(ones)
  nn.Dropout.rows = {first = 3, count = 2, total = 6}
  jl.manual_seed(5)
  local part = drop(jl.ones(2, 4))
  nn.Dropout.rows = nil
  T.eq(part:tolist(), whole:narrow(1, 3, 2):tolist())
  T.eq({jl.rng_state()}, (function() jl.manual_seed(5); drop(ones); return {jl.rng_state()} end)())
end)

T.run()
