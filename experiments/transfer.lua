-- experiments/transfer.lua — transfer learning between taggers (seed 2).
--
-- LundNet3, LundNet5 and ParticleNet are pre-trained on top jets at pT > 2 TeV
-- (and LundNet5 on W jets at 500 GeV, or taken from a published W tagger with
-- --w_pretrained FILE.pt, as seed 2 did), then moved to top jets at 500 GeV
--   fine-tune: every weight from the pre-trained model, learning rate ÷10 (÷3 from W);
--   frozen:    everything up to the pooled jet representation (input BatchNorm,
--              EdgeConv blocks, fusion) loaded and frozen, its BatchNorm running
--              statistics fixed (eval mode), the head re-initialised and trained with
--              the original schedule; the frozen backbone's representation of each
--              training jet is computed once per run (--frozen_cache, default on:
--              legitimate because the frozen part is deterministic: eval-mode
--              BatchNorm, no dropout); --frozen_upto blocks trains the fusion block too
--              (jetlab's earlier frozen variant, no cache);
-- against training from scratch, with all and with 10% of the training jets.
-- Tables like seed 2's Table 1 (ms/sample/epoch, total time) and Table 2 (AUC),
-- validation accuracy per epoch (Fig. 3), ROC with ratio panels (Fig. 5).
--
--   jetlab experiments/transfer.lua --quick
--   jetlab experiments/transfer.lua --quick --models '{"lundnet5"}' --no-from_w --fractions '{1}'
--   jetlab experiments/transfer.lua --full --data atlas_top500.h5 --source atlas_top2tev.h5

package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local E = require "jetlab.experiment"
local plot = require "jetlab.plot"
local U = require "jetlab.uncertainty"
local X = require "common"

local cfg = E.config{
  about = "Seed 2: LundNet3/5 and ParticleNet pre-trained at pT > 2 TeV (or on W jets) moved to top jets at 500 GeV.",
  n_jets = 1500000, n_train = 1200000, n_val = 100000, n_test = 200000,   -- target (top, 500-600 GeV)
  source_n_train = 1200000,                                                -- pre-training jets (each source)
  source = "", w_source = "",                    -- ATLAS-format files for the sources (default: generated)
  w_pretrained = "",                             -- LundNet5's W source: a trained model file instead of pre-training
  constituents = 100, batch = 256,
  models = {"lundnet3", "lundnet5", "particlenet"}, from_w = true, fractions = {1, 0.1},
  sources = {"top2000", "w500"},                 -- the pre-training tasks (w500: LundNet5 only, with --from_w)
  lund = {}, particlenet = {},                   -- architecture options (default: the papers')
  epochs = 30, pretrain_epochs = 30, lr = 1e-3, milestones = {10, 20},
  finetune_div = 10, finetune_div_w = 3,
  frozen_upto = "pooled", frozen_cache = true,   -- frozen: up to the pooled representation ("blocks": fusion trains)
  quick = {n_jets = 10000, n_train = 1000, n_val = 500, n_test = 2000, source_n_train = 1000,
           lund = X.LUND_LITE, particlenet = X.PN_LITE,
           epochs = 3, pretrain_epochs = 3, milestones = {}},
  quick_pythia = X.quick_pythia{source_n_train = 800},
  -- issue 17's claims 1-2 at 10^4 jets: LundNet5 from W and from top 2 TeV (REPRODUCTION.md)
  -- the W source is the authors' published W tagger (tests/fixtures/lundnet, seed 2's own)
  paper = {n_jets = 22000, n_train = 10000, n_val = 2000, n_test = 10000, source_n_train = 10000,
           models = {"lundnet5"}, fractions = {1}, w_pretrained = X.PUBLISHED_W_LUNDNET5},
  full = {},
}
local run = E.run("transfer", cfg)

local MODELS = {
  lundnet3 = {label = "LundNet3", spec = X.spec.lundnet(3, cfg.lund), features = 3},
  lundnet5 = {label = "LundNet5", spec = X.spec.lundnet(5, cfg.lund), features = 5},
  particlenet = {label = "ParticleNet", spec = X.spec.particlenet(cfg.particlenet)},
}
local function family(M, view) return X.family(M.spec.kind, cfg, view, {features = M.features}) end

local function source_path(name, given)
  if given ~= "" then return given end
  return X.dataset(cfg, name)
end
local target = X.dataset(cfg, "top500")
local tr, va, te = X.splits(target, cfg)
print(string.format("target: %s — %d train, %d val, %d test jets", target, tr:size(), va:size(), te:size()))

-- Pre-training on a source task; the checkpoint lives in this run (pretrain_<model>_<source>/best.h5).
local function pretrain(mname, M, src_name, path)
  local s_tr, s_va, s_te = X.splits(path, cfg, cfg.source_n_train)
  local fam = family(M, s_tr)
  return X.fit(run, {key = "pretrain_" .. mname .. "_" .. src_name, label = M.label, variant = "pre-trained on " ..
    src_name .. " (scored on " .. src_name .. ")", spec = M.spec, train = fam:source(s_tr, {shuffle = true}),
    val = fam:source(s_va), test = fam:source(s_te), epochs = cfg.pretrain_epochs, lr = cfg.lr,
    milestones = cfg.milestones, extra = {stats = fam.stats, source = src_name, features = M.features}})
end

local t1_rows, t2_rows, rej_rows, diffs = {}, {}, {}, {}
for _, mname in ipairs(cfg.models) do
  local M = assert(MODELS[mname], "--models: unknown model " .. tostring(mname) .. " (lundnet3, lundnet5, particlenet)")
  local sources, wanted = {}, {}
  for _, name in ipairs(cfg.sources) do
    assert(name == "top2000" or name == "w500", "--sources: unknown source " .. tostring(name) .. " (top2000, w500)")
    wanted[name] = true
  end
  if wanted.top2000 then
    sources[#sources + 1] = {name = "top2000", label = "top 2 TeV", path = source_path("top2000", cfg.source),
      div = cfg.finetune_div}
  end
  if wanted.w500 and mname == "lundnet5" and cfg.from_w and cfg.w_pretrained ~= "" then
    sources[#sources + 1] = {name = "w500", label = "W 500 GeV", div = cfg.finetune_div_w,
      ckpt = X.imported_checkpoint(run, cfg.w_pretrained, M.spec, "imported_" .. mname .. "_w500")}
  elseif wanted.w500 and mname == "lundnet5" and cfg.from_w then
    sources[#sources + 1] = {name = "w500", label = "W 500 GeV", path = source_path("w500", cfg.w_source),
      div = cfg.finetune_div_w}
  end
  for _, s in ipairs(sources) do s.ckpt = s.ckpt or pretrain(mname, M, s.name, s.path).ckpt end

  local t_total, t_ms, auc, rej = {}, {}, {}, {}
  for _, f in ipairs(cfg.fractions) do
    local sub = f < 1 and tr:subset(f) or tr
    local fam = family(M, sub)
    local train_src, val_src, test_src = fam:source(sub, {shuffle = true}), fam:source(va), fam:source(te)
    local timing = X.timing_sets(fam, te, {singles = 16, batched = 256})
    local pct = string.format("%g%%", 100 * f)
    local roc_curves, acc_series, results_of = {}, {}, {}
    local variants = {{mode = "scratch", label = "scratch"}}
    for _, s in ipairs(sources) do
      variants[#variants + 1] = {mode = "finetune", label = "fine-tune from " .. s.label, source = s}
      variants[#variants + 1] = {mode = "frozen", label = "frozen from " .. s.label, source = s}
    end
    for _, v in ipairs(variants) do
      local src = v.source
      local function setup()
        local model, opt = X.transfer_setup(M.spec, v.mode, src and src.ckpt, cfg.lr, src and src.div or 1, cfg.device,
          cfg.frozen_upto)
        return model, opt, X.transfer_source(model, v.mode, fam, sub, cfg, train_src)
      end
      local key = string.format("%s_%s%s_%g", mname, v.mode, src and "_" .. src.name or "", 100 * f)
      local r = X.fit(run, {key = key, label = M.label .. " · " .. pct, variant = v.label, setup = setup,
        spec = M.spec, val = val_src, test = test_src, epochs = cfg.epochs,
        milestones = cfg.milestones, timing = timing, extra = {stats = fam.stats, features = M.features,
        frozen_upto = v.mode == "frozen" and cfg.frozen_upto or nil},
        metrics = {fraction = f, n_train = sub:size()}})
      results_of[v.label] = r.metrics
      roc_curves[#roc_curves + 1] = X.curve(v.label, r.roc)
      acc_series[#acc_series + 1] = X.val_acc(v.label, r.history)
      local col = v.label
      auc[col] = auc[col] or {}
      rej[col] = rej[col] or {}
      auc[col][pct], rej[col][pct] = U.cell(r.metrics, "auc"), U.cell(r.metrics, "rej50")
      if f == cfg.fractions[1] then
        t_ms[col], t_total[col] = U.cell(r.metrics, "train_ms_per_sample"), U.cell(r.metrics, "train_seconds")
      end
    end
    for _, v in ipairs(variants) do
      if v.mode ~= "scratch" then
        -- Table 1's cost ratio (seed 2: LundNet5 frozen 0.15 / scratch 0.46 ms/sample/epoch)
        run:record(M.label .. " · " .. pct, v.label, {train_ms_ratio_to_scratch =
          results_of[v.label].train_ms_per_sample / results_of.scratch.train_ms_per_sample})
        for _, k in ipairs({{"auc", "AUC"}, {"rej50", "1/εB@0.5"}}) do
          diffs[#diffs + 1] = U.comparison_row(string.format("%s · %s %s: %s − scratch", M.label, pct, k[2], v.label),
            results_of[v.label], results_of.scratch, k[1])
        end
      end
    end
    plot.roc(run:path(string.format("roc_%s_%g.png", mname, 100 * f)), {curves = roc_curves, ratio_to = 1,
      title = string.format("%s, top 500 GeV, %s of the training jets (ratio to scratch)", M.label, pct)})
    plot.curves(run:path(string.format("val_acc_%s_%g.png", mname, 100 * f)), {series = acc_series, xlabel = "epoch",
      ylabel = "validation accuracy", title = string.format("%s, %s of the training jets", M.label, pct)})
  end
  local labels = {"scratch"}
  for _, s in ipairs(sources) do
    labels[#labels + 1] = "fine-tune from " .. s.label
    labels[#labels + 1] = "frozen from " .. s.label
  end
  for _, l in ipairs(labels) do
    t1_rows[#t1_rows + 1] = {M.label, l, t_ms[l], t_total[l]}
    local row, rrow = {M.label, l}, {M.label, l}
    for _, f in ipairs(cfg.fractions) do
      local pct = string.format("%g%%", 100 * f)
      row[#row + 1], rrow[#rrow + 1] = auc[l][pct], rej[l][pct]
    end
    t2_rows[#t2_rows + 1], rej_rows[#rej_rows + 1] = row, rrow
  end
end

local cols = {"model", "training"}
for _, f in ipairs(cfg.fractions) do cols[#cols + 1] = string.format("%g%% of the jets", 100 * f) end
run:table(string.format("Table 1: training time (%g%% of the jets; includes data loading and Lund declustering)",
  100 * cfg.fractions[1]), {"model", "training", "ms/sample/epoch", "total s"}, t1_rows)
run:table("Table 2: AUC on top jets at 500 GeV", cols, t2_rows)
run:table("Background rejection 1/εB at εS = 0.5", cols, rej_rows)
run:table("Transfer against scratch (a = the transferred model, b = scratch)", U.COMPARISON_COLUMNS, diffs)
run:note(U.LEGEND)
if cfg.from_w and cfg.w_pretrained ~= "" then
  run:note("LundNet5's W source: " .. cfg.w_pretrained .. " (trained elsewhere; not pre-trained here).")
end
run:note(string.format("%s unless --data/--source/--w_source were given; " ..
  "preset %s: %d target training jets, %d pre-training jets, %d epochs (%d pre-training), lr %g, fine-tune lr ÷%g " ..
  "(÷%g from W). Frozen: %s trained; the frozen BatchNorm layers keep the pre-trained running statistics%s. " ..
  "Timings on a shared 2-core machine are noisy.", X.jets_about(cfg), cfg.preset, tr:size(), cfg.source_n_train, cfg.epochs,
  cfg.pretrain_epochs, cfg.lr, cfg.finetune_div, cfg.finetune_div_w,
  cfg.frozen_upto == "blocks" and "the fusion block and the head" or "the head only",
  cfg.frozen_cache and cfg.frozen_upto == "pooled" and
    "; the pooled representations of the training jets computed once per run" or ""))
run:finish()
