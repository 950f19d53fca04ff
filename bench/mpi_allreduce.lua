-- mpi_allreduce.lua — the gradient allreduce of data-parallel training, timed
-- (bench/mpi_scaling.sh runs it; not a test):
--   mpirun -n 2 jetlab bench/mpi_allreduce.lua [REPEATS]
-- For gradient sizes from 16 KiB to 64 MiB (one f32 tensor each) and for the
-- parameter lists of LundNet5 and ParticleNet, rank 0 prints one JSON line:
-- {"what", "bytes", "tensors", "ranks", "ms", "min_ms"}: the median and the
-- fastest over REPEATS (default 30) of what train.fit pays per step when
-- nothing overlaps:
-- jl.dist.reducer's arm + finish (pack into 4 MiB buckets, MPI_Iallreduce,
-- wait, unpack), after a barrier.
local json = require "jetlab.json"
local nn = require "jetlab.nn"

local repeats = tonumber(arg[1]) or 30
local rank, size = jl.dist.rank(), jl.dist.size()

local function median(xs)
  table.sort(xs)
  return xs[(#xs + 1) // 2]
end

-- Median and fastest milliseconds of one reduction of the tensors' gradients.
local function time_reduction(tensors)
  local reversed = {}
  for i = #tensors, 1, -1 do
    local t = tensors[i]
    t.grad = jl.randn(table.unpack(t.shape))
    reversed[#reversed + 1] = t
  end
  local r = jl.dist.reducer(reversed, {bucket_mb = 4})
  local times = {}
  for k = 1, repeats + 3 do
    jl.dist.barrier()
    local t0 = jl.clock()
    r:arm(1)
    r:finish()
    if k > 3 then times[#times + 1] = (jl.clock() - t0) * 1000 end
  end
  local fastest = math.min(table.unpack(times))
  return median(times), fastest
end

local function report(what, tensors)
  local floats = 0
  for _, t in ipairs(tensors) do floats = floats + t:numel() end
  local ms, min_ms = time_reduction(tensors)
  if rank == 0 then
    print(json.encode({what = what, bytes = 4 * floats, tensors = #tensors, ranks = size, ms = ms, min_ms = min_ms}))
    io.stdout:flush()
  end
end

local kib = 16
while kib <= 64 * 1024 do
  report("one tensor", {jl.zeros(kib * 256)})
  kib = kib * 4
end
report("lundnet5", nn.models.lundnet5():parameters())
report("particlenet", nn.models.particlenet():parameters())
