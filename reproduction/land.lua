-- reproduction/land.lua — lands a finished --paper run in REPRODUCTION.md: copies
-- its metrics.json to reproduction/<name>/metrics.json, and for every claim this
-- run measures (SOURCES below) sets claims.json's jetlab figure (the record's),
-- uncertainty (jetlab.uncertainty.sigma: bootstrap error and the seeds' standard
-- error), source and verdict, and rewrites the claim's row of REPRODUCTION.md's
-- table to match (tests/lua/test_reproduction.lua checks the three agree).
--
--   jetlab reproduction/land.lua transfer results/transfer/latest
--   jetlab reproduction/land.lua transfer_top2000 results/transfer/latest
--   jetlab reproduction/land.lua NAME RUN_DIR 'jetlab experiments/... --flags'
--
-- The optional third argument replaces the landed claims' command (the one
-- that made the run, when it is not the claim's default). A claim's n_train is
-- the source's n_train: a number, or "config" for the run's config.lua.
--
-- Verdict: "reproduced" when |jetlab − paper| <= 2σ; a figure without an
-- uncertainty (a time ratio) when it is at most the claim's factor (at_most)
-- times the paper's; a claim whose paper gives a direction and no figure (KD
-- helps: sign = 1; KD hurts: sign = -1) when sign · jetlab > 2σ; else "not
-- reproduced". A claim marked "not measurable here" keeps its verdict. A source
-- may be a difference or a ratio of two records (claim_source.lua). Run from the
-- repository root.
package.path = "reproduction/?.lua;" .. package.path
local json = require "jetlab.json"
local fs = require "jetlab.fs"
local results = require "jetlab.results"
local U = require "jetlab.uncertainty"

-- name → the claims its run measures: id → {model, variant, key[, tolerance]}
local SOURCES = {
  transfer = {
    ["s2-ln5-fromW-ft-1e5"] = {"LundNet5 · 100%", "fine-tune from W 500 GeV", "auc"},
    ["s2-ln5-fromW-fr-1e5"] = {"LundNet5 · 100%", "frozen from W 500 GeV", "auc"},
    ["s2-ln5-scratch-1e5"] = {"LundNet5 · 100%", "scratch", "auc"},
    -- seed 2's Table 1: frozen costs "about a third" of scratch per sample; the claim is
    -- the saving, so a ratio up to 1.5 × the paper's reproduces it (the frozen cost does not
    -- depend on the source task)
    ["s2-ln5-time-ratio-frozen"] = {"LundNet5 · 100%", "frozen from W 500 GeV", "train_ms_ratio_to_scratch",
      at_most = 1.5},
  },
  transfer_top2000 = {
    ["s2-ln5-fromTop-ft-1e5"] = {"LundNet5 · 100%", "fine-tune from top 2 TeV", "auc"},
    ["s2-ln5-fromTop-fr-1e5"] = {"LundNet5 · 100%", "frozen from top 2 TeV", "auc"},
  },
  -- the 2.5·10^4 point of the scan (3 seeds), its own run on a 37,000-jet target sample
  -- (data_efficiency.lua --paper --generator pythia --n_jets 37000 --sizes '{25000}'); the
  -- scan up to 10^4 (reproduction/data_efficiency) backs REPRODUCTION.md's Fig. 4 table
  data_efficiency_25k = {
    ["s2-ln5-fromW-ft-2.5e4"] = {"LundNet5 · 25000 jets", "fine-tune", "auc", n_train = 25000},
  },
  transfer_lundnet3 = {
    ["s2-ln3-scratch-1e5"] = {"LundNet3 · 100%", "scratch", "auc"},
    ["s2-ln3-fromTop-ft-1e5"] = {"LundNet3 · 100%", "fine-tune from top 2 TeV", "auc"},
    ["s2-ln3-fromTop-fr-1e5"] = {"LundNet3 · 100%", "frozen from top 2 TeV", "auc"},
  },
  -- n_train = "config": the claim's n_train is the run's (config.lua), ParticleNet being
  -- run at the largest size that fits
  transfer_particlenet = {
    ["s2-pn-scratch-1e5"] = {"ParticleNet · 100%", "scratch", "auc", n_train = "config"},
    ["s2-pn-fromTop-ft-1e5"] = {"ParticleNet · 100%", "fine-tune from top 2 TeV", "auc", n_train = "config"},
    ["s2-pn-fromTop-fr-1e5"] = {"ParticleNet · 100%", "frozen from top 2 TeV", "auc", n_train = "config"},
  },
  -- seed 1: KD's AUC gain for the compact Student, and the Teacher's batch-1 inference
  -- time over the Student's
  compression_kd = {
    ["s1-gnn-kd-gain"] = {"GNN", "Student + KD", "auc", minus = "Student"},
    ["s1-fcnn-kd-gain"] = {"FCNN", "Student + KD", "auc", minus = "Student", sign = 1},
    ["s1-gnn-speedup"] = {"GNN", "Teacher", "infer_us_per_jet", over = "Student"},
    ["s1-fcnn-speedup"] = {"FCNN", "Teacher", "infer_us_per_jet", over = "Student"},
  },
  -- the same claims from a run of one model family (--models '{"gnn"}'), kept apart from the
  -- FCNN run's metrics.json
  compression_kd_gnn = {
    ["s1-gnn-kd-gain"] = {"GNN", "Student + KD", "auc", minus = "Student"},
    ["s1-gnn-speedup"] = {"GNN", "Teacher", "infer_us_per_jet", over = "Student"},
  },
  -- seed 1 found distillation made the degraded-jet Student worse
  degradation_kd = {
    ["s1-smear-kd-gain"] = {"FCNN · smeared E, pT", "Student + KD", "auc", minus = "Student", sign = -1},
    ["s1-undersample-kd-gain"] = {"FCNN · 5 constituents", "Student + KD", "auc", minus = "Student", sign = -1},
  },
}
local CLAIM_KEYS = json.ordered{"id", "paper", "jetlab", "uncertainty", "n_train", "command", "verdict", "source"}
local SOURCE_KEYS = json.ordered{"metrics", "model", "variant", "key", "minus", "over"}
local claim_source = require "claim_source"

