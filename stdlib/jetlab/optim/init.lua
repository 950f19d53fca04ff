-- jetlab.optim — optimizers with fused C updates (torch.optim's formulas),
-- parameter groups, and gradient clipping by global norm.
--
--   local optim = require "jetlab.optim"
--   local opt = optim.AdamW({{params = backbone:parameters(), lr = 1e-4},
--                            {params = head:parameters(), lr = 5e-3}}, {weight_decay = 0.01})
--   opt:zero_grad()
--   loss:backward()
--   local norm = optim.clip_grad_norm(model:parameters(), 5.0)
--   opt:step()
--   local sd = opt:state_dict()            -- format: jetlab/optim/optimizer.lua
--
-- optim.SGD(params, {lr=, momentum = 0, dampening = 0, nesterov = false, weight_decay = 0})
-- optim.Adam(params, {lr = 1e-3, betas = {0.9, 0.999}, eps = 1e-8, weight_decay = 0})
-- optim.AdamW(params, {lr = 1e-3, betas = {0.9, 0.999}, eps = 1e-8, weight_decay = 1e-2})
-- params: an array of tensors (model:parameters()) or an array of groups
-- {params = ..., <any option>}; frozen parameters and those without a
-- gradient are skipped by step(). Schedules: jetlab.schedule.

local jl = require "jetlab"
local adam = require "jetlab.optim.adam"

local optim = {
  Optimizer = require "jetlab.optim.optimizer",
  SGD = require "jetlab.optim.sgd",
  Adam = adam.Adam,
  AdamW = adam.AdamW,
}

--- optim.clip_grad_norm(params, max_norm) → the total norm before clipping:
--- the 2-norm of all gradients together; when it exceeds max_norm every
--- gradient is scaled by max_norm / (norm + 1e-6), as torch.nn.utils.clip_grad_norm_.
--- Parameters without a gradient are left out.
function optim.clip_grad_norm(params, max_norm)
  if type(max_norm) ~= "number" or max_norm < 0 then error("clip_grad_norm: max_norm must be a number >= 0", 2) end
  local with_grad, grads = {}, {}
  for _, p in ipairs(params) do
    local g = p.grad
    if g ~= nil then
      with_grad[#with_grad + 1] = p
      grads[#grads + 1] = g
    end
  end
  local total = math.sqrt(jl.sum_squares(grads))
  local coef = max_norm / (total + 1e-6)
  if coef < 1 then
    jl.no_grad(function()
      for i, p in ipairs(with_grad) do p.grad = grads[i] * coef end
    end)
  end
  return total
end

return optim
