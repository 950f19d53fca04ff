-- experiments/degradation_kd.lua — knowledge distillation against degraded
-- inputs (seed 1, study 1).
--
-- A Teacher is trained on full-resolution jets; a Student of the same
-- architecture on degraded jets — (a) E and pT smeared (relative Gaussian σ),
-- (b) only the `keep` hardest of the constituents kept — once alone and once
-- with the Hinton loss α·CE + (1−α)·T²·KL, the Teacher seeing the
-- full-resolution view of the same jets. For the FCNN and for the GNN
-- (ParticleNet; Lite-sized in --quick). Plus what seed 1 proposed but did not
-- run: a Teacher trained on a mix of clean and degraded jets, scored on both.
--
--   jetlab experiments/degradation_kd.lua --quick
--   jetlab experiments/degradation_kd.lua --quick --models '{"fcnn"}' --alpha 0.3 --T 2
--   jetlab experiments/degradation_kd.lua --full --data atlas_train.h5

package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local E = require "jetlab.experiment"
local data = require "jetlab.data"
local loss = require "jetlab.loss"
local plot = require "jetlab.plot"
local U = require "jetlab.uncertainty"
local X = require "common"

local cfg = E.config{
  about = "Seed 1, study 1: a full-resolution Teacher distils into a Student trained on degraded jets.",
  n_jets = 600000, n_train = 400000, n_val = 50000, n_test = 100000,   -- jets in the file and in each split
  constituents = 80, batch = 256,
  models = {"fcnn", "gnn"}, degradations = {"smear", "undersample"},
  smear = 0.5, keep = 5, keep_mode = "hardest",                        -- relative σ of E and pT; constituents kept
  alpha = 0.5, T = 4,                                                  -- Hinton loss
  fcnn_hidden = {400, 400, 400, 400, 400}, fcnn_epochs = 30, fcnn_lr = 1.2e-5, fcnn_batch = 250,
  gnn = {k = 16, blocks = {{64, 64, 64}, {128, 128, 128}, {256, 256, 256}}, fc = 256},
  gnn_epochs = 20, gnn_lr = 3e-4, gnn_batch = 384, gnn_n_train = 0,   -- 0: all n_train jets
  mix = true,                                                          -- the mixed clean + degraded Teacher
  quick = {n_jets = 10000, n_train = 3000, n_val = 600, n_test = 2000, fcnn_epochs = 5, fcnn_lr = 1e-3,
           gnn = X.PN_LITE, gnn_epochs = 3, gnn_lr = 2e-3, gnn_batch = 128, gnn_n_train = 1000},
  quick_pythia = X.quick_pythia{gnn_n_train = 400},
  -- issue 17's claim 7 at 2x10^4 jets, 3 seeds (REPRODUCTION.md)
  paper = {n_jets = 44000, n_train = 20000, n_val = 4000, n_test = 10000, models = {"fcnn"}, fcnn_epochs = 30,
           seeds = 3},
  full = {},
}
local run = E.run("degradation_kd", cfg)
local path = X.dataset(cfg, "top500_matched")
local tr, va, te = X.splits(path, cfg)
print(string.format("data: %s — %d train, %d val, %d test jets", path, tr:size(), va:size(), te:size()))

local DEGRADE = {
  smear = {name = "smeared E, pT", steps = {data.smear{E = cfg.smear, pt = cfg.smear}}},
  undersample = {name = cfg.keep .. " constituents", steps = {data.undersample{keep = cfg.keep, mode = cfg.keep_mode}}},
}
local gnn_tr = (cfg.gnn_n_train > 0 and cfg.gnn_n_train < tr:size()) and tr:subset(cfg.gnn_n_train / tr:size()) or tr
local MODELS = {
  fcnn = {label = "FCNN", kind = "fcnn", spec = X.spec.fcnn(cfg.constituents, cfg.fcnn_hidden),
          epochs = cfg.fcnn_epochs, lr = cfg.fcnn_lr, batch = cfg.fcnn_batch, train = tr},
  gnn = {label = "GNN", kind = "particlenet", spec = X.spec.particlenet(cfg.gnn),
         epochs = cfg.gnn_epochs, lr = cfg.gnn_lr, batch = cfg.gnn_batch, train = gnn_tr},
}
local kd = loss.kd.hinton{alpha = cfg.alpha, T = cfg.T}

