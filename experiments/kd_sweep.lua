-- experiments/kd_sweep.lua — an example sweep: the Hinton loss's α × T on the
-- compression Student (FCNN 1×64 distilled from FCNN 5×400, seed 1 study 2).
--
-- The Teacher is trained once, before the sweep, and cached in the sweep's
-- folder (worker processes re-run this script up to sweep.run and load it).
-- Each point trains a Student with KD and records AUC, accuracy, 1/εB;
-- α = 1 is the Student without distillation (T plays no role there).
-- Everything goes to results/kd_sweep/<tag>/ (sweep.csv, summary.md,
-- sweep.png, points/): re-running with the same settings skips finished points
-- and goes on with an interrupted Teacher from its checkpoint (--resume or not).
-- Every point starts from jl's generator seeded with --seed, so a point's
-- result does not depend on the process that runs it nor on the points before.
--
--   jetlab experiments/kd_sweep.lua --quick
--   jetlab experiments/kd_sweep.lua --quick --alphas '{0.1, 0.3, 0.5, 0.7, 1}' --Ts '{1, 2, 4, 8}' --workers 2
--   jetlab experiments/kd_sweep.lua --quick --backend slurm --slurm '{partition = "cpu", time = "00:30:00"}'
--   jetlab experiments/kd_sweep.lua --quick --array-task 3      # point 3 only (a batch array's task)

package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local E = require "jetlab.experiment"
local train = require "jetlab.train"
local loss = require "jetlab.loss"
local ckpt = require "jetlab.ckpt"
local sweep = require "jetlab.sweep"
local X = require "common"

local cfg = E.config{
  about = "Sweep of the Hinton loss's alpha x T on the compression Student (FCNN 1x64 from FCNN 5x400).",
  n_jets = 600000, n_train = 400000, n_val = 50000, n_test = 100000, constituents = 80, batch = 250,
  alphas = {0.1, 0.3, 0.5, 0.7, 0.9, 1.0}, Ts = {1, 2, 4, 8},
  teacher = {400, 400, 400, 400, 400}, student = {64}, epochs = 30, lr = 1.2e-5, workers = 1,
  quick = {n_jets = 10000, n_train = 3000, n_val = 600, n_test = 2000, alphas = {0.2, 0.5, 1.0}, Ts = {1, 4},
           epochs = 5, lr = 1e-3, workers = 2},
  quick_pythia = X.quick_pythia(),
  full = {},
  flags = sweep.FLAGS,
}
local tag = string.format("%s-n%d-e%d-seed%d", cfg.preset, cfg.n_train, cfg.epochs, cfg.seed)
local root = cfg.out .. "/kd_sweep"
local path = X.dataset(cfg, "top500")
local tr, va, te = X.splits(path, cfg)
local fam = X.family("fcnn", cfg, tr)

-- the Teacher: trained once, cached
local t_spec = X.spec.fcnn(cfg.constituents, cfg.teacher)
local t_dir = string.format("%s/%s/teacher", root, tag)
local teacher = X.build(t_spec, cfg.device)
local point = E.resume_point(t_dir, cfg.epochs)
if not (point and point.finished) then
  print((point and "going on with the Teacher from " .. point.path or "training the Teacher once") .. ": " .. t_dir)
  local h = train.fit{model = teacher, optimizer = X.optimizer("fcnn", teacher:parameters(), cfg.lr),
    train = fam:source(tr, {shuffle = true}), val = fam:source(va), epochs = cfg.epochs, seed = cfg.seed,
    checkpoint_dir = t_dir, extra = {spec = t_spec, stats = fam.stats, constituents = cfg.constituents},
    resume = point and point.path, resume_command = E.command(cfg)}
  print(string.format("Teacher: best val AUC %.4f (epoch %d)", h.best, h.best_epoch))
end
assert(ckpt.load_into(t_dir .. "/best.h5", teacher))
teacher:eval()

local rows = sweep.run(tag, {alpha = cfg.alphas, T = cfg.Ts}, function(p)
  jl.manual_seed(cfg.seed)
  local student = X.build(X.spec.fcnn(cfg.constituents, cfg.student), cfg.device)
  train.fit{model = student, optimizer = X.optimizer("fcnn", student:parameters(), cfg.lr), teacher = teacher,
    loss = loss.kd.hinton{alpha = p.alpha, T = p.T}, train = fam:source(tr, {shuffle = true}), val = fam:source(va),
    epochs = cfg.epochs, seed = cfg.seed, log = false}
  local m = E.evaluate(student, fam:source(te))
  print(string.format("alpha %.2f  T %g  AUC %.4f  1/eB@0.5 %.1f", p.alpha, p.T, m.auc, m.rej50))
  return {auc = m.auc, accuracy = m.accuracy, rej30 = m.rej30, rej50 = m.rej50}
end, sweep.with_flags(E.flags(cfg), {root = root, workers = cfg.workers, plot = {x = "alpha", y = "auc", series = "T"}}))

local teacher_m = E.evaluate(teacher, fam:source(te))
print(string.format("\nkd_sweep: %d points in %s/%s (sweep.csv, summary.md, sweep.png); Teacher AUC %.4f",
  #rows, root, tag, teacher_m.auc))
