-- generator_scores.lua — which class does a published tagger mis-score on generated jets?
-- The LundNet authors' LundNet3 (or LundNet5) top tagger scores a generated top/QCD
-- sample (jetlab gen, 500:600 GeV, R = 1.0, |η| < 2.5, particle level) and a Pythia
-- sample of the same settings; prints the AUCs within each sample and across them
-- (generated top against Pythia QCD, Pythia top against generated QCD: the one that
-- falls is the class the tagger finds unlike Pythia's), the score quantiles of each
-- class, and per jet-mass bin the fraction of jets and of those scoring above 0.5.
--
--   jetlab bench/generator_scores.lua py_top500.h5 [jets (6000)] [seed (1)] [features (3)]
package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local metrics = require "jetlab.metrics"
local P = require "published_tagger"

local usage = "usage: jetlab bench/generator_scores.lua PYTHIA.h5 [jets] [seed] [features 3|5]"
local pythia_path = assert(arg[1], usage)
local n = math.tointeger(tonumber(arg[2])) or 6000
local seed = math.tointeger(tonumber(arg[3])) or 1
local features = math.tointeger(tonumber(arg[4])) or 3
local MASS_EDGES = {0, 60, 100, 140, 170, 210, 260, math.huge}

local model = P.model(features)

-- {scores = {...}, labels = {...}, mass = {...}} of a batch of jets.
local function score(rows)
  return {scores = P.scores(model, features, rows):tolist(), labels = rows.labels:tolist(), mass = rows.jet_m:tolist()}
end

local function class(s, label)
  local v = {}
  for i, l in ipairs(s.labels) do if l == label then v[#v + 1] = s.scores[i] end end
  return v
end

local function auc(sig, bkg)
  local scores, labels = {}, {}
  for _, v in ipairs(sig) do scores[#scores + 1], labels[#labels + 1] = v, 2 end
  for _, v in ipairs(bkg) do scores[#scores + 1], labels[#labels + 1] = v, 1 end
  return metrics.auc(jl.tensor(scores), jl.tensor(labels):to("i64"))
end

local path = os.tmpname()
assert(jl.gen.write{signal = "top", pt = {500, 600}, n = n, seed = seed, r = 1.0, eta = 2.5, detector = false,
                    path = path})
local gen = score(P.read(path, n))
os.remove(path)
local py = score(P.read(pythia_path, n))
local gt, gq, pt, pq = class(gen, 1), class(gen, 0), class(py, 1), class(py, 0)
print(string.format("LundNet%d, generated (seed %d) and Pythia (%s) jets, %d each", features, seed, pythia_path, n))
print(string.format("AUC generated %.4f, Pythia %.4f, generated top vs Pythia QCD %.4f, Pythia top vs generated QCD %.4f",
                    auc(gt, gq), auc(pt, pq), auc(gt, pq), auc(pt, gq)))
for _, c in ipairs{{"generated top", gt}, {"Pythia top", pt}, {"generated QCD", gq}, {"Pythia QCD", pq}} do
  local v = c[2]
  table.sort(v)
  local function q(f) return v[math.max(1, math.floor(f * #v + 0.5))] end
  print(string.format("  %-14s score q05 %.4f q10 %.4f q50 %.4f q90 %.4f q95 %.4f", c[1], q(0.05), q(0.1), q(0.5),
                      q(0.9), q(0.95)))
end
local bins = {}
for k = 1, #MASS_EDGES - 1 do bins[k] = string.format("%g-%g", MASS_EDGES[k], MASS_EDGES[k + 1]) end
print("per jet-mass bin (GeV): fraction of the class's jets (fraction of them scoring above 0.5)")
print("  bins: " .. table.concat(bins, ", "))
for _, c in ipairs{{"top", 1}, {"QCD", 0}} do
  for _, s in ipairs{{"generated", gen}, {"Pythia", py}} do
    local n_bin, hi, total = {}, {}, 0
    for i, l in ipairs(s[2].labels) do
      if l == c[2] then
        total = total + 1
        for k = 1, #MASS_EDGES - 1 do
          if s[2].mass[i] >= MASS_EDGES[k] and s[2].mass[i] < MASS_EDGES[k + 1] then
            n_bin[k] = (n_bin[k] or 0) + 1
            if s[2].scores[i] > 0.5 then hi[k] = (hi[k] or 0) + 1 end
          end
        end
      end
    end
    local cells = {}
    for k = 1, #MASS_EDGES - 1 do
      cells[k] = string.format("%.3f (%.2f)", (n_bin[k] or 0) / total, (hi[k] or 0) / math.max(1, n_bin[k] or 0))
    end
    print(string.format("  %-3s %-9s %s", c[1], s[1], table.concat(cells, " ")))
  end
end
