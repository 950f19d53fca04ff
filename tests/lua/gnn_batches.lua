-- gnn_batches.lua — synthetic GNN batches that test_gnn.lua and test_freeze.lua
-- share (a helper, not a suite: ctest runs only test_*.lua). Load it with
--   package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
--   local G = require "gnn_batches"

local G = {}

--- G.offsets_of(sizes) → i64 (#sizes + 1) offsets, 0 first.
function G.offsets_of(sizes)
  local off = {0}
  for i, n in ipairs(sizes) do off[i + 1] = off[i] + n end
  return jl.tensor(off, {dtype = "i64"})
end

--- G.ragged(sizes, seed[, features = 7]) → a ParticleNet batch {x, offsets, coords}; seeds jl first.
function G.ragged(sizes, seed, features)
  jl.manual_seed(seed)
  local off = G.offsets_of(sizes)
  local n = off[#sizes + 1]
  local x = jl.randn(n, features or 7)
  return {x = x, offsets = off, coords = x:narrow(2, 1, 2):clone()}
end

--- G.lund_batch(counts, features, seed) → a LundNet batch: a random tree per jet
--- (n - 1 nodes for n constituents, parent <-> child edges), like the peer's
--- lund_batch, with 1-based src, dst; seeds jl first.
function G.lund_batch(counts, features, seed)
  jl.manual_seed(seed)
  local src, dst, sizes = {}, {}, {}
  local base = 0
  local rng = 12345 + seed
  for j, c in ipairs(counts) do
    local m = math.max(c - 1, 1)
    for child = 2, m do
      rng = (rng * 1103515245 + 12345) % 2147483648
      local parent = rng % (child - 1) + 1
      src[#src + 1], dst[#dst + 1] = base + parent, base + child
      src[#src + 1], dst[#dst + 1] = base + child, base + parent
    end
    sizes[j] = m
    base = base + m
  end
  return {x = jl.randn(base, features), offsets = G.offsets_of(sizes), src = jl.tensor(src, {dtype = "i64"}),
    dst = jl.tensor(dst, {dtype = "i64"})}
end

return G
