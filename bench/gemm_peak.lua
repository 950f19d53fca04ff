-- gemm_peak.lua — the machine's f32 matrix-product rate as jetlab reaches it
-- (jl.matmul: OpenBLAS split over jetlab's pool), one JSON line. The highest
-- median GFLOP/s over square and model-like shapes is the "peak" that
-- bench/compare.sh divides each model's training GEMM work by: no engine
-- doing the same products on this machine trains faster than that bound.
-- Run: jetlab bench/gemm_peak.lua [threads]   (gemm_peak.py: the same for torch)
local threads = tonumber(arg[1]) or 2
jl.set_num_threads(threads)
-- (M, K, N): squares, and LundNet's fusion layer / the FCNN's hidden layers at batch 256
local shapes = {{1024, 1024, 1024}, {2048, 2048, 2048}, {7168, 448, 384}, {256, 400, 400}}
local best, per_shape = 0, {}
for _, s in ipairs(shapes) do
  local m, k, n = s[1], s[2], s[3]
  local a, b = jl.randn(m, k), jl.randn(k, n)
  local reps = math.max(3, math.floor(2e10 / (2 * m * k * n)))   -- about 20 GFLOP per sample
  jl.matmul(a, b)                                                 -- warm-up
  local rates = {}
  for r = 1, 5 do
    local t0 = jl.clock()
    for _ = 1, reps do local _ <close> = jl.matmul(a, b) end
    rates[r] = 2 * m * k * n * reps / (jl.clock() - t0) / 1e9
  end
  table.sort(rates)
  per_shape[#per_shape + 1] = string.format('"%dx%dx%d": %.1f', m, k, n, rates[3])
  if rates[3] > best then best = rates[3] end
end
print(string.format('{"model": "gemm-peak", "threads": %d, "gemm_gflops": %.1f, "shapes": {%s}}',
  threads, best, table.concat(per_shape, ", ")))
