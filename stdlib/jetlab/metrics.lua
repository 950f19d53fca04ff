-- jetlab.metrics — ROC curve, AUC, background rejection and accuracy.
--
--   local metrics = require "jetlab.metrics"
--   local roc = metrics.roc(scores, labels, {weights = w})   -- {eff_s=, eff_b=, thresholds=, auc=}
--   print(metrics.auc(scores, labels, {weights = w}))        -- = sklearn roc_auc_score
--   print(metrics.rejection(roc, 0.3), metrics.rejection(roc, 0.5))   -- 1/ε_B at ε_S
--   print(metrics.accuracy(logits, labels))                  -- (N, K) logits or (N) scores
--   local b = metrics.bootstrap(scores, labels, {weights = w})  -- {auc_err=, rej30_err=, rej50_err=, band=}
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

--- metrics.eff_b_at(eff_s, eff_b, grid) → ε_B of a curve (Lua arrays, ε_S ascending) at each ε_S of
--- grid (ascending), interpolated as metrics.rejection does.
function metrics.eff_b_at(es, eb, grid)
  local out, k, n = {}, 1, #es
  for i, s in ipairs(grid) do
    while k <= n and es[k] < s do k = k + 1 end
    if k > n then
      out[i] = eb[n]
    elseif k == 1 or es[k] == s then
      out[i] = eb[k]
    else
      out[i] = eb[k - 1] + (eb[k] - eb[k - 1]) * (s - es[k - 1]) / (es[k] - es[k - 1])
    end
  end
  return out
end

local std = require("jetlab.uncertainty").std

-- The standard deviation of the finite values, nil when under half of them are finite
-- (a rejection is inf when no background passes in a resample).
local function finite_std(list)
  local ok = {}
  for _, v in ipairs(list) do if v == v and v ~= math.huge then ok[#ok + 1] = v end end
  if #ok < #list / 2 then return nil end
  return std(ok)
end

metrics.BOOTSTRAP = {resamples = 200, seed = 20260601}
metrics.BAND_EFF_S = {0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9,
  0.95, 1}

--- metrics.bootstrap(scores, labels[, {weights =, signal =, background =, resamples = 200, seed = 20260601}])
--- → {auc_err =, rej30_err =, rej50_err =, band = {eff_s = {...}, rej_err = {...}}, resamples =}:
--- the standard deviation of the AUC and of 1/ε_B at ε_S = 0.3 and 0.5 over `resamples`
--- resamples of the jets with replacement (indices drawn by jl.randint in C, each resample's
--- ROC one C radix sort), and of 1/ε_B on the grid metrics.BAND_EFF_S (the ROC plots' bands).
--- The draws use a fixed seed, so the errors repeat; jl's generator is left as it was. A
--- resample that lacks one of the classes is left out; a rejection error is nil when under half
--- of the resamples have a finite rejection. scores and labels must pass metrics.roc.
function metrics.bootstrap(scores, labels, opts)
  opts = opts or {}
  local R, seed = opts.resamples or metrics.BOOTSTRAP.resamples, opts.seed or metrics.BOOTSTRAP.seed
  local n = scores.shape[1]
  local grid = metrics.BAND_EFF_S
  local aucs, r30, r50, band = {}, {}, {}, {}
  for g in ipairs(grid) do band[g] = {} end
  local seed0, counter0 = core.rng_state()
  core.manual_seed(seed)
  local function resample()
    local idx = core.randint(1, n + 1, n)
    local w = opts.weights and opts.weights:index_select(1, idx)
    local fine, roc = pcall(metrics.roc, scores:index_select(1, idx), labels:index_select(1, idx),
      {weights = w, signal = opts.signal, background = opts.background})
    if not fine then return end -- a resample without one of the classes: left out
    aucs[#aucs + 1] = roc.auc
    local es, eb = roc.eff_s:tolist(), roc.eff_b:tolist()
    local at = metrics.eff_b_at(es, eb, {0.3, 0.5})
    r30[#r30 + 1], r50[#r50 + 1] = 1 / at[1], 1 / at[2]
    for g, b in ipairs(metrics.eff_b_at(es, eb, grid)) do band[g][#band[g] + 1] = 1 / b end
  end
  local ok, err = pcall(core.no_grad, function() for _ = 1, R do resample() end end)
  core.set_rng_state(seed0, counter0)
  if not ok then error(err, 0) end
  local rej_err = {}
  for g in ipairs(grid) do rej_err[g] = finite_std(band[g]) or 0 / 0 end
  return {auc_err = std(aucs), rej30_err = finite_std(r30), rej50_err = finite_std(r50), resamples = R,
          band = {eff_s = grid, rej_err = rej_err}}
end

return metrics
