-- bench/mpi_scaling_table.lua ALLREDUCE.jsonl STEPS.jsonl — the tables of
-- bench/mpi_scaling.sh: the measured allreduce times (2 ranks, loopback) and
-- training steps (one process), then the estimate of K-node training.
--
-- The estimate. A step on K nodes (one rank each, this machine's step time
-- for the per-rank batch b, from a line fitted through the measured ones)
-- is t(K) = t_compute(b) + t_allreduce(K, S), no
-- overlap counted (an upper bound: jl.dist.reducer starts buckets during
-- backward), with the ring allreduce of S bytes of gradients
--   t_allreduce(K, S) = 2 (K - 1) alpha + 2 (K - 1) / K * S / beta + t_local(S),
-- alpha the network latency, beta its bandwidth per node, t_local the whole
-- 2-rank loopback reduction measured here, the fastest of its repeats (or
-- the one-tensor curve's at that size, when lower): packing, summing, the
-- shared-memory exchange, more than the local part alone; the median on a
-- loaded machine measures the scheduler instead.
-- Two networks: InfiniBand HDR100 / EDR (alpha 2 us, beta 12 GB/s) and 10
-- Gigabit Ethernet with TCP (alpha 30 us, beta 1.1 GB/s). Strong scaling: a
-- global batch of 256 split over K nodes (b = 256 / K); weak scaling: 256 per
-- node (the global batch grows with K, so an epoch has K times fewer steps).
-- Synchronised BatchNorm adds 2 small allreduces per BatchNorm layer in
-- forward and 2 in backward (LundNet5: 17 layers; ParticleNet: 13), each
-- 2 log2(K) alpha (recursive doubling), counted too.
local json = require "jetlab.json"

local function read(path)
  local rows = {}
  for line in io.lines(path) do
    if line:match("^{") then rows[#rows + 1] = json.decode(line) end
  end
  return rows
end

local allreduce, steps = read(arg[1]), read(arg[2])
local NETWORKS = {{name = "InfiniBand (2 us, 12 GB/s)", alpha = 2e-6, beta = 12e9},
  {name = "10 GbE TCP (30 us, 1.1 GB/s)", alpha = 30e-6, beta = 1.1e9}}
local BN_LAYERS = {lundnet5 = 17, particlenet = 13}
local NODES = {1, 8, 16, 32, 64}
local GLOBAL = 256

print("Allreduce per step, 2 ranks on loopback (jl.dist.reducer: 4 MiB buckets, pack, MPI_Iallreduce, wait, unpack):\n")
print("| gradients | bytes | tensors | median ms | fastest ms |")
print("| --- | --- | --- | --- | --- |")
local grad_bytes, local_ms, sizes = {}, {}, {}
for _, r in ipairs(allreduce) do
  print(string.format("| %s | %.0f | %d | %.3f | %.3f |", r.what, r.bytes, r.tensors, r.ms, r.min_ms))
  if r.what == "one tensor" then sizes[#sizes + 1] = r
  else grad_bytes[r.what], local_ms[r.what] = r.bytes, r.min_ms end
end

-- The fastest one-tensor time at a byte count, interpolated between the measured sizes.
local function one_tensor_ms(bytes)
  for i = 2, #sizes do
    local lo, hi = sizes[i - 1], sizes[i]
    if bytes <= hi.bytes then
      return lo.min_ms + (hi.min_ms - lo.min_ms) * (bytes - lo.bytes) / (hi.bytes - lo.bytes)
    end
  end
  return sizes[#sizes] and sizes[#sizes].min_ms or 0
end
-- t_local: the model's own fastest reduction, or the one-tensor curve's at its
-- size when that is lower (a model's row can be all scheduler noise)
for model, bytes in pairs(grad_bytes) do local_ms[model] = math.min(local_ms[model], one_tensor_ms(bytes)) end

print("\nTraining steps, one process (jetlab bench, 2 threads; the fastest of the runs):\n")
print("| model | batch | runs | ms/sample | ms/step |")
print("| --- | --- | --- | --- | --- |")
local step_ms, runs = {}, {}
for _, r in ipairs(steps) do
  local ms = r.train_ms_per_sample * r.batch
  step_ms[r.model] = step_ms[r.model] or {}
  runs[r.model .. r.batch] = (runs[r.model .. r.batch] or 0) + 1
  step_ms[r.model][r.batch] = math.min(step_ms[r.model][r.batch] or math.huge, ms)
end
for _, model in ipairs({"lundnet5", "particlenet"}) do
  for _, b in ipairs({256, 32, 16, 8, 4}) do
    local ms = step_ms[model] and step_ms[model][b]
    if ms then print(string.format("| %s | %d | %d | %.3f | %.1f |", model, b, runs[model .. b], ms / b, ms)) end
  end
end

-- The line ms(b) = a + c b through a model's measured steps, least squares
-- of the relative deviations (weights 1 / ms^2, so that the small batches,
-- where the fixed part a shows, count as much as the large ones): the
-- estimate's compute time (single timings on a shared machine scatter).
local function fit(model)
  local w, sb, sm, sbb, sbm = 0, 0, 0, 0, 0
  local n = 0
  for b, ms in pairs(step_ms[model] or {}) do
    local k = 1 / (ms * ms)
    n, w, sb, sm, sbb, sbm = n + 1, w + k, sb + k * b, sm + k * ms, sbb + k * b * b, sbm + k * b * ms
  end
  if n < 2 then return nil end
  local c = (w * sbm - sb * sm) / (w * sbb - sb * sb)
  local a = (sm - c * sb) / w
  return function(b) return math.max(a, 0) + c * b end, a, c
end

-- Seconds of one step's communication on K nodes for a model.
local function comm(model, k, net)
  if k == 1 then return 0 end
  local s = grad_bytes[model]
  local ring = 2 * (k - 1) * net.alpha + 2 * (k - 1) / k * s / net.beta
  local bn = 4 * BN_LAYERS[model] * 2 * math.log(k, 2) * net.alpha
  return ring + bn + local_ms[model] / 1000
end

local compute_ms = {}
print("\nStep time fitted as a + c * batch (ms), used below:\n")
print("| model | a (ms) | c (ms/sample) |")
print("| --- | --- | --- |")
for _, model in ipairs({"lundnet5", "particlenet"}) do
  local f, a, c = fit(model)
  if f then
    compute_ms[model] = f
    print(string.format("| %s | %.1f | %.3f |", model, a, c))
  end
end

for _, net in ipairs(NETWORKS) do
  print(string.format("\nEstimate on %s, global batch %d (strong) and %d per node (weak); jets/s and an epoch of 10^6 jets:\n",
    net.name, GLOBAL, GLOBAL))
  print("| model | nodes | per-node batch | compute ms | allreduce ms | strong: jets/s | speed-up | epoch | weak: jets/s | speed-up | epoch |")
  print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
  for _, model in ipairs({"lundnet5", "particlenet"}) do
    local base_strong, base_weak
    for _, k in ipairs(NODES) do
      local b = GLOBAL // k
      local compute = compute_ms[model] and compute_ms[model](b)
      if compute and grad_bytes[model] then
        local c = comm(model, k, net) * 1000
        local strong = GLOBAL / ((compute + c) / 1000)
        local weak = k * GLOBAL / ((compute_ms[model](GLOBAL) + c) / 1000)
        base_strong, base_weak = base_strong or strong, base_weak or weak
        print(string.format("| %s | %d | %d | %.1f | %.2f | %.0f | %.1f | %.0f s | %.0f | %.1f | %.0f s |", model, k, b,
          compute, c, strong, strong / base_strong, 1e6 / strong, weak, weak / base_weak, 1e6 / weak))
      end
    end
  end
end
