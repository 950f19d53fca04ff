-- test_compile.lua — nn.compile and jl.plan: the compiled plan of FCNN models
-- (with BatchNorm folded into the Linear before it, or alone as an affine step,
-- Dropout skipped, Sigmoid/Tanh, a leading Flatten) equals the eager eval-mode
-- model at batch 1 and in pool-split batches; the plan is a snapshot; bad
-- models, options and inputs are refused with the module, step or shape named.
local T = require "jetlab.test"
local nn = require "jetlab.nn"

local function max_diff(a, b) return (a - b):abs():max():item() end

-- BatchNorm running statistics away from (0, 1), and affine parameters away from (1, 0).
local function warm_up(model, inputs)
  model:train()
  jl.no_grad(function()
    for _ = 1, 4 do model(jl.randn(64, inputs) * 3 + 0.5) end
  end)
  for _, e in ipairs(model:named_parameters()) do
    if e[1]:match("%.weight$") and e[2].ndim == 1 then jl.no_grad(function() e[2]:copy_(jl.rand(e[2].shape[1]) + 0.5) end) end
  end
  model:eval()
end

local function eager(model, x, softmax)
  return jl.no_grad(function()
    local y = model(x)
    return softmax and y:softmax(2) or y
  end)
end

T.case("fcnn student and teacher: compiled equals eager, batch 1 and batched", function()
  jl.manual_seed(3)
  for _, m in ipairs({nn.models.fcnn_student(35), nn.models.fcnn_teacher(35),
                      nn.models.fcnn{inputs = 35, hidden = {64, 32}, batchnorm = true, dropout = 0.2}}) do
    warm_up(m, 35)
    local x = jl.randn(700, 35) -- 700 rows: split over the pool
    for _, softmax in ipairs({false, true}) do
      local plan = nn.compile(m, {softmax = softmax})
      local want = eager(m, x, softmax)
      T.ok(max_diff(plan(x), want) < 1e-5, "batched: " .. max_diff(plan(x), want))
      for _, row in ipairs({1, 350, 700}) do
        local one = x:narrow(1, row, 1)
        T.ok(max_diff(plan(one), want:narrow(1, row, 1)) < 1e-5, "row " .. row)
      end
    end
  end
end)

T.case("BatchNorm without a Linear before it, Sigmoid, Tanh, Flatten, Identity", function()
  jl.manual_seed(4)
  local m = nn.Sequential(nn.Flatten(), nn.BatchNorm1d(12), nn.Linear(12, 8), nn.Tanh(), nn.Identity(),
    nn.Linear(8, 3), nn.Sigmoid())
  warm_up(nn.Sequential(m[2]), 12)
  m:eval()
  local x = jl.randn(5, 4, 3)
  local plan = nn.compile(m, {inputs = 12})
  T.ok(max_diff(plan(x), eager(m, x)) < 1e-5)
  T.eq(plan.inputs, 12)
  T.eq(plan.outputs, 3)
  T.eq(#plan, 5) -- affine, linear, tanh, linear, sigmoid
end)

T.case("a plan is a snapshot of the weights", function()
  local m = nn.models.fcnn_student(7)
  m:eval()
  local x = jl.randn(3, 7)
  local plan = nn.compile(m)
  local before = plan(x)
  jl.no_grad(function() m[1].weight:fill_(0) end)
  T.eq(max_diff(plan(x), before), 0)
  T.ok(max_diff(nn.compile(m)(x), eager(m, x)) < 1e-6)
end)

T.case("jl.plan directly: values, strided inputs, empty batch", function()
  local p = jl.plan(3, {{"linear", jl.ones(2, 3), jl.tensor({1, 2})}, {"relu"}, {"softmax"}})
  local y = p(jl.tensor({{1, 2, 3}, {-1, -1, -1}}))
  T.near(y, jl.tensor({{0.2689414, 0.7310586}, {0.5, 0.5}}), 1e-6)
  local wide = jl.randn(4, 6)
  local strided = wide:narrow(2, 2, 3) -- (4, 3) with row stride 6
  T.near(p(strided), p(strided:contiguous()), 0)
  T.eq(p(jl.zeros(0, 3)).shape, {0, 2})
  local identity = jl.plan(4, {})
  T.near(identity(wide:narrow(2, 1, 4)), wide:narrow(2, 1, 4), 0)
end)

T.case("bad models, options, steps and inputs", function()
  T.raises(function() nn.compile(nn.models.particlenet_lite()) end, "nn.compile: .* is not supported")
  T.raises(function() nn.compile(nn.Sequential(nn.Linear(3, 2), nn.LayerNorm(2))) end,
    "nn.compile: 2 %(LayerNorm%) is not supported")
  T.raises(function() nn.compile(nn.Sequential(nn.ReLU())) end, "no Linear layer; give {inputs = N}")
  T.raises(function() nn.compile(nn.models.fcnn_student(7), {softmx = true}) end, "unknown option 'softmx'")
  T.raises(function() nn.compile(42) end, "expected a module, got number")
  local bn = nn.BatchNorm1d(4, {track_running_stats = false})
  T.raises(function() nn.compile(nn.Sequential(nn.Linear(2, 4), bn)) end, "2 %(BatchNorm1d%) has no running statistics")

  local plan = nn.compile(nn.models.fcnn_student(7))
  T.raises(function() plan(jl.randn(2, 8)) end, "the input must be %(rows, 7%), got %(2, 8%)")
  T.raises(function() plan(jl.randn(7)) end, "the input must be %(rows, 7%), got %(7%)")
  T.raises(function() plan(jl.zeros(2, 7, {dtype = "i64"})) end, "must be an f32 cpu tensor, got i64")
  T.raises(function() plan("x") end, "tensor expected")

  T.raises(function() jl.plan(3, {{"linear", jl.ones(2, 4)}}) end, "step 1.*weight must be %(2, 3%), got %(2, 4%)")
  T.raises(function() jl.plan(3, {{"linear", jl.ones(2, 3), jl.ones(3)}}) end, "bias must be %(2%), got %(3%)")
  T.raises(function() jl.plan(3, {{"linear"}}) end, "step 1 %(linear%): the weight must be a tensor")
  T.raises(function() jl.plan(3, {{"relu"}, {"gelu"}}) end, "step 2: unknown step 'gelu'")
  T.raises(function() jl.plan(3, {"relu"}) end, "step 1 must be a table")
  T.raises(function() jl.plan(0, {}) end, "inputs must be in 1%.%.")
  T.raises(function() jl.plan(2, {{"affine", jl.ones(3), jl.zeros(3)}}) end, "scale must be %(2%), got %(3%)")
end)

T.run()
