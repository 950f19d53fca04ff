-- jetlab.metrics — ROC curve, AUC, background rejection and accuracy.
--
--   local metrics = require "jetlab.metrics"
--   local roc = metrics.roc(scores, labels, {weights = w})   -- {eff_s=, eff_b=, thresholds=, auc=}
--   print(metrics.auc(scores, labels, {weights = w}))        -- = sklearn roc_auc_score
--   print(metrics.rejection(roc, 0.3), metrics.rejection(roc, 0.5))   -- 1/ε_B at ε_S
--   print(metrics.accuracy(logits, labels))                  -- (N, K) logits or (N) scores
--
-- Labels follow the training convention: class labels 1..K, and for the
-- binary metrics 1 = background, 2 = signal; pass {signal = 1} to roc/auc for
-- files that use 0/1 (background 0 then), {signal =, background =} for any
-- other pair. A label outside the convention (a 0 or a 3 among 1/2 labels, a
-- class above K for accuracy) is an error naming its value and position.
-- Scores are the signal probability (train.predict) or any monotone score.
--
-- roc and auc are C (jl.metrics, core/metrics.c): one radix sort, exact on
-- ties (tied scores are one point), weighted. The curve runs from (0, 0) at
-- threshold +inf through one point per distinct score to (1, 1), as sklearn's
-- roc_curve(drop_intermediate=False); its tensors are f32 (the engine has no
-- f64), while auc is accumulated in double and matches sklearn to ~1e-15.
-- This module adds rejection and accuracy to that same table, so after
-- require "jetlab.metrics", jl.metrics holds all four.

local core = require "jetlab.core"

local metrics = core.metrics

--- metrics.rejection(roc, eff_s) → 1/ε_B, ε_B at signal efficiency eff_s (0 < eff_s <= 1).
--- ε_B is interpolated linearly between the two points of the curve that
--- bracket eff_s (the first point with ε_S >= eff_s and the one before it); the
--- rejection is math.huge (inf) when ε_B there is 0 — no background passes.
--- Needs ε_S non-decreasing along the curve, i.e. non-negative weights.
function metrics.rejection(roc, eff_s)
  assert(type(roc) == "table" and core.is_tensor(roc.eff_s) and core.is_tensor(roc.eff_b),
    "metrics.rejection: roc table from metrics.roc expected")
  assert(type(eff_s) == "number" and eff_s > 0 and eff_s <= 1,
    "metrics.rejection: signal efficiency in (0, 1] expected, got " .. tostring(eff_s))
  local es, eb = roc.eff_s, roc.eff_b
  -- es[1] = 0 < eff_s and es[#es] = 1 >= eff_s, so 2 <= k <= #es
  local k = es:lt(eff_s):to("i64"):sum():item() + 1
  local s1, b1 = es[k], eb[k]
  local eps_b = b1
  if s1 ~= eff_s then
    local s0, b0 = es[k - 1], eb[k - 1]
    eps_b = b0 + (b1 - b0) * (eff_s - s0) / (s1 - s0)
  end
  return eps_b > 0 and 1 / eps_b or math.huge, eps_b
end

--- metrics.accuracy(x, labels[, {weights=, threshold=0.5}]) → fraction correct.
--- x is (N, K) logits or probabilities (prediction: the argmax, a class 1..K)
--- or (N) signal scores (prediction: 2 when score > threshold, else 1);
--- labels (N) hold classes 1..K; weights (N) weigh each sample.
function metrics.accuracy(x, labels, opts)
  opts = opts or {}
  for k in pairs(opts) do
    assert(k == "weights" or k == "threshold", "metrics.accuracy: unknown option '" .. tostring(k) .. "'")
  end
  assert(core.is_tensor(x) and (x.ndim == 1 or x.ndim == 2), "metrics.accuracy: (N, K) or (N) tensor expected")
  assert(core.is_tensor(labels) and labels.ndim == 1 and labels.shape[1] == x.shape[1],
    "metrics.accuracy: labels must be a (N) tensor matching the " .. x.shape[1] .. " rows of x")
  local K = x.ndim == 2 and x.shape[2] or 2
  local i = core.no_grad(function()
    local bad = labels:lt(1):to("i64") + labels:gt(K):to("i64")
    return labels.shape[1] > 0 and bad:sum():item() > 0 and bad:argmax(1):item() or nil
  end)
  if i then
    error(string.format("metrics.accuracy: label %g at position %d is not a class 1..%d%s", labels[i], i, K,
      x.ndim == 1 and " (1 = background, 2 = signal)" or ""), 2)
  end
  return core.no_grad(function()
    local pred
    if x.ndim == 2 then
      pred = x:argmax(2)
    else
      pred = x:gt(opts.threshold or 0.5):to("i64") + 1
    end
    local correct = pred:eq(labels:to("i64")):to("f32")
    local w = opts.weights
    if w then return (correct * w):sum():item() / w:sum():item() end
    return correct:mean():item()
  end)
end

return metrics