local function fail(msg) io.stderr:write("land: ", msg, "\n") os.exit(1) end
local function value(v) if v == json.null then return nil end return v end
local function cell(v) v = value(v) return v == nil and "—" or results.format_value(v) end

local name, run_dir, command = arg[1], arg[2], arg[3]
if not (name and run_dir) then fail("usage: jetlab reproduction/land.lua NAME RUN_DIR") end
local names = {}
for k in pairs(SOURCES) do names[#names + 1] = k end
table.sort(names)
local claims_of = SOURCES[name] or fail("unknown name " .. name .. " (" .. table.concat(names, ", ") .. ")")
local text = fs.read(run_dir .. "/metrics.json") or fail("no metrics.json in " .. run_dir)
local metrics = json.decode(text) or fail(run_dir .. "/metrics.json: not JSON")
if not metrics.finished then fail(run_dir .. ": the run has not finished") end

local dest = "reproduction/" .. name .. "/metrics.json"
local read_config, run_cfg = pcall(dofile, run_dir .. "/config.lua")
local claims = assert(json.decode(assert(fs.read("reproduction/claims.json"))))
local md = assert(fs.read("REPRODUCTION.md"))
local landed = 0
for _, c in ipairs(claims) do
  local src = claims_of[c.id]
  local source = src and {metrics = dest, model = src[1], variant = src[2], key = src[3], minus = src.minus,
    over = src.over}
  local group = src and metrics.results[src[1]]
  if src and not (group and group[src[2]]) then
    print(string.format("%-28s not in this run (no record %s · %s): left as it was", c.id, src[1], src[2]))
  elseif src then
    local v, sigma = claim_source.figure(metrics.results, source)
    if not v then fail(c.id .. ": " .. sigma) end
    c.jetlab, c.uncertainty = v, sigma or json.null
    c.source = source
    if command then c.command = command end
    if math.type(src.n_train) == "integer" then
      c.n_train = src.n_train
    elseif src.n_train == "config" then
      if not (read_config and type(run_cfg) == "table" and run_cfg.n_train) then
        fail(run_dir .. "/config.lua: no n_train for " .. c.id)
      end
      c.n_train = run_cfg.n_train
    end
    local paper = value(c.paper)
    if c.verdict ~= "not measurable here" and (paper or src.sign) then
      local ok
      if not paper then ok = sigma ~= nil and src.sign * v > U.K_SIGMA * sigma
      elseif sigma then ok = math.abs(v - paper) <= U.K_SIGMA * sigma
      else ok = src.at_most ~= nil and v <= paper * src.at_most end
      c.verdict = ok and "reproduced" or "not reproduced"
    end
    local delta = paper and v - paper or nil
    local row = table.concat({"", "`" .. c.id .. "`", cell(paper), cell(v), cell(c.uncertainty), cell(delta),
      cell(c.n_train), c.verdict, "`" .. c.command .. "`", ""}, " | "):sub(2, -2)
    local pattern = "\n| `" .. c.id:gsub("%p", "%%%0") .. "` |[^\n]*"
    local replaced
    md, replaced = md:gsub(pattern, function() return "\n" .. row end, 1)
    if replaced ~= 1 then fail(c.id .. ": no row in REPRODUCTION.md") end
    print(string.format("%-28s %s ± %s (paper %s): %s", c.id, cell(v), cell(c.uncertainty), cell(paper), c.verdict))
    landed = landed + 1
  end
end
if landed == 0 then fail("no claim of " .. name .. " in " .. run_dir) end
for i, c in ipairs(claims) do
  if value(c.source) then c.source = SOURCE_KEYS(c.source) end
  claims[i] = CLAIM_KEYS(c)
end
fs.mkdir("reproduction/" .. name)
fs.write(dest, text)
fs.write("reproduction/claims.json", json.encode(claims, {indent = 2}) .. "\n")
fs.write("REPRODUCTION.md", md)
print(string.format("%d claims landed from %s (run %s, %s s)", landed, dest, tostring(metrics.run_id),
  tostring(metrics.seconds)))
