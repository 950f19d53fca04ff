-- test_metrics.lua — jetlab.metrics against scikit-learn (tests/fixtures/roc_fixture.lua,
-- made by make_roc_fixture.py): ROC points and AUC with ties, with and without
-- weights; rejection (interpolated, exact points, inf); accuracy; errors.
local T = require "jetlab.test"
local metrics = require "jetlab.metrics"

local fx = dofile("tests/fixtures/roc_fixture.lua")
local scores = jl.tensor(fx.scores)
local labels = jl.tensor(fx.labels, {dtype = "i64"})
local weights = jl.tensor(fx.weights)

local function check_curve(roc, ref)
  local n = #ref.fpr
  T.eq(roc.eff_s.shape, {n}, "one point per distinct score, plus (0, 0)")
  T.eq(roc.thresholds[1], math.huge)
  -- thresholds are multiples of 1/64: exact in f32
  T.eq(roc.thresholds:narrow(1, 2, n - 1):tolist(), ref.thresholds)
  -- ε are f32 tensors: compare to f32 precision
  T.near(roc.eff_b, ref.fpr, 1e-7)
  T.near(roc.eff_s, ref.tpr, 1e-7)
end

T.case("roc equals sklearn roc_curve on tied scores", function()
  check_curve(metrics.roc(scores, labels), fx.unweighted)
end)

T.case("weighted roc equals sklearn roc_curve(sample_weight=)", function()
  check_curve(metrics.roc(scores, labels, {weights = weights}), fx.weighted)
end)

T.case("auc equals sklearn roc_auc_score to 1e-12, with and without weights", function()
  T.near(metrics.auc(scores, labels), fx.unweighted.auc, 1e-12)
  T.near(metrics.auc(scores, labels, {weights = weights}), fx.weighted.auc, 1e-12)
  T.near(metrics.roc(scores, labels, {weights = weights}).auc, fx.weighted.auc, 1e-12)
  T.ok(math.abs(fx.weighted.auc - fx.unweighted.auc) > 1e-4, "the weights matter in this fixture")
end)

T.case("0/1 labels with {signal = 1}; f32 labels; weights = nil is unweighted", function()
  local zero_one = labels - 1
  T.near(metrics.auc(scores, zero_one, {signal = 1}), fx.unweighted.auc, 1e-12)
  T.near(metrics.auc(scores, labels:to("f32"), {weights = nil}), fx.unweighted.auc, 1e-12)
end)

-- 1/ε_B at ε_S by linear interpolation on sklearn's (double) curve
local function reference_rejection(ref, eff)
  for k = 2, #ref.tpr do
    if ref.tpr[k] >= eff then
      local s0, s1, b0, b1 = ref.tpr[k - 1], ref.tpr[k], ref.fpr[k - 1], ref.fpr[k]
      return 1 / (b0 + (b1 - b0) * (eff - s0) / (s1 - s0))
    end
  end
end

T.case("rejection interpolates ε_B between the bracketing points", function()
  for _, case in ipairs({{{}, fx.unweighted}, {{weights = weights}, fx.weighted}}) do
    local roc = metrics.roc(scores, labels, case[1])
    for _, eff in ipairs({0.3, 0.5, 0.77}) do
      local r, eb = metrics.rejection(roc, eff)
      T.near(r, reference_rejection(case[2], eff), 1e-5, "eff_s " .. eff)
      T.near(eb, 1 / r, 1e-12)
    end
  end
end)

T.case("rejection at an exact point, and inf when no background passes", function()
  -- scores: signal 0.9, 0.8; background 0.7, 0.1 → points (0,0) (.5,0) (1,0) (1,.5) (1,1)
  local s = jl.tensor({0.9, 0.8, 0.7, 0.1})
  local y = jl.tensor({2, 2, 1, 1}, {dtype = "i64"})
  local roc = metrics.roc(s, y)
  T.eq(roc.eff_s:tolist(), {0, 0.5, 1, 1, 1})
  T.eq(roc.eff_b:tolist(), {0, 0, 0, 0.5, 1})
  T.eq(metrics.rejection(roc, 0.3), math.huge)
  T.eq(metrics.rejection(roc, 1.0), math.huge)
  T.eq(metrics.auc(s, y), 1.0)
  -- signal 0.9, 0.5; background 0.6, 0.2 → (0,0) (.5,0) (.5,.5) (1,.5) (1,1): at ε_S = .5, ε_B = 0 (first point)
  local roc2 = metrics.roc(jl.tensor({0.9, 0.5, 0.6, 0.2}), y)
  T.eq(metrics.rejection(roc2, 0.5), math.huge)
  T.near(metrics.rejection(roc2, 0.75), 1 / 0.5, 1e-12)     -- between (.5,.5) and (1,.5)
  T.near(metrics.rejection(roc2, 0.25), math.huge, 0)      -- between (0,0) and (.5,0)
end)

T.case("accuracy from logits, probabilities and scores, weighted", function()
  local logits = jl.tensor({{2, 1}, {0, 3}, {1, 0}, {0.5, 0.2}})
  local y = jl.tensor({1, 2, 2, 1}, {dtype = "i64"})
  T.near(metrics.accuracy(logits, y), 0.75, 1e-12)
  T.near(metrics.accuracy(logits:softmax(2), y), 0.75, 1e-12)
  local w = jl.tensor({1, 1, 2, 4})
  T.near(metrics.accuracy(logits, y, {weights = w}), 6 / 8, 1e-7)
  local p = jl.tensor({0.2, 0.9, 0.4, 0.6})
  T.near(metrics.accuracy(p, y), 0.5, 1e-12)
  T.near(metrics.accuracy(p, y, {threshold = 0.3}), 0.75, 1e-12)
  T.near(metrics.accuracy(p, y, {threshold = 0.65, weights = w}), 6 / 8, 1e-7)
end)

T.case("errors name the problem", function()
  T.raises(function() metrics.roc(scores, labels:narrow(1, 1, 10)) end, "labels has 10 entries but scores have 300")
  T.raises(function() metrics.roc(scores, labels, {weight = weights}) end, "unknown option 'weight'")
  T.raises(function() metrics.auc(scores, labels - 1) end, "label 0 at position %d+ is neither background %(1%) nor signal %(2%)")
  T.raises(function() metrics.auc(scores, jl.ones_like(labels)) end, "signal has no weight")
  T.raises(function() metrics.auc(jl.tensor({0 / 0, 1}), jl.tensor({1, 2})) end, "score 1 is NaN")
  T.raises(function() metrics.rejection(metrics.roc(scores, labels), 0) end, "signal efficiency in %(0, 1%]")
  T.raises(function() metrics.accuracy(scores, labels, {thresold = 0.5}) end, "unknown option 'thresold'")
end)

T.case("a million scores: roc and auc in well under a second", function()
  jl.manual_seed(3)
  local n = 1000000
  local y = jl.randint(1, 3, n)
  local s = jl.rand(n) + y:to("f32") * 0.5
  local t0 = jl.clock()
  local roc = metrics.roc(s, y)
  local seconds = jl.clock() - t0
  T.ok(seconds < 1.0, string.format("roc of 1e6 scores took %.3f s", seconds))
  -- background U(0.5, 1.5), signal U(1, 2): P(s_sig > s_bkg) = 1 - 0.5^2 / 2
  T.near(roc.auc, 0.875, 0.005)
end)

T.run()
