-- test_profile.lua — jl.profile: kernel ops and autograd backwards are counted
-- with their calls, nested kernels count to the outermost call, nothing is
-- counted outside the profiled function, errors stop the profiler and are raised
-- again, and the report prints as a table.
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

T.case("nothing is counted outside the profiled function; each run starts from zero", function()
  local a = jl.ones(8, 8)
  local r1 = jl.profile(function() return jl.matmul(a, a) end)
  jl.matmul(a, a)
  T.eq(entry(r1, "gemm", "op").calls, 1)
  local r2 = jl.profile(function(n) for _ = 1, n do jl.matmul(a, a) end end, 2)
  T.eq(entry(r2, "gemm", "op").calls, 2)
  T.eq(#jl.profile(function() end).entries, 0)
end)

T.case("an error in the function stops the profiler and is raised again", function()
  T.raises(function() jl.profile(function() error("boom") end) end, "boom")
  T.raises(function() jl.profile(function() jl.matmul(jl.ones(2, 3), jl.ones(2, 3)) end) end, "matmul")
  local r = jl.profile(function() end)
  T.eq(#r.entries, 0)
  T.raises(function() jl.profile(42) end, "jl.profile: expected a function to run, got number")
end)

T.run()