local auc_rows, rej_rows, diffs = {}, {}, {}
for _, mname in ipairs(cfg.models) do
  local M = assert(MODELS[mname], "--models: unknown model " .. tostring(mname) .. " (fcnn, gnn)")
  local model_train = M.train    -- the GNN may use fewer jets (gnn_n_train)
  local clean = X.family(M.kind, cfg, model_train, {batch_size = M.batch})
  local function fit(key, variant, o)
    o.key, o.label, o.variant = mname .. "_" .. key, o.label or M.label, variant
    o.spec, o.epochs, o.lr = M.spec, M.epochs, o.lr or M.lr
    o.val, o.test = o.val or o.fam:source(va), o.test or o.fam:source(te)
    o.timing = X.timing_sets(o.fam, te)
    o.extra = {stats = o.fam.stats, degrade = o.degrade_name}
    return X.fit(run, o)
  end

  local teacher = fit("teacher", "Teacher", {fam = clean, train = clean:source(model_train, {shuffle = true})})

  for _, dname in ipairs(cfg.degradations) do
    local D = assert(DEGRADE[dname], "--degradations: unknown " .. tostring(dname) .. " (smear, undersample)")
    local label = M.label .. " · " .. D.name
    local deg = X.family(M.kind, cfg, model_train, {degrade = D.steps, batch_size = M.batch})
    run:record(label, "Teacher", teacher.metrics)
    local t_deg = X.score(run, label, "Teacher on degraded", teacher.model, clean:source(te, {degrade = D.steps}),
      mname .. "_teacher_on_" .. dname)
    local alone = fit("student_" .. dname, "Student", {label = label, fam = deg, degrade_name = dname,
      train = deg:source(model_train, {shuffle = true})})
    local distilled = fit("student_kd_" .. dname, "Student + KD", {label = label, fam = deg, degrade_name = dname,
      train = deg:source(model_train, {shuffle = true, teacher = clean}), teacher = teacher.model, loss = kd,
      metrics = {alpha = cfg.alpha, T = cfg.T}})
    local curves = {X.curve("Student", alone.roc), X.curve("Student + KD", distilled.roc),
      X.curve("Teacher (full resolution)", teacher.roc)}
    local row = {label, U.cell(alone.metrics, "auc"), U.cell(distilled.metrics, "auc"), U.cell(teacher.metrics, "auc"),
      U.cell(t_deg, "auc")}
    local rrow = {label, U.cell(alone.metrics, "rej50"), U.cell(distilled.metrics, "rej50"),
      U.cell(teacher.metrics, "rej50"), U.cell(t_deg, "rej50")}
    for _, k in ipairs({{"auc", "AUC"}, {"rej50", "1/εB@0.5"}}) do
      diffs[#diffs + 1] = U.comparison_row(label .. " " .. k[2] .. ": Student + KD − Student", distilled.metrics,
        alone.metrics, k[1])
    end
    if cfg.mix then
      -- the mixed Teacher: every clean batch and every degraded batch each epoch, clean statistics
      local mixed = fit("mixed_teacher_" .. dname, "Mixed teacher", {label = label, fam = clean, degrade_name = dname,
        train = X.mix(clean:source(tr, {shuffle = true}), clean:source(tr, {shuffle = true, degrade = D.steps}))})
      local mixed_deg, mroc = X.score(run, label, "Mixed teacher on degraded", mixed.model,
        clean:source(te, {degrade = D.steps}), mname .. "_mixed_teacher_on_" .. dname)
      curves[#curves + 1] = X.curve("Mixed teacher on degraded", mroc)
      row[#row + 1], row[#row + 2] = U.cell(mixed.metrics, "auc"), U.cell(mixed_deg, "auc")
      rrow[#rrow + 1], rrow[#rrow + 2] = U.cell(mixed.metrics, "rej50"), U.cell(mixed_deg, "rej50")
    end
    auc_rows[#auc_rows + 1], rej_rows[#rej_rows + 1] = row, rrow
    plot.roc(run:path(string.format("roc_%s_%s.png", mname, dname)),
      {curves = curves, ratio_to = 1, title = label .. ": ROC (ratio to the Student alone)"})
    plot.curves(run:path(string.format("val_acc_%s_%s.png", mname, dname)), {title = label .. ": validation accuracy",
      xlabel = "epoch", ylabel = "accuracy", series = {X.val_acc("Teacher (clean val)", teacher.history),
      X.val_acc("Student", alone.history), X.val_acc("Student + KD", distilled.history)}})
  end
end

local cols = {"model · degradation", "Student", "Student + KD", "Teacher", "Teacher on degraded"}
if cfg.mix then cols[#cols + 1], cols[#cols + 2] = "Mixed teacher", "Mixed teacher on degraded" end
run:table("AUC (test jets; Teacher and Mixed teacher on full-resolution jets unless 'on degraded')", cols, auc_rows)
run:table("Background rejection 1/εB at εS = 0.5", cols, rej_rows)
run:table("Does distillation help the degraded Student? (a = Student + KD, b = Student)", U.COMPARISON_COLUMNS, diffs)
run:note(U.LEGEND)
run:note(string.format("%s unless --data was given; %d training jets " ..
  "(GNN: %d), preset %s, Hinton α = %g, T = %g, smearing σ = %g, %d constituents kept (%s).",
  X.jets_about(cfg), tr:size(), gnn_tr:size(), cfg.preset, cfg.alpha, cfg.T, cfg.smear, cfg.keep, cfg.keep_mode))
run:finish()
