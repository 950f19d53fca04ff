-- test_dist_shard_source.lua — sources that prepare only one MPI rank's jets
-- (batches{shard = {rank =, size =}}, train.fit under mpirun): for every rank
-- of 3, each batch holds exactly that rank's jets of the global batch (its x
-- has the shard's rows, not the global batch's), bit-identical to what
-- jetlab.dist_shard.split keeps of the global batch, with shard = {n = global
-- count, w = global weights}: jetlab.data views uncached, filling the cache,
-- and from a complete cache with the file gone (flat, ragged with the teacher
-- view and degradation), and the Lund graph source; train.fit's share and
-- sample counts are those of the split global batch.
local T = require "jetlab.test"
local data = require "jetlab.data"
local dc = require "jetlab.data_cache"
local dist_shard = require "jetlab.dist_shard"
package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local jets_file = require "jets_file"


local PATH = jets_file(1500, 16, 4, {empty = true})
local SIZE = 3

-- Whether two tensors (or graph / ragged tables) hold the same values and shapes, bit for bit.
local function same(a, b)
  if a == nil or b == nil then return a == b end
  if type(a) == "table" then
    for _, k in ipairs({"x", "offsets", "coords", "src", "dst", "edge_offsets"}) do
      if not same(a[k], b[k]) then return false end
    end
    return true
  end
  if a.dtype ~= b.dtype or table.concat(a.shape, ",") ~= table.concat(b.shape, ",") then return false end
  if a:numel() == 0 then return true end
  return a:to("f32"):sub(b:to("f32")):abs():max():item() == 0
end

-- The number of jets (rows of x) in a batch's x: a tensor or a ragged / graph table.
local function jets_in(x)
  if type(x) == "table" then return x.offsets:numel() - 1 end
  return x.shape[1]
end

-- Checks every rank's batches of a pass against the split global batches of the same pass.
local function check_pass(global, per_rank, fields)
  for rank = 0, SIZE - 1 do
    local mine = per_rank[rank]
    T.eq(#mine, #global, "rank " .. rank .. ": batch count")
    for i, g in ipairs(global) do
      local n = g.n
      local want, count, share = dist_shard.split(g, n, rank, SIZE)
      local got = mine[i]
      T.eq(got.n, count, "the rank's jet count")
      T.eq(jets_in(got.x), count, "x holds the rank's jets only")
      T.eq({got.shard.rank, got.shard.size, got.shard.n}, {rank, SIZE, n}, "shard")
      T.ok(same(got.shard.w, g.w), "the global batch's weights")
      for _, k in ipairs(fields) do
        T.ok(same(got[k], want[k]), string.format("rank %d batch %d: %s", rank, i, k))
      end
      local _, got_count, got_share = dist_shard.split(got, n, rank, SIZE)
      T.eq(got_count, count)
      T.eq(got_share, share, "share of the weighted mean loss, bit for bit")
    end
  end
end

local function pass(view, opts)
  local out = {}
  for b in view:batches(opts) do out[#out + 1] = b end
  return out
end

local function with(o, more)
  local out = {}
  for k, v in pairs(o) do out[k] = v end
  for k, v in pairs(more) do out[k] = v end
  return out
end

local CONFIGS = {
  flat = {format = "flat", batch_size = 64, shuffle = true, features = {max_constituents = 12}, chunk_size = 512,
          block_size = 128},
  ragged_kd = {format = "ragged", batch_size = 50, shuffle = true, teacher_view = true,
               degrade = {data.undersample{keep = 4, mode = "random"}, seed = 3},
               teacher_features = {max_constituents = 16}, features = {max_constituents = 10},
               chunk_size = 256, block_size = 64},
}

for name, cfg in pairs(CONFIGS) do
  local fields = {"x", "y", "w", "jets"}
  if cfg.teacher_view then fields[#fields + 1] = "x_teacher" end
  T.case("a view's shard batches are the rank's jets of the global batch, uncached: " .. name, function()
    local view = assert(data.open(PATH)):split{0.8, 0.2, seed = 5}
    local global = pass(view, with(cfg, {cache = false, seed = 9, epoch = 1}))
    local per_rank = {}
    for rank = 0, SIZE - 1 do
      per_rank[rank] = pass(view, with(cfg, {cache = false, seed = 9, epoch = 1, shard = {rank = rank, size = SIZE}}))
    end
    check_pass(global, per_rank, fields)
  end)

  T.case("a view's shard batches filling the cache, then from the complete cache without the file: " .. name, function()
    dc.configure{mb = 64}
    local copy = os.tmpname() .. ".h5"
    assert(os.execute(string.format("cp '%s' '%s'", PATH, copy)))
    local view = assert(data.open(copy)):split{0.8, 0.2, seed = 5}
    local plain = assert(data.open(PATH)):split{0.8, 0.2, seed = 5}
    local per_rank = {}
    per_rank[0] = pass(view, with(cfg, {seed = 9, epoch = 0, shard = {rank = 0, size = SIZE}})) -- fills the cache
    os.remove(copy)
    for rank = 1, SIZE - 1 do
      per_rank[rank] = pass(view, with(cfg, {seed = 9, epoch = 0, shard = {rank = rank, size = SIZE}}))
    end
    check_pass(pass(plain, with(cfg, {cache = false, seed = 9, epoch = 0})), per_rank, fields)
    for rank = 0, SIZE - 1 do
      per_rank[rank] = pass(view, with(cfg, {seed = 9, epoch = 4, shard = {rank = rank, size = SIZE}}))
    end
    check_pass(pass(plain, with(cfg, {cache = false, seed = 9, epoch = 4})), per_rank, fields)
    dc.configure{mb = 0}
  end)
end

T.case("the Lund graph source's shard batches: the rank's jets' graphs alone, gathered or built", function()
  package.path = "experiments/?.lua;" .. package.path
  local X = require "common"
  local view = assert(data.open(PATH)):split{0.5, 0.5, seed = 2}
  for _, mb in ipairs({0, 64}) do -- graphs built per batch, gathered from graphs built once
    dc.configure{mb = mb}
    local src = X.lund_source(view, {features = 5, batch_size = 40, shuffle = true, constituents = 16})
    jl.manual_seed(5)
    local global = {}
    for b in src:batches() do global[#global + 1] = b end
    local per_rank = {}
    for rank = 0, SIZE - 1 do
      jl.manual_seed(5)
      per_rank[rank] = {}
      for b in src:batches{shard = {rank = rank, size = SIZE}} do per_rank[rank][#per_rank[rank] + 1] = b end
    end
    check_pass(global, per_rank, {"x", "y", "w"})
    dc.configure{mb = 0}
  end
end)

T.case("bad shard options and batches smaller than the rank count raise clear errors", function()
  local view = assert(data.open(PATH))
  T.raises(function() view:batches{shard = {rank = 2, size = 2}} end, "shard must be {rank = r, size = k}")
  T.raises(function() view:batches{shard = "all"} end, "shard must be")
  T.raises(function() pass(view, {batch_size = 2, shard = {rank = 0, size = 3}}) end,
    "a batch of 2 samples cannot be split between 3 MPI ranks")
  local g = {x = jl.zeros(1, 2), y = jl.ones(1, {dtype = "i64"}), n = 1, shard = {rank = 0, size = 2, n = 2}}
  T.raises(function() dist_shard.split(g, 2, 1, 2) end, "gave rank 0 of 2 ranks' jets to rank 1 of 2")
  T.raises(function() dist_shard.split(g, 3, 0, 2) end, "gave rank 0 1 of a batch of 3 jets, expected 2")
end)

T.run()
