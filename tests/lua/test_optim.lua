-- test_optim.lua — jetlab.optim and jetlab.schedule: SGD/Adam/AdamW steps
-- against torch.optim's formulas in plain Lua, parameter groups, zero_grad,
-- skipped and frozen parameters, clip_grad_norm, state_dict round trips,
-- the schedules' lr sequences against hand values, and option errors.
local T = require "jetlab.test"
local optim = require "jetlab.optim"
local schedule = require "jetlab.schedule"

-- a fixed quadratic: f(p) = sum(c * p^2) + sum(p), gradient 2 c p + 1
local c_v = {0.5, -1.0, 2.0, 0.25}
local function loss_of(p) return (jl.from(c_v) * p * p):sum() + p:sum() end
local function grad_of(p)
  local g = {}
  for i, v in ipairs(p) do g[i] = 2 * c_v[i] * v + 1 end
  return g
end

local function run(opt, p, steps)
  for _ = 1, steps do
    opt:zero_grad()
    loss_of(p):backward()
    opt:step()
  end
end

T.case("SGD with momentum, dampening, Nesterov and weight decay follows torch's formula", function()
  local configs = {
    {lr = 0.1},
    {lr = 0.05, momentum = 0.9},
    {lr = 0.05, momentum = 0.9, dampening = 0.2, weight_decay = 0.01},
    {lr = 0.02, momentum = 0.8, nesterov = true, weight_decay = 0.1},
  }
  for ci, cfg in ipairs(configs) do
    local start = {1.0, -2.0, 0.5, 3.0}
    local p = jl.from(start, {requires_grad = true})
    run(optim.SGD({p}, cfg), p, 4)
    local want, buf = {table.unpack(start)}, nil
    for step = 1, 4 do
      local g = grad_of(want)
      for i = 1, #g do g[i] = g[i] + (cfg.weight_decay or 0) * want[i] end
      local m = cfg.momentum or 0
      local d = g
      if m ~= 0 then
        if step == 1 then buf = {table.unpack(g)}
        else
          for i = 1, #g do buf[i] = m * buf[i] + (1 - (cfg.dampening or 0)) * g[i] end
        end
        d = {}
        for i = 1, #g do d[i] = cfg.nesterov and g[i] + m * buf[i] or buf[i] end
      end
      for i = 1, #want do want[i] = want[i] - cfg.lr * d[i] end
    end
    T.near(p, want, 1e-6, "config " .. ci)
  end
end)

local function adam_reference(start, cfg, steps, decoupled)
  local p, m, v = {table.unpack(start)}, {0, 0, 0, 0}, {0, 0, 0, 0}
  local b1, b2 = cfg.betas and cfg.betas[1] or 0.9, cfg.betas and cfg.betas[2] or 0.999
  local eps, wd, lr = cfg.eps or 1e-8, cfg.weight_decay or (decoupled and 1e-2 or 0), cfg.lr or 1e-3
  for t = 1, steps do
    local g = grad_of(p)
    for i = 1, #p do
      if decoupled then p[i] = p[i] * (1 - lr * wd) else g[i] = g[i] + wd * p[i] end
      m[i] = b1 * m[i] + (1 - b1) * g[i]
      v[i] = b2 * v[i] + (1 - b2) * g[i] ^ 2
      local denom = math.sqrt(v[i]) / math.sqrt(1 - b2 ^ t) + eps
      p[i] = p[i] - lr / (1 - b1 ^ t) * m[i] / denom
    end
  end
  return p, m, v
end

T.case("Adam and AdamW follow torch's formula (defaults, L2 and decoupled decay)", function()
  local start = {1.0, -2.0, 0.5, 3.0}
  local cases = {
    {optim.Adam, {}, false},
    {optim.Adam, {lr = 0.01, betas = {0.8, 0.99}, eps = 1e-6, weight_decay = 0.1}, false},
    {optim.AdamW, {}, true},
    {optim.AdamW, {lr = 0.02, weight_decay = 0.05}, true},
  }
  for ci, case in ipairs(cases) do
    local p = jl.from(start, {requires_grad = true})
    local opt = case[1]({p}, case[2])
    run(opt, p, 5)
    local want, m, v = adam_reference(start, case[2], 5, case[3])
    T.near(p, want, 1e-6, "case " .. ci)
    local st = opt:state_dict().state["1"]
    T.eq(st.step, 5)
    T.near(st.exp_avg, m, 1e-6)
    T.near(st.exp_avg_sq, v, 1e-6)
  end
end)

