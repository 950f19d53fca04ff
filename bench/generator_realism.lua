-- generator_realism.lua — does a tagger trained on Pythia accept the built-in
-- generator's jets? The LundNet authors' published top taggers (LundNet5 and
-- LundNet3, trained on Pythia 8 jets at 500 GeV) score a generated top/QCD
-- sample and a Pythia sample of the same settings (500:600 GeV, R = 1.0,
-- |η| < 2.5, particle level); then the realism table (jetlab.realism):
-- jet mass, multiplicity, Lund-plane features, primary-plane shape, generated
-- vs Pythia, signal and background separately. One JSON line with the AUCs last.
--
--   bash scripts/install-pythia.sh
--   jetlab gen --engine pythia --signal top --pt 500:600 -n 4000 --seed 1 -o py_top500.h5 --workers 2
--   jetlab bench/generator_realism.lua py_top500.h5 [generated jets (4000)] [seed (1)]
--   jetlab bench/generator_realism.lua py_top500.h5 gen_top500.h5   (a generated file made before)
package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local metrics = require "jetlab.metrics"
local realism = require "jetlab.realism"
local P = require "published_tagger"

local pythia_path = assert(arg[1], "usage: jetlab bench/generator_realism.lua PYTHIA.h5 [jets | GENERATED.h5] [seed]")
local given = arg[2] and not tonumber(arg[2]) and arg[2]
local n = math.tointeger(tonumber(arg[2])) or 4000
local seed = math.tointeger(tonumber(arg[3])) or 1

local MODELS = {{name = "LundNet5", features = 5}, {name = "LundNet3", features = 3}}

local function auc(model, features, rows)
  return metrics.auc(P.scores(model, features, rows), rows.labels:to("i64") + 1)
end

local gen_path = given or os.tmpname()
if not given then
  assert(jl.gen.write{signal = "top", pt = {500, 600}, n = n, seed = seed, r = 1.0, eta = 2.5, detector = false,
                      path = gen_path})
end
local samples = {{name = "generated", rows = P.read(gen_path, given and math.huge or n)}}
if not given then os.remove(gen_path) end
n = samples[1].rows.labels.shape[1]
samples[2] = {name = "pythia", rows = P.read(pythia_path, n)}

print(string.format("generator_realism: %d generated jets (%s), %d Pythia jets from %s", n,
                    given or string.format("jetlab gen, seed %d", seed), samples[2].rows.labels.shape[1],
                    pythia_path))
local result = {}
print(string.format("%-10s %10s %10s", "AUC", "generated", "pythia"))
for _, m in ipairs(MODELS) do
  local model = P.model(m.features)
  local a, b = auc(model, m.features, samples[1].rows), auc(model, m.features, samples[2].rows)
  result[#result + 1] = string.format('"%s_generated":%.4f,"%s_pythia":%.4f', m.name, a, m.name, b)
  print(string.format("%-10s %10.4f %10.4f", m.name, a, b))
end
print()
realism.print(realism.describe(samples[1].rows), realism.describe(samples[2].rows), {"gen", "pythia"})
print(string.format('{"bench":"generator_realism","jets":%d,"seed":%d,%s}', n, seed, table.concat(result, ",")))
