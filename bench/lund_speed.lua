-- lund_speed.lua — Lund graphs per second (jl.lund.graphs: C/A re-clustering of
-- each jet, declustering of both branches, the graph tensors), one JSON line per
-- kind of input. Run: jetlab bench/lund_speed.lua [jets] [threads] [events.dat]
-- (bench/lund_speed.sh pins 2 cores). Target (issue 5): >= 50,000 jets/s on 2
-- cores for jets of ~50 constituents.
--
--   gen-detector  jl.gen top vs QCD jets, 500-600 GeV, calorimeter clusters (what
--                 the taggers train on; ~29 constituents), ATLAS layout (B, 200)
--   gen-particle  the same at particle level (~65 constituents)
--   synthetic     ATLAS-layout (B, 64), 30..70 massless constituents (~50): a
--                 falling pt-fraction spectrum, angles ~ 0.02/sqrt(x) (capped at 1)
--                 from the axis; used when jl.gen is missing too
--   pythia        the anti-kt R = 1.0 jets above 200 GeV of fastjet-examples'
--                 Pythia-PtMin1000-LHC-10ev.dat (~85 constituents), repeated to
--                 fill the batch, as ragged four-vectors
--
-- Each figure is the median of 7 runs after a warm-up. jets_per_s is wall clock;
-- on a shared machine it drops with the load, while cpu_us_per_jet (process CPU
-- time, all threads summed, per jet) does not: jets_per_s_cpu = threads /
-- cpu_us_per_jet is the rate the threads reach on cores of their own.
local B = math.tointeger(tonumber(arg[1])) or 20000
local threads = math.tointeger(tonumber(arg[2])) or 2
local events = arg[3] or "/usr/share/doc/fastjet-examples/examples/Pythia-PtMin1000-LHC-10ev.dat"
jl.set_num_threads(threads)

local function median_seconds(fn)
  fn() -- warm up: the thread pool, page faults
  local wall, cpu = {}, {}
  for r = 1, 7 do
    local t0, c0 = jl.clock(), os.clock()
    fn()
    wall[r], cpu[r] = jl.clock() - t0, os.clock() - c0
  end
  table.sort(wall)
  table.sort(cpu)
  return wall[4], cpu[4]
end

-- Times jl.lund.graphs(...) and prints the line.
local function bench(kind, ...)
  local args = table.pack(...)
  local g
  local wall, cpu = median_seconds(function() g = jl.lund.graphs(table.unpack(args, 1, args.n)) end)
  local jets = g.offsets.shape[1] - 1
  local constituents = g.n_constituents:float():sum():item()
  print(string.format('{"bench":"lund_speed","input":"%s","threads":%d,"jets":%d,' ..
    '"mean_constituents":%.1f,"nodes":%d,"seconds":%.4f,"jets_per_s":%.0f,' ..
    '"cpu_us_per_jet":%.2f,"jets_per_s_cpu":%.0f}',
    kind, threads, jets, constituents / jets, g.x.shape[1], wall, jets / wall,
    cpu / jets * 1e6, threads * jets / cpu))
end

-- generated jets
if jl.gen and jl.gen.jets then
  bench("gen-detector", (jl.gen.jets{signal = "top", pt = {500, 600}, n = B, seed = 1}))
  collectgarbage()
  bench("gen-particle", (jl.gen.jets{signal = "top", pt = {500, 600}, n = B, seed = 1, detector = false}))
  collectgarbage()
end

-- synthetic jets of ~50 constituents
local C = 64
local rng = 12345
local function uniform() -- a small LCG: the same jets on every run
  rng = (rng * 6364136223846793005 + 1442695040888963407) & 0x7fffffffffffffff
  return ((rng >> 11) + 0.5) / (1 << 52)
end
local pt, eta, phi, E = {}, {}, {}, {}
for b = 1, B do
  local n = 30 + math.floor(uniform() * 41)
  local xs, sum = {}, 0
  for i = 1, n do
    xs[i] = uniform() ^ 3 + 1e-4
    sum = sum + xs[i]
  end
  table.sort(xs, function(a, c) return a > c end)
  local rp, re, rf, rE = {}, {}, {}, {}
  for i = 1, C do
    if i <= n then
      local x = xs[i] / sum
      local theta = math.min(1.0, 0.02 / math.sqrt(x)) * math.sqrt(-2 * math.log(uniform()))
      local a = 2 * math.pi * uniform()
      local p, h = 500 * x, theta * math.cos(a)
      rp[i], re[i], rf[i], rE[i] = p, h, theta * math.sin(a), p * math.cosh(h)
    else
      rp[i], re[i], rf[i], rE[i] = 0, 0, 0, 0
    end
  end
  pt[b], eta[b], phi[b], E[b] = rp, re, rf, rE
end
local batch = {pt = jl.from(pt), eta = jl.from(eta), phi = jl.from(phi), E = jl.from(E)}
pt, eta, phi, E = nil, nil, nil, nil -- luacheck: ignore 311 (frees them before collectgarbage)
collectgarbage()
bench("synthetic", batch, {features = 5})
batch = nil -- luacheck: ignore 311 (frees it before collectgarbage)
collectgarbage()

-- real Pythia jets as ragged four-vectors
local ev = jl.physics.read_events(events)
local jets = ev and jl.physics.cluster_file(events, {r = 1.0, ptmin = 200})
if not jets or #jets == 0 then
  print('{"bench":"lund_speed","input":"pythia","skipped":"no event file"}')
  return
end
local rows, offsets, total = {}, {0}, 0
for b = 1, B do
  local j = jets[(b - 1) % #jets + 1]
  local p = ev[j.event]:tolist()
  for _, c in ipairs(j.constituents) do rows[#rows + 1] = p[c] end
  total = total + j.n
  offsets[b + 1] = total
end
local p4, off = jl.from(rows), jl.from(offsets, {dtype = "i64"})
rows = nil -- luacheck: ignore 311 (frees them before collectgarbage)
collectgarbage()
bench("pythia", p4, off, {features = 5})
