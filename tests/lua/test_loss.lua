-- test_loss.lua — jetlab.loss against plain-Lua formulas: cross-entropy (1-based
-- labels, per-sample weights, reductions, gradient), bce_with_logits, mse,
-- kl_div, the distillation criteria (hinton value and gradient, features,
-- relational), option errors, and that no criterion changes its inputs.
local T = require "jetlab.test"
local loss = require "jetlab.loss"

local B, K = 5, 3
local logits_v = {{0.2, -1.0, 0.5}, {1.5, 0.3, -0.2}, {-0.7, 0.0, 2.0}, {0.1, 0.1, 0.1}, {3.0, -2.0, 0.4}}
local labels_v = {1, 3, 3, 2, 1}
local weights_v = {0.5, 2.0, 1.0, 0.25, 1.5}

local function logsumexp(row)
  local m = -math.huge
  for _, v in ipairs(row) do m = math.max(m, v) end
  local s = 0
  for _, v in ipairs(row) do s = s + math.exp(v - m) end
  return m + math.log(s)
end

local function softmax(row, temp)
  temp = temp or 1
  local scaled = {}
  for k, v in ipairs(row) do scaled[k] = v / temp end
  local lse, out = logsumexp(scaled), {}
  for k, v in ipairs(scaled) do out[k] = math.exp(v - lse) end
  return out
end

local function weighted_mean(values, weights)
  local num, den = 0, 0
  for i, v in ipairs(values) do
    local w = weights and weights[i] or 1
    num, den = num + w * v, den + w
  end
  return num / den
end

local function ce_rows(rows, labels)
  local out = {}
  for i, row in ipairs(rows) do out[i] = logsumexp(row) - row[labels[i]] end
  return out
end

local function inputs()
  return jl.from(logits_v, {requires_grad = true}), jl.from(labels_v, {dtype = "i64"}), jl.from(weights_v)
end

T.case("cross_entropy: mean, weighted mean, sum and none against the formula", function()
  local x, y, w = inputs()
  local per = ce_rows(logits_v, labels_v)
  T.near(loss.cross_entropy(x, y):item(), weighted_mean(per), 1e-6)
  T.near(loss.cross_entropy(x, y, {weights = w}):item(), weighted_mean(per, weights_v), 1e-6)
  local s = 0
  for i, v in ipairs(per) do s = s + weights_v[i] * v end
  T.near(loss.cross_entropy(x, y, {weights = w, reduction = "sum"}):item(), s, 1e-6)
  local none = loss.cross_entropy(x, y, {weights = w, reduction = "none"}):tolist()
  for i, v in ipairs(per) do T.near(none[i], weights_v[i] * v, 1e-6) end
  T.eq(loss.cross_entropy(x, y:int()):item(), loss.cross_entropy(x, y):item())
end)

T.case("cross_entropy: gradient is (softmax - onehot) w / sum(w)", function()
  local x, y, w = inputs()
  loss.cross_entropy(x, y, {weights = w}):backward()
  local wsum = 0
  for _, v in ipairs(weights_v) do wsum = wsum + v end
  local want = {}
  for i, row in ipairs(logits_v) do
    local p = softmax(row)
    want[i] = {}
    for k = 1, K do want[i][k] = (p[k] - (k == labels_v[i] and 1 or 0)) * weights_v[i] / wsum end
  end
  T.near(x.grad, want, 1e-6)
end)

T.case("cross_entropy: labels out of range name the label and K", function()
  local x = jl.from(logits_v)
  T.raises(function() loss.cross_entropy(x, jl.from({1, 2, 4, 1, 1}, {dtype = "i64"})) end, "label 4 %(row 3%) out of range for 3 classes")
  T.raises(function() loss.cross_entropy(x, jl.from({0, 2, 3, 1, 1}, {dtype = "i64"})) end, "label 0")
  T.raises(function() loss.cross_entropy(x, jl.from({1, 2, 3, 1, 1})) end, "i64 or i32")
  T.raises(function() loss.cross_entropy(x, jl.from({1, 2}, {dtype = "i64"})) end, "labels")
  T.raises(function() loss.cross_entropy(x, jl.from(labels_v, {dtype = "i64"}), {weight = jl.ones(5)}) end,
    "unknown option 'weight'")
  T.raises(function() loss.cross_entropy(x, jl.from(labels_v, {dtype = "i64"}), {reduction = "avg"}) end, "reduction")
end)

