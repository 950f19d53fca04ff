-- experiments/real_events.lua — the taggers trained above on real Pythia
-- events: Debian's fastjet-examples (a boosted top event, ten QCD events with
-- pT > 1 TeV), clustered with anti-kt R = 1.0, converted to the ATLAS layout
-- (pythia_jets.h5 in the run folder) and scored next to the score
-- distributions of generated top and QCD jets in the same pT window.
--
-- Taggers: the latest runs' checkpoints — compression_kd (FCNN and GNN
-- teachers, top 500 GeV), transfer (LundNet5 from scratch at 500 GeV and
-- pre-trained at 2 TeV) — and an FCNN trained here on generated jets like the
-- Pythia ones (800-1500 GeV, particle level; --no-matched skips it unless no
-- checkpoint is found). The Pythia jets lie outside the other taggers'
-- training windows and are particle level where those saw calorimeter
-- clusters: a sanity check of the taggers and of the generator, not a
-- measurement.
--
--   jetlab experiments/real_events.lua --quick
--   jetlab experiments/real_events.lua --events '{"/path/ttbar.dat"}' --top_events '{1}'

package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local jl = require "jetlab"
local E = require "jetlab.experiment"
local data = require "jetlab.data"
local events = require "jetlab.events"
local train = require "jetlab.train"
local metrics = require "jetlab.metrics"
local plot = require "jetlab.plot"
local X = require "common"

local EX = "/usr/share/doc/fastjet-examples/examples/"
local cfg = E.config{
  about = "Scores the real Pythia jets of fastjet-examples with the trained taggers, next to generated jets.",
  events = {EX .. "boosted_top_event.dat", EX .. "Pythia-PtMin1000-LHC-10ev.dat"},
  top_events = {1},                     -- files (indices into events) whose jets count as top
  r = 1.0, ptmin = 500, max_eta = 2.0, constituents = 200, batch = 256,
  n_ref = 20000, n_train = 14000, n_val = 2000, n_test = 4000,   -- generated 800-1500 GeV particle-level jets
  matched = true, matched_epochs = 20,  -- also train an FCNN on those (always, when no checkpoint is found)
  quick = {n_ref = 4000, n_train = 2000, n_val = 500, n_test = 1500, matched_epochs = 5},
  quick_pythia = {n_ref = 1600, n_train = 800, n_val = 300, n_test = 500},
  full = {n_ref = 200000, n_train = 150000, n_val = 20000, n_test = 30000},
}
local run = E.run("real_events", cfg)

-- 1. cluster the events into jets, in the ATLAS layout (GeV; the writer stores MeV)
local is_top, labels = {}, {}
for _, i in ipairs(cfg.top_events) do is_top[i] = true end
for fi in ipairs(cfg.events) do labels[fi] = is_top[fi] and 1 or 0 end
local batch, info = assert(events.jets(cfg.events, {algo = "antikt", r = cfg.r, ptmin = cfg.ptmin,
  max_eta = cfg.max_eta, constituents = cfg.constituents, labels = labels}))
for _, j in ipairs(info) do j.top = j.label == 1 end
local real_path = run:path("pythia_jets.h5")
assert(jl.io.write_jets(real_path, batch))
print(string.format("%d Pythia jets (anti-kt R = %g, pT > %g GeV, |eta| < %g) written to %s", #info, cfg.r, cfg.ptmin,
  cfg.max_eta, real_path))
local real = assert(data.open(real_path))

-- 2. the generated reference in the same window, particle level like the Pythia events
local ref_path = X.dataset(cfg, "top1000p", cfg.n_ref)
local r_tr, r_va, ref = X.splits(ref_path, cfg)

