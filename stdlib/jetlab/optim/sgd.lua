-- jetlab.optim.sgd — optim.SGD: stochastic gradient descent with momentum,
-- dampening, Nesterov momentum and L2 weight decay, as torch.optim.SGD, one
-- fused C update per parameter (jl.sgd_update_).
--
--   local opt = optim.SGD(model:parameters(), {lr = 0.1, momentum = 0.9, nesterov = true})
--   opt:zero_grad(); loss:backward(); opt:step()
--
-- Per parameter: g = grad + weight_decay * p; buf = g on the first step, then
-- momentum * buf + (1 - dampening) * g; p -= lr * (nesterov and g + momentum * buf
-- or buf), or p -= lr * g without momentum. State: momentum_buffer.

local jl = require "jetlab"
local options = require "jetlab.options"
local Optimizer = require "jetlab.optim.optimizer"

local SGD = Optimizer.class("SGD", {
  lr = options.REQUIRED, momentum = 0, dampening = 0, nesterov = false, weight_decay = 0,
})

function SGD:validate(g, where)
  for _, k in ipairs({"lr", "momentum", "dampening", "weight_decay"}) do Optimizer.check_number(where, k, g[k], 0) end
  if g.nesterov and (g.momentum <= 0 or g.dampening ~= 0) then
    error(string.format("%s: Nesterov momentum requires a momentum and zero dampening " ..
      "(got momentum = %g, dampening = %g)", where, g.momentum, g.dampening), 3)
  end
end

function SGD:update(p, grad, g, state)
  local fresh = false
  if g.momentum ~= 0 and state.momentum_buffer == nil then
    state.momentum_buffer = jl.zeros_like(p)
    fresh = true
  end
  jl.sgd_update_(p, grad, g.momentum ~= 0 and state.momentum_buffer or nil, {
    lr = g.lr, momentum = g.momentum, dampening = g.dampening,
    weight_decay = g.weight_decay, nesterov = g.nesterov, fresh = fresh,
  })
end

return SGD
