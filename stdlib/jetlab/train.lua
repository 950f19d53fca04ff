-- jetlab.train — the training loop: fit, evaluate, predict.
--
--   local train = require "jetlab.train"
--   local history = train.fit{model = net, optimizer = optim.Adam(net:parameters(), {lr = 1e-3}),
--                             train = train_data, val = val_data, epochs = 30, seed = 1,
--                             schedule = sched, checkpoint_dir = "results/run1", early_stop = 5}
--   print(history[#history].val_auc, history.best_epoch, history.best_path)
--   local scores, labels, weights = train.predict(net, test_data)   -- P(signal), 1..2
--   local s = train.predict("results/run1/best.h5", "test.h5", {out = "scores.csv"})  -- a file (jetlab.predict)
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
--   shard     only from a source offering can_shard, asked for one MPI rank's
--             jets (batches{shard = {rank =, size =}}): the batch holds that
--             rank's jets of a global batch; {rank =, size =, n = global B,
--             w = the global batch's weights or nil} (jetlab.dist_shard)
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
--   teacher     a trained model, run in eval mode under no_grad on x_teacher or x;
--               once per jet per run when the source offers a fixed pass
--               (source:teacher_pass(), batch.jets: jetlab.teacher_cache)
--   val         validation data: loss, accuracy and AUC after every epoch. The
--               validation loss uses val_loss, else loss — or cross-entropy
--               when a teacher is given (distillation criteria need teacher logits).
--   val_loss    criterion for validation (as loss without a teacher)
--   schedule    its step() is called after every epoch
--   metric      the history field that selects the best epoch: "val_auc"
--               (default with val; higher is better), "val_acc", or a name
--               ending in "loss" (lower is better; default "train_loss" without val)
--   checkpoint_dir  saves best.h5 (best epoch by metric) and last.h5 there
--               (jetlab.ckpt: model, optimizer, epoch, config, extra); created if missing.
--               last.h5 (and interrupted.h5, below) also hold the training state
--               that resume needs
--   config, extra   stored in every checkpoint (extra: e.g. standardisation statistics)
--   inputs      what the model reads (jetlab.predict's spec.inputs: {kind = "flat" |
--               "padded" | "ragged" | "lund", max_constituents =, standardize =,
--               degrade =, features =}); default: the training source's own
--               description, train:inputs() (data views and experiments/common.lua's
--               Lund source have one). Every checkpoint then holds spec = {model =
--               model.spec, inputs =}, so `jetlab predict` can score files with it
--   early_stop  patience: stop after that many epochs without improving the metric
--   clip_grad_norm  max global gradient norm (optim.clip_grad_norm) before each step
--   seed        jl.manual_seed(seed) first: the same seed repeats a CPU run bit for bit
--   on_epoch    function(record, history) after each epoch; returning false stops
--   nan_guard   true (default): a NaN/Inf loss, or a NaN/Inf gradient (one sum of
--               squares per parameter after backward, before clipping and the
--               update), stops training with an error naming the step, the last
--               finite loss, or the parameter and its last finite gradient norm;
--               false trains on
--   resume      a checkpoint path (last.h5 or interrupted.h5 written by fit):
--               restores model, optimizer, schedule, history, position (epoch and
--               batch), jl's generator and the data sources' state, then goes on.
--               With the same arguments a CPU run resumed is bit-identical to an
--               uninterrupted one (the batches before the position are drawn and
--               skipped, so a data source must repeat its order for the same
--               generator state and :state_dict())
--   resume_command  the command line that resumes this run (jetlab.experiment
--               passes the experiment's), named by the interruption message
--               instead of the resume option
--   profile     true: the first epoch this call trains runs under jl.profile;
--               its report (where the time went, op by op) is history.profile
--               and is printed (or passed to log) after that epoch
--   (MPI)       under `mpirun -n K`, every rank runs fit on its own share of each
--               global batch (tensors by rows, graph and ragged batches by jets;
--               a source offering can_shard prepares only the rank's jets),
--               gradients are summed in buckets during backward, graph networks'
--               BatchNorm is synchronised, validation is shared (jetlab.dist_train);
--               only rank 0 logs and writes checkpoints; a signal on any rank
--               stops every rank after the same step (resume works as above)
--   log         true (default): a progress bar on a terminal (epoch, batch/total,
--               loss, samples/s, ETA; JETLAB_PROGRESS=0 turns it off) and one
--               plain line per epoch, "*" marking a new best; false: silent;
--               a function: called with each epoch line instead of print
--
-- INTERRUPTION. While fit runs, the host's SIGINT/SIGTERM (bindings/host/
-- signals.c) only raise a flag (jl.interrupted()); fit polls it after every
-- optimizer step and at epoch boundaries — never in the middle of an update —
-- writes checkpoint_dir/interrupted.h5 (model, optimizer, schedule, position,
-- RNG, data order, history) and raises an error object (train.is_interruption;
-- fields interrupted = true, signal, epoch, batch, num_batches, path, history;
-- tostring: "train: interrupted (SIGINT) at epoch 3, batch 120/400; checkpoint
-- saved to run/interrupted.h5; resume with --resume run/interrupted.h5 ...").
-- Uncaught, it ends the script: the host exits 130 (SIGINT) or 143 (SIGTERM);
-- in the REPL the prompt comes back. A second signal interrupts at once (no
-- checkpoint), a third ends the process. last.h5 is resumable too (the state
-- after its epoch), which is what survives a SIGKILL. A run resumed from
-- checkpoint_dir/interrupted.h5 removes that file when it finishes. Resume is
-- bit-identical with the same thread count (jl.set_num_threads) and device.
--
-- fit returns the history: an array of per-epoch records {epoch, train_loss,
-- val_loss, val_acc, val_auc, lr (group 1's, during the epoch), seconds (the
-- whole epoch: training, validation, checkpoints), train_seconds,
-- ms_per_sample (training time per sample in the epoch, data loading included
-- — the seed papers' unit), samples}, plus the fields metric, best_epoch, best
-- (its value), best_path, last_path (when checkpointing), stopped_early and,
-- with profile, profile.

local jl = require "jetlab"
local ckpt = require "jetlab.ckpt"
local dist_train = require "jetlab.dist_train"
local fs = require "jetlab.fs"
local loss_lib = require "jetlab.loss"
local metrics = require "jetlab.metrics"
local optim = require "jetlab.optim"
local options = require "jetlab.options"
local progress = require "jetlab.progress"
local teacher_cache = require "jetlab.teacher_cache"

local train = {}

local OPTIONAL, REQUIRED = options.OPTIONAL, options.REQUIRED

--- train.batches(data[, group]) → an iterator over the batches of a data source (see
--- the header). With an MPI group (jetlab.dist_train), a source offering can_shard
--- gives this rank's jets of each global batch only (batches{shard = {rank =, size =}}).
function train.batches(data, group)
  if type(data) == "function" then return data() end
  if type(data) == "table" then
    if type(data.batches) == "function" then
      if group and data.can_shard then return data:batches{shard = {rank = group.rank, size = group.size}} end
      return data:batches()
    end
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
  if batch.shard then return batch.shard.n end -- a rank's jets of a global batch (jetlab.dist_shard)
  return batch.n or y.shape[1]
end

local function current_lr(optimizer)
  local groups = optimizer.param_groups
  return groups and groups[1] and groups[1].lr or optimizer.lr
end

-- Runs the model in eval mode under no_grad over data; returns the cat'ed
-- logits (N, K), labels (N), weights (N) or nil, and calls on_batch(logits, batch).
-- With an MPI group (jetlab.dist_train) each rank runs the model on its
-- share of the batches and the logits are gathered (the same on every rank,
-- bit for bit those of one process); on_batch then sees every batch after
-- the gather, as {y, w, n}.
local function forward_all(model, data, on_batch, group)
  local was_training = model.training ~= false
  model:eval()
  local logits, labels, weights = {}, {}, {}
  local ok, err = pcall(jl.no_grad, function()
    local b = 0
    for batch in train.batches(data) do
      b = b + 1
      check_batch(batch, "batch " .. b)
      local out = (not group or group:owns_batch(b)) and model(batch.x)
      if on_batch and not group then on_batch(out, batch) end
      logits[b], labels[b] = out, batch.y
      if batch.w then weights[#weights + 1] = batch.w end
    end
    if b == 0 then error("train: the data source yielded no batch", 0) end
    if #weights ~= 0 and #weights ~= b then error("train: some batches have weights w and some do not", 0) end
  end)
  if was_training then model:train() end
  if not ok then error(err, 0) end
  if group then
    group:gather_batches(logits, labels)
    for b = 1, on_batch and #logits or 0 do
      on_batch(logits[b], {y = labels[b], w = weights[b], n = labels[b].shape[1]})
    end
  end
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
--- train.predict(checkpoint_path | model, "jets.h5", {out =, batch =, inputs =, ...})
--- → summary | nil, message: a whole jet file, streamed, scores written to out
--- (jetlab.predict.file, behind `jetlab predict`).
function train.predict(model, data, opts)
  if type(data) == "string" then
    opts = opts or {}
    local rest = {}
    for k, v in pairs(opts) do
      if k ~= "out" then rest[k] = v end
    end
    if type(opts.out) ~= "string" then error("train.predict: a jet file needs {out = path.csv | path.h5}", 2) end
    return require("jetlab.predict").file(model, data, opts.out, rest)
  end
  local logits, labels, weights = forward_all(model, data)
  return signal_scores(logits, "train.predict"), labels, weights
end

--- train.evaluate(model, data[, criterion]) → {loss=, acc=, auc=, n=}: the
--- sample-weighted mean loss per batch (when a criterion is given), accuracy
--- and AUC (signal = class 2), with the batches' weights where they have them.
--- group (train.fit under MPI: jetlab.dist_train's): each rank evaluates its
--- share of the batches; the numbers are those of one process, on every rank.
function train.evaluate(model, data, criterion, group)
  local sum, count = 0, 0
  local logits, labels, weights = forward_all(model, data, criterion and function(out, batch)
    local n = batch.n or batch.y.shape[1]
    sum = sum + criterion(out, batch.y, {weights = batch.w}):item() * n
    count = count + n
  end, group)
  return {
    loss = criterion and sum / count or nil,
    acc = metrics.accuracy(logits, labels, {weights = weights}),
    auc = metrics.auc(signal_scores(logits, "train.evaluate"), labels, {weights = weights}),
    n = labels.shape[1],
  }
end

-- ----------------------------------------------------------------- logging

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
      local bar
      local eta = ""
      if total then
        local width, done = 24, math.min(b / total, 1)
        local fill = math.floor(done * width)
        bar = string.format("%d/%d [%s%s] ", b, total, string.rep("=", fill), string.rep(" ", width - fill))
        if b > 0 then eta = "  ETA " .. progress.clock(elapsed * (total - b) / b) end
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
  resume = OPTIONAL, nan_guard = true, resume_command = OPTIONAL, profile = OPTIONAL, inputs = OPTIONAL,
}

local TRAIN_STATE_VERSION = 1

local function is_finite(v) return v == v and v ~= math.huge and v ~= -math.huge end
-- "nan", "inf", "-inf" (tostring may say "-nan") or the number.
local function show_number(v)
  if v ~= v then return "nan" end
  return tostring(v)
end

-- The state_dict of a data source that has one (jetlab.data views: the epoch
-- counter that keys their shuffle), else nil.
local function source_state(data)
  if type(data) == "table" and type(data.state_dict) == "function" then return data:state_dict() end
  return nil
end

local function restore_source(data, state)
  if state ~= nil and type(data) == "table" and type(data.load_state_dict) == "function" then
    data:load_state_dict(state)
  end
end

-- The trainable parameters with names, for the NaN guard's messages.
local function guarded_params(o)
  local out = {}
  if type(o.model.named_parameters) == "function" then
    for _, e in ipairs(o.model:named_parameters()) do
      if e[2].requires_grad then out[#out + 1] = {name = e[1], tensor = e[2]} end
    end
  else
    o.optimizer:each(function(p, _, index) out[#out + 1] = {name = "parameter " .. index, tensor = p} end)
  end
  return out
end

local NAN_GUARD_HINT = " (nan_guard = false trains on regardless)"

-- The NaN guard on gradients: one sum of squares per parameter (the same C
-- reductions as one fused call over all of them); remembers each parameter's
-- last finite gradient norm and raises, naming the first culprit, when one is
-- not finite. run.where describes the step.
local function check_grads(guard, run)
  local one, bad, first = {}, 0, nil
  for _, e in ipairs(guard) do
    local g = e.tensor.grad
    if g ~= nil then
      one[1] = g
      local ss = jl.sum_squares(one)
      if is_finite(ss) then
        e.pending = math.sqrt(ss)
      else
        bad = bad + 1
        first = first or {e, ss}
      end
    end
  end
  if first then
    local e, ss = first[1], first[2]
    local last = e.last_norm and string.format("its last finite gradient norm was %.6g (step %d)", e.last_norm,
      e.last_step) or "it had no finite gradient before"
    error(string.format("train: the gradient of parameter '%s' is not finite (squared norm %s) at %s; %s; %d of %d parameters have a non-finite gradient%s",
      e.name, show_number(ss), run.where, last, bad, #guard, NAN_GUARD_HINT), 0)
  end
  for _, e in ipairs(guard) do
    if e.pending then e.last_norm, e.last_step, e.pending = e.pending, run.step + 1, nil end
  end
end

-- One optimizer step on batch b (of run.epoch); updates run. Kept out of
-- train_epoch's loop: a closure inside a loop body that ends with `break` over
-- a to-be-closed iterator (jetlab.data's loader) trips a Lua 5.4.4 bug
-- ("attempt to call a nil value (metamethod 'close')").
local function train_step(o, run, batch, b, params)
  local model, optimizer, criterion, teacher = o.model, o.optimizer, o.loss, o.teacher_logits
  local n_global = check_batch(batch, string.format("batch %d of epoch %d", b, run.epoch))
  local group, share = o.group, 1
  if group then batch, share = group:shard(batch, n_global) end
  run.where = string.format("batch %d of epoch %d (step %d)", b, run.epoch, run.step + 1)
  optimizer:zero_grad()
  local logits = model(batch.x)
  local l
  if teacher then
    local t_logits = teacher(batch)
    l = criterion(logits, batch.y, t_logits, {weights = batch.w})
  else
    l = criterion(logits, batch.y, {weights = batch.w})
  end
  local value = l:item()
  if group then value = group:mean_loss(value, share) end
  if o.guard and not is_finite(value) then
    error(string.format("train: the loss is not finite (%s) at %s; %s%s", show_number(value), run.where,
      run.last_loss and string.format("the last finite loss was %.6g (step %d)", run.last_loss, run.last_loss_step)
        or "no finite loss before it", NAN_GUARD_HINT), 0)
  end
  if group then l = group:before_backward(l, o.trainable, share) end
  l:backward()
  if group then group:average_grads() end
  if o.guard then check_grads(o.guard, run) end
  if params then optim.clip_grad_norm(params, o.clip_grad_norm) end
  optimizer:step()
  -- a safe point: the step is complete
  run.step, run.batch = run.step + 1, b
  if is_finite(value) then run.last_loss, run.last_loss_step = value, run.step end
  run.sum, run.samples = run.sum + value * n_global, run.samples + n_global
end

-- The signal that interrupts the run (a name), or false: this process's
-- (jl.interrupted()), or under MPI any rank's, agreed by every rank.
local function interrupted_now(o)
  if o.group then return o.group:interrupted() end
  return jl.interrupted()
end

-- One pass over the training data, from run's position (run.batch batches
-- already done: skipped, with jl's generator put back to run.rng after them).
-- Updates run after every step; stops after a step when jl.interrupted().
-- Returns the sample-weighted mean loss, samples, seconds, the interrupting signal or false.
local function train_epoch(o, run, show)
  local params = o.clip_grad_norm and o.model:parameters()
  local epoch, skip = run.epoch, run.batch
  local bar = show and progress_bar(epoch, o.epochs, num_batches(o.train))
  o.model:train()
  local t0 = jl.clock() - run.seconds
  local b, interrupted = 0, false
  for batch in train.batches(o.train, o.group) do
    b = b + 1
    if b <= skip then
      if b == skip then jl.set_rng_state(run.rng[1], run.rng[2]) end
    else
      train_step(o, run, batch, b, params)
      run.seconds = jl.clock() - t0
      if bar then bar.update(b, run.sum / run.samples, run.samples, run.seconds) end
      interrupted = interrupted_now(o)
      if interrupted then break end
    end
  end
  if b < skip then
    error(string.format("train.fit: resume: the training data gave %d batches in epoch %d, but the checkpoint was taken after batch %d",
      b, epoch, skip), 0)
  end
  if b == 0 then error("train: the training data yielded no batch in epoch " .. epoch, 0) end
  if bar then bar.clear() end
  run.seconds = jl.clock() - t0
  return run.sum / run.samples, run.samples, run.seconds, interrupted
end

-- Interruptions are raised as this error object (tostring gives the message).
local Interrupted = {__tostring = function(e) return e.message end}

--- train.is_interruption(err) → true when err is the error train.fit raises
--- after saving interrupted.h5 on SIGINT/SIGTERM.
function train.is_interruption(err) return getmetatable(err) == Interrupted end

-- The checkpoints' spec: the model's and what it reads (o.inputs, else the training source's :inputs()).
local function checkpoint_spec(o)
  local inputs = o.inputs
  if inputs == nil and type(o.train) == "table" and type(o.train.inputs) == "function" then
    inputs = o.train:inputs()
  end
  if o.model.spec == nil and inputs == nil then return nil end
  return {model = o.model.spec, inputs = inputs}
end

-- Sets jl's generator to a saved {seed, counter}.
local function set_rng(s) jl.set_rng_state(s[1], s[2]) end
local function get_rng() return {jl.rng_state()} end

--- train.fit{...} → history (see the header).
function train.fit(opts)
  local o = options.check("train.fit", opts, FIT_OPTIONS)
  if o.teacher and not o.loss then
    error("train.fit: a teacher needs a distillation loss, e.g. loss.kd.hinton{alpha = 0.5, T = 4}", 2)
  end
  if o.resume ~= nil and type(o.resume) ~= "string" then error("train.fit: resume must be a checkpoint path", 2) end
  o.loss = o.loss or loss_lib.cross_entropy
  local val_criterion = o.val_loss or (o.teacher and loss_lib.cross_entropy or o.loss)
  local metric = o.metric or (o.val and "val_auc" or "train_loss")
  if metric:match("^val_") and not o.val then error("train.fit: metric '" .. metric .. "' needs val data", 2) end
  local lower_is_better = metric:match("loss$") ~= nil
  o.group = dist_train.group()
  local writes = not o.group or o.group.writes
  local emit = writes and (type(o.log) == "function" and o.log or (o.log and print or nil)) or nil
  local show_bar = writes and o.log == true and progress.enabled()
  o.guard = o.nan_guard ~= false and guarded_params(o) or nil
  if o.seed then jl.manual_seed(o.seed) end
  if o.teacher then
    o.teacher:eval()
    o.teacher_logits, o.train = teacher_cache.new(o.teacher, o.train)
  end
  if o.checkpoint_dir and writes then fs.mkdir(o.checkpoint_dir) end

  -- SIGINT/SIGTERM now only raise a flag, polled after every step
  local was_deferred = jl.defer_interrupts(true)
  local _ <close> = setmetatable({}, {__close = function() jl.defer_interrupts(was_deferred) end})

  local history = {metric = metric, stopped_early = false}
  local best, since_best = nil, 0
  -- the position: run.batch batches of run.epoch done; run.rng_epoch is jl's
  -- generator before the epoch's data pass began, data_state the source's state then
  local run = {epoch = 1, batch = 0, step = 0, sum = 0, samples = 0, seconds = 0}

  if o.resume then
    local state, err = ckpt.load_into(o.resume, o.model, {optimizer = o.optimizer})
    if not state then error("train.fit: resume: " .. err, 2) end
    local ts = state.train_state
    if type(ts) ~= "table" or ts.version ~= TRAIN_STATE_VERSION then
      error("train.fit: resume: " .. o.resume .. " has no training state (only train.fit's last.h5 and interrupted.h5 can be resumed)", 2)
    end
    if o.schedule then
      if not ts.schedule then error("train.fit: resume: " .. o.resume .. " was saved without a schedule", 2) end
      o.schedule:load_state_dict(ts.schedule)
    end
    for k, v in pairs(ts.history) do history[k] = v end
    best, since_best = ts.best, ts.since_best
    for _, k in ipairs({"epoch", "batch", "step", "sum", "samples", "seconds", "rng_epoch", "rng", "data_state",
        "last_loss", "last_loss_step"}) do
      run[k] = ts[k]
    end
    for _, e in ipairs(o.guard or {}) do
      local g = ts.grad_norms and ts.grad_norms[e.name]
      if g then e.last_norm, e.last_step = g[1], g[2] end
    end
    restore_source(o.val, ts.val_state)
    if ts.stopped_early then
      history.stopped_early = true
      set_rng(ts.rng) -- as the run that stopped left it
      return history
    end
    if run.batch == 0 then -- at an epoch boundary: the generator and data as they were then
      set_rng(ts.rng)
      restore_source(o.train, run.data_state)
    end
  end

  -- The resumable state at run's position.
  local function train_state()
    local norms = {}
    for _, e in ipairs(o.guard or {}) do
      if e.last_norm then norms[e.name] = {e.last_norm, e.last_step} end
    end
    local h = {}
    for k, v in pairs(history) do h[k] = v end
    h.profile = nil -- a report of this process's run, not a state to resume
    return {
      version = TRAIN_STATE_VERSION, epoch = run.epoch, batch = run.batch, num_batches = num_batches(o.train),
      step = run.step, sum = run.sum, samples = run.samples, seconds = run.seconds,
      rng_epoch = run.rng_epoch, rng = get_rng(), data_state = run.data_state, val_state = source_state(o.val),
      schedule = o.schedule and o.schedule:state_dict() or nil, history = h, best = best, since_best = since_best,
      last_loss = run.last_loss, last_loss_step = run.last_loss_step, grad_norms = norms, seed = o.seed,
      stopped_early = run.stop_early,
    }
  end
  local spec = checkpoint_spec(o)
  local function save(name, epoch, resumable)
    local path = o.checkpoint_dir .. "/" .. name
    if not writes then return path end
    local ok, err = ckpt.save(path, {model = o.model, optimizer = o.optimizer, epoch = epoch,
      config = o.config, extra = o.extra, spec = spec, train_state = resumable and train_state() or nil})
    if not ok then error("train: " .. err, 0) end
    return path
  end
  -- At a safe point after a signal: saves interrupted.h5 and raises.
  local function stop(signal)
    local path = o.checkpoint_dir and save("interrupted.h5", run.epoch - (run.batch == 0 and 1 or 0), true)
    local total = num_batches(o.train)
    local where
    if run.epoch > o.epochs then
      where = string.format("after the last epoch (%d)", o.epochs)
    elseif run.batch == 0 then
      where = run.epoch == 1 and "before the first step" or string.format("after epoch %d/%d", run.epoch - 1, o.epochs)
    else
      where = string.format("at epoch %d, batch %d/%s", run.epoch, run.batch, total and tostring(total) or "?")
    end
    local message = string.format("train: interrupted (%s) %s; %s", signal, where,
      not path and "nothing saved (no checkpoint_dir)"
        or o.resume_command and string.format("checkpoint saved to %s; resume with: %s", path, o.resume_command)
        or string.format("checkpoint saved to %s; resume with --resume %s (train.fit{resume = ...})", path, path))
    if o.group then o.group:stop_together(signal) end -- rank 0's checkpoint is written before any rank exits
    error(setmetatable({interrupted = true, signal = signal, epoch = run.epoch, batch = run.batch, num_batches = total,
      path = path, history = history, message = message}, Interrupted), 0)
  end

  if o.group then
    o.group:start(o.model)
    o.trainable = o.model:parameters({trainable = true})
  end
  while run.epoch <= o.epochs do
    local epoch = run.epoch
    local signal = interrupted_now(o)
    if signal then stop(signal) end
    if run.batch == 0 then
      if o.group then o.group:sync_rng() end
      run.rng_epoch, run.data_state = get_rng(), source_state(o.train)
    else
      restore_source(o.train, run.data_state)
      set_rng(run.rng_epoch)
    end
    local t0 = jl.clock() - run.seconds
    local lr = current_lr(o.optimizer)
    local train_loss, samples, train_seconds, interrupted
    local function pass() train_loss, samples, train_seconds, interrupted = train_epoch(o, run, show_bar) end
    if o.profile and not history.profile then
      history.profile = jl.profile(pass)
      if emit then emit(tostring(history.profile)) end
    else
      pass()
    end
    if interrupted then stop(interrupted) end
    local r = {epoch = epoch, train_loss = train_loss, lr = lr, samples = samples, train_seconds = train_seconds,
      ms_per_sample = 1000 * train_seconds / samples}
    if o.val then
      local v = train.evaluate(o.model, o.val, val_criterion, o.group)
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
    local stop_early = o.early_stop ~= nil and since_best >= o.early_stop
    history[#history + 1] = r
    run.stop_early = stop_early
    run.epoch, run.batch, run.sum, run.samples, run.seconds = epoch + 1, 0, 0, 0, 0
    run.rng_epoch, run.data_state = get_rng(), source_state(o.train)
    if o.checkpoint_dir then
      history.last_path = o.checkpoint_dir .. "/last.h5"
      save("last.h5", epoch, true)
    end
    r.seconds = jl.clock() - t0
    if emit then emit(epoch_line(r, o.epochs, improved)) end
    if o.on_epoch and o.on_epoch(r, history) == false then break end
    if stop_early then
      history.stopped_early = true
      if emit then emit(string.format("early stop: no better %s for %d epochs (best %.4f at epoch %d)", metric,
        since_best, best, history.best_epoch)) end
      break
    end
  end
  local signal = interrupted_now(o)
  if signal then stop(signal) end
  -- resumed from interrupted.h5 and finished: that state is stale now
  if writes and o.resume and o.checkpoint_dir and o.resume == o.checkpoint_dir .. "/interrupted.h5" then
    os.remove(o.resume)
  end
  if o.group then o.group:finish() end -- rank 0's checkpoints are there before any rank reads them
  return history
end
options.declare(train.fit, FIT_OPTIONS)

return train