T.case("parameter groups: each group uses its own lr and settings", function()
  local a = jl.from({1, 1}, {requires_grad = true})
  local b = jl.from({1, 1}, {requires_grad = true})
  local opt = optim.SGD({{params = {a}, lr = 0.1}, {params = {b}, weight_decay = 1}}, {lr = 0.01})
  T.eq(opt.param_groups[1].lr, 0.1)
  T.eq(opt.param_groups[2].lr, 0.01)
  T.eq(opt.param_groups[1].weight_decay, 0)
  opt:zero_grad()
  ;((a + b) * 2):sum():backward()
  opt:step()
  T.near(a, {1 - 0.1 * 2, 1 - 0.1 * 2}, 1e-7)
  T.near(b, {1 - 0.01 * (2 + 1), 1 - 0.01 * (2 + 1)}, 1e-7)
  T.raises(function() optim.SGD({{params = {a}, lr = 0.1, momentun = 0.9}}) end, "unknown option 'momentun'")
  T.raises(function() optim.SGD({{params = {a}}, {params = {a}}}, {lr = 1}) end, "appears twice")
end)

T.case("zero_grad clears; step skips params without grad and frozen params", function()
  local a = jl.from({1, 2}, {requires_grad = true})
  local b = jl.from({3, 4}, {requires_grad = true})
  local frozen = jl.from({5, 6}, {requires_grad = true})
  local opt = optim.Adam({a, b, frozen}, {lr = 0.1})
  ;(a:sum() + frozen:sum()):backward()
  frozen.requires_grad = false
  local keep_b, keep_frozen = b:clone(), frozen:clone()
  opt:step()
  T.ok(not jl.equal(a, jl.from({1, 2})), "a moved")
  T.ok(jl.equal(b, keep_b), "b without grad is bit-identical")
  T.ok(jl.equal(frozen, keep_frozen), "frozen is bit-identical")
  T.eq(opt:state_dict().state["2"], nil)
  opt:zero_grad()
  T.eq(a.grad, nil)
  T.eq(frozen.grad, nil)
end)

T.case("clip_grad_norm: returns the total norm and scales only above max_norm", function()
  local a = jl.from({3, 0}, {requires_grad = true})
  local b = jl.from({{4}}, {requires_grad = true})
  local c = jl.from({1}, {requires_grad = true})   -- no gradient: left out
  ;((a * a):sum() / 2 + (b * b):sum() / 2):backward()  -- grads = values: norm 5
  T.near(optim.clip_grad_norm({a, b, c}, 10), 5, 1e-6)
  T.near(a.grad, {3, 0}, 1e-7)
  T.near(optim.clip_grad_norm({a, b, c}, 1), 5, 1e-6)
  local scale = 1 / (5 + 1e-6)
  T.near(a.grad, {3 * scale, 0}, 1e-6)
  T.near(b.grad, {{4 * scale}}, 1e-6)
  T.eq(c.grad, nil)
end)

T.case("state_dict round trip: a restored optimizer continues identically", function()
  for _, make in ipairs({
    function(ps) return optim.AdamW(ps, {lr = 0.05}) end,
    function(ps) return optim.SGD(ps, {lr = 0.05, momentum = 0.9}) end,
  }) do
    local p = jl.from({1.0, -2.0, 0.5, 3.0}, {requires_grad = true})
    local opt = make({p})
    run(opt, p, 3)
    local sd = opt:state_dict()
    T.eq(sd.groups[1].params, {1})
    local q = p:detach():clone():requires_grad_()
    local restored = make({q})
    restored:load_state_dict(sd)
    run(opt, p, 2)
    run(restored, q, 2)
    T.ok(jl.equal(p, q), "same parameters after two more steps")
    local wrong = make({jl.zeros(3, {requires_grad = true})})
    T.raises(function() wrong:load_state_dict(opt:state_dict()) end, "shape")
  end
end)

T.case("option errors name the option", function()
  local p = jl.zeros(2, {requires_grad = true})
  T.raises(function() optim.SGD({p}) end, "'lr' is required")
  T.raises(function() optim.SGD({p}, {lr = 0.1, dampening = 0.1, nesterov = true, momentum = 0.9}) end, "Nesterov")
  T.raises(function() optim.Adam({p}, {betas = {0.9, 1.5}}) end, "betas")
  T.raises(function() optim.AdamW({p}, {weight_decay = 0.1, beta = 0.9}) end, "unknown option 'beta'")
  T.raises(function() optim.Adam({}, {}) end, "no parameters")
end)

