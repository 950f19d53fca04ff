-- test_autograd.lua — autograd from Lua: fields, backward of small chains
-- against hand-derived gradients, accumulation, no_grad, detach.
local T = require "jetlab.test"

T.case("README check: relu():sum() gives a 0/1 mask of a > 0", function()
  local a = jl.randn(3, 4, {requires_grad = true})
  T.eq(a.grad, nil)
  ;(a:relu():sum()):backward()
  local g = a.grad
  T.eq(g.shape, {3, 4})
  T.eq(g:tolist(), a:gt(0):float():tolist())
end)

T.case("leaf and graph fields", function()
  local x = jl.from({1, 2, 3}, {requires_grad = true})
  T.eq(x.requires_grad, true)
  T.eq(x.is_leaf, true)
  T.eq(x.grad_fn, nil)
  local y = x * 2
  T.eq(y.requires_grad, true)
  T.eq(y.is_leaf, false)
  T.eq(type(y.grad_fn), "string")
  local c = jl.from({1, 2})
  T.eq(c.requires_grad, false)
  c.requires_grad = true
  T.eq(c.requires_grad, true)
  c.requires_grad = false
  T.eq(c.requires_grad, false)
  T.ok(rawequal(c:requires_grad_(), c))
  T.eq(c.requires_grad, true)
  c:requires_grad_(false)
  T.eq(c.requires_grad, false)
end)

T.case("backward of a chain matches hand-derived gradients", function()
  -- f = sum((x * w + 1)^2) ; df/dx = 2 (x w + 1) w ; df/dw = 2 (x w + 1) x
  local x = jl.from({1, 2, 3}, {requires_grad = true})
  local w = jl.from({0.5, -1, 2}, {requires_grad = true})
  local f = ((x * w + 1) ^ 2):sum()
  T.near(f:item(), (1.5 ^ 2) + (-1) ^ 2 + 7 ^ 2, 1e-6)
  f:backward()
  T.near(x.grad:tolist(), {2 * 1.5 * 0.5, 2 * -1 * -1, 2 * 7 * 2}, 1e-6)
  T.near(w.grad:tolist(), {2 * 1.5 * 1, 2 * -1 * 2, 2 * 7 * 3}, 1e-6)
end)

T.case("backward through broadcasting, matmul, mean and reversed scalars", function()
  local a = jl.from({{1, 2}, {3, 4}}, {requires_grad = true})
  local b = jl.from({10, 20}, {requires_grad = true})   -- broadcast over rows
  local y = ((2 - a) * b + 1 / (a + 1)):mean()
  y:backward()
  -- dy/da = (-b - 1/(a+1)^2) / 4 ; dy/db_j = sum_i (2 - a_ij) / 4
  local ga = {}
  for i, row in ipairs({{1, 2}, {3, 4}}) do
    ga[i] = {}
    for j, v in ipairs(row) do ga[i][j] = (-({10, 20})[j] - 1 / (v + 1) ^ 2) / 4 end
  end
  T.near(a.grad:tolist(), ga, 1e-5)
  T.near(b.grad:tolist(), {((2 - 1) + (2 - 3)) / 4, ((2 - 2) + (2 - 4)) / 4}, 1e-6)

  local m = jl.from({{1, 2}, {3, 4}}, {requires_grad = true})
  local v = jl.from({{1}, {1}})
  m:matmul(v):sum():backward()
  T.eq(m.grad:tolist(), {{1, 1}, {1, 1}})
end)

T.case("backward with an explicit gradient", function()
  local x = jl.from({1, 2, 3}, {requires_grad = true})
  local y = x * 3
  y:backward(jl.from({1, 0, 2}))
  T.eq(x.grad:tolist(), {3, 0, 6})
end)

T.case("gradients accumulate over two backwards; grad = nil clears", function()
  local x = jl.from({1, 2}, {requires_grad = true})
  ;(x * x):sum():backward()
  T.eq(x.grad:tolist(), {2, 4})
  ;(x * 3):sum():backward()
  T.eq(x.grad:tolist(), {5, 7})
  x.grad = nil
  T.eq(x.grad, nil)
  ;(x * 3):sum():backward()
  T.eq(x.grad:tolist(), {3, 3})
  x.grad = jl.zeros(2)
  T.eq(x.grad:tolist(), {0, 0})
end)

T.case("no_grad records nothing and restores grad mode, even on error", function()
  local x = jl.ones(2, {requires_grad = true})
  T.eq(jl.is_grad_enabled(), true)
  local y, extra = jl.no_grad(function(k)
    T.eq(jl.is_grad_enabled(), false)
    return x * k, "second"
  end, 5)
  T.eq(extra, "second")
  T.eq(y.requires_grad, false)
  T.eq(y.grad_fn, nil)
  T.eq(y:tolist(), {5, 5})
  T.eq(jl.is_grad_enabled(), true)
  local ok, err = pcall(jl.no_grad, function() error("boom") end)
  T.eq(ok, false)
  T.ok(tostring(err):find("boom"))
  T.eq(jl.is_grad_enabled(), true, "restored after an error")
  jl.no_grad(function()
    local z = jl.enable_grad(function() return x * 2 end)
    T.eq(z.requires_grad, true)
  end)
  T.eq(jl.set_grad_enabled(false), true)
  T.eq(jl.set_grad_enabled(true), false)
end)

