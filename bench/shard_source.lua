-- shard_source.lua — what one MPI rank's data pass costs against the global
-- pass (issue 20: each rank prepares only its jets of a global batch), in one
-- process: the time of a pass over rank 0's jets of every global batch of 256
-- (batches{shard = {rank = 0, size = K}}), best of 3, for K = 1, 2, 4, 8.
--   jetlab bench/shard_source.lua
-- Sources: a jetlab.data view of 100000 random jets (40 columns) over a
-- complete row cache (flat 40x7 features; ragged with undersampling and the
-- teacher view), after the first pass that fills it (printed: every rank
-- makes that pass whole); the Lund graph source (experiments/common.lua,
-- LundNet5 features) on 20000 generated top jets, graphs kept (gathered per
-- batch) and built per batch (no budget).
package.path = "experiments/?.lua;tests/lua/?.lua;" .. package.path
local X = require "common"
local data = require "jetlab.data"
local dc = require "jetlab.data_cache"
local jets_file = require "jets_file"

local RANKS = {1, 2, 4, 8}

-- "K=k t s" for each K: the best of 3 passes of pass(shard option or nil).
local function timings(pass)
  local out = {}
  for _, k in ipairs(RANKS) do
    local best = math.huge
    for _ = 1, 3 do
      local t0 = jl.clock()
      pass(k > 1 and {rank = 0, size = k} or nil)
      best = math.min(best, jl.clock() - t0)
    end
    out[#out + 1] = string.format("K=%d %.3f s", k, best)
  end
  return table.concat(out, ", ")
end

local path = jets_file(100000, 40, 1)
dc.configure{mb = 1024}
for _, cfg in ipairs({{name = "view flat", format = "flat"},
                      {name = "view ragged + teacher", format = "ragged", teacher_view = true,
                       degrade = {data.undersample{keep = 5}}}}) do
  local view = assert(data.open(path)):with{batch_size = 256, shuffle = true, format = cfg.format,
    teacher_view = cfg.teacher_view, degrade = cfg.degrade}
  local t0 = jl.clock()
  for _ in view:batches{seed = 1, epoch = 0} do end
  local fill = jl.clock() - t0
  print(string.format("%s: first pass (fills the cache) %.3f s; then rank 0: %s", cfg.name, fill,
    timings(function(shard) for _ in view:batches{seed = 1, epoch = 1, shard = shard} do end end)))
end
os.remove(path)

path = os.tmpname() .. ".h5"
assert(jl.io.write_jets(path, jl.gen.jets{signal = "top", pt = {500, 600}, n = 20000, seed = 1}))
for _, mb in ipairs({256, 0}) do
  dc.configure{mb = mb}
  local src = X.lund_source(assert(data.open(path)), {features = 5, batch_size = 256, shuffle = true})
  for _ in src:batches() do end -- reads the jets (and keeps their graphs when mb > 0)
  print(string.format("Lund source, graphs %s: rank 0: %s", mb > 0 and "kept" or "built per batch",
    timings(function(shard) for _ in src:batches{shard = shard} do end end)))
end
os.remove(path)