T.case("low-level jl.sgd_update_ / jl.adam_update_ / jl.sum_squares", function()
  local p = jl.from({1, 2}, {requires_grad = true})
  T.ok(rawequal(jl.sgd_update_(p, jl.from({1, -1}), nil, {lr = 0.5}), p))
  T.near(p, {0.5, 2.5}, 1e-7)
  local m, v = jl.zeros(2), jl.zeros(2)
  jl.adam_update_(p, jl.from({1, -1}), m, v, 1, {lr = 0.1})
  T.near(p, {0.4, 2.6}, 1e-6)
  T.near(jl.sum_squares({jl.from({3, 4}), jl.from({{12}})}), 169, 1e-9)
  T.raises(function() jl.sgd_update_(p, p, nil, {lr = 0.1, momentum = 0.9}) end, "momentum buffer")
  T.raises(function() jl.sgd_update_(p, p, nil, {rate = 0.1}) end, "unknown option 'rate'")
  T.raises(function() jl.adam_update_(p, p, m, v, 1, {}) end, "'lr' is required")
  T.raises(function() jl.adam_update_(p, p, m, jl.zeros(3), 1, {lr = 1}) end, "exp_avg_sq")
  T.raises(function() jl.adam_update_(p, p, m, v, 0, {lr = 1}) end, "step")
end)

-- lrs of group 1 for epochs 0..n-1
local function sequence(sched, n)
  local out = {}
  for e = 1, n do
    out[e] = sched:get_lr()[1]
    sched:step()
  end
  return out
end

local function sgd(lr) return optim.SGD({jl.zeros(1, {requires_grad = true})}, {lr = lr}) end

T.case("schedules: MultiStep, Step and Cosine sequences", function()
  local ms = sequence(schedule.MultiStep(sgd(1.0), {milestones = {2, 4}, gamma = 0.1}), 6)
  T.near(ms, {1, 1, 0.1, 0.1, 0.01, 0.01}, 1e-12)
  local st = sequence(schedule.Step(sgd(0.5), {step_size = 3, gamma = 0.5}), 7)
  T.near(st, {0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125}, 1e-12)
  local co = sequence(schedule.Cosine(sgd(1.0), {T_max = 4, eta_min = 0.2}), 5)
  T.near(co, {1.0, 0.2 + 0.8 * (1 + math.sqrt(0.5)) / 2, 0.6, 0.2 + 0.8 * (1 - math.sqrt(0.5)) / 2, 0.2}, 1e-12)
  local lund = sequence(schedule.MultiStep(sgd(1e-3), {milestones = {10, 20}}), 30)
  T.near(lund[10], 1e-3, 1e-12)
  T.near(lund[11], 1e-4, 1e-12)
  T.near(lund[21], 1e-5, 1e-12)
end)

T.case("schedules: linear warm-up alone and composed with MultiStep", function()
  T.near(sequence(schedule.warmup(sgd(1.0), {epochs = 4, start_factor = 0.2}), 6), {0.2, 0.4, 0.6, 0.8, 1, 1}, 1e-12)
  local opt = sgd(1.0)
  local sched = schedule.warmup(opt, {epochs = 2, start_factor = 0.5,
                                      main = schedule.MultiStep(opt, {milestones = {3}, gamma = 0.1})})
  T.near(sequence(sched, 5), {0.5, 0.75, 1.0, 0.1, 0.1}, 1e-12)
end)

T.case("schedules: groups keep their own base lr; state_dict round trip", function()
  local a, b = jl.zeros(1, {requires_grad = true}), jl.zeros(1, {requires_grad = true})
  local opt = optim.AdamW({{params = {a}, lr = 1e-4}, {params = {b}, lr = 5e-3}})
  local sched = schedule.Step(opt, {step_size = 1, gamma = 0.5})
  sched:step()
  sched:step()
  T.near(sched:get_lr(), {2.5e-5, 1.25e-3}, 1e-12)
  local sd = sched:state_dict()
  local opt2 = optim.AdamW({{params = {a}, lr = 1e-4}, {params = {b}, lr = 5e-3}})
  local sched2 = schedule.Step(opt2, {step_size = 1, gamma = 0.5})
  sched2:load_state_dict(sd)
  T.near(sched2:get_lr(), sched:get_lr(), 1e-12)
  sched:step()
  sched2:step()
  T.near(opt2.param_groups[2].lr, opt.param_groups[2].lr, 1e-12)
  T.raises(function() schedule.MultiStep(opt, {milestones = {5, 3}}) end, "increase")
  T.raises(function() schedule.Cosine(opt, {T = 3}) end, "unknown option 'T'")
end)

T.run()