-- 3. the taggers
local CANDIDATES = {
  {"FCNN 5x400 (top 500 GeV)", "compression_kd", "fcnn_teacher"},
  {"GNN teacher (top 500 GeV)", "compression_kd", "gnn_teacher"},
  {"LundNet5 scratch (top 500 GeV)", "transfer", "lundnet5_scratch_100"},
  {"LundNet5 (top 2 TeV)", "transfer", "pretrain_lundnet5_top2000"},
}
local taggers = {}
for _, c in ipairs(CANDIDATES) do
  local path = X.find_checkpoint(cfg, c[2], c[3])
  if path then
    local model, extra = X.load_tagger(path, cfg.device)
    if model then taggers[#taggers + 1] = {label = c[1], path = path, model = model, extra = extra} end
  end
end
if cfg.matched or #taggers == 0 then
  -- a tagger trained on generated jets of the Pythia jets' kind: 800-1500 GeV, particle level
  local spec = X.spec.fcnn(80, {400, 400, 400, 400, 400})
  local fam = X.family("fcnn", {constituents = 80, batch = cfg.batch, device = cfg.device}, r_tr)
  local label = "FCNN 5x400 (generated 0.8-1.5 TeV, particle level)"
  local r = X.fit(run, {key = "fcnn_matched", label = label, variant = "trained here", spec = spec,
    train = fam:source(r_tr, {shuffle = true}), val = fam:source(r_va), test = fam:source(ref),
    epochs = cfg.matched_epochs, lr = 1e-3, extra = {stats = fam.stats, constituents = 80},
    timing = X.timing_sets(fam, ref, {singles = 16, batched = 256})})
  taggers[#taggers + 1] = {label = label, path = r.ckpt, model = r.model,
    extra = {spec = spec, stats = fam.stats, constituents = 80}}
end

-- 4. score the Pythia jets and the generated reference with each tagger
local function quantile(sorted, q) return sorted[math.max(1, math.min(#sorted, math.floor(q * #sorted + 0.5)))] end
local summary, per_jet = {}, {}
for i, j in ipairs(info) do
  per_jet[i] = {j.file, j.event, j.jet, j.pt, j.m, j.n, j.top and "top" or "QCD"}
end
for ti, t in ipairs(taggers) do
  local fam = X.family(t.extra.spec.kind, cfg, nil, {stats = t.extra.stats, constituents = t.extra.constituents,
    features = t.extra.features})
  local s_real = train.predict(t.model, fam:source(real)):tolist()
  local s_ref, y_ref = train.predict(t.model, fam:source(ref))
  local roc = metrics.roc(s_ref, y_ref)
  local gen_top, gen_qcd = {}, {}
  local sr, yr = s_ref:tolist(), y_ref:tolist()
  for k = 1, #sr do
    local list = yr[k] == 2 and gen_top or gen_qcd
    list[#list + 1] = sr[k]
  end
  table.sort(gen_qcd)
  table.sort(gen_top)
  local cut = quantile(gen_top, 0.5)                   -- the working point εS = 0.5 on generated top jets
  local real_top, real_qcd, tagged = {}, {}, 0
  for k, s in ipairs(s_real) do
    per_jet[k][#per_jet[k] + 1] = s
    if info[k].top then real_top[#real_top + 1] = s else
      real_qcd[#real_qcd + 1] = s
      if s >= cut then tagged = tagged + 1 end
    end
  end
  local gen_mistag = 0
  for _, s in ipairs(gen_qcd) do if s >= cut then gen_mistag = gen_mistag + 1 end end
  table.sort(real_qcd)
  local top_text = {}
  for k, s in ipairs(real_top) do top_text[k] = string.format("%.3f", s) end
  run:record(t.label, "generated 800-1500 GeV (particle level)", {auc = roc.auc, rej50 = (metrics.rejection(roc, 0.5)),
    n = #sr, median_top = quantile(gen_top, 0.5), median_qcd = quantile(gen_qcd, 0.5)})
  local rec = {n = #s_real, top_scores = table.concat(top_text, " ")}
  if #real_qcd > 0 then rec.median_qcd, rec.qcd_mistag50 = quantile(real_qcd, 0.5), tagged / #real_qcd end
  if #real_top > 0 and #real_qcd > 0 then rec.auc = metrics.auc(jl.tensor(s_real), batch.labels + 1) end
  run:record(t.label, "Pythia jets", rec)
  summary[#summary + 1] = {t.label, roc.auc, quantile(gen_top, 0.5), quantile(gen_qcd, 0.5),
    table.concat(top_text, ", "), rec.median_qcd, gen_mistag / #gen_qcd, rec.qcd_mistag50}
  local marks = {}
  for k, s in ipairs(real_top) do marks[k] = {x = s, label = "Pythia top jet " .. k} end
  local series = {{label = "generated top", values = gen_top}, {label = "generated QCD", values = gen_qcd}}
  if #real_qcd > 0 then series[3] = {label = string.format("Pythia QCD jets (%d)", #real_qcd), values = real_qcd} end
  plot.histograms(run:path(string.format("scores_%d.png", ti)), {series = series, marks = marks, bins = 20,
    range = {0, 1}, xlabel = "P(top)", logy = true, key = "top right",
    title = t.label .. " on 800-1500 GeV jets"})
  print(string.format("%s: %s", t.label, t.path))
end

local jet_cols = {"file", "event", "jet", "pT GeV", "mass GeV", "constituents", "truth"}
for _, t in ipairs(taggers) do jet_cols[#jet_cols + 1] = t.label end
run:table("Pythia jets and their P(top)", jet_cols, per_jet)
run:table("Scores: generated (800-1500 GeV, particle level) against Pythia", {"tagger", "gen AUC", "gen top median",
  "gen QCD median", "Pythia top jets", "Pythia QCD median", "gen QCD mistag @εS=0.5", "Pythia QCD mistag @εS=0.5"},
  summary)
local sources = {}
for _, t in ipairs(taggers) do sources[#sources + 1] = "`" .. t.path .. "`" end
run:note(X.jets_about(cfg) .. " as the reference. Taggers: " .. table.concat(sources, ", ") .. ". The working point εS = 0.5 is the median score of the " ..
  "generated top jets. The Pythia jets lie outside the first taggers' training windows (500-600 GeV, 2-2.4 TeV) and " ..
  "are particle level while those taggers saw calorimeter clusters; the matched FCNN was trained on generated " ..
  "particle-level jets in the Pythia jets' window. Two top jets and 21 QCD jets: a sanity check, not a measurement.")
run:finish()
