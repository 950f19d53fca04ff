-- test_resume.lua — train.fit's interruption and resume: a SIGINT/SIGTERM
-- (simulated with jl.interrupt at a chosen step, as the host's handler records
-- a signal while fit defers interrupts) stops fit after the step, writes
-- interrupted.h5 and raises an interruption error; fit{resume = path} then
-- gives BIT-IDENTICAL weights, optimizer state and history to an
-- uninterrupted run — with dropout, shuffling from jl's generator, a
-- schedule, clipping, a jetlab.data view (shuffle keyed by its epoch counter)
-- — wherever the interruption falls (first step, mid-epoch, last batch, epoch
-- boundary, twice). last.h5 resumes too (the crash-recovery path).
-- tests/sh/test_interrupt.sh does the same with real signals.
local T = require "jetlab.test"
local fs = require "jetlab.fs"
local train = require "jetlab.train"
local ckpt = require "jetlab.ckpt"
local data = require "jetlab.data"
local nn = require "jetlab.nn"
local optim = require "jetlab.optim"
local schedule = require "jetlab.schedule"

package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local D = require "train_data"

local root = fs.tmpdir()
local dirs = 0
local function fresh_dir()
  dirs = dirs + 1
  return string.format("%s/%d", root, dirs)
end

local exists = fs.exists

-- Exact text of every element (%a: every bit of the f32 value, sign of zero included).
local function bits(t)
  local flat = t:contiguous():view(-1):tolist()
  for i, v in ipairs(flat) do flat[i] = string.format("%a", v) end
  return table.concat(flat, ",")
end

local function match(text, pattern)
  if not string.find(text, pattern) then T.ok(false, string.format("%q does not match %q", text, pattern)) end
end

local function same_bits(a, b, what)
  T.eq(a.shape, b.shape, what)
  T.ok(bits(a) == bits(b), what .. ": not bit-identical")
end

-- Features, labels and weights of n samples (4 features, a fixed hyperplane).
local tx, ty, tw = D.make_data(200, 11)
local vx, vy, vw = D.make_data(64, 12)
local NB = 7 -- batches per epoch: 200 / 32, the last one short

-- Shuffled with jl.randperm at the start of every pass (train.lua's contract).
local function shuffled_source() return D.shuffled_source(tx, ty, tw, 32) end

local val = {{x = vx, y = vy, w = vw}}

-- A small MLP with dropout (random numbers inside every step); at global
-- step `at` (counted over forwards in training mode) it calls `hook`.
local function make_model(init_seed)
  jl.manual_seed(init_seed)
  local net = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 2))
  return net
end

local function with_hook(net, at, hook)
  local steps = 0
  local forward = net.forward
  net.forward = function(self, x)
    if self.training then
      steps = steps + 1
      if at and steps == at then hook(steps) end
    end
    return forward(self, x)
  end
  return net
end

-- Runs fit with everything random; opts: dir, epochs, interrupt_at (global
-- step), signal, resume, init_seed, source (a data source maker).
local function run(opts)
  local net = make_model(opts.init_seed or 1)
  if opts.interrupt_at then
    with_hook(net, opts.interrupt_at, function() jl.interrupt(opts.signal or "SIGINT") end)
  end
  local opt = optim.AdamW(net:parameters(), {lr = 0.02, weight_decay = 0.01})
  local sched = schedule.MultiStep(opt, {milestones = {2}, gamma = 0.5})
  local ok, result = pcall(train.fit, {
    model = net, optimizer = opt, schedule = sched, train = (opts.source or shuffled_source)(), val = val,
    epochs = opts.epochs or 3, seed = 7, clip_grad_norm = 1.0, checkpoint_dir = opts.dir, log = false,
    resume = opts.resume, on_epoch = opts.on_epoch,
  })
  jl.interrupt(false)
  return ok, result, net, opt
end

