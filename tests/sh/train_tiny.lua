-- train_tiny.lua — a tiny, seeded train.fit run for the reliability shell
-- tests (test_interrupt.sh, test_sigkill.sh) and scripts/memcheck.sh:
--
--   jetlab tests/sh/train_tiny.lua --dir D [--epochs 20] [--resume D/interrupted.h5]
--          [--weights W.txt] [--source tensors|file] [--step-ms 0] [--n 256] [--batch 32]
--
-- An FCNN (dropout on, so every step draws random numbers) with AdamW, a
-- MultiStep schedule and gradient clipping, trained with checkpoints in D.
-- --source tensors: n samples made in memory, shuffled with jl.randperm;
-- --source file: n jets written to D/jets.h5 with jl.io.write_jets and read
-- back through jetlab.data (chunked loader, prefetch thread, Philox shuffle).
-- --step-ms busy-waits that long in every training forward (no random
-- numbers), so that a signal lands mid-run. --weights writes every parameter
-- in %a (exact) notation at the end. Prints one line per epoch ("epoch 3/20
-- ...") and, at the end, "done", the live tensor count and the peak RSS.
package.path = (arg[0]:match("^(.*)/") or ".") .. "/../lua/?.lua;" .. package.path
local D = require "train_data"
local cli = require "jetlab.cli"
local train = require "jetlab.train"
local data = require "jetlab.data"
local fs = require "jetlab.fs"
local nn = require "jetlab.nn"
local optim = require "jetlab.optim"
local schedule = require "jetlab.schedule"

local o = cli.parse_or_exit(arg, {
  name = "train_tiny.lua",
  usage = "jetlab tests/sh/train_tiny.lua --dir DIR [options]",
  options = {
    {"dir", "string", help = "checkpoint folder", required = true},
    {"epochs", "integer", 20, help = "epochs"},
    {"resume", "string", help = "resume from this checkpoint"},
    {"weights", "string", help = "write the final weights (exact) to this file"},
    {"source", "string", "tensors", help = "where the data comes from", choices = {"tensors", "file"}},
    {"step-ms", "number", 0, help = "busy-wait per training step (ms)"},
    {"n", "integer", 256, help = "training samples"},
    {"batch", "integer", 32, help = "batch size"},
    {"seed", "integer", 5, help = "seed"},
  },
})

local C = 8 -- constituents per jet for --source file
local inputs = o.source == "file" and C * 7 or 16

local function tensor_source()
  jl.manual_seed(1000 + o.seed)
  local x = jl.randn(o.n, inputs)
  local y = (x:narrow(2, 1, 4):sum(2) + x:select(2, 5) * 0.5):gt(0):to("i64") + 1
  local w = jl.rand(o.n) + 0.5
  local n = o.n
  return D.shuffled_source(x, y, w, o.batch), {{x = x:narrow(1, 1, math.min(64, n)), y = y:narrow(1, 1, math.min(64, n))}}
end

local function file_source()
  local path = o.dir .. "/jets.h5"
  if not fs.exists(path) then
    fs.mkdir(o.dir)
    jl.manual_seed(1000 + o.seed)
    local n = o.n
    local counts = jl.randint(1, C + 1, n, 1)
    local mask = jl.arange(C, {dtype = "i64"}):view(1, C):lt(counts):to("f32")
    local pt = (jl.rand(n, C) * 200 + 0.5) * mask
    local eta = (jl.randn(n, C) * 0.4) * mask
    local phi = ((jl.rand(n, C) * 2 - 1) * 3.1) * mask
    local E = pt * ((eta:exp() + (-eta):exp()) * 0.5)
    fs.atomic_write(path, function(tmp)
      assert(jl.io.write_jets(tmp, {
        pt = pt, eta = eta, phi = phi, E = E, jet_pt = pt:sum(2), jet_eta = jl.zeros(n), jet_phi = jl.zeros(n),
        jet_m = jl.zeros(n), labels = (counts:select(2, 1):gt(C // 2)):to("i64"), weights = jl.rand(n) + 0.5,
      }))
    end)
  end
  local ds = assert(data.open(path, {max_constituents = C}))
  local tr, va = ds:split{0.75, 0.25, seed = 1}
  local stats = tr:stats()
  local opts = {batch_size = o.batch, format = "flat", features = {standardize = stats}, chunk_size = 64,
    block_size = 16}
  opts.shuffle = true
  local train_view = tr:with(opts)
  opts.shuffle = false
  return train_view, va:with(opts)
end

local source, val
if o.source == "file" then source, val = file_source() else source, val = tensor_source() end

jl.manual_seed(o.seed)
local net = nn.models.fcnn{inputs = inputs, hidden = {32, 16}, dropout = 0.1}
if o["step-ms"] > 0 then
  local forward, wait = net.forward, o["step-ms"] / 1000
  net.forward = function(self, x)
    if self.training then
      local t = jl.clock()
      while jl.clock() - t < wait do end
    end
    return forward(self, x)
  end
end
local opt = optim.AdamW(net:parameters(), {lr = 0.01})
local sched = schedule.MultiStep(opt, {milestones = {5, 10}, gamma = 0.5})

local history = train.fit{
  model = net, optimizer = opt, schedule = sched, train = source, val = val, epochs = o.epochs, seed = o.seed,
  clip_grad_norm = 2.0, checkpoint_dir = o.dir, resume = o.resume, metric = "val_loss",
  log = function(line) print(line); io.stdout:flush() end,
}

if o.weights then
  local f = assert(io.open(o.weights, "w"))
  for _, e in ipairs(net:named_parameters()) do
    local flat = e[2]:contiguous():view(-1):tolist()
    for i, v in ipairs(flat) do flat[i] = string.format("%a", v) end
    f:write(e[1], " ", table.concat(flat, " "), "\n")
  end
  for i, r in ipairs(history) do f:write(string.format("epoch %d train_loss %a val_loss %a\n", i, r.train_loss, r.val_loss)) end
  f:close()
end
net, opt, sched, source, val, history = nil, nil, nil, nil, nil, nil -- luacheck: ignore 311 (frees them before the count)
collectgarbage()
collectgarbage()
print(string.format("done: %d live tensors, peak RSS %.1f MiB", jl.stats().tensors, jl.peak_rss() / 2 ^ 20))
