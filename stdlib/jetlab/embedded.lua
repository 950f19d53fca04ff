-- jetlab.embedded — the scoring behind libjetlab (bindings/lib/jetlab.h): a
-- checkpoint opened once, then batches of jets given in memory scored with
-- the preprocessing the checkpoint records (spec.inputs, as `jetlab predict`).
--
--   local embedded = require "jetlab.embedded"
--   local scorer = assert(embedded.open("run/best.h5"))
--   local scores = scorer.score(pt, eta, phi, E)   -- (N, C) f32 GeV each → f32 (N) P(signal)
--   print(scorer.width, scorer.describe)
--
-- Jets as jetlab.predict reads them from a file: constituents sorted by
-- decreasing pT, padding (pt = eta = phi = E = 0) at the end. The degradation a
-- checkpoint may record is not applied: jets are scored as they are given
-- (`jetlab predict --no-degrade`). A flat FCNN and a LundNet run as the
-- inference plan of nn.compile (one C plan, softmax included; LundNet's
-- a graph plan); every other model through train.predict (eval mode, no_grad).
--
-- scorer.width: the constituent columns the model reads (spec.inputs's
-- max_constituents), or nil when it takes every column given; the library pads
-- or cuts its input to that width.

local jl = require "jetlab"
local nn = require "jetlab.nn"
local predict = require "jetlab.predict"
local train = require "jetlab.train"

local E = {}

-- P(signal) (N) of model on input x of n jets, through train.predict's contract.
local function model_scores(model, x, n)
  return train.predict(model, {{x = x, y = jl.ones(n, {dtype = "i64"}), n = n}})
end

-- The model's input from the jets (N, C) for the feature kinds.
local function feature_input(inputs, pt, eta, phi, energy)
  local opts = {max_constituents = inputs.max_constituents, standardize = inputs.standardize}
  if inputs.kind == "ragged" then
    opts.format = "ragged"
    local x, offsets, coords = jl.data.features(pt, eta, phi, energy, opts)
    return {x = x, offsets = offsets, coords = coords, n = pt.shape[1]}
  end
  local x = jl.data.features(pt, eta, phi, energy, opts)
  if inputs.kind == "flat" then x = x:view(pt.shape[1], -1) end
  return x
end

-- The model's inference plan, or nil when nn.compile does not take it.
local function compiled_plan(model)
  local ok, plan = pcall(nn.compile, model, {softmax = true})
  return ok and plan or nil
end

--- embedded.open(checkpoint_path) → scorer {score =, width =, describe =, compiled =} | nil, message.
function E.open(path)
  local model, inputs = predict.load(path)
  if not model then return nil, inputs end
  model:eval()
  local plan = (inputs.kind == "flat" or inputs.kind == "lund") and compiled_plan(model) or nil
  local score
  if inputs.kind == "lund" then
    local lund_opts = {features = inputs.features or 5, ln_kt_min = inputs.ln_kt_min}
    score = function(pt, eta, phi, energy)
      local g = jl.lund.graphs({pt = pt, eta = eta, phi = phi, E = energy}, lund_opts)
      if plan then return plan(g):select(2, 2):contiguous() end
      return model_scores(model, g, pt.shape[1])
    end
  elseif plan then
    score = function(pt, eta, phi, energy)
      local x = feature_input(inputs, pt, eta, phi, energy)
      return jl.no_grad(function() return plan(x):select(2, 2):contiguous() end)
    end
  else
    score = function(pt, eta, phi, energy)
      return model_scores(model, feature_input(inputs, pt, eta, phi, energy), pt.shape[1])
    end
  end
  return {score = score, width = inputs.max_constituents, describe = predict.describe(inputs), compiled = plan ~= nil}
end

return E
