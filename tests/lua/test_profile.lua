-- test_profile.lua — jl.profile: kernel ops and autograd backwards are counted
-- with their calls, nested kernels count to the outermost call, nothing is
-- counted outside the profiled function, errors stop the profiler and are raised
-- again, and the report prints as a table; matrix products are counted by shape
-- wherever they run (inside linear's backward too), with their exact FLOPs.
local T = require "jetlab.test"

local function entry(report, name, kind)
  for _, e in ipairs(report.entries) do
    if e.name == name and e.kind == kind then return e end
  end
end

T.case("ops and backwards are counted with their calls", function()
  local x = jl.randn(64, 32, {requires_grad = true})
  local w = jl.randn(16, 32, {requires_grad = true})
  local r = jl.profile(function()
    for _ = 1, 3 do jl.linear(x, w):relu():sum():backward() end
  end)
  T.eq(entry(r, "gemm", "op").calls, 3)
  T.eq(entry(r, "relu", "op").calls, 3)
  T.eq(entry(r, "linear", "backward").calls, 3)
  T.eq(entry(r, "relu", "backward").calls, 3)
  -- linear's backward runs two GEMMs; they count to it, not to "gemm"
  T.eq(entry(r, "gemm", "backward"), nil)
  T.ok(r.ops_ms > 0 and r.ops_ms <= r.wall_ms, "op time within the wall time")
  local sum = 0
  for i, e in ipairs(r.entries) do
    sum = sum + e.ms
    if i > 1 then T.ok(r.entries[i - 1].ms >= e.ms, "largest first") end
    T.near(e.share, e.ms / r.wall_ms, 1e-12)
  end
  T.near(sum, r.ops_ms, 1e-9)
  local text = tostring(r)
  T.ok(text:find("^op profile: "), text)
  T.ok(text:find("backward linear"), text)
end)

local function gemm_entry(report, m, k, n, ta, tb)
  for _, g in ipairs(report.gemms) do
    if g.m == m and g.k == k and g.n == n and g.ta == ta and g.tb == tb then return g end
  end
end

T.case("matrix products are counted by shape, inside backward too", function()
  local x = jl.randn(64, 32, {requires_grad = true})
  local w = jl.randn(16, 32, {requires_grad = true})
  local y = jl.randn(64, 16)
  local r = jl.profile(function()
    for _ = 1, 3 do (jl.linear(x, w) * y):sum():backward() end   -- (a gradient with its own values)
  end)
  -- forward x w^T; backward dx = g w and dw = g^T x
  local fwd, dx, dw = gemm_entry(r, 64, 32, 16, false, true), gemm_entry(r, 64, 16, 32, false, false),
    gemm_entry(r, 16, 64, 32, true, false)
  T.ok(fwd and dx and dw, tostring(r))
  T.eq(#r.gemms, 3)
  for _, g in ipairs({fwd, dx, dw}) do
    T.eq(g.calls, 3)
    T.near(g.gflops, 3 * 2 * 64 * 32 * 16 / (g.ms * 1e6), 1e-9 * g.gflops)
  end
  T.near(r.gemm_ms, fwd.ms + dx.ms + dw.ms, 1e-9)
  T.ok(r.gemm_ms <= r.ops_ms, "products are timed inside the ops")
  T.ok(tostring(r):find("matrix products by shape", 1, true), tostring(r))
  T.ok(tostring(r):find("(16, 64)T @ (64, 32)", 1, true), tostring(r))
end)

T.case("large dimensions count in their power-of-two bucket, FLOPs exact", function()
  local a, b = jl.ones(1500, 8), jl.ones(8, 4)
  local c = jl.ones(1100, 8)
  local r = jl.profile(function() jl.matmul(a, b); jl.matmul(c, b) end)
  T.eq(#r.gemms, 1)
  local g = r.gemms[1]
  T.eq(g.m, 1024)
  T.eq(g.calls, 2)
  T.near(g.gflops * g.ms * 1e6, 2 * (1500 + 1100) * 8 * 4, 1e-6)
  T.ok(tostring(r):find("(1024+, 8) @ (8, 4)", 1, true), tostring(r))
end)

T.case("nothing is counted outside the profiled function; each run starts from zero", function()
  local a = jl.ones(8, 8)
  local r1 = jl.profile(function() return jl.matmul(a, a) end)
  jl.matmul(a, a)
  T.eq(entry(r1, "gemm", "op").calls, 1)
  local r2 = jl.profile(function(n) for _ = 1, n do jl.matmul(a, a) end end, 2)
  T.eq(entry(r2, "gemm", "op").calls, 2)
  T.eq(#jl.profile(function() end).entries, 0)
  T.eq(#jl.profile(function() end).gemms, 0)
end)

T.case("an error in the function stops the profiler and is raised again", function()
  T.raises(function() jl.profile(function() error("boom") end) end, "boom")
  T.raises(function() jl.profile(function() jl.matmul(jl.ones(2, 3), jl.ones(2, 3)) end) end, "matmul")
  local r = jl.profile(function() end)
  T.eq(#r.entries, 0)
  T.raises(function() jl.profile(42) end, "jl.profile: expected a function to run, got number")
end)

T.run()
