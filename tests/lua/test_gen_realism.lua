-- test_gen_realism.lua — the built-in generator's jets look like Pythia 8's
-- where the published taggers look (jetlab.realism on a few hundred jets):
-- QCD jets at 500-600 GeV, R = 1.0, particle level, against the numbers of a
-- Pythia 8 sample in the anchors' settings (jetlab gen --engine pythia --signal
-- top --pt 500:600 -n 4000 --seed 1: 2000 QCD jets; bench/generator_realism.lua).
-- The generator before the retune (massless photons from π0 → γγ, pions only)
-- failed the first two: ln m std 2.31, 48% massless constituents.
local T = require "jetlab.test"
local realism = require "jetlab.realism"

-- Pythia 8, QCD jets at 500-600 GeV: the declusterings' ln m (mean 0.68, std 1.69),
-- massless constituents (photons: 3.7%), mean ln Δ -2.59, median constituents 58.
local PYTHIA = {ln_m_std = 1.69, ln_m_mean = 0.68, massless = 0.037, ln_delta_mean = -2.59, mult_median = 58}

local jets = jl.gen.jets{signal = "none", pt = {500, 600}, n = 400, seed = 3, r = 1.0, eta = 2.5, detector = false}
local qcd = realism.describe(jets)[0]

T.case("QCD declusterings: ln m std within 15% of Pythia's, mean within 0.3", function()
  local s = qcd.features.ln_m
  T.ok(math.abs(s.std / PYTHIA.ln_m_std - 1) < 0.15, string.format("ln m std %.3f vs Pythia %.2f", s.std, PYTHIA.ln_m_std))
  T.ok(math.abs(s.mean - PYTHIA.ln_m_mean) < 0.3, string.format("ln m mean %.3f vs Pythia %.2f", s.mean, PYTHIA.ln_m_mean))
end)

T.case("constituents carry hadron masses: under 10% massless (Pythia: 4%)", function()
  local pt, eta, E = jets.pt:tolist(), jets.eta:tolist(), jets.E:tolist()
  local present, massless = 0, 0
  for j = 1, #pt do
    for c = 1, #pt[j] do
      local p = pt[j][c]
      if p > 0 then
        local pz = p * math.sinh(eta[j][c])
        present = present + 1
        if E[j][c] ^ 2 - p * p - pz * pz < 0.05 ^ 2 then massless = massless + 1 end
      end
    end
  end
  T.ok(massless / present < 0.10, string.format("%.1f%% of %d constituents massless", 100 * massless / present, present))
end)

T.case("QCD multiplicity and ln Δ near Pythia's", function()
  T.ok(math.abs(qcd.mult.q50 / PYTHIA.mult_median - 1) < 0.2,
       string.format("median constituents %d vs Pythia %d", qcd.mult.q50, PYTHIA.mult_median))
  local d = qcd.features.ln_delta.mean
  T.ok(math.abs(d - PYTHIA.ln_delta_mean) < 0.15, string.format("mean ln Δ %.3f vs Pythia %.2f", d, PYTHIA.ln_delta_mean))
  print(string.format("test_gen_realism: QCD ln m %.3f ± %.3f, ln Δ %.3f, median constituents %d (%d jets)",
                      qcd.features.ln_m.mean, qcd.features.ln_m.std, d, qcd.mult.q50, qcd.jets))
end)

-- Pythia 8, QCD jets at 2-2.4 TeV (jetlab gen --engine pythia --signal none --pt 2000:2400 -n 600
-- --seed 3): median constituents 69. Multiplicity grows slowly with pT (59 at 500-600 GeV); the
-- generator's grew fast while every collinear parton made its own soft hadrons (101 here, 66 at
-- 500-600 GeV; 105 on this test's 400 jets); colour coherence in the fragmentation chain's stop
-- (gen_hadron.c) gives 80 (82 on these 400 jets).
T.case("QCD jets at 2 TeV: multiplicity within 25% of Pythia's", function()
  local q = realism.describe(jl.gen.jets{signal = "none", pt = {2000, 2400}, n = 400, seed = 3, r = 1.0, eta = 2.5,
                                         detector = false})[0]
  T.ok(math.abs(q.mult.q50 / 69 - 1) < 0.25, string.format("median constituents %d vs Pythia 69", q.mult.q50))
  print(string.format("test_gen_realism: QCD at 2-2.4 TeV: median constituents %d, mass median %.1f GeV (%d jets)",
                      q.mult.q50, q.mass.q50, q.jets))
end)

-- Pythia 8, W jets at 500-600 GeV (jetlab gen --engine pythia --signal w --pt 500:600 -n 2000):
-- jet mass median 100.6 GeV (the W's 80.4 plus the underlying event and ISR inside R = 1.0),
-- annulus 0.8 <= ΔR < 1.0: 4.6 GeV per unit area over all W jets, 1.4 over those with
-- 65 < m < 95 GeV (less ISR and no lost decay quark). The generator's underlying event of
-- 1 GeV per unit area gave a median of 90.7 GeV and 1.16 GeV in the annulus.
T.case("W jets: underlying event and ISR as in Pythia (annulus density, mass median)", function()
  local w = realism.describe(jl.gen.jets{signal = "w", pt = {500, 600}, n = 600, seed = 3, r = 1.0, eta = 2.5,
                                         detector = false})[1]
  T.ok(w.ue_pt > 1.8 and w.ue_pt < 4.6, string.format("annulus %.2f GeV per unit area", w.ue_pt))
  T.ok(math.abs(w.mass.q50 / 100.6 - 1) < 0.06, string.format("W jet mass median %.1f vs Pythia 100.6 GeV", w.mass.q50))
  print(string.format("test_gen_realism: W jets: mass median %.1f GeV, annulus %.2f GeV per unit area (%d jets)",
                      w.mass.q50, w.ue_pt, w.jets))
end)

T.run()
