-- experiments/data_efficiency.lua — AUC against the training-set size for
-- training from scratch, fine-tuning and frozen blocks (seed 2, Fig. 4).
--
-- The pre-trained model (top jets at pT > 2 TeV by default, or W jets at 500
-- GeV) is --pretrained FILE when given (a published .pt, as the authors' W
-- tagger of the --paper preset, or a jetlab checkpoint), else the latest
-- transfer run's when it has one for the same architecture
-- (results/transfer/latest/pretrain_<model>_<source>/best.h5), else
-- pre-trained here first. Then, for each size, the three ways of
-- training on that many top jets at 500 GeV, scored on the same test jets.
--
--   jetlab experiments/data_efficiency.lua --quick
--   jetlab experiments/data_efficiency.lua --quick --model particlenet --sizes '{200, 2000}'

package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local E = require "jetlab.experiment"
local plot = require "jetlab.plot"
local U = require "jetlab.uncertainty"
local X = require "common"

local cfg = E.config{
  about = "Seed 2, Fig. 4: AUC against the number of training jets for scratch, fine-tune and frozen.",
  n_jets = 1500000, n_val = 100000, n_test = 200000, source_n_train = 1200000,
  sizes = {1000, 3000, 10000, 30000, 100000, 300000, 1000000},
  model = "lundnet5", from = "top2000",            -- the pre-training task: top2000 or w500
  pretrained = "",                                 -- a trained model file for that task instead of pre-training
  source = "", constituents = 100, batch = 256,
  lund = {}, particlenet = {},
  epochs = 30, pretrain_epochs = 30, lr = 1e-3, milestones = {10, 20}, finetune_div = 10, finetune_div_w = 3,
  frozen_cache = true,                             -- frozen: the head trains on pooled representations made once
  quick = {n_jets = 10000, n_val = 500, n_test = 2000, source_n_train = 1000, sizes = {100, 300, 1000},
           lund = X.LUND_LITE, particlenet = X.PN_LITE, epochs = 3, pretrain_epochs = 3, milestones = {}},
  -- X.quick_pythia's samples, with sizes for its n_train
  quick_pythia = {n_jets = 1600, n_val = 300, n_test = 500, source_n_train = 800, sizes = {100, 300, 800}},
  -- issue 17's claim 3 (seed 2's Fig. 4) up to 10^4 jets, 3 seeds: LundNet5 from the W tagger (REPRODUCTION.md)
  paper = {n_jets = 22000, n_val = 2000, n_test = 10000, source_n_train = 10000, sizes = {1000, 3000, 10000},
           from = "w500", pretrained = X.PUBLISHED_W_LUNDNET5, seeds = 3},
  full = {},
}
local run = E.run("data_efficiency", cfg)

local MODELS = {
  lundnet3 = {label = "LundNet3", spec = X.spec.lundnet(3, cfg.lund), features = 3},
  lundnet5 = {label = "LundNet5", spec = X.spec.lundnet(5, cfg.lund), features = 5},
  particlenet = {label = "ParticleNet", spec = X.spec.particlenet(cfg.particlenet)},
}
local M = assert(MODELS[cfg.model], "--model: unknown model " .. cfg.model .. " (lundnet3, lundnet5, particlenet)")
assert(cfg.from == "top2000" or cfg.from == "w500", "--from must be top2000 or w500")
local div = cfg.from == "w500" and cfg.finetune_div_w or cfg.finetune_div
local function family(view) return X.family(M.spec.kind, cfg, view, {features = M.features}) end

