-- lund_speed.lua — Lund graphs per second (jl.lund.graphs: C/A re-clustering,
-- declustering of both branches, graph tensors), one JSON line per input kind.
-- Run: jetlab bench/lund_speed.lua [jets] [threads] [events.dat]
--
--   synthetic  ATLAS-layout batch (B, 64), ~50 real constituents per jet (30..70),
--              massless, collinear-enhanced: constituent i takes a pt fraction
--              drawn from a falling spectrum and sits at an angle ~ 0.02/sqrt(x)
--              (capped at 1) from the jet axis; pt of the jet 500 GeV;
--   pythia     the anti-kt R = 1.0 jets above 200 GeV of Debian's
--              Pythia-PtMin1000-LHC-10ev.dat (fastjet-examples), repeated to fill
--              the batch, as ragged four-vectors (skipped when the file is absent).
-- Target (issue 5): >= 50,000 jets/s on 2 cores. The median of 7 runs is reported.
local B = math.tointeger(tonumber(arg[1])) or 20000
local threads = math.tointeger(tonumber(arg[2])) or 2
local events = arg[3] or "/usr/share/doc/fastjet-examples/examples/Pythia-PtMin1000-LHC-10ev.dat"
jl.set_num_threads(threads)

-- Median wall-clock seconds of 7 runs, and the median CPU seconds of the
-- process (all threads) per run: on a shared machine the wall clock also counts
-- time given to other processes.
local function median_seconds(fn)
  fn() -- warm up: the thread pool, page faults
  local s, c = {}, {}
  for r = 1, 7 do
    local t0, c0 = jl.clock(), os.clock()
    fn()
    s[r], c[r] = jl.clock() - t0, os.clock() - c0
  end
  table.sort(s)
  table.sort(c)
  return s[4], c[4]
end

-- jets_per_s: wall clock; cpu_us_per_jet: CPU time of all threads per jet, and
-- jets_per_s_cpu = threads / that, the rate the threads reach when they have
-- their cores to themselves (what jets_per_s shows on an idle machine).
local function report(kind, jets, constituents, nodes, seconds, cpu)
  print(string.format('{"bench":"lund_speed","input":"%s","threads":%d,"jets":%d,' ..
    '"mean_constituents":%.1f,"nodes":%d,"seconds":%.4f,"jets_per_s":%.0f,' ..
    '"cpu_us_per_jet":%.2f,"jets_per_s_cpu":%.0f}',
    kind, threads, jets, constituents / jets, nodes, seconds, jets / seconds,
    cpu / jets * 1e6, threads * jets / cpu))
end

-- synthetic ATLAS-layout batch
local C = 64
local rng = 12345
local function uniform() -- a small LCG: the same jets on every run
  rng = (rng * 6364136223846793005 + 1442695040888963407) & 0x7fffffffffffffff
  return ((rng >> 11) + 0.5) / (1 << 52)
end
local pt, eta, phi, E = {}, {}, {}, {}
local total = 0
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
  total = total + n
end
local batch = {pt = jl.from(pt), eta = jl.from(eta), phi = jl.from(phi), E = jl.from(E)}
pt, eta, phi, E = nil, nil, nil, nil
collectgarbage()
local g
local sec, cpu = median_seconds(function() g = jl.lund.graphs(batch, {features = 5}) end)
report("synthetic", B, total, g.x.shape[1], sec, cpu)

-- real Pythia jets as ragged four-vectors
local ev = jl.physics.read_events(events)
local jets = ev and jl.physics.cluster_file(events, {r = 1.0, ptmin = 200})
if not jets or #jets == 0 then
  print('{"bench":"lund_speed","input":"pythia","skipped":"no event file"}')
  return
end
local rows, offsets = {}, {0}
total = 0
for b = 1, B do
  local j = jets[(b - 1) % #jets + 1]
  local p = ev[j.event]:tolist()
  for _, c in ipairs(j.constituents) do rows[#rows + 1] = p[c] end
  total = total + j.n
  offsets[b + 1] = total
end
local p4, off = jl.from(rows), jl.from(offsets, {dtype = "i64"})
rows = nil
collectgarbage()
sec, cpu = median_seconds(function() g = jl.lund.graphs(p4, off, {features = 5}) end)
report("pythia", B, total, g.x.shape[1], sec, cpu)
