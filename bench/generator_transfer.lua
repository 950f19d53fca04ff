-- generator_transfer.lua — issue 15's FCNN criterion: does a FCNN trained on the
-- built-in generator's jets score Pythia jets as well as one trained on Pythia
-- jets? For each seed: the experiments' FCNN (5×400 on the 7 ATLAS features of
-- 80 constituents, standardised with its own training set's statistics, Adam,
-- batch 250; experiments/common.lua) is trained once on N generated top/QCD
-- jets (jetlab gen, 500:600 GeV, R = 1.0, |η| < 2.5, particle level: the
-- Pythia samples are hadron level, so no detector) and once on N Pythia jets
-- (a seeded random subset of PYTHIA_TRAIN), same epochs, no early stopping
-- (the last epoch is scored); both score every jet of PYTHIA_TEST (another
-- Pythia run). Prints each seed's AUCs, then mean ± std over seeds for each and
-- the paired difference (Pythia-trained − generated-trained) with its standard
-- error; one JSON line last. A diagnostic beside it: the same scores on the
-- test jets without the Pythia top jets outside 140 < m < 210 GeV. The
-- generator's top jets contain all three decay quarks (JL_GEN_CONTAINMENT),
-- Pythia's top sample keeps every top-event jet in the window (q10 of its
-- mass: 126 GeV), so the difference there shows how much of the gap is that
-- definition of the signal rather than the jets' substructure.
--
--   jetlab gen --engine pythia --signal top --pt 500:600 -n 6000 --seed 11 -o py_train.h5
--   jetlab gen --engine pythia --signal top --pt 500:600 -n 4000 --seed 1 -o py_test.h5
--   jetlab bench/generator_transfer.lua py_train.h5 py_test.h5 [N (3000)] [epochs (5)] [seeds (3)] [lr (1e-3)]
package.path = (arg[0]:match("^(.*)/") or ".") .. "/../experiments/?.lua;" .. package.path
local data = require "jetlab.data"
local train = require "jetlab.train"
local X = require "common"

local usage = "usage: jetlab bench/generator_transfer.lua PYTHIA_TRAIN.h5 PYTHIA_TEST.h5 [N] [epochs] [seeds] [lr]"
local train_path, test_path = assert(arg[1], usage), assert(arg[2], usage)
local n = math.tointeger(tonumber(arg[3])) or 3000
local epochs = math.tointeger(tonumber(arg[4])) or 5
local seeds = math.tointeger(tonumber(arg[5])) or 3
local lr = tonumber(arg[6]) or 1e-3
local cfg = {constituents = 80, batch = 250, device = "cpu"}
local HIDDEN = {400, 400, 400, 400, 400}

local pythia = assert(data.open(train_path))
local test = assert(data.open(test_path))
local metrics = require "jetlab.metrics"

-- The rows kept by the diagnostic (QCD, and top jets with 140 < m < 210 GeV), as i64 indices; the file's jet count.
local function contained_like(path)
  local f <close> = assert(jl.io.open_jets(path))
  local rows = assert(f:read(1, f:count()))
  local m, labels, keep = rows.jet_m:tolist(), rows.labels:tolist(), {}
  for i = 1, #m do
    if labels[i] == 0 or (m[i] > 140 and m[i] < 210) then keep[#keep + 1] = i end
  end
  return jl.from(keep, {dtype = "i64"}), #m
end
local keep, test_jets = contained_like(test_path)
assert(pythia:size() >= n, string.format("%s has %d jets, fewer than N = %d", train_path, pythia:size(), n))

-- AUCs on the Pythia test jets (all; the diagnostic's) of a FCNN trained on `view` (its own standardisation).
local function fit_and_score(view, seed)
  local fam = X.family("fcnn", cfg, view)
  local model = X.build(X.spec.fcnn(cfg.constituents, HIDDEN))
  train.fit{model = model, optimizer = X.optimizer("fcnn", model:parameters(), lr),
            train = fam:source(view, {shuffle = true}), epochs = epochs, seed = seed, log = false}
  local scores, labels = train.predict(model, fam:source(test))
  assert(scores.shape[1] == test_jets, "the test file has jets the loader skips")
  return metrics.auc(scores, labels), metrics.auc(scores:index_select(1, keep), labels:index_select(1, keep))
end

local function mean_std(v)
  local s = 0
  for _, x in ipairs(v) do s = s + x end
  local m, ss = s / #v, 0
  for _, x in ipairs(v) do ss = ss + (x - m) ^ 2 end
  return m, #v > 1 and math.sqrt(ss / (#v - 1)) or 0 / 0
end

print(string.format("generator_transfer: FCNN 5x400, N = %d training jets each, %d epochs, lr %g, %d seeds; " ..
                    "test: %d Pythia jets of %s", n, epochs, lr, seeds, test:size(), test_path))
print(string.format("%-5s %12s %12s %10s %18s %8s", "seed", "gen-trained", "py-trained", "py - gen",
                    "py - gen (m cut)", "seconds"))
local gen_auc, py_auc, diff, diff_cut = {}, {}, {}, {}
for seed = 1, seeds do
  local t0 = jl.clock()
  local gen_path = os.tmpname()
  assert(jl.gen.write{signal = "top", pt = {500, 600}, n = n, seed = seed, r = 1.0, eta = 2.5, detector = false,
                      path = gen_path})
  local g, g_cut = fit_and_score(assert(data.open(gen_path)), seed)
  os.remove(gen_path)
  local p, p_cut = fit_and_score(pythia:subset(n / pythia:size(), seed), seed)
  gen_auc[seed], py_auc[seed], diff[seed], diff_cut[seed] = g, p, p - g, p_cut - g_cut
  print(string.format("%-5d %12.4f %12.4f %+10.4f %+18.4f %8.0f", seed, g, p, p - g, p_cut - g_cut,
                      jl.clock() - t0))
end
local gm, gs = mean_std(gen_auc)
local pm, ps = mean_std(py_auc)
local dm, ds = mean_std(diff)
local se = ds / math.sqrt(seeds)
local cm, cs = mean_std(diff_cut)
print(string.format("AUC on Pythia jets, mean ± std over %d seeds: generated-trained %.4f ± %.4f, " ..
                    "Pythia-trained %.4f ± %.4f", seeds, gm, gs, pm, ps))
print(string.format("difference (Pythia-trained − generated-trained): %+.4f ± %.4f (standard error; seed std %.4f); " ..
                    "criterion |difference| ≤ 0.02: %s", dm, se, ds, math.abs(dm) <= 0.02 and "met" or "not met"))
print(string.format("diagnostic, without the Pythia top jets outside 140 < m < 210 GeV: difference %+.4f ± %.4f",
                    cm, cs / math.sqrt(seeds)))
print(string.format('{"bench":"generator_transfer","n":%d,"epochs":%d,"seeds":%d,"gen_auc":%.4f,"gen_std":%.4f,' ..
                    '"pythia_auc":%.4f,"pythia_std":%.4f,"diff":%.4f,"diff_se":%.4f,"diff_mass_cut":%.4f}', n, epochs,
                    seeds, gm, gs, pm, ps, dm, se, cm))
