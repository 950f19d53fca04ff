-- test_epoch_vs_step.lua — `jetlab bench --experiment`'s report (jetlab.epoch_vs_step)
-- on a run folder made here: the epoch figure is the mean of the history's
-- ms_per_sample (and of epochs 2..), the step is timed on the checkpoint's model (frozen
-- again when the checkpoint says it trained frozen) with the batch size it trained with
-- (extra.batch_size, else the config's; a distilled one with the KD loss), ratio = epoch / step;
-- a folder without config.lua is refused.
local T = require "jetlab.test"
local fs = require "jetlab.fs"
local nn = require "jetlab.nn"
local ckpt = require "jetlab.ckpt"
local epoch_vs_step = require "jetlab.epoch_vs_step"

local dir = fs.tmpdir()
local jets = dir .. "/jets.h5"
assert(jl.gen.write{signal = "top", pt = {500, 600}, n = 96, seed = 1, path = jets})
local run = dir .. "/run"
fs.mkdir(run)
fs.write(run .. "/config.lua", "return {batch = 16}\n")
local SMALL = {blocks = {{8, 8}, {8, 8}}, fusion = 16, fc = 8}
local inputs = {kind = "lund", features = 5, max_constituents = 100}
for _, key in ipairs({"frozen", "scratch", "student_kd"}) do
  fs.mkdir(run .. "/" .. key)
  local model = nn.models.lundnet(SMALL)
  assert(ckpt.save(run .. "/" .. key .. "/best.h5", {model = model, spec = {model = model.spec, inputs = inputs},
    extra = {frozen_upto = key == "frozen" and "pooled" or nil, batch_size = key == "frozen" and 12 or nil,
             distilled = key == "student_kd" or nil}}))
end
fs.write(run .. "/history_student_kd.csv", "epoch,ms_per_sample\n1,3.0\n2,1.0\n")
fs.write(run .. "/history_frozen.csv", "epoch,train_loss,ms_per_sample\n1,0.7,0.5\n2,0.6,0.1\n3,0.5,0.3\n")
fs.write(run .. "/history_scratch.csv", "epoch,ms_per_sample,train_loss\n1,2.0,0.7\n")

T.case("one row per trained model: the history's mean epoch, a timed step, their ratio", function()
  local rows = epoch_vs_step.rows(run, jets, {train_steps = 2})
  T.eq(#rows, 3)
  T.eq(rows[3].model, "lundnet (KD)", "a distilled student steps with the KD loss")
  T.eq(rows[3].steady_ms, 1.0)
  T.eq(rows[1].key, "frozen")
  T.eq(rows[1].model, "lundnet (frozen)")
  T.near(rows[1].epoch_ms, 0.3, 1e-12)
  T.near(rows[1].steady_ms, 0.2, 1e-12)
  T.eq(rows[1].batch, 12, "the batch size the model trained with")
  T.eq(rows[2].model, "lundnet")
  T.eq(rows[2].epoch_ms, 2.0)
  T.eq(rows[2].steady_ms, 2.0, "one epoch: epochs 2.. stand for it")
  T.eq(rows[2].batch, 16, "no batch_size in the checkpoint: the config's batch")
  for _, r in ipairs(rows) do
    T.ok(r.step_ms > 0, r.key .. " step timed")
    T.near(r.ratio, r.epoch_ms / r.step_ms, 1e-12)
    T.near(r.steady_ratio, r.steady_ms / r.step_ms, 1e-12)
  end
  local text = epoch_vs_step.table(rows)
  T.ok(text:find("| lundnet (frozen) (frozen) | 12 | 0.3000 |", 1, true), text)
end)

T.case("a folder that is no experiment run is refused", function()
  T.raises(function() epoch_vs_step.rows(dir, jets, {}) end, "config.lua")
end)

T.run()
