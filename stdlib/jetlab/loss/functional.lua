-- jetlab.loss.functional — the plain criteria: cross-entropy, binary
-- cross-entropy on logits, mean squared error and KL divergence, all with
-- optional per-sample weights (the ATLAS training weights).
--
--   local F = require "jetlab.loss.functional"   -- also as require("jetlab.loss")
--   local l = F.cross_entropy(logits, labels, {weights = w})   -- labels 1..K
--   local b = F.bce_with_logits(scores, targets)               -- targets in [0, 1]
--   local m = F.mse(pred, target)
--   local k = F.kl_div(student:log_softmax(2), teacher_probs)  -- KL(teacher ‖ student)
--
-- Options (a table, last): weights = (B) f32 per-sample weights; reduction =
-- "mean" (default), "sum" or "none". With weights, "mean" is the weighted mean
-- over samples, sum(w l) / sum(w), l being each sample's loss (the mean of its
-- elements for mse and bce_with_logits); "sum" is sum(w l); "none" gives w l
-- per sample (B). Without weights every criterion reduces like its
-- torch.nn.functional namesake. Gradients flow to the first argument (and to
-- the target of mse/kl_div when it requires grad), never to the weights.
-- No criterion changes its inputs. Shapes are checked at the entry, the
-- message naming the criterion and the shapes given ("loss.mse: input (4, 2)
-- and target (4, 3) differ"): mse, bce_with_logits and kl_div take input and
-- target of one shape (no broadcasting), cross_entropy logits (B, K) and
-- labels (B).

local jl = require "jetlab"
local options = require "jetlab.options"

local F = {}

local OPTIONAL = options.OPTIONAL
local REDUCTIONS = {mean = true, sum = true, none = true}

local function check_reduction(what, reduction, allowed)
  if not (allowed or REDUCTIONS)[reduction] then
    error(string.format("%s: unknown reduction '%s'", what, tostring(reduction)), 3)
  end
end

local function check_weights(what, weights, batch)
  if weights == nil then return end
  if not jl.is_tensor(weights) or weights:dim() ~= 1 or weights:size(1) ~= batch then
    error(string.format("%s: weights must be a (%d) tensor, one per sample, got %s", what, batch,
      jl.is_tensor(weights) and "(" .. table.concat(weights.shape, ", ") .. ")" or type(weights)), 3)
  end
end

local function shape_text(t)
  return "(" .. table.concat(t.shape, ", ") .. ")"
end

--- F.check_tensor(what, name, t[, ndim]) raises "<what>: <name> must be a
--- tensor[ of ndim dimensions], got ..." unless it is one (level: the
--- criterion's caller). Exposed for the criteria built elsewhere (loss.kd).
function F.check_tensor(what, name, t, ndim, level)
  if not jl.is_tensor(t) then
    error(string.format("%s: %s must be a tensor, got %s", what, name, type(t)), (level or 2) + 1)
  end
  if ndim and t:dim() ~= ndim then
    error(string.format("%s: %s must have %d dimension%s, got %s", what, name, ndim, ndim == 1 and "" or "s",
      shape_text(t)), (level or 2) + 1)
  end
end

--- F.check_same_shape(what, a_name, a, b_name, b[, level]) raises "<what>:
--- <a_name> (4, 2) and <b_name> (4, 3) differ" unless a and b are tensors of
--- one shape.
function F.check_same_shape(what, a_name, a, b_name, b, level)
  level = (level or 2) + 1
  F.check_tensor(what, a_name, a, nil, level)
  F.check_tensor(what, b_name, b, nil, level)
  local sa, sb = a.shape, b.shape
  local same = #sa == #sb
  for i = 1, #sa do same = same and sa[i] == sb[i] end
  if not same then
    error(string.format("%s: %s %s and %s %s differ", what, a_name, shape_text(a), b_name, shape_text(b)), level)
  end
end

--- F.check_labels(what, logits, labels[, level]) raises unless logits are (B, K)
--- and labels a (B) tensor.
function F.check_labels(what, logits, labels, level)
  level = (level or 2) + 1
  F.check_tensor(what, "logits", logits, 2, level)
  F.check_tensor(what, "labels", labels, nil, level)
  if labels:dim() ~= 1 or labels:size(1) ~= logits:size(1) then
    error(string.format("%s: logits %s and labels %s differ: one label per row expected", what, shape_text(logits),
      shape_text(labels)), level)
  end
end

--- F.reduce(el, weights, reduction) — the shared reduction of an elementwise
--- loss el (B, ...): see the header. Exposed for criteria built elsewhere.
function F.reduce(el, weights, reduction)
  if not weights then
    if reduction == "none" then return el end
    if reduction == "sum" then return el:sum() end
    return el:mean()
  end
  local per = el:dim() == 1 and el or el:reshape(el:size(1), -1):mean(2)
  local wl = per * weights
  if reduction == "none" then return wl end
  if reduction == "sum" then return wl:sum() end
  return wl:sum() / weights:sum()
end

--- F.cross_entropy(logits (B, K), labels (B) i64 1..K[, {weights=, reduction=}])
--- Fused softmax cross-entropy in C (jl.cross_entropy).
function F.cross_entropy(logits, labels, opts)
  local o = options.check("cross_entropy", opts, {weights = OPTIONAL, reduction = "mean"})
  F.check_labels("loss.cross_entropy", logits, labels)
  return jl.cross_entropy(logits, labels, {weights = o.weights, reduction = o.reduction})
end

--- F.bce_with_logits(logits, targets[, {weights=, reduction=}]) — binary
--- cross-entropy of sigmoid(logits) against targets in [0, 1] (same shape),
--- as -(y log σ(x) + (1-y) log σ(-x)) with log σ from a two-way log_softmax
--- over (0, x): stable for any |x| and with the exact gradient σ(x) - y.
function F.bce_with_logits(logits, targets, opts)
  local o = options.check("bce_with_logits", opts, {weights = OPTIONAL, reduction = "mean"})
  F.check_same_shape("loss.bce_with_logits", "logits", logits, "targets", targets)
  check_reduction("bce_with_logits", o.reduction)
  check_weights("bce_with_logits", o.weights, logits:size(1))
  local last = logits:dim() + 1
  local ls = jl.stack({jl.zeros_like(logits), logits}, last):log_softmax(last)
  local log_p, log_q = ls:select(last, 2), ls:select(last, 1)
  local el = -(targets * log_p + (1 - targets) * log_q)
  return F.reduce(el, o.weights, o.reduction)
end

--- F.mse(input, target[, {weights=, reduction=}]) — (input - target)^2;
--- "mean" without weights averages over every element (torch's mse_loss).
function F.mse(input, target, opts)
  local o = options.check("mse", opts, {weights = OPTIONAL, reduction = "mean"})
  F.check_same_shape("loss.mse", "input", input, "target", target)
  check_reduction("mse", o.reduction)
  check_weights("mse", o.weights, input:size(1))
  return F.reduce((input - target) ^ 2, o.weights, o.reduction)
end

--- F.kl_div(input, target[, {log_target=false, reduction="batchmean", weights=}])
--- torch.nn.functional.kl_div's convention: input holds log-probabilities
--- log q (B, K) of the model being trained, target the reference
--- distribution p as probabilities (or log-probabilities with log_target);
--- the result is KL(p ‖ q) = sum_k p_k (log p_k - log q_k), with 0 log 0 = 0.
--- reduction: "batchmean" (default; sum / B, the true KL per sample, or the
--- weighted mean of the per-sample KLs), "sum", "mean" (over all B*K
--- elements, torch's default, = batchmean / K), "none" ((B, K) pointwise,
--- rows scaled by the weights when given).
function F.kl_div(input, target, opts)
  local o = options.check("kl_div", opts,
    {log_target = false, reduction = "batchmean", weights = OPTIONAL})
  F.check_same_shape("loss.kl_div", "input", input, "target", target)
  F.check_tensor("loss.kl_div", "input", input, 2)
  check_reduction("kl_div", o.reduction, {batchmean = true, sum = true, mean = true, none = true})
  check_weights("kl_div", o.weights, input:size(1))
  local pointwise
  if o.log_target then
    pointwise = target:exp() * (target - input)
  else
    pointwise = target * (target:clamp(1e-30):log() - input)
  end
  if o.reduction == "none" then
    return o.weights and pointwise * o.weights:view(-1, 1) or pointwise
  end
  local per = pointwise:sum(2)
  if o.reduction == "sum" then return F.reduce(per, o.weights, "sum") end
  local batchmean = F.reduce(per, o.weights, "mean")
  if o.reduction == "mean" then return batchmean * (1 / input:size(2)) end
  return batchmean
end

return F
