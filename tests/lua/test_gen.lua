-- test_gen.lua — the built-in jet generator (jl.gen, core/jl_gen.h): layout,
-- labels, pT window, determinism (seed, thread count, batch size, file), the
-- physics checks (top and W mass peaks, top-vs-QCD mass-window AUC, QCD
-- multiplicity and mass against the Pythia jets of fastjet-examples), errors.
-- Kept small: a few thousand jets in all.
local T = require "jetlab.test"

local function count(t) return t:to("i64"):sum():item() end
-- Elements where both boolean tensors hold.
local function both(a, b) return (a:to("i64") * b:to("i64")):sum():item() end

local function with_threads(n, fn)
  local before = jl.get_num_threads()
  jl.set_num_threads(n)
  local ok, a, b = pcall(fn)
  jl.set_num_threads(before)
  if not ok then error(a, 0) end
  return a, b
end

local fields = {"pt", "eta", "phi", "E", "jet_pt", "jet_eta", "jet_phi", "jet_m", "labels", "weights"}

local function same_jets(a, b, msg)
  for _, k in ipairs(fields) do T.ok(jl.equal(a[k], b[k]), (msg or "") .. ": " .. k .. " differs") end
end

-- Every check that jl.gen.checks says applies must pass; returns them by name.
local function all_pass(checks, want)
  T.eq(#checks, want, "number of checks that apply")
  local by = {}
  for _, c in ipairs(checks) do
    T.ok(c.pass, string.format("%s = %.4g outside [%g, %g]", c.name, c.value, c.lo, c.hi))
    by[c.name] = c
  end
  return by
end

T.case("layout: shapes, dtypes, half signal, window, sorted constituents, padding", function()
  local n = 300
  local jets, s = jl.gen.jets{signal = "top", pt = {500, 600}, n = n, seed = 11}
  T.eq(jets.pt.shape, {n, 200})
  T.eq(jets.E.dtype, "f32")
  T.eq(jets.jet_m.shape, {n})
  T.eq(jets.labels.dtype, "i64")
  T.eq(jets.weights_name, "training_weights")
  T.eq(count(jets.labels), n / 2)
  T.eq(count(jets.weights:eq(1)), n)
  T.eq(s.signal.n, n / 2)
  T.eq(s.qcd.n, n / 2)
  -- the window applies to the reconstructed jet
  T.eq(count(jets.jet_pt:lt(500)) + count(jets.jet_pt:ge(600)), 0, "jet pT outside [500, 600)")
  T.eq(count(jets.jet_eta:abs():ge(2)), 0, "|eta| >= 2")
  -- constituents: decreasing pT, padding all zero after the last one
  local pt = jets.pt
  local later = pt:narrow(2, 2, 199)
  local earlier = pt:narrow(2, 1, 199)
  T.eq(count(later:gt(earlier)), 0, "constituents not sorted by decreasing pT")
  local pad = pt:eq(0)
  for _, k in ipairs({"eta", "phi", "E"}) do
    T.eq(both(jets[k]:ne(0), pad), 0, k .. " nonzero in the padding")
  end
  T.eq(both(jets.E:lt(pt), pt:gt(0)), 0, "a constituent with E < pT")
  T.eq(count(jets.phi:abs():gt(math.pi)), 0, "phi outside [-pi, pi]")
  -- every jet has constituents, and the summary of the jets agrees with the generator's
  T.eq(count(pt:select(2, 1):le(0)), 0, "a jet without constituents")
  local again = jl.gen.summary(jets)
  T.eq(again.signal.mass_median, s.signal.mass_median)
  T.eq(again.qcd.mult_median, s.qcd.mult_median)
  T.eq(again.auc, s.auc)
end)

T.case("labels: none gives all QCD; odd n rounds signal down; n = 0 is empty", function()
  local jets, s = jl.gen.jets{signal = "none", pt = {300, 400}, n = 40, seed = 2}
  T.eq(count(jets.labels), 0)
  T.eq(s.signal.n, 0)
  T.ok(s.signal.mass_median ~= s.signal.mass_median, "empty class: NaN median")
  jets = jl.gen.jets{signal = "w", pt = {300, 400}, n = 41, seed = 2}
  T.eq(count(jets.labels), 20)
  jets = jl.gen.jets{n = 0}
  T.eq(jets.pt.shape, {0, 200})
end)

T.case("determinism: same seed same jets, whatever the threads and batch size", function()
  local opts = {signal = "top", pt = {500, 600}, n = 96, seed = 5}
  local a = with_threads(1, function() return jl.gen.jets(opts) end)
  local b = with_threads(3, function() return jl.gen.jets(opts) end)
  same_jets(a, b, "1 vs 3 threads")
  local c = jl.gen.jets{signal = "top", pt = {500, 600}, n = 96, seed = 5, batch = 7}
  same_jets(a, c, "batch 7 vs 4096")
  local d = jl.gen.jets{signal = "top", pt = {500, 600}, n = 96, seed = 6}
  T.ok(not jl.equal(a.jet_m, d.jet_m), "seed 6 gave the same jets as seed 5")
  T.ok(not jl.equal(a.labels, d.labels), "seed 6 gave the same labels as seed 5")
  -- a jet depends on its index only: the first 40 of 96 are the 40 of a shorter run
  -- with the same labels (the label shuffle depends on n, so compare jet by jet)
  local e = jl.gen.jets{signal = "top", pt = {500, 600}, n = 40, seed = 5}
  for i = 1, 40 do
    if a.labels[i] == e.labels[i] then
      T.eq(a.jet_m[i], e.jet_m[i], "jet " .. i)
    end
  end
end)

T.case("write: the file holds the jets of jl.gen.jets (MeV on disk), identically twice", function()
  local opts = {signal = "w", pt = {400, 500}, n = 50, seed = 9, batch = 16}
  local path1, path2 = os.tmpname(), os.tmpname()
  opts.path = path1
  local s = assert(jl.gen.write(opts))
  T.eq(s.signal.n + s.qcd.n, 50)
  T.ok(s.jets_per_second > 0)
  opts.path = path2
  assert(jl.gen.write(with_threads(2, function() return opts end)))
  if not jl.io then
    print("test_gen: jl.io not built, file contents not compared")
  else
    local mem = jl.gen.jets{signal = "w", pt = {400, 500}, n = 50, seed = 9}
    local f1, f2 = assert(jl.io.open_jets(path1)), assert(jl.io.open_jets(path2))
    T.eq(f1:count(), 50)
    T.eq(f1:weights_name(), "training_weights")
    local a, b = assert(f1:read(1, 50)), assert(f2:read(1, 50))
    same_jets(a, b, "two writes")
    for _, k in ipairs(fields) do T.ok(jl.allclose(a[k], mem[k], 1e-6, 1e-9), k .. ": file vs memory") end
    f1:close()
    f2:close()
  end
  os.remove(path1)
  os.remove(path2)
end)

T.case("top jets: mass peak in 160-190 GeV, mass-window AUC vs QCD in 0.75-0.92", function()
  local opts = {signal = "top", pt = {500, 600}, n = 2000, seed = 1}
  local _, s = jl.gen.jets(opts)
  local by = all_pass(jl.gen.checks(opts, s), 2)
  T.ok(by["top mass peak (GeV)"] and by["top vs QCD mass-window AUC"])
  T.ok(s.signal.mass_median > 160 and s.signal.mass_median < 190, "top median mass " .. s.signal.mass_median)
  T.ok(s.window > 150 and s.window < 200, "best window centre " .. s.window)
  print(string.format("test_gen: top 500-600 GeV: peak %.1f, median %.1f GeV; QCD median %.1f GeV; " ..
                      "constituents %.0f / %.0f; AUC %.3f; %.1f / %.1f attempts per jet",
                      s.signal.mass_peak, s.signal.mass_median, s.qcd.mass_median, s.signal.mult_median,
                      s.qcd.mult_median, s.auc, s.signal.attempts, s.qcd.attempts))
end)

T.case("W jets: mass peak in 70-90 GeV", function()
  local opts = {signal = "w", pt = {500, 600}, n = 2000, seed = 1}
  local _, s = jl.gen.jets(opts)
  all_pass(jl.gen.checks(opts, s), 1)
  T.ok(s.signal.mass_median > 70 and s.signal.mass_median < 95, "W median mass " .. s.signal.mass_median)
  print(string.format("test_gen: W 500-600 GeV: peak %.1f, median %.1f GeV", s.signal.mass_peak,
                      s.signal.mass_median))
end)

T.case("QCD at 900-1500 GeV: multiplicity and mass within 25% of the Pythia jets", function()
  local window = {signal = "none", pt = {900, 1500}}
  local ref, err = jl.gen.reference(window)
  if not ref then
    print("test_gen: reference events unavailable (" .. err .. "); install fastjet-examples")
    T.ok(false, "reference events missing: " .. err)
    return
  end
  T.ok(ref.n >= 15, "reference jets in the window: " .. ref.n)
  -- The reference holds particles, so compare particle-level jets (no detector).
  local _, s = jl.gen.jets{signal = "none", pt = {900, 1500}, n = 2000, seed = 1, detector = false}
  all_pass(jl.gen.checks(window, s, s.qcd, ref), 2)
  local _, det = jl.gen.jets{signal = "none", pt = {900, 1500}, n = 1000, seed = 1}
  print(string.format("test_gen: QCD 900-1500 GeV: median constituents %.1f (particles; %.1f clusters) vs " ..
                      "Pythia %.1f; median mass %.1f GeV (particles; %.1f clusters) vs Pythia %.1f (%d jets)",
                      s.qcd.mult_median, det.qcd.mult_median, ref.mult_median, s.qcd.mass_median,
                      det.qcd.mass_median, ref.mass_median, ref.n))
end)

T.case("checks fail outside their ranges", function()
  local fake = {signal = {n = 100, mass_peak = 120, mass_median = 120, mult_median = 30},
                qcd = {n = 100, mass_peak = 60, mass_median = 80, mult_median = 30}, auc = 0.99, window = 120}
  local checks = jl.gen.checks({signal = "top", pt = {500, 600}}, fake)
  T.eq(#checks, 2)
  for _, c in ipairs(checks) do T.eq(c.pass, false, c.name) end
  local qcd = {n = 100, mass_median = 300, mult_median = 100}
  local ref = {n = 20, mass_median = 150, mult_median = 50}
  checks = jl.gen.checks({signal = "none", pt = {900, 1500}}, fake, qcd, ref)
  T.eq(#checks, 2)
  for _, c in ipairs(checks) do T.eq(c.pass, false, c.name) end
  T.eq(#jl.gen.checks({signal = "none", pt = {900, 1500}}, fake, qcd, {n = 3, mass_median = 1, mult_median = 1}), 0)
end)

T.case("errors: bad options are errors naming them; file failures are nil, message", function()
  T.raises(function() jl.gen.jets{} end, "option 'n'")
  T.raises(function() jl.gen.jets{n = 10, signal = "higgs"} end, "option 'signal'")
  T.raises(function() jl.gen.jets{n = 10, pt = {600, 500}} end, "pT window")
  T.raises(function() jl.gen.jets{n = 10, pt = {500}} end, "option 'pt'")
  T.raises(function() jl.gen.jets{n = 10, r = 3} end, "R must be")
  T.raises(function() jl.gen.jets{n = 10, seeds = 3} end, "unknown option 'seeds'")
  T.raises(function() jl.gen.jets{n = 10, path = "x.h5"} end, "unknown option 'path'")
  T.raises(function() jl.gen.jets{n = -1} end, "option 'n'")
  T.raises(function() jl.gen.write{n = 10} end, "option 'path'")
  T.raises(function() jl.gen.jets{n = 10, detector = 1} end, "option 'detector'")
  -- a window the chain cannot reach: every attempt rejected, then an error naming the jet
  T.raises(function() jl.gen.jets{signal = "none", pt = {30, 30.00001}, r = 0.4, n = 1} end,
           "no jet passed the selection in 1000 attempts")
  local s, msg = jl.gen.write{n = 4, path = "/nonexistent/dir/gen.h5"}
  T.eq(s, nil)
  T.ok(msg:find("/nonexistent/dir/gen.h5", 1, true), msg)
  local ref, rmsg = jl.gen.reference{path = "/nonexistent/events.dat"}
  T.eq(ref, nil)
  T.ok(rmsg:find("/nonexistent/events.dat", 1, true), rmsg)
end)

T.run()
