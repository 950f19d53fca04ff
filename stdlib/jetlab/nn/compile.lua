-- jetlab.nn.compile — a feed-forward model as one C inference plan (jl.plan):
-- the layers run in a single call with no autograd and no Lua between them,
-- which is what batch-1 latency (a trigger-style tagger) needs.
--
--   local student = nn.models.fcnn_student(5 * 7)
--   ... train ...
--   local infer = nn.compile(student, {softmax = true})   -- a snapshot of the eval-mode model
--   local probs = infer(x)                                -- x (B, 35) f32 cpu -> (B, 2)
--
-- Supported: nn.Sequential (nested) of Linear, BatchNorm1d (running statistics,
-- folded into the Linear before it), ReLU, Sigmoid, Tanh, Dropout and Identity
-- (nothing at inference), and a leading Flatten (the plan then takes (B, ...)
-- inputs and flattens them). The weights are copied: compile again after more
-- training. Anything else is refused naming the module.
--
-- A LundNet (either variant) compiles to a graph plan (jl.graph_plan:
-- compile_lundnet.lua) that takes the model's batch table: plan(batch) → (B, 2).

local jl = require "jetlab"

local compile = {}

--- compile.bn_affine(bn, where) → scale, shift: BatchNorm1d in eval mode as y = x * scale + shift.
local function bn_affine(bn, where)
  if not bn.running_mean then
    error(string.format("nn.compile: %s (BatchNorm1d) has no running statistics (track_running_stats = false)",
      where), 3)
  end
  local scale = 1 / (bn.running_var + bn.eps):sqrt()
  local shift = -bn.running_mean * scale
  if bn.weight then
    scale = scale * bn.weight
    shift = shift * bn.weight + bn.bias
  end
  return scale, shift
end

local ACTIVATIONS = {ReLU = "relu", Sigmoid = "sigmoid", Tanh = "tanh"}
local SKIPPED = {Dropout = true, Identity = true}

-- Appends the steps of module m (named `where`) to steps; returns whether a Flatten led.
local function walk(m, where, steps, state)
  local kind = m.__name
  if kind == "Sequential" then
    for _, e in ipairs(m:named_children()) do walk(e[2], where == "" and e[1] or where .. "." .. e[1], steps, state) end
  elseif kind == "Linear" then
    steps[#steps + 1] = {"linear", m.weight:detach():contiguous(), m.bias and m.bias:detach():contiguous() or nil}
    state.width = m.out_features
  elseif kind == "BatchNorm1d" then
    local scale, shift = bn_affine(m, where)
    local last = steps[#steps]
    if last and last[1] == "linear" then -- fold: W' = scale * W (rows), b' = scale * b + shift
      last[2] = last[2] * scale:unsqueeze(2)
      last[3] = last[3] and last[3] * scale + shift or shift
    else
      steps[#steps + 1] = {"affine", scale, shift}
    end
  elseif ACTIVATIONS[kind] then
    steps[#steps + 1] = {ACTIVATIONS[kind]}
  elseif SKIPPED[kind] then
    return
  elseif kind == "Flatten" and #steps == 0 then
    state.flatten = true
  else
    error(string.format("nn.compile: %s (%s) is not supported; a plan takes Sequential, Linear, BatchNorm1d, " ..
      "ReLU, Sigmoid, Tanh, Dropout, Identity and a leading Flatten", where == "" and "the model" or where,
      tostring(kind)), 3)
  end
end

compile.bn_affine = bn_affine

--- compile.steps(model) → the jl.plan steps of a feed-forward model (BatchNorm folded), and
--- whether a Flatten led; errors name the unsupported module.
function compile.steps(model)
  local steps, state = {}, {}
  jl.no_grad(function() walk(model, "", steps, state) end)
  return steps, state.flatten
end

local function first_linear_inputs(steps)
  for _, s in ipairs(steps) do if s[1] == "linear" then return s[2].shape[2] end end
end

--- nn.compile(model[, {softmax = false, inputs = N}]) → callable plan: plan(x) → (B, outputs)
function compile.compile(model, opts)
  local Module = require "jetlab.nn.module"
  if not Module.is_module(model) then error("nn.compile: expected a module, got " .. type(model), 2) end
  if opts ~= nil and type(opts) ~= "table" then error("nn.compile: options must be a table", 2) end
  if model.__name == "LundNet" then return require("jetlab.nn.compile_lundnet").compile(model, opts) end
  opts = opts or {}
  for k in pairs(opts) do
    if k ~= "softmax" and k ~= "inputs" then error("nn.compile: unknown option '" .. tostring(k) .. "'", 2) end
  end
  local steps, state = {}, {}
  jl.no_grad(function() walk(model, "", steps, state) end)
  local inputs = opts.inputs or first_linear_inputs(steps)
  if not inputs then error("nn.compile: the model has no Linear layer; give {inputs = N}", 2) end
  if opts.softmax then steps[#steps + 1] = {"softmax"} end
  local plan = jl.plan(inputs, steps)
  if not state.flatten then return plan end
  return setmetatable({plan = plan}, {
    __call = function(self, x) return self.plan(x:reshape(x.shape[1], -1)) end,
    __index = function(_, k) return plan[k] end,
    __len = function() return #plan end,
    __tostring = function() return "Flatten -> " .. tostring(plan) end,
  })
end

return compile