T.case("bce_with_logits: stable values and gradient sigmoid(x) - y", function()
  local xs, ys = {0, 2, -3, 40, -40, 0.5}, {1, 0, 0.25, 1, 0, 0.7}
  local x = jl.from(xs, {requires_grad = true})
  local l = loss.bce_with_logits(x, jl.from(ys))
  local want, grads = 0, {}
  for i, v in ipairs(xs) do
    local softplus = math.max(v, 0) + math.log(1 + math.exp(-math.abs(v)))
    want = want + (softplus - v * ys[i]) / #xs
    grads[i] = (1 / (1 + math.exp(-v)) - ys[i]) / #xs
  end
  T.near(l:item(), want, 1e-6)
  l:backward()
  T.near(x.grad, grads, 1e-6)
  local w = jl.from({1, 2, 3, 4, 5, 6})
  local per = loss.bce_with_logits(jl.from(xs), jl.from(ys), {reduction = "none"}):tolist()
  local wl = loss.bce_with_logits(jl.from(xs), jl.from(ys), {weights = w}):item()
  local num = 0
  for i, v in ipairs(per) do num = num + i * v end
  T.near(wl, num / 21, 1e-6)
end)

T.case("mse: elementwise mean, and per-sample means under weights", function()
  local a = jl.from({{1, 2}, {3, 4}, {0, -1}})
  local b = jl.from({{0, 2}, {1, 1}, {0, 1}})
  -- squared errors: {1, 0}, {4, 9}, {0, 4}
  T.near(loss.mse(a, b):item(), 18 / 6, 1e-6)
  T.near(loss.mse(a, b, {reduction = "sum"}):item(), 18, 1e-6)
  T.near(loss.mse(a, b, {weights = jl.from({1, 0, 3})}):item(), (1 * 0.5 + 3 * 2) / 4, 1e-6)
  T.eq(loss.mse(a, b, {reduction = "none"}).shape, {3, 2})
end)

T.case("kl_div: torch's convention, log_target, zero probabilities and reductions", function()
  local q = {{0.2, 0.5, 0.3}, {0.6, 0.2, 0.2}}
  local p = {{0.1, 0.0, 0.9}, {0.3, 0.3, 0.4}}
  local log_q = jl.from(q):log()
  local rows = {}
  for i = 1, 2 do
    rows[i] = 0
    for k = 1, 3 do
      if p[i][k] > 0 then rows[i] = rows[i] + p[i][k] * (math.log(p[i][k]) - math.log(q[i][k])) end
    end
  end
  T.near(loss.kl_div(log_q, jl.from(p)):item(), (rows[1] + rows[2]) / 2, 1e-6)
  T.near(loss.kl_div(log_q, jl.from(p), {reduction = "sum"}):item(), rows[1] + rows[2], 1e-6)
  T.near(loss.kl_div(log_q, jl.from(p), {reduction = "mean"}):item(), (rows[1] + rows[2]) / 6, 1e-6)
  T.near(loss.kl_div(log_q, jl.from(p), {weights = jl.from({3, 1})}):item(), (3 * rows[1] + rows[2]) / 4, 1e-6)
  local p2 = jl.from({{0.1, 0.2, 0.7}, {0.3, 0.3, 0.4}})
  T.near(loss.kl_div(log_q, p2:log(), {log_target = true}):item(), loss.kl_div(log_q, p2):item(), 1e-6)
  T.eq(loss.kl_div(log_q, p2, {reduction = "none"}).shape, {2, 3})
  T.raises(function() loss.kl_div(log_q, p2, {reduction = "avg"}) end, "reduction")
end)

-- hinton in plain Lua: value and gradient wrt the student's logits
local function hinton_reference(s, t, labels, weights, alpha, temp)
  local ce, kl, grad = {}, {}, {}
  for i = 1, #s do
    ce[i] = logsumexp(s[i]) - s[i][labels[i]]
    local ps, pt, p = softmax(s[i], temp), softmax(t[i], temp), softmax(s[i])
    kl[i] = 0
    for k = 1, #s[i] do kl[i] = kl[i] + pt[k] * (math.log(pt[k]) - math.log(ps[k])) end
    grad[i] = {}
    for k = 1, #s[i] do
      local dce = p[k] - (k == labels[i] and 1 or 0)
      local dkl = (ps[k] - pt[k]) / temp
      grad[i][k] = alpha * dce + (1 - alpha) * temp * temp * dkl
    end
  end
  local den = 0
  for i = 1, #s do den = den + (weights and weights[i] or 1) end
  for i = 1, #s do
    local w = weights and weights[i] or 1
    for k = 1, #s[i] do grad[i][k] = grad[i][k] * w / den end
  end
  local value = alpha * weighted_mean(ce, weights) + (1 - alpha) * temp * temp * weighted_mean(kl, weights)
  return value, grad
end

