-- test_freeze.lua — transfer's frozen mode: after training steps with AdamW
-- (weight decay on), frozen parameters are bit-identical and get no gradient,
-- while the re-initialised head trains.
local T = require "jetlab.test"
local nn = require "jetlab.nn"
local optim = require "jetlab.optim"
local loss = require "jetlab.loss"

T.case("frozen backbone: bit-identical after AdamW steps, no gradients; head moves", function()
  jl.manual_seed(11)
  local model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.BatchNorm1d(16), nn.Linear(16, 2))
  model:freeze("1")
  model:freeze("3")
  model:reset_parameters("4")
  local before = {}
  for _, e in ipairs(model:named_parameters()) do before[e[1]] = e[2]:clone() end
  local opt = optim.AdamW(model:parameters({trainable = true}), {lr = 1e-2, weight_decay = 0.1})
  local x, y = jl.randn(32, 6), jl.randint(1, 3, 32)
  for _ = 1, 5 do
    opt:zero_grad()
    loss.cross_entropy(model(x), y):backward()
    for _, e in ipairs(model:named_parameters()) do
      local frozen = e[1]:sub(1, 2) ~= "4."
      T.eq(e[2].grad == nil, frozen, e[1] .. " has a gradient only when trainable")
    end
    opt:step()
  end
  for _, e in ipairs(model:named_parameters()) do
    if e[1]:sub(1, 2) == "4." then
      T.ok(not jl.equal(e[2], before[e[1]]), e[1] .. " trained")
    else
      T.ok(jl.equal(e[2], before[e[1]]), e[1] .. " is bit-identical")
    end
  end
end)

T.run()
