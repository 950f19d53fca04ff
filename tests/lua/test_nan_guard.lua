-- test_nan_guard.lua — train.fit's NaN guard: a NaN/Inf loss (a model whose
-- forward goes bad at step k) or a NaN/Inf gradient (a parameter whose
-- backward goes bad at step k while the loss stays finite) stops training
-- before the update, with the step, the last finite loss, or the parameter's
-- name and its last finite gradient norm; the weights are those after step
-- k - 1. nan_guard = false trains on.
local T = require "jetlab.test"
local train = require "jetlab.train"
local nn = require "jetlab.nn"
local optim = require "jetlab.optim"
local Module = require "jetlab.nn.module"

jl.manual_seed(4)
local X = jl.randn(96, 3)
local Y = (X:select(2, 1) - X:select(2, 2)):gt(0):to("i64") + 1
local function batches()
  local out = {}
  for s = 1, 96, 32 do out[#out + 1] = {x = X:narrow(1, s, 32), y = Y:narrow(1, s, 32)} end
  return out
end

-- logits = x W^T + gate, with a fault injected at forward number `at`:
--   "loss_nan" the logits become NaN; "loss_inf" one logit becomes +inf
--   (the cross-entropy is then NaN: inf - inf); "grad_nan" adds
--   0 * sqrt(gate - gate) (forward +0, gradient 0 * inf = NaN on gate);
--   "grad_inf" multiplies by 1 + sqrt(gate - gate) (forward x1, gradient
--   +-inf on gate).
local Faulty = Module:extend("Faulty")
function Faulty:__init(fault, at)
  Module.__init(self)
  self:register_module("fc", nn.Linear(3, 2, {bias = false}))
  self:register_parameter("gate", jl.zeros(2))
  self.fault, self.at, self.calls = fault, at, 0
end
function Faulty:forward(x)
  local out = self.fc(x) + self.gate
  if self.training then
    self.calls = self.calls + 1
    if self.calls == self.at then
      local f = self.fault
      if f == "loss_nan" then
        out = out * (0 / 0)
      elseif f == "loss_inf" then
        out = out + jl.tensor({math.huge, 0})
      elseif f == "grad_nan" then
        out = out + ((self.gate - self.gate:detach()):sqrt() * 0):sum()
      elseif f == "grad_inf" then
        out = out * ((self.gate - self.gate:detach()):sqrt() + 1)
      end
    end
  end
  return out
end

-- Runs fit with a fault at step `at`; returns ok, err, model, the recorded
-- losses and per-step gate gradient norms (from an optimizer that spies on step).
local function run(fault, at, extra)
  jl.manual_seed(1)
  local net = Faulty(fault, at)
  local real = optim.SGD(net:parameters(), {lr = 0.1})
  local losses, norms = {}, {}
  local spy = setmetatable({}, {__index = real})
  function spy.step()
    norms[#norms + 1] = math.sqrt(jl.sum_squares({net.gate.grad}))
    real:step()
  end
  local function criterion(logits, y, o)
    local l = require("jetlab.loss").cross_entropy(logits, y, o)
    losses[#losses + 1] = l:item()
    return l
  end
  local args = {model = net, optimizer = spy, train = batches(), epochs = 3, loss = criterion, log = false}
  for k, v in pairs(extra or {}) do args[k] = v end
  local ok, err = pcall(train.fit, args)
  return ok, err, net, losses, norms
end

local function params_equal(net, want)
  for _, e in ipairs(net:named_parameters()) do
    T.ok(jl.equal(e[2], want[e[1]]), e[1] .. " changed by the bad step")
  end
end

local function after_steps(k)
  -- the parameters after k good steps (a run without a fault)
  local _, _, net = run("none", nil, {epochs = 1, train = (function()
    local b, out = batches(), {}
    for i = 1, k do out[i] = b[(i - 1) % #b + 1] end
    return out
  end)()})
  local p = {}
  for _, e in ipairs(net:named_parameters()) do p[e[1]] = e[2]:clone() end
  return p, net
end

T.case("a NaN loss stops fit with the step and the last finite loss", function()
  local ok, err, _, losses = run("loss_nan", 5)
  T.ok(not ok)
  err = tostring(err)
  T.ok(err:find("the loss is not finite (", 1, true), err)
  T.ok(err:find("nan) at batch 2 of epoch 2 (step 5)", 1, true), err)
  T.ok(err:find(string.format("the last finite loss was %.6g (step 4)", losses[4]), 1, true), err)
  T.ok(err:find("nan_guard = false", 1, true), err)
end)

T.case("an Inf loss at the first step: no finite loss before it", function()
  local ok, err = run("loss_inf", 1)
  T.ok(not ok)
  err = tostring(err)
  T.ok(err:find("the loss is not finite (nan) at batch 1 of epoch 1 (step 1); no finite loss before it", 1, true), err)
end)

T.case("a NaN gradient names the parameter and its last finite gradient norm; no update is made", function()
  local ok, err, net, losses, norms = run("grad_nan", 7)
  T.ok(not ok)
  err = tostring(err)
  T.eq(#norms, 6, "six good steps")
  T.ok(err:find("the gradient of parameter 'gate' is not finite", 1, true), err)
  T.ok(err:find("at batch 1 of epoch 3 (step 7)", 1, true), err)
  T.ok(err:find(string.format("its last finite gradient norm was %.6g (step 6)", norms[6]), 1, true), err)
  T.ok(err:find("1 of 2 parameters have a non-finite gradient", 1, true), err)
  T.ok(norms[6] > 0)
  T.ok(math.type(losses[7]) == "float" and losses[7] == losses[7], "the loss of step 7 was finite")
  -- the weights are those after the six good steps
  local want = after_steps(6)
  params_equal(net, want)
end)

T.case("an Inf gradient is caught too", function()
  local ok, err = run("grad_inf", 2)
  T.ok(not ok)
  err = tostring(err)
  T.ok(err:find("the gradient of parameter 'gate' is not finite (squared norm inf) at batch 2 of epoch 1 (step 2)", 1, true), err)
end)

T.case("nan_guard = false trains on through a NaN loss and a NaN gradient", function()
  local ok, hist = run("loss_nan", 2, {nan_guard = false})
  T.ok(ok, tostring(hist))
  T.eq(#hist, 3)
  T.ok(hist[1].train_loss ~= hist[1].train_loss, "epoch 1's loss is NaN")
  local ok2, hist2, net2 = run("grad_nan", 2, {nan_guard = false})
  T.ok(ok2, tostring(hist2))
  T.ok(not (net2.gate:tolist()[1] == net2.gate:tolist()[1]), "the gate went NaN")
end)

T.case("without a fault the guard changes nothing (bit for bit)", function()
  local ok, h1, n1 = run("none", nil)
  local ok2, h2, n2 = run("none", nil, {nan_guard = false})
  T.ok(ok and ok2)
  for i = 1, 3 do T.eq(h1[i].train_loss, h2[i].train_loss) end
  local p2 = n2:named_parameters()
  for i, e in ipairs(n1:named_parameters()) do T.ok(jl.equal(e[2], p2[i][2]), e[1]) end
end)

T.run()
