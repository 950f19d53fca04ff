-- test_uncertainty.lua — metrics.bootstrap against the analytic variance of the AUC
-- (Hanley & McNeil 1982, exact for exponential scores) and the spread of the AUC over
-- independent samples; its fixed seed and jl's generator left alone; jetlab.uncertainty's
-- seed aggregation arithmetic, the effect rule (|Δ| > 2σ_Δ) and the table cells.
local T = require "jetlab.test"
local metrics = require "jetlab.metrics"
local U = require "jetlab.uncertainty"
local results = require "jetlab.results"

-- n background scores ~ Exp(1) (label 1) and n signal scores ~ Exp(theta) (label 2)
local function sample(n, theta)
  local bkg = -jl.rand(n):log()
  local sig = -jl.rand(n):log() / theta
  local labels = jl.cat({jl.ones(n, {dtype = "i64"}), jl.full({n}, 2, {dtype = "i64"})}, 1)
  return jl.cat({bkg, sig}, 1), labels
end

-- Var(AUC) for exponential scores: A = 1 / (1 + θ), Q1 = P(Y1, Y2 > X), Q2 = P(Y > X1, X2)
local function hanley_mcneil(n, theta)
  local A = 1 / (1 + theta)
  local q1 = 1 / (1 + 2 * theta)
  local q2 = 1 - 2 * theta / (1 + theta) + theta / (2 + theta)
  return math.sqrt((A * (1 - A) + (n - 1) * (q1 - A * A) + (n - 1) * (q2 - A * A)) / (n * n))
end

T.case("bootstrap AUC error = the analytic standard deviation (exponential scores) within 15%", function()
  jl.manual_seed(7)
  local n, theta = 1000, 0.5
  local scores, labels = sample(n, theta)
  local b = metrics.bootstrap(scores, labels)
  local want = hanley_mcneil(n, theta)
  T.near(want, 0.01202, 1e-4, "the formula's value")
  T.near(b.auc_err / want, 1, 0.15, string.format("bootstrap %.5f vs analytic %.5f", b.auc_err, want))
  T.eq(b.resamples, 200)
end)

T.case("bootstrap AUC error = the AUC's spread over 100 independent samples within 20%", function()
  jl.manual_seed(11)
  local n, theta = 500, 0.3
  local aucs = {}
  for i = 1, 100 do aucs[i] = metrics.auc(sample(n, theta)) end
  local scores, labels = sample(n, theta)
  local b = metrics.bootstrap(scores, labels)
  T.near(b.auc_err / U.std(aucs), 1, 0.2, string.format("bootstrap %.5f vs spread %.5f", b.auc_err, U.std(aucs)))
  T.ok(b.rej50_err > 0 and b.rej30_err > 0, "rejection errors")
  T.eq(#b.band.eff_s, #b.band.rej_err)
end)

T.case("bootstrap: fixed seed, the same errors twice, jl's generator untouched", function()
  jl.manual_seed(3)
  local scores, labels = sample(300, 0.5)
  local s0, c0 = jl.rng_state()
  local a = metrics.bootstrap(scores, labels, {resamples = 50})
  local s1, c1 = jl.rng_state()
  T.eq({s1, c1}, {s0, c0}, "generator state")
  local b = metrics.bootstrap(scores, labels, {resamples = 50})
  T.eq(a.auc_err, b.auc_err)
  T.eq(a.rej50_err, b.rej50_err)
  local c = metrics.bootstrap(scores, labels, {resamples = 50, seed = 99})
  T.ok(c.auc_err ~= a.auc_err, "another seed, other resamples")
end)

T.case("aggregate: mean, sample standard deviation, per-seed values, errors averaged", function()
  local m = U.aggregate({{auc = 0.90, auc_err = 0.010, params = 100, rej50 = 20},
                         {auc = 0.86, auc_err = 0.014, params = 100, rej50 = 30},
                         {auc = 0.88, auc_err = 0.012, params = 100, rej50 = 25}})
  T.near(m.auc, 0.88, 1e-15)
  T.near(m.auc_std, 0.02, 1e-15)
  T.eq(m.auc_per_seed, {0.90, 0.86, 0.88})
  T.near(m.auc_err, 0.012, 1e-15)
  T.eq(m.auc_err_std, nil, "no spread of errors")
  T.eq(m.params, 100)
  T.eq(m.params_std, nil, "an integer the same in every seed")
  T.near(m.rej50_std, 5, 1e-12)
  T.eq(m.n_seeds, 3)
  local one = {auc = 0.9}
  T.eq(U.aggregate({one}), one, "one seed as it is")
end)

T.case("the effect rule: |Δ| > 2 sqrt(σ_a² + σ_b²), σ² = err² + std² / N", function()
  local a = {auc = 0.90, auc_err = 0.01}
  T.near(U.sigma({auc = 0.9, auc_err = 0.01, auc_std = 0.02, n_seeds = 4}, "auc"), math.sqrt(2e-4), 1e-15)
  T.eq(U.sigma({auc = 0.9}, "auc"), nil)
  local d = U.compare(a, {auc = 0.87, auc_err = 0.01}, "auc")
  T.near(d.delta, 0.03, 1e-15)
  T.near(d.sigma, math.sqrt(2) * 0.01, 1e-15)
  T.eq(d.effect, true, "0.03 > 2 × 0.01414")
  T.eq(d.text, "+0.03 ± 0.01414: effect")
  T.eq(U.compare(a, {auc = 0.875, auc_err = 0.01}, "auc").effect, false, "0.025 < 0.0283")
  T.eq(U.compare({auc = 0.9}, {auc = 0.5}, "auc").effect, false, "no uncertainty, no effect claimed")
  local row = U.comparison_row("KD", a, {auc = 0.875, auc_err = 0.01}, "auc")
  T.eq(row, {"KD", "0.9 ± 0.01", "0.875 ± 0.01", "+0.025 ± 0.01414", "no effect"})
  T.eq(#U.COMPARISON_COLUMNS, #row)
end)

T.case("cells and the metrics table: a ± std ± err, the folded fields out of the columns", function()
  T.eq(U.cell({auc = 0.88, auc_std = 0.02, auc_err = 0.012}, "auc"), "0.88 ± 0.02 ± 0.012")
  T.eq(U.cell({auc = 0.88, auc_err = 0.012}, "auc"), "0.88 ± 0.012")
  T.eq(U.cell({auc = 0.88}, "auc"), 0.88)
  local dir = os.tmpname()
  os.remove(dir)
  local run = results.run("unc", {}, {root = dir, log = false})
  run:record("FCNN", "Student", {auc = 0.88, auc_err = 0.012, auc_std = 0.02, auc_per_seed = {0.9, 0.86}, n_seeds = 2})
  local t = run:metrics_table()
  T.eq(t.columns, {"model", "variant", "AUC", "n_seeds"})
  T.eq(t.rows[1], {"FCNN", "Student", "0.88 ± 0.02 ± 0.012", 2})
  os.execute("rm -rf " .. dir)
end)

T.run()