local sizes = cfg.sizes
table.sort(sizes)
local target = X.dataset(cfg, "top500")
local tr, va, te = X.splits(target, cfg, sizes[#sizes])
print(string.format("target: %s — up to %d train, %d val, %d test jets", target, tr:size(), va:size(), te:size()))

-- the pre-trained model: --pretrained, the latest transfer run's, or trained now
local key = "pretrain_" .. cfg.model .. "_" .. cfg.from
local pretrained = cfg.pretrained == "" and X.find_checkpoint(cfg, "transfer", key, M.spec)
if cfg.pretrained ~= "" then
  pretrained = X.imported_checkpoint(run, cfg.pretrained, M.spec, "imported_" .. key)
  print("pre-trained model: " .. cfg.pretrained)
  run:note("Pre-trained model: `" .. cfg.pretrained .. "` (trained elsewhere, on " .. cfg.from .. ").")
elseif pretrained then
  print("pre-trained model: " .. pretrained .. " (from the latest transfer run)")
  run:note("Pre-trained model: `" .. pretrained .. "` (the latest transfer run).")
else
  local path = cfg.source ~= "" and cfg.source or X.dataset(cfg, cfg.from)
  local s_tr, s_va, s_te = X.splits(path, cfg, cfg.source_n_train)
  local fam = family(s_tr)
  pretrained = X.fit(run, {key = key, label = M.label, variant = "pre-trained on " .. cfg.from, spec = M.spec,
    train = fam:source(s_tr, {shuffle = true}), val = fam:source(s_va), test = fam:source(s_te),
    epochs = cfg.pretrain_epochs, lr = cfg.lr, milestones = cfg.milestones,
    extra = {stats = fam.stats, source = cfg.from, features = M.features}}).ckpt
  run:note("Pre-trained model: trained in this run (no matching transfer run found).")
end

local timing = X.timing_sets(family(tr), te, {singles = 16, batched = 256})
local MODES = {{"scratch", "scratch"}, {"finetune", "fine-tune"}, {"frozen", "frozen"}}
local series, rows, diffs = {}, {}, {}
for i, m in ipairs(MODES) do series[i] = {label = m[2], x = {}, y = {}} end
for _, n in ipairs(sizes) do
  local sub = tr:subset(math.min(1, n / tr:size()))
  local fam = family(sub)
  local train_src, val_src, test_src = fam:source(sub, {shuffle = true}), fam:source(va), fam:source(te)
  local row, by_mode = {sub:size()}, {}
  for i, m in ipairs(MODES) do
    local function setup()
      local model, opt = X.transfer_setup(M.spec, m[1], pretrained, cfg.lr, div, cfg.device)
      return model, opt, X.transfer_source(model, m[1], fam, sub, cfg, train_src)
    end
    local r = X.fit(run, {key = string.format("%s_%s_%d", cfg.model, m[1], sub:size()), label = M.label .. " · " ..
      sub:size() .. " jets", variant = m[2], setup = setup, spec = M.spec, train = train_src,
      timing = timing, val = val_src, test = test_src, epochs = cfg.epochs, milestones = cfg.milestones,
      extra = {stats = fam.stats, features = M.features}, metrics = {n_train = sub:size()}})
    series[i].x[#series[i].x + 1], series[i].y[#series[i].y + 1] = sub:size(), r.metrics.auc
    row[#row + 1] = U.cell(r.metrics, "auc")
    by_mode[m[1]] = r.metrics
  end
  for _, m in ipairs({MODES[2], MODES[3]}) do
    diffs[#diffs + 1] = U.comparison_row(string.format("%d jets: %s − scratch", sub:size(), m[2]), by_mode[m[1]],
      by_mode.scratch, "auc")
  end
  rows[#rows + 1] = row
end

plot.curves(run:path("auc_vs_size.png"), {series = series, logx = true, xlabel = "training jets (top, 500 GeV)",
  ylabel = "AUC", title = M.label .. ": AUC against training-set size (pre-trained on " .. cfg.from .. ")"})
run:table("AUC against training-set size (" .. M.label .. ", pre-trained on " .. cfg.from .. ")",
  {"training jets", "scratch", "fine-tune", "frozen"}, rows)
run:table("AUC against scratch (a = transferred, b = scratch)", U.COMPARISON_COLUMNS, diffs)
run:note(U.LEGEND)
run:note(string.format("%s unless --data/--source were given; preset %s, %d epochs per size, lr %g, " ..
  "fine-tune lr ÷%g.", X.jets_about(cfg), cfg.preset, cfg.epochs, cfg.lr, div))
run:finish()
