-- jetlab.epoch_vs_step — an experiment's epoch time per sample against the step time
-- of `jetlab bench` for the same model and batch (issue 16: what an epoch costs
-- beyond the model's own step: reading, preparing, batching the jets).
--
--   jetlab bench --experiment results/transfer/latest top500.h5 [--train-steps 20] [--threads 2]
--
-- For every model the run folder trained (a <key>/best.h5 with history_<key>.csv):
--   epoch  the mean of the history's ms_per_sample over its epochs (what the
--          experiment's tables report: train_ms_per_sample), as measured then;
--          also over epochs 2.. (the first prepares the inputs once per run and
--          runs a distillation teacher once per jet: jetlab.data_cache); the
--          training pass only: validation and checkpoints are not in it
--   step   the checkpoint's model (ckpt.model; a frozen transfer variant frozen
--          again as it trained, from the checkpoint's extra.frozen_upto) timed now
--          as `jetlab bench` times a step: Adam (--lr) on the trainable parameters,
--          mean cross-entropy, backward, update, at the batch size the model
--          trained with (its checkpoint's extra.batch_size, else the config's
--          batch); 2 warm-up steps, then --train-steps timed; the batches are made from FILE.h5's jets
--          with the checkpoint's recorded inputs (jetlab.predict.chunks: the same
--          features, standardisation, Lund graphs) before any timing
--   ratio  epoch / step: 1 when an epoch costs only its model steps.
-- A distillation student (extra.distilled) steps with loss.kd.hinton on fixed
-- teacher logits, as its epochs 2.. do with the teacher's logits cached
-- (jetlab.teacher_cache); the teacher's one pass per run is in its first epoch
-- only. Timings on a shared machine are noisy: compare ratios measured close
-- together in time.

local fs = require "jetlab.fs"
local ckpt = require "jetlab.ckpt"
local loss = require "jetlab.loss"
local optim = require "jetlab.optim"
local predict = require "jetlab.predict"
local backbone = require "jetlab.nn.backbone"

local M = {}

-- The means of a history CSV's ms_per_sample column over every epoch and over
-- epochs 2.. (the first alone when there is one), or nil.
local function mean_epoch_ms(path)
  local text = fs.read(path)
  if not text then return nil end
  local column, sum, count, first
  for line in text:gmatch("[^\n]+") do
    local cells = {}
    for cell in (line .. ","):gmatch("([^,]*),") do cells[#cells + 1] = cell end
    if not column then
      for i, name in ipairs(cells) do if name == "ms_per_sample" then column = i end end
      if not column then return nil end
      sum, count = 0, 0
    elseif tonumber(cells[column]) then
      sum, count = sum + tonumber(cells[column]), count + 1
      if count == 1 then first = sum end
    end
  end
  if not count or count == 0 then return nil end
  return sum / count, count > 1 and (sum - first) / (count - 1) or sum
end

-- steps + 2 batches {x, y, t} of the jets of path as the checkpoint's model reads
-- them; t (B, 2) stands for cached teacher logits.
local function batches_of(path, inputs, batch, steps)
  local out = {}
  while #out < steps + 2 do
    local reader = assert(predict.chunks(path, inputs, {batch = batch}))
    local before = #out
    for chunk in reader.next do
      if chunk.n == batch then out[#out + 1] = {x = chunk.x, y = chunk.label:to("i64") + 1, t = jl.randn(batch, 2)} end
      if #out == steps + 2 then break end
    end
    if #out == before then error(string.format("%s: fewer jets than one batch of %d", path, batch), 0) end
  end
  return out
end

-- ms per sample of a training step of model over batches (the first two untimed),
-- with the distillation loss on the batches' teacher logits when distilled.
local function step_ms(model, batches, lr, distilled)
  model:train()
  local opt = optim.Adam(model:parameters({trainable = true}), {lr = lr})
  local kd = distilled and loss.kd.hinton{alpha = 0.5, T = 4}
  local function step(b)
    opt:zero_grad()
    local l = kd and kd(model(b.x), b.y, b.t) or loss.cross_entropy(model(b.x), b.y)
    l:backward()
    opt:step()
    return l
  end
  step(batches[1])
  step(batches[2])
  collectgarbage()
  local t0 = jl.clock()
  local l
  for i = 3, #batches do l = step(batches[i]) end
  l:item()
  local samples = (#batches - 2) * batches[3].y:numel()
  return (jl.clock() - t0) / samples * 1e3
end

--- M.rows(run_dir, jets_path, {train_steps = 20, lr = 1e-3}) → array of {key, model,
--- batch, epoch_ms, steady_ms (epochs 2..), step_ms, ratio, steady_ratio}, in key order.
function M.rows(run_dir, jets_path, o)
  local ok, cfg = pcall(dofile, run_dir .. "/config.lua")
  if not ok or type(cfg) ~= "table" then error(run_dir .. ": no experiment run folder (config.lua)", 0) end
  local batch = cfg.batch or 256
  local rows = {}
  for _, key in ipairs(fs.list(run_dir)) do
    local best = string.format("%s/%s/best.h5", run_dir, key)
    local epoch_ms, steady_ms
    if fs.exists(best) then epoch_ms, steady_ms = mean_epoch_ms(string.format("%s/history_%s.csv", run_dir, key)) end
    if epoch_ms then
      local model, state = assert(ckpt.model(best))
      local extra = type(state.extra) == "table" and state.extra or {}
      local upto = extra.frozen_upto
      if upto then backbone.freeze(model, {upto = upto}) end
      local b = extra.batch_size or batch
      local ms = step_ms(model, batches_of(jets_path, state.spec.inputs, b, o.train_steps or 20), o.lr or 1e-3,
        extra.distilled)
      local model_name = state.spec.model.name .. (upto and " (frozen)" or "") .. (extra.distilled and " (KD)" or "")
      rows[#rows + 1] = {key = key, model = model_name, batch = b,
        epoch_ms = epoch_ms, steady_ms = steady_ms, step_ms = ms, ratio = epoch_ms / ms, steady_ratio = steady_ms / ms}
    end
  end
  return rows
end

--- M.table(rows) → the rows as a Markdown table.
function M.table(rows)
  local lines = {"| model (key) | batch | epoch, ms/sample | bench step, ms/sample | epoch / step | epochs 2.., ms/sample | epochs 2.. / step |",
    "| --- | --- | --- | --- | --- | --- | --- |"}
  for _, r in ipairs(rows) do
    lines[#lines + 1] = string.format("| %s (%s) | %d | %.4f | %.4f | %.2f× | %.4f | %.2f× |", r.model, r.key, r.batch,
      r.epoch_ms, r.step_ms, r.ratio, r.steady_ms, r.steady_ratio)
  end
  return table.concat(lines, "\n")
end

return M
