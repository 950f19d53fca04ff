-- jetlab.optim.adam — optim.Adam and optim.AdamW, as torch.optim.Adam/AdamW
-- (amsgrad off), one fused C update per parameter (jl.adam_update_).
--
--   local opt = optim.Adam(model:parameters(), {lr = 1e-3})
--   local opt = optim.AdamW({{params = backbone, lr = 1e-4}, {params = head, lr = 5e-3}},
--                           {weight_decay = 0.01})
--
-- Per parameter, step t = 1, 2, ...: Adam adds weight_decay * p to the
-- gradient (L2); AdamW first scales p by 1 - lr * weight_decay (decoupled);
-- then m = beta1 m + (1 - beta1) g, v = beta2 v + (1 - beta2) g², and
-- p -= lr / (1 - beta1^t) · m / (sqrt(v) / sqrt(1 - beta2^t) + eps).
-- State: step (a number), exp_avg, exp_avg_sq.

local jl = require "jetlab"
local Optimizer = require "jetlab.optim.optimizer"

local function class(name, weight_decay, decoupled)
  local cls = Optimizer.class(name, {
    lr = 1e-3, betas = {0.9, 0.999}, eps = 1e-8, weight_decay = weight_decay,
  })

  function cls:validate(g, where)
    if type(g.betas) ~= "table" then
      error(string.format("%s: betas must be {beta1, beta2} in [0, 1), got %s", where, tostring(g.betas)), 3)
    end
    Optimizer.check_number(where, "betas[1]", g.betas[1], 0, 1)
    Optimizer.check_number(where, "betas[2]", g.betas[2], 0, 1)
    for _, k in ipairs({"lr", "eps", "weight_decay"}) do Optimizer.check_number(where, k, g[k], 0) end
  end

  function cls:update(p, grad, g, state)
    if state.step == nil then
      state.step = 0
      state.exp_avg = jl.zeros_like(p)
      state.exp_avg_sq = jl.zeros_like(p)
    end
    state.step = state.step + 1
    jl.adam_update_(p, grad, state.exp_avg, state.exp_avg_sq, state.step, {
      lr = g.lr, beta1 = g.betas[1], beta2 = g.betas[2], eps = g.eps,
      weight_decay = g.weight_decay, decoupled = decoupled,
    })
  end

  return cls
end

return {
  Adam = class("Adam", 0, false),
  AdamW = class("AdamW", 1e-2, true),
}
