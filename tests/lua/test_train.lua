-- test_train.lua — jetlab.train: a logistic regression learns separable data,
-- the history has its fields, a seed repeats a run bit for bit (shuffling
-- included), best/last checkpoints are written and load back, early stopping,
-- schedules, distillation from a teacher, predict/evaluate, and errors.
local T = require "jetlab.test"
local fs = require "jetlab.fs"
local train = require "jetlab.train"
local ckpt = require "jetlab.ckpt"
local nn = require "jetlab.nn"
local optim = require "jetlab.optim"
local loss = require "jetlab.loss"
local schedule = require "jetlab.schedule"

package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local D = require "train_data"

local dir = fs.tmpdir()

-- n samples of 4 features, labelled by a fixed hyperplane; a source shuffling with jl's generator.
local exists, make_data, shuffled_source = fs.exists, D.make_data, D.shuffled_source

-- An array of fixed batches.
local function batch_array(x, y, w, batch)
  local out, n = {}, x.shape[1]
  for start = 1, n, batch do
    local len = math.min(batch, n - start + 1)
    out[#out + 1] = {x = x:narrow(1, start, len), y = y:narrow(1, start, len), w = w and w:narrow(1, start, len)}
  end
  return out
end

local tx, ty, tw = make_data(1024, 11)
local vx, vy, vw = make_data(512, 12)
local val = batch_array(vx, vy, vw, 128)

local function fit(opts)
  jl.manual_seed(opts.init_seed or 1)
  local model = nn.Linear(4, 2)
  local args = {
    model = model,
    optimizer = optim.SGD(model:parameters(), {lr = 0.5, momentum = 0.9}),
    train = shuffled_source(tx, ty, tw, 64), val = val, epochs = 4, seed = 3, log = false,
  }
  for k, v in pairs(opts) do
    if k ~= "init_seed" then args[k] = v end
  end
  if opts.optimizer == false then args.optimizer = optim.SGD(model:parameters(), {lr = 0}) end
  return train.fit(args), model
end

T.case("logistic regression learns separable data; the history has every field", function()
  local history = fit({})
  T.eq(#history, 4)
  for i, r in ipairs(history) do
    T.eq(r.epoch, i)
    for _, field in ipairs({"train_loss", "val_loss", "val_acc", "val_auc", "lr", "seconds", "train_seconds", "ms_per_sample"}) do
      T.eq(type(r[field]), "number", field)
    end
    T.eq(r.samples, 1024)
    T.ok(r.ms_per_sample > 0 and r.seconds >= r.train_seconds)
    T.near(r.ms_per_sample, 1000 * r.train_seconds / 1024, 1e-12)
  end
  T.ok(history[4].val_acc > 0.9, "val_acc " .. history[4].val_acc)
  T.ok(history[4].val_auc > 0.97, "val_auc " .. history[4].val_auc)
  T.ok(history[4].train_loss < history[1].train_loss, "the loss decreases")
  T.eq(history.metric, "val_auc")
  T.eq(history.stopped_early, false)
  T.ok(history.best_epoch >= 1 and history.best == history[history.best_epoch].val_auc)
end)

T.case("profile = true: the first epoch's op profile, logged once and not in checkpoints", function()
  local lines = {}
  local dir_p = dir .. "_profile"
  local history = fit({profile = true, epochs = 2, checkpoint_dir = dir_p,
    log = function(line) lines[#lines + 1] = line end})
  local report = history.profile
  T.ok(report and report.wall_ms > 0 and #report.entries > 0, "a report")
  local names = {}
  for _, e in ipairs(report.entries) do names[e.kind .. " " .. e.name] = e.calls end
  T.eq(names["op gemm"], 1024 / 64, "one forward GEMM per batch of the first epoch only")
  T.ok(names["backward linear"] == 1024 / 64, "one linear backward per batch")
  local printed = 0
  for _, line in ipairs(lines) do if line:find("^op profile: ") then printed = printed + 1 end end
  T.eq(printed, 1)
  -- the same run without profile: no report, same weights (profiling changes no arithmetic)
  local plain = fit({epochs = 2})
  T.eq(plain.profile, nil)
  T.eq(plain[2].train_loss, history[2].train_loss)
  local state = assert(ckpt.load(dir_p .. "/last.h5"))
  T.eq(state.train_state.history.profile, nil)
  fs.remove_tree(dir_p)
end)

T.case("the same seed gives bit-identical weights; another seed does not", function()
  local _, a = fit({})
  local _, b = fit({})
  local _, c = fit({seed = 4})
  T.ok(jl.equal(a.weight, b.weight) and jl.equal(a.bias, b.bias), "same seed, same weights")
  T.ok(not jl.equal(a.weight, c.weight), "another shuffling seed changes the weights")
end)

T.case("best and last checkpoints are written and load back", function()
  local history, model = fit({checkpoint_dir = dir .. "/run", config = {lr = 0.5, note = "test"},
    extra = {mean = jl.zeros(4)}})
  T.eq(history.best_path, dir .. "/run/best.h5")
  T.eq(history.last_path, dir .. "/run/last.h5")
  T.ok(exists(history.best_path) and exists(history.last_path))
  T.ok(not exists(history.best_path .. ".tmp") and not exists(history.last_path .. ".tmp"))

  local last = assert(ckpt.load(history.last_path))
  T.eq(last.epoch, 4)
  T.eq(last.config, {lr = 0.5, note = "test"})
  T.ok(jl.equal(last.model_state.weight, model.weight))
  T.ok(last.optimizer_state ~= nil)

  jl.manual_seed(99)
  local fresh = nn.Linear(4, 2)
  local best = assert(ckpt.load_into(history.best_path, fresh))
  T.eq(best.epoch, history.best_epoch)
  local again = train.evaluate(fresh, val)
  T.eq(again.auc, history[history.best_epoch].val_auc, "the best checkpoint reproduces its AUC")
end)

T.case("clip_grad_norm bounds every step", function()
  jl.manual_seed(1)
  local init = nn.Linear(4, 2).weight:clone()
  local _, model = fit({clip_grad_norm = 1e-9, epochs = 1})
  T.ok((model.weight - init):abs():max():item() < 1e-6, "clipped steps barely move the weights")
  local _, free = fit({epochs = 1})
  T.ok((free.weight - init):abs():max():item() > 1e-2, "unclipped steps do")
end)

T.case("early stopping after `patience` epochs without a better metric", function()
  local lines = {}
  local history = fit({optimizer = false, metric = "val_loss", early_stop = 2, epochs = 10,
    log = function(line) lines[#lines + 1] = line end})
  T.eq(#history, 3, "epoch 1 is the best; 2 and 3 are not better")
  T.eq(history.stopped_early, true)
  T.eq(history.best_epoch, 1)
  T.eq(#lines, 4)
  T.ok(lines[1]:find("^epoch 1/10  train_loss %d%.%d+  val_loss %d%.%d+  val_acc .*ms/sample  %*$"), lines[1])
  T.ok(lines[4]:find("early stop: no better val_loss for 2 epochs", 1, true), lines[4])
end)

T.case("schedule steps once per epoch; on_epoch can stop; data as a function", function()
  jl.manual_seed(1)
  local model = nn.Linear(4, 2)
  local opt = optim.SGD(model:parameters(), {lr = 0.1})
  local seen = {}
  local history = train.fit{
    model = model, optimizer = opt, epochs = 5, log = false,
    schedule = schedule.MultiStep(opt, {milestones = {2}, gamma = 0.1}),
    train = function()
      local arr, i = batch_array(tx, ty, nil, 128), 0
      return function()
        i = i + 1
        return arr[i]
      end
    end,
    on_epoch = function(r) seen[#seen + 1] = r.epoch; return r.epoch < 3 end,
  }
  T.eq(seen, {1, 2, 3})
  T.eq(#history, 3)
  T.near(history[1].lr, 0.1, 1e-12)
  T.near(history[2].lr, 0.1, 1e-12)
  T.near(history[3].lr, 0.01, 1e-12)
  T.eq(history.metric, "train_loss")
end)

T.case("distillation: the teacher guides a student seeing a noisier view, and is never changed", function()
  local _, teacher = fit({epochs = 3})
  local teacher_weight = teacher.weight:clone()
  teacher:zero_grad()
  jl.manual_seed(5)
  local noisy = tx + jl.randn(1024, 4) * 0.5
  local batches = {}
  for i, b in ipairs(batch_array(noisy, ty, tw, 64)) do
    b.x_teacher = tx:narrow(1, (i - 1) * 64 + 1, b.x.shape[1])
    batches[i] = b
  end
  jl.manual_seed(6)
  local student = nn.Linear(4, 2)
  local history = train.fit{
    model = student, teacher = teacher, loss = loss.kd.hinton{alpha = 0.5, T = 2},
    optimizer = optim.Adam(student:parameters(), {lr = 0.05}), train = batches, val = val, epochs = 4, log = false,
  }
  T.ok(history[4].val_acc > 0.85, "student val_acc " .. history[4].val_acc)
  T.ok(jl.equal(teacher.weight, teacher_weight), "the teacher is not trained")
  T.eq(teacher.weight.grad, nil, "no gradient reaches the teacher")
  T.eq(teacher.training, false)
end)

T.case("predict: P(signal) in eval mode under no_grad, labels and weights in order", function()
  local _, model = fit({epochs = 2})
  model:train()
  local scores, labels, weights = train.predict(model, val)
  T.eq(scores.shape, {512})
  T.ok(jl.equal(labels, vy) and jl.equal(weights, vw))
  T.ok(scores:min():item() >= 0 and scores:max():item() <= 1)
  T.eq(scores.requires_grad, false)
  T.eq(model.training, true, "the model's mode is restored")
  local want = jl.no_grad(function() return model(vx):softmax(2):select(2, 2) end)
  T.near(scores, want, 1e-6)
  local e = train.evaluate(model, val)
  T.eq(e.auc, jl.metrics.auc(scores, labels, {weights = weights}))
  T.eq(e.n, 512)
end)

T.case("errors name the problem", function()
  jl.manual_seed(1)
  local model = nn.Linear(4, 2)
  local opt = optim.SGD(model:parameters(), {lr = 0.1})
  local function run(over)
    local args = {model = model, optimizer = opt, train = batch_array(tx, ty, nil, 256), epochs = 1, log = false}
    for k, v in pairs(over) do args[k] = v end
    return train.fit(args)
  end
  T.raises(function() run({train = {{x = tx}}}) end, "batch 1 of epoch 1 needs y")
  T.raises(function() run({train = {{y = ty}}}) end, "batch 1 of epoch 1 has no x")
  T.raises(function() run({train = {}}) end, "yielded no batch in epoch 1")
  T.raises(function() run({teacher = model}) end, "a teacher needs a distillation loss")
  T.raises(function() run({metric = "val_auc"}) end, "metric 'val_auc' needs val data")
  T.raises(function() run({epoch = 3}) end, "unknown option 'epoch'")
  T.raises(function() run({train = 42}) end, "a data source must be")
  T.raises(function() train.predict(nn.Linear(4, 1), val) end, "must output %(N, K >= 2%) logits, got %(512, 1%)")
  local nan = batch_array(tx * (0 / 0), ty, nil, 256)
  T.raises(function() run({train = nan}) end, "the loss is not finite %(.*nan%) at batch 1 of epoch 1")
end)

T.case("cleanup", function()
  fs.remove_tree(dir)
end)

T.run()