local function compare_runs(ref_net, ref_opt, ref_hist, net, opt, hist)
  local a, b = ref_net:named_parameters(), net:named_parameters()
  T.eq(#a, #b)
  for i = 1, #a do same_bits(a[i][2], b[i][2], a[i][1]) end
  local sa, sb = ref_opt:state_dict(), opt:state_dict()
  for key, s in pairs(sa.state) do
    T.eq(sb.state[key].step, s.step, "optimizer step of " .. key)
    same_bits(s.exp_avg, sb.state[key].exp_avg, "exp_avg " .. key)
    same_bits(s.exp_avg_sq, sb.state[key].exp_avg_sq, "exp_avg_sq " .. key)
  end
  T.eq(opt.param_groups[1].lr, ref_opt.param_groups[1].lr, "lr")
  T.eq(#hist, #ref_hist, "history length")
  for i, r in ipairs(ref_hist) do
    for _, k in ipairs({"epoch", "train_loss", "val_loss", "val_acc", "val_auc", "lr", "samples"}) do
      local function exact(v) return type(v) == "number" and string.format("%a", v) or tostring(v) end
      T.eq(exact(hist[i][k]), exact(r[k]), string.format("history[%d].%s", i, k))
    end
  end
  T.eq(hist.best_epoch, ref_hist.best_epoch, "best_epoch")
end

local ref_ok, ref_hist, ref_net, ref_opt = run{dir = fresh_dir()}
assert(ref_ok, tostring(ref_hist))

-- Interrupts at global step k, checks the error, resumes from interrupted.h5.
local function interrupt_and_resume(k, signal)
  local dir = fresh_dir()
  local ok, err = run{dir = dir, interrupt_at = k, signal = signal}
  T.ok(not ok, "fit should stop")
  T.ok(train.is_interruption(err), "an interruption error: " .. tostring(err))
  local e_epoch, e_batch = (k - 1) // NB + 1, (k - 1) % NB + 1
  T.eq(err.epoch, e_epoch)
  T.eq(err.batch, e_batch)
  T.eq(err.num_batches, NB)
  T.eq(err.signal, signal or "SIGINT")
  T.eq(err.path, dir .. "/interrupted.h5")
  local msg = tostring(err)
  match(msg, string.format("interrupted %%(%s%%) at epoch %d, batch %d/%d", signal or "SIGINT", e_epoch, e_batch, NB))
  match(msg, "resume with %-%-resume " .. dir:gsub("%p", "%%%0") .. "/interrupted%.h5")
  local c = assert(ckpt.load(err.path))
  T.eq(c.train_state.epoch, e_epoch)
  T.eq(c.train_state.batch, e_batch)
  T.eq(c.train_state.step, k)
  -- a fresh process would start from other weights and another generator state
  jl.manual_seed(999)
  local ok2, hist, net, opt = run{dir = dir, resume = err.path, init_seed = 5}
  assert(ok2, tostring(hist))
  compare_runs(ref_net, ref_opt, ref_hist, net, opt, hist)
  T.ok(not exists(err.path), "interrupted.h5 is removed once the resumed run finishes")
  T.ok(exists(dir .. "/last.h5") and exists(dir .. "/best.h5"))
end

T.case("an interruption mid-epoch resumes bit-identically", function()
  interrupt_and_resume(NB + 3)
end)

T.case("an interruption at the first step resumes bit-identically", function()
  interrupt_and_resume(1)
end)

T.case("an interruption at the last batch of an epoch (SIGTERM) resumes bit-identically", function()
  interrupt_and_resume(2 * NB, "SIGTERM")
end)

T.case("an interruption at the very last step resumes bit-identically", function()
  interrupt_and_resume(3 * NB)
end)

T.case("an interruption during validation stops at the epoch boundary and resumes bit-identically", function()
  local dir = fresh_dir()
  local ok, err = run{dir = dir, on_epoch = function(r) if r.epoch == 1 then jl.interrupt("SIGINT") end end}
  T.ok(not ok and train.is_interruption(err), tostring(err))
  T.eq(err.epoch, 2)
  T.eq(err.batch, 0)
  match(tostring(err), "interrupted %(SIGINT%) after epoch 1/3; checkpoint saved to")
  local c = assert(ckpt.load(err.path))
  T.eq(c.epoch, 1)
  T.eq(#c.train_state.history, 1)
  local ok2, hist, net, opt = run{dir = dir, resume = err.path, init_seed = 5}
  assert(ok2, tostring(hist))
  compare_runs(ref_net, ref_opt, ref_hist, net, opt, hist)
end)

T.case("interrupted twice, resumed twice: still bit-identical", function()
  local dir = fresh_dir()
  local ok, err = run{dir = dir, interrupt_at = 4}
  T.ok(not ok and train.is_interruption(err), tostring(err))
  -- the resumed run counts its own forwards: 12 more steps (global step 16)
  local ok2, err2 = run{dir = dir, resume = err.path, interrupt_at = 12, init_seed = 5}
  T.ok(not ok2 and train.is_interruption(err2), tostring(err2))
  T.eq(err2.epoch, 3)
  T.eq(err2.batch, 2)
  local ok3, hist, net, opt = run{dir = dir, resume = err2.path, init_seed = 6}
  assert(ok3, tostring(hist))
  compare_runs(ref_net, ref_opt, ref_hist, net, opt, hist)
end)

T.case("last.h5 resumes at its epoch boundary (what survives a crash)", function()
  local dir = fresh_dir()
  local ok = run{dir = dir, epochs = 2}
  T.ok(ok)
  local c = assert(ckpt.load(dir .. "/last.h5"))
  T.eq(c.train_state.epoch, 3)
  T.eq(c.train_state.batch, 0)
  local ok2, hist, net, opt = run{dir = dir, epochs = 3, resume = dir .. "/last.h5", init_seed = 5}
  assert(ok2, tostring(hist))
  compare_runs(ref_net, ref_opt, ref_hist, net, opt, hist)
end)

-- A jetlab.data view, shuffled with a fixed seed (each pass keyed by the view's
-- epoch counter: the data state) or with one drawn from jl's generator.
for _, shuffle_seed in ipairs({9, false}) do
T.case("a jetlab.data view shuffled with " .. (shuffle_seed and "a fixed seed (order keyed by its epoch counter)"
  or "a seed from jl's generator") .. " resumes bit-identically", function()
  jl.manual_seed(3)
  local n, c = 240, 6
  local counts = jl.randint(1, c + 1, n, 1)
  local mask = jl.arange(c, {dtype = "i64"}):view(1, c):lt(counts):to("f32")
  local pt = (jl.rand(n, c) * 200 + 0.5) * mask
  local eta = (jl.randn(n, c) * 0.4) * mask
  local phi = ((jl.rand(n, c) * 2 - 1) * 3.1) * mask
  local E = pt * ((eta:exp() + (-eta):exp()) * 0.5)
  local path = root .. "/jets" .. tostring(shuffle_seed) .. ".h5"
  assert(jl.io.write_jets(path, {
    pt = pt, eta = eta, phi = phi, E = E, jet_pt = pt:sum(2), jet_eta = jl.zeros(n), jet_phi = jl.zeros(n),
    jet_m = jl.zeros(n), labels = jl.randint(0, 2, n), weights = jl.rand(n),
  }))
  local ds = assert(data.open(path, {max_constituents = c}))
  local function source()
    return ds:with{batch_size = 50, shuffle = true, seed = shuffle_seed or nil, format = "flat", block_size = 16,
      chunk_size = 64}
  end
  local function drun(opts)
    jl.manual_seed(opts.init_seed or 1)
    local net = nn.Sequential(nn.Linear(c * 7, 8), nn.ReLU(), nn.Dropout(0.1), nn.Linear(8, 2))
    if opts.at then with_hook(net, opts.at, function() jl.interrupt("SIGINT") end) end
    local opt = optim.Adam(net:parameters(), {lr = 0.01})
    local ok, res = pcall(train.fit, {model = net, optimizer = opt, train = source(), epochs = 3, seed = 2,
      checkpoint_dir = opts.dir, resume = opts.resume, log = false})
    jl.interrupt(false)
    return ok, res, net, opt
  end
  local ok, ref, rnet, ropt = drun{dir = fresh_dir()}
  assert(ok, tostring(ref))
  local dir = fresh_dir()
  local ok1, err = drun{dir = dir, at = 8} -- 5 batches per epoch: epoch 2, batch 3
  T.ok(not ok1 and train.is_interruption(err), tostring(err))
  T.eq({err.epoch, err.batch}, {2, 3})
  if shuffle_seed then T.eq(assert(ckpt.load(err.path)).train_state.data_state, {epoch = 1}) end
  local ok2, hist, net, opt = drun{dir = dir, resume = err.path, init_seed = 4}
  assert(ok2, tostring(hist))
  compare_runs(rnet, ropt, ref, net, opt, hist)
  os.remove(path)
end)
end

T.case("without checkpoint_dir an interruption still stops fit, saving nothing", function()
  local ok, err = run{interrupt_at = 3}
  T.ok(not ok and train.is_interruption(err), tostring(err))
  T.eq(err.path, nil)
  match(tostring(err), "nothing saved")
  T.eq(#err.history, 0)
end)

T.case("fit restores the interrupt mode it found; the flag reads back", function()
  T.eq(jl.defer_interrupts(false), false)
  run{epochs = 1}
  T.eq(jl.defer_interrupts(false), false)
  T.eq(jl.interrupted(), false)
  jl.interrupt("SIGTERM")
  T.eq(jl.interrupted(), "SIGTERM")
  jl.interrupt(false)
  T.eq(jl.interrupted(), false)
  T.raises(function() jl.interrupt("SIGHUP") end, "SIGINT")
end)

T.case("resume errors: a checkpoint without training state, a missing file", function()
  local dir = fresh_dir()
  T.ok((run{dir = dir, epochs = 1}))
  local ok, err = run{resume = dir .. "/best.h5"}
  T.ok(not ok)
  match(tostring(err), "has no training state")
  local ok2, err2 = run{resume = dir .. "/missing.h5"}
  T.ok(not ok2)
  match(tostring(err2), "missing%.h5")
end)

T.case("a finished run's interrupted.h5 and last.h5 resume to the same history", function()
  local dir = fresh_dir()
  local ok, err = run{dir = dir, on_epoch = function(r) if r.epoch == 3 then jl.interrupt("SIGINT") end end}
  T.ok(not ok and train.is_interruption(err), tostring(err))
  match(tostring(err), "after the last epoch %(3%)")
  local ok2, hist, net, opt = run{dir = dir, resume = err.path, init_seed = 5}
  assert(ok2, tostring(hist))
  compare_runs(ref_net, ref_opt, ref_hist, net, opt, hist)
end)

T.case("(clean up the temporary folders)", function()
  fs.remove_tree(root)
  T.ok(not fs.exists(root))
end)

T.run()
