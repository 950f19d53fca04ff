-- jetlab.train — the training loop: fit, evaluate, predict.
--
--   local train = require "jetlab.train"
--   local history = train.fit{model = net, optimizer = optim.Adam(net:parameters(), {lr = 1e-3}),
--                             train = train_data, val = val_data, epochs = 30, seed = 1,
--                             schedule = sched, checkpoint_dir = "results/run1", early_stop = 5}
--   print(history[#history].val_auc, history.best_epoch, history.best_path)
--   local scores, labels, weights = train.predict(net, test_data)   -- P(signal), 1..2
--
-- BATCH CONTRACT (what data sources produce). A batch is a table
--   x         the model's input: a tensor (B, ...) or anything its forward
--             accepts (e.g. a ragged graph batch table); fit never looks inside
--   y         i64 (B) class labels 1..K — for jet tagging 1 = background,
--             2 = signal (files storing 0/1 are shifted by the reader) — the
--             convention of loss.cross_entropy and of jetlab.metrics
--   w         f32 (B) per-sample training weights, or nil (unweighted)
--   x_teacher the teacher's input when it differs from the student's (the
--             full-resolution view in distillation), or nil (x is used)
--   n         B, the number of samples (optional: y's length)
-- with every tensor on the model's device. A data source is one of
--   * a function returning an iterator of batches: `for batch in data() do`
--   * an object whose :batches() returns such an iterator (and which may tell
--     the progress bar its length through a num_batches field or method)
--   * an array of batches.
-- It is iterated once per epoch; shuffling is the source's business, and must
-- draw from jl's generator (jl.randperm) for fit's seed to make runs repeat.
--
-- fit{...} options:
--   model, optimizer, train, epochs (required)
--   loss        criterion(logits, y, {weights = w}) → scalar loss; default
--               loss.cross_entropy. With a teacher it is a distillation
--               criterion(student_logits, y, teacher_logits, {weights = w}),
--               e.g. loss.kd.hinton{alpha = 0.5, T = 4} (required then).
--   teacher     a trained model, run in eval mode under no_grad on x_teacher or x
--   val         validation data: loss, accuracy and AUC after every epoch. The
--               validation loss uses val_loss, else loss — or cross-entropy
--               when a teacher is given (distillation criteria need teacher logits).
--   val_loss    criterion for validation (as loss without a teacher)
--   schedule    its step() is called after every epoch
--   metric      the history field that selects the best epoch: "val_auc"
--               (default with val; higher is better), "val_acc", or a name
--               ending in "loss" (lower is better; default "train_loss" without val)
--   checkpoint_dir  saves best.h5 (best epoch by metric) and last.h5 there
--               (jetlab.ckpt: model, optimizer, epoch, config, extra); created if missing
--   config, extra   stored in every checkpoint (extra: e.g. standardisation statistics)
--   early_stop  patience: stop after that many epochs without improving the metric
--   clip_grad_norm  max global gradient norm (optim.clip_grad_norm) before each step
--   seed        jl.manual_seed(seed) first: the same seed repeats a CPU run bit for bit
--   on_epoch    function(record, history) after each epoch; returning false stops
--   log         true (default): a progress bar on a terminal (epoch, batch/total,
--               loss, samples/s, ETA; JETLAB_PROGRESS=0 turns it off) and one
--               plain line per epoch, "*" marking a new best; false: silent;
--               a function: called with each epoch line instead of print
--
-- fit returns the history: an array of per-epoch records {epoch, train_loss,
-- val_loss, val_acc, val_auc, lr (group 1's, during the epoch), seconds (the
-- whole epoch: training, validation, checkpoints), train_seconds,
-- ms_per_sample (training time per sample in the epoch, data loading included
-- — the seed papers' unit), samples}, plus the fields metric, best_epoch, best
-- (its value), best_path, last_path (when checkpointing) and stopped_early.

local jl = require "jetlab"
local ckpt = require "jetlab.ckpt"
local loss_lib = require "jetlab.loss"
local metrics = require "jetlab.metrics"
local optim = require "jetlab.optim"
local options = require "jetlab.options"

local train = {}

local OPTIONAL, REQUIRED = options.OPTIONAL, options.REQUIRED

--- train.batches(data) → an iterator over the batches of a data source (see the header).
function train.batches(data)
  if type(data) == "function" then return data() end
  if type(data) == "table" then
    if type(data.batches) == "function" then return data:batches() end
    local i = 0
    return function()
      i = i + 1
      return data[i]
    end
  end
  error("train: a data source must be a function returning an iterator, an object with :batches() or an array of batches", 3)
end

-- The number of batches per epoch when the source tells it, else nil.
local function num_batches(data)
  if type(data) ~= "table" then return nil end
  local n = data.num_batches
  if type(n) == "function" then return n(data) end
  if type(n) == "number" then return n end
  if type(data.batches) ~= "function" then return #data end
  return nil
end

-- Checks the contract's fields of one batch; returns its sample count.
local function check_batch(batch, where)
  if type(batch) ~= "table" then error(string.format("train: %s is a %s, not a batch table", where, type(batch)), 0) end
  if batch.x == nil then error(string.format("train: %s has no x (the model input)", where), 0) end
  local y = batch.y
  if not jl.is_tensor(y) or y.ndim ~= 1 then error(string.format("train: %s needs y, a (B) tensor of labels 1..K", where), 0) end
  return batch.n or y.shape[1]
end

local function current_lr(optimizer)
  local groups = optimizer.param_groups
  return groups and groups[1] and groups[1].lr or optimizer.lr
end

-- Runs the model in eval mode under no_grad over data; returns the cat'ed
-- logits (N, K), labels (N), weights (N) or nil, and calls on_batch(logits, batch).
local function forward_all(model, data, on_batch)
  local was_training = model.training ~= false
  model:eval()
  local logits, labels, weights = {}, {}, {}
  local ok, err = pcall(jl.no_grad, function()
    local b = 0
    for batch in train.batches(data) do
      b = b + 1
      check_batch(batch, "batch " .. b)
      local out = model(batch.x)
      if on_batch then on_batch(out, batch) end
      logits[b], labels[b] = out, batch.y
      if batch.w then weights[#weights + 1] = batch.w end
    end
    if b == 0 then error("train: the data source yielded no batch", 0) end
    if #weights ~= 0 and #weights ~= b then error("train: some batches have weights w and some do not", 0) end
  end)
  if was_training then model:train() end
  if not ok then error(err, 0) end
  return jl.cat(logits, 1), jl.cat(labels, 1), weights[1] and jl.cat(weights, 1) or nil
end

-- P(class 2) (N) from logits (N, K >= 2).
local function signal_scores(logits, what)
  if logits.ndim ~= 2 or logits.shape[2] < 2 then
    error(string.format("%s: the model must output (N, K >= 2) logits, got (%s)", what,
      table.concat(logits.shape, ", ")), 0)
  end
  return logits:softmax(2):select(2, 2):contiguous()
end

--- train.predict(model, data) → scores (N) = softmax probability of class 2
--- (signal), labels (N), weights (N) or nil; in eval mode, under no_grad.
function train.predict(model, data)
  local logits, labels, weights = forward_all(model, data)
  return signal_scores(logits, "train.predict"), labels, weights
end

--- train.evaluate(model, data[, criterion]) → {loss=, acc=, auc=, n=}: the
--- sample-weighted mean loss per batch (when a criterion is given), accuracy
--- and AUC (signal = class 2), with the batches' weights where they have them.
function train.evaluate(model, data, criterion)
  local sum, count = 0, 0
  local logits, labels, weights = forward_all(model, data, criterion and function(out, batch)
    local n = batch.n or batch.y.shape[1]
    sum = sum + criterion(out, batch.y, {weights = batch.w}):item() * n
    count = count + n
  end)
  return {
    loss = criterion and sum / count or nil,
    acc = metrics.accuracy(logits, labels, {weights = weights}),
    auc = metrics.auc(signal_scores(logits, "train.evaluate"), labels, {weights = weights}),
    n = labels.shape[1],
  }
end

-- ----------------------------------------------------------------- logging

local function clock_str(seconds)
  seconds = math.floor(seconds + 0.5)
  local h, m, s = seconds // 3600, seconds // 60 % 60, seconds % 60
  if h > 0 then return string.format("%d:%02d:%02d", h, m, s) end
  return string.format("%d:%02d", m, s)
end

-- A progress line redrawn in place on a terminal, at most 10 times a second.
local function progress_bar(epoch, epochs, total)
  local last = -math.huge
  return {
    update = function(b, loss, samples, elapsed, force)
      local now = jl.clock()
      if not force and now - last < 0.1 then return end
      last = now
      local rate = elapsed > 0 and samples / elapsed or 0
      local head = string.format("epoch %d/%d ", epoch, epochs)
      local bar, eta = "", ""
      if total then
        local width, done = 24, math.min(b / total, 1)
        local fill = math.floor(done * width)
        bar = string.format("%d/%d [%s%s] ", b, total, string.rep("=", fill), string.rep(" ", width - fill))
        if b > 0 then eta = "  ETA " .. clock_str(elapsed * (total - b) / b) end
      else
        bar = string.format("%d ", b)
      end
      io.stdout:write(string.format("\r%s%sloss %.4f  %.0f samples/s%s\27[K", head, bar, loss, rate, eta))
      io.stdout:flush()
    end,
    clear = function()
      io.stdout:write("\r\27[K")
      io.stdout:flush()
    end,
  }
end

local function epoch_line(r, epochs, is_best)
  local parts = {string.format("epoch %d/%d", r.epoch, epochs), string.format("train_loss %.4f", r.train_loss)}
  if r.val_loss then parts[#parts + 1] = string.format("val_loss %.4f", r.val_loss) end
  if r.val_acc then parts[#parts + 1] = string.format("val_acc %.4f", r.val_acc) end
  if r.val_auc then parts[#parts + 1] = string.format("val_auc %.4f", r.val_auc) end
  if r.lr then parts[#parts + 1] = string.format("lr %.3g", r.lr) end
  parts[#parts + 1] = string.format("%.1f s", r.seconds)
  parts[#parts + 1] = string.format("%.4f ms/sample", r.ms_per_sample)
  if is_best then parts[#parts + 1] = "*" end
  return table.concat(parts, "  ")
end

-- ----------------------------------------------------------------- fit

local FIT_OPTIONS = {
  model = REQUIRED, optimizer = REQUIRED, train = REQUIRED, epochs = REQUIRED,
  loss = OPTIONAL, teacher = OPTIONAL, val = OPTIONAL, val_loss = OPTIONAL, schedule = OPTIONAL,
  metric = OPTIONAL, checkpoint_dir = OPTIONAL, config = OPTIONAL, extra = OPTIONAL,
  early_stop = OPTIONAL, clip_grad_norm = OPTIONAL, seed = OPTIONAL, on_epoch = OPTIONAL, log = true,
}

-- One pass over the training data; returns the sample-weighted mean loss, samples, seconds.
local function train_epoch(o, epoch, show)
  local model, optimizer, criterion, teacher = o.model, o.optimizer, o.loss, o.teacher
  local params = o.clip_grad_norm and model:parameters()
  local bar = show and progress_bar(epoch, o.epochs, num_batches(o.train))
  model:train()
  local t0 = jl.clock()
  local sum, samples, b = 0, 0, 0
  for batch in train.batches(o.train) do
    b = b + 1
    local n = check_batch(batch, string.format("batch %d of epoch %d", b, epoch))
    optimizer:zero_grad()
    local logits = model(batch.x)
    local l
    if teacher then
      local t_logits = jl.no_grad(function() return teacher(batch.x_teacher or batch.x) end)
      l = criterion(logits, batch.y, t_logits, {weights = batch.w})
    else
      l = criterion(logits, batch.y, {weights = batch.w})
    end
    local value = l:item()
    if value ~= value or value == math.huge or value == -math.huge then
      error(string.format("train: the loss is not finite (%s) at batch %d of epoch %d", tostring(value), b, epoch), 0)
    end
    l:backward()
    if params then optim.clip_grad_norm(params, o.clip_grad_norm) end
    optimizer:step()
    sum, samples = sum + value * n, samples + n
    if bar then bar.update(b, sum / samples, samples, jl.clock() - t0) end
  end
  if b == 0 then error("train: the training data yielded no batch in epoch " .. epoch, 0) end
  if bar then bar.clear() end
  return sum / samples, samples, jl.clock() - t0
end

local function mkdir(dir)
  local ok = os.execute("mkdir -p '" .. dir:gsub("'", "'\\''") .. "'")
  if not ok then error("train: cannot create the checkpoint folder " .. dir, 0) end
end

--- train.fit{...} → history (see the header).
function train.fit(opts)
  local o = options.check("train.fit", opts, FIT_OPTIONS)
  if o.teacher and not o.loss then
    error("train.fit: a teacher needs a distillation loss, e.g. loss.kd.hinton{alpha = 0.5, T = 4}", 2)
  end
  o.loss = o.loss or loss_lib.cross_entropy
  local val_criterion = o.val_loss or (o.teacher and loss_lib.cross_entropy or o.loss)
  local metric = o.metric or (o.val and "val_auc" or "train_loss")
  if metric:match("^val_") and not o.val then error("train.fit: metric '" .. metric .. "' needs val data", 2) end
  local lower_is_better = metric:match("loss$") ~= nil
  local emit = type(o.log) == "function" and o.log or (o.log and print or nil)
  local show_bar = o.log == true and jl.isatty(1) and os.getenv("JETLAB_PROGRESS") ~= "0"
  if o.seed then jl.manual_seed(o.seed) end
  if o.teacher then o.teacher:eval() end
  if o.checkpoint_dir then mkdir(o.checkpoint_dir) end

  local history = {metric = metric, stopped_early = false}
  local best, since_best = nil, 0
  local function save(name, epoch)
    local path = o.checkpoint_dir .. "/" .. name
    local ok, err = ckpt.save(path, {model = o.model, optimizer = o.optimizer, epoch = epoch,
      config = o.config, extra = o.extra})
    if not ok then error("train: " .. err, 0) end
    return path
  end

  for epoch = 1, o.epochs do
    local t0 = jl.clock()
    local lr = current_lr(o.optimizer)
    local train_loss, samples, train_seconds = train_epoch(o, epoch, show_bar)
    local r = {epoch = epoch, train_loss = train_loss, lr = lr, samples = samples, train_seconds = train_seconds,
      ms_per_sample = 1000 * train_seconds / samples}
    if o.val then
      local v = train.evaluate(o.model, o.val, val_criterion)
      r.val_loss, r.val_acc, r.val_auc = v.loss, v.acc, v.auc
    end
    if o.schedule then o.schedule:step() end
    local value = r[metric]
    if value == nil then error("train.fit: metric '" .. metric .. "' is not a field of the epoch record", 0) end
    local improved = best == nil or (lower_is_better and value < best) or (not lower_is_better and value > best)
    if improved then
      best, since_best = value, 0
      history.best_epoch, history.best = epoch, value
      if o.checkpoint_dir then history.best_path = save("best.h5", epoch) end
    else
      since_best = since_best + 1
    end
    if o.checkpoint_dir then history.last_path = save("last.h5", epoch) end
    r.seconds = jl.clock() - t0
    history[#history + 1] = r
    if emit then emit(epoch_line(r, o.epochs, improved)) end
    if o.on_epoch and o.on_epoch(r, history) == false then break end
    if o.early_stop and since_best >= o.early_stop then
      history.stopped_early = true
      if emit then emit(string.format("early stop: no better %s for %d epochs (best %.4f at epoch %d)", metric,
        since_best, best, history.best_epoch)) end
      break
    end
  end
  return history
end

return train