T.case("kd.hinton: value and gradient match the formula, with and without weights", function()
  local teacher_v = {{1.0, 0.0, -1.0}, {0.5, 2.5, 0.1}, {-1.0, 0.3, 1.2}, {0.0, 0.9, 0.2}, {2.0, 0.1, -0.4}}
  for _, weighted in ipairs({false, true}) do
    local s, y, w = inputs()
    local t = jl.from(teacher_v, {requires_grad = true})
    local crit = loss.kd.hinton{alpha = 0.3, T = 4}
    local l, parts = crit(s, y, t, weighted and {weights = w} or nil)
    local want, grad = hinton_reference(logits_v, teacher_v, labels_v, weighted and weights_v or nil, 0.3, 4)
    T.near(l:item(), want, 1e-6)
    T.near(l:item(), 0.3 * parts.ce:item() + 0.7 * 16 * parts.kl:item(), 1e-6)
    l:backward()
    T.near(s.grad, grad, 1e-6)
    T.eq(t.grad, nil, "no gradient reaches the teacher")
  end
end)

T.case("kd.hinton: alpha = 1 is cross-entropy, and option errors", function()
  local s, y = inputs()
  local l = loss.kd.hinton{alpha = 1, T = 2}(s, y, jl.randn(B, K))
  T.near(l:item(), loss.cross_entropy(s, y):item(), 1e-6)
  T.raises(function() loss.kd.hinton{alpha = 0.5} end, "'T' is required")
  T.raises(function() loss.kd.hinton{alpha = 1.5, T = 2} end, "alpha")
  T.raises(function() loss.kd.hinton{alpha = 0.5, T = 2, temperature = 3} end, "unknown option 'temperature'")
end)

T.case("criteria never change their inputs", function()
  local s, y, w = inputs()
  local t = jl.randn(B, K)
  local fs, ft = jl.randn(B, 4, {requires_grad = true}), jl.randn(B, 6)
  local keep = {s:clone(), y:clone(), w:clone(), t:clone(), fs:clone(), ft:clone()}
  local total = loss.kd.hinton{alpha = 0.5, T = 3}(s, y, t, {weights = w})
    + loss.kd.features{student_dim = 4, teacher_dim = 6}(fs, ft, {weights = w})
    + loss.kd.relational{}(fs, ft)
    + loss.cross_entropy(s, y, {weights = w}) + loss.bce_with_logits(s, s:sigmoid():detach())
    + loss.mse(s, t) + loss.kl_div(s:log_softmax(2), t:softmax(2))
  total:backward()
  for i, v in ipairs({s, y, w, t, fs, ft}) do T.ok(jl.equal(v, keep[i]), "input " .. i .. " changed") end
end)

T.case("kd.features: trains its projection, never the teacher", function()
  local feat = loss.kd.features{student_dim = 4, teacher_dim = 6}
  T.eq(#feat:parameters(), 2)
  local s, t = jl.randn(8, 4, {requires_grad = true}), jl.randn(8, 6, {requires_grad = true})
  local l = feat(s, t)
  local want = jl.no_grad(function() return ((feat.proj(s) - t) ^ 2):mean() end)
  T.near(l:item(), want:item(), 1e-6)
  l:backward()
  T.ok(feat.proj.weight.grad ~= nil and s.grad ~= nil)
  T.eq(t.grad, nil)
end)

-- pairwise distances normalised by their off-diagonal mean, in plain Lua
local function rkd_reference(a, b)
  local function dist(x)
    local n, d, total = #x, {}, 0
    for i = 1, n do
      d[i] = {}
      for j = 1, n do
        local s = 0
        for k = 1, #x[i] do s = s + (x[i][k] - x[j][k]) ^ 2 end
        d[i][j] = math.sqrt(s)
        total = total + d[i][j]
      end
    end
    local mean = total / (n * (n - 1))
    for i = 1, n do
      for j = 1, n do d[i][j] = d[i][j] / mean end
    end
    return d
  end
  local da, db, s, n = dist(a), dist(b), 0, #a
  for i = 1, n do
    for j = 1, n do
      if i ~= j then s = s + (da[i][j] - db[i][j]) ^ 2 end
    end
  end
  return s / (n * (n - 1))
end

T.case("kd.relational: matches the RKD formula, scale-free, finite gradient", function()
  jl.manual_seed(3)
  local s, t = jl.randn(6, 3, {requires_grad = true}), jl.randn(6, 5)
  local crit = loss.kd.relational{}
  local l = crit(s, t)
  T.near(l:item(), rkd_reference(s:tolist(), t:tolist()), 1e-5)
  l:backward()
  T.ok(jl.equal(s.grad, s.grad), "gradient has no NaN")
  T.near(crit(s * 3, t):item(), l:item(), 1e-5)
  local same = jl.randn(6, 4)
  T.near(crit(same, same * 2.5):item(), 0, 1e-6)
  T.raises(function() crit(jl.randn(1, 3), jl.randn(1, 3)) end, "two or more samples")
end)
T.run()