T.case("detach shares storage and leaves the graph", function()
  local x = jl.from({1, 2}, {requires_grad = true})
  local y = x * 2
  local d = y:detach()
  T.eq(d.requires_grad, false)
  T.eq(d.is_leaf, true)
  T.eq(d:tolist(), {2, 4})
  local xd = x:detach()
  jl.no_grad(function() xd[1] = 10 end)
  T.eq(x[1], 10, "detach shares storage")
  local z = (x * xd):sum()
  z:backward()
  T.eq(x.grad:tolist(), {10, 2}, "the detached factor is a constant")
end)

T.case("sums of gradients made in place never change a tensor held elsewhere", function()
  -- x feeds four branches: its gradients are summed three times (in place where nothing else
  -- holds the partial sum or the arriving gradient, in a new tensor otherwise)
  local x = jl.from({1, 2, 3}, {requires_grad = true})
  local h = x * 2
  local g_twice = h + h                              -- add hands one gradient to both inputs
  local total = (g_twice * jl.from({1, 10, 100})):sum() + (h * h):sum() + h:sum()
  total:backward()
  -- d/dh = 2 w + 2 h + 1, d/dx = 2 d/dh
  T.eq(x.grad:tolist(), {2 * (2 + 4 + 1), 2 * (20 + 8 + 1), 2 * (200 + 12 + 1)})
  -- a leaf's .grad held by Lua is left as it was; the next backward's sum is a new tensor
  local held = x.grad
  ;(x * 1):sum():backward()
  T.eq(held:tolist(), {14, 58, 426})
  T.eq(x.grad:tolist(), {15, 59, 427})
  held = nil -- luacheck: ignore 311
  collectgarbage()
  ;(x * 1):sum():backward()
  T.eq(x.grad:tolist(), {16, 60, 428})
end)

T.case("views, indexing ops and softmax carry gradients", function()
  local x = jl.from({{1, 2, 3}, {4, 5, 6}}, {requires_grad = true})
  local idx = jl.from({2, 2, 1}, {dtype = "i64"})
  x:index_select(1, idx):sum():backward()
  T.eq(x.grad:tolist(), {{1, 1, 1}, {2, 2, 2}})
  x.grad = nil
  x:transpose(1, 2):narrow(1, 2, 2):sum():backward()
  T.eq(x.grad:tolist(), {{0, 1, 1}, {0, 1, 1}})
  x.grad = nil
  x:softmax(2):select(2, 1):sum():backward()
  T.near(x.grad:sum(2):tolist(), {0, 0}, 1e-6)
  x.grad = nil
  local v = x:max(2)
  v:sum():backward()
  T.eq(x.grad:tolist(), {{0, 0, 1}, {0, 0, 1}})
end)

T.case("gradients passed on as views (cat's backward) are right, and leaves get their own .grad", function()
  local a = jl.from({{1, 2}, {3, 4}}, {requires_grad = true})
  local b = jl.from({{5}, {6}}, {requires_grad = true})
  local ha, hb = a * 2, b * 3                      -- non-leaves: their gradients arrive as views of cat's
  local cat = jl.cat({ha, hb}, 2)                  -- (2, 3)
  local w = jl.from({{1, 10, 100}, {1000, 10000, 100000}})
  -- ha is used twice: its view from cat is summed with the gradient of ha:sum()
  local total = (cat * w):sum() + ha:sum()
  total:backward()
  T.eq(a.grad:tolist(), {{2 * (1 + 1), 2 * (10 + 1)}, {2 * (1000 + 1), 2 * (10000 + 1)}})
  T.eq(b.grad:tolist(), {{3 * 100}, {3 * 100000}})
  -- cat of leaves: each .grad is a tensor of its own, in place changes stay in it
  local p = jl.ones(2, 2, {requires_grad = true})
  local q = jl.ones(2, 1, {requires_grad = true})
  jl.cat({p, q}, 2):sum():backward()
  p.grad:copy_(p.grad * 5)
  T.eq(q.grad:tolist(), {{1}, {1}})
  T.eq(p.grad:tolist(), {{5, 5}, {5, 5}})
end)

T.case("a long cat (more inputs than a graph node holds) copies each input once and routes every gradient", function()
  local parts, w = {}, {}
  for i = 1, 6 do
    parts[i] = jl.full({3, i}, i, {requires_grad = true})
    w[i] = jl.arange(3 * i):reshape(3, i) + 10 * i
  end
  local cat
  local r = jl.profile(function() cat = jl.cat(parts, 2) end)
  local copies = 0
  for _, e in ipairs(r.entries) do if e.name == "copy" then copies = copies + e.calls end end
  T.eq(copies, 6, "one copy per input, no copies of groups")
  T.eq(cat.shape, {3, 21})
  T.eq(cat:narrow(2, 16, 6):tolist(), parts[6]:tolist())
  local weights = jl.cat(w, 2)
  local total = (cat * weights):sum()
  total:backward()
  for i = 1, 6 do T.eq(parts[i].grad:tolist(), w[i]:tolist(), "grad of input " .. i) end
end)

T.case("assignment into a tensor that requires grad is refused outside no_grad", function()
  local x = jl.zeros(2, {requires_grad = true})
  T.raises(function() x[1] = 3 end, "requires grad")
  jl.no_grad(function() x[1] = 3 end)
  T.eq(x:tolist(), {3, 0})
end)

T.case("the tape is freed: no nodes survive a backward", function()
  collectgarbage()
  collectgarbage()
  local before = jl.stats().nodes
  do
    local x = jl.randn(4, 4, {requires_grad = true})
    local y = (x:tanh() * x:sigmoid()):sum()
    y:backward()
  end
  collectgarbage()
  collectgarbage()
  T.eq(jl.stats().nodes, before)
end)

T.run()
