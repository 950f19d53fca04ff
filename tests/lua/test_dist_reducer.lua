-- test_dist_reducer.lua — jl.dist.reducer in one process: autograd's
-- gradient-ready hook hands every gradient over once it is whole (a
-- parameter used at two depths included), buckets start in order during
-- backward, and the reduced gradients are the plain backward's times the
-- scale (in one process the sum over ranks is the rank's own); jl.dist.all_sum.
local T = require "jetlab.test"

-- A three-layer chain that uses w1 twice (first and last layer) and never uses spare.
local function setup()
  jl.manual_seed(3)
  local p = {w1 = jl.randn(4, 4, {requires_grad = true}), w2 = jl.randn(4, 4, {requires_grad = true}),
    b = jl.randn(4, {requires_grad = true}), spare = jl.randn(3, {requires_grad = true})}
  local x = jl.randn(5, 4)
  local function loss() return ((x:matmul(p.w1):relu():matmul(p.w2) + p.b):tanh():matmul(p.w1)):sum() end
  return p, loss
end

-- One backward through a reducer over the parameters named in order (one
-- bucket each: buckets of 1 float hold one array alone); returns p, buckets,
-- buckets started during backward.
local function reduce_once(order, scale)
  local p, loss = setup()
  local params = {}
  for i, k in ipairs(order) do params[i] = p[k] end
  local r = jl.dist.reducer(params, {bucket_mb = 4 / 2 ^ 20})
  r:arm(scale)
  loss():backward()
  return p, r:finish()
end

-- The plain backward's gradients (the reference).
local function reference()
  local p, loss = setup()
  loss():backward()
  return {w1 = p.w1.grad:clone(), w2 = p.w2.grad:clone(), b = p.b.grad:clone()}
end

T.case("reduced gradients = the plain backward's times the scale, buckets started during backward", function()
  local ref = reference()
  local p, buckets, early = reduce_once({"b", "w2", "w1"}, 0.5) -- the last layers first
  T.eq(buckets, 3)
  T.eq(early, 3)
  for _, k in ipairs({"w1", "w2", "b"}) do T.eq(p[k].grad:tolist(), (ref[k] * 0.5):tolist(), k) end
end)

T.case("a parameter backward does not reach gets zeros; later buckets wait for it", function()
  local p, buckets, early = reduce_once({"spare", "b", "w2", "w1"}, 1)
  T.eq(buckets, 4)
  T.eq(early, 0) -- bucket 1 (spare) is only complete at finish, and buckets start in order
  T.eq(p.spare.grad:tolist(), {0, 0, 0})
  local _, _, early_last = reduce_once({"b", "w2", "w1", "spare"}, 1)
  T.eq(early_last, 3)
end)

T.case("one bucket for everything; the hook is armed for one backward only", function()
  local ref = reference()
  local p, loss = setup()
  local r = jl.dist.reducer({p.b, p.w2, p.w1})
  r:arm(1)
  loss():backward()
  T.eq(select(2, r:finish()), 1)
  for _, k in ipairs({"w1", "w2", "b"}) do T.eq(p[k].grad:tolist(), ref[k]:tolist(), k) end
  -- a second backward without arm: plain accumulation (w1's two parts added in
  -- another order: within rounding), the reducer sees nothing
  loss():backward()
  for _, k in ipairs({"w1", "w2", "b"}) do
    T.near((p[k].grad - ref[k] * 2):abs():max():item(), 0, 1e-5, k)
  end
end)

T.case("bad arguments name the parameter", function()
  local p = setup()
  T.raises(function() jl.dist.reducer({p.w1, "w2"}) end, "params%[2%] is a string")
  T.raises(function() jl.dist.reducer({jl.zeros(2, {dtype = "i64"})}) end, "params%[1%] %(2%) must be an f32 CPU tensor")
  T.raises(function() jl.dist.reducer({p.w1}, {bucket_mb = 0}) end, "bucket_mb must be positive")
end)

T.case("all_sum: a copy in one process, its gradient passed through", function()
  local x = jl.randn(6, {requires_grad = true})
  local s = jl.dist.all_sum(x)
  T.eq(s:tolist(), x:tolist())
  T.ok(not rawequal(s, x))
  ;(s * jl.arange(1, 7)):sum():backward()
  T.eq(x.grad:tolist(), {1, 2, 3, 4, 5, 6})
  T.raises(function() jl.dist.all_sum(jl.zeros(2, {dtype = "i64"})) end, "the tensor %(2%) must be f32")
end)
T.run()
