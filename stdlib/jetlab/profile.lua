-- jetlab.profile — where the time of a piece of Lua goes, op by op (the C op
-- profiler of core/jl_profile.h): every kernel op (forward, loss, optimizer
-- update) and every autograd node's backward, with calls and wall time; what is
-- left of the wall time went elsewhere: Lua, reading and batching the data,
-- allocation, autograd bookkeeping.
--
--   local report = jl.profile(function()
--     for _ = 1, 10 do opt:zero_grad(); loss.cross_entropy(net(batch), y):backward(); opt:step() end
--   end)
--   print(report)              -- a table, largest first
--   report.entries[1]          -- {name = "gemm", kind = "op", calls = 380, ms = 912.4, share = 0.41}
--   report.wall_ms, report.ops_ms
--   report.gemms[1]            -- {m = 8192, k = 448, n = 384, ta = false, tb = true, calls = 22,
--                              --  ms = 186.0, gflops = 346.1}: matrix products by shape
--   report.gemm_ms, report.gemm_gflops   -- all of them together
--   report.bucket_from         -- dims from this size count in power-of-two buckets
--
-- Times are the calling thread's wall time, the pool's parallel work included;
-- nested calls count to the outermost (a gemm inside linear's backward counts to
-- "backward linear"); ops run meanwhile by jetlab's own background threads (the
-- data prefetch) count too. On CUDA an op's time is its launch unless it waits for
-- the device. jl.profile(fn, ...) passes the extra arguments to fn; an error in fn
-- stops the profiler and is raised again.
--
-- The matrix products are also counted by shape, op(a) (m, k) @ op(b) (k, n)
-- (ta, tb: stored transposed), each timed where it runs, inside a backward too,
-- with its rate: set against the machine's GEMM peak (bench/gemm_peak.lua) it
-- tells which shapes keep a step from the GEMM floor. A dimension of 1024 or
-- more counts in its power-of-two bucket (shown "8192+": the rows of ragged
-- batches change every step); rates use the exact dimensions.

local core = require "jetlab.core"

local M = {}

local Report = {}
Report.__index = Report

function Report:__tostring()
  local lines = {string.format("op profile: %.1f ms wall, %.1f ms (%.0f%%) in ops and backward, "
    .. "%.1f ms elsewhere (Lua, reading and batching data, allocation, autograd bookkeeping)", self.wall_ms, self.ops_ms,
    self.wall_ms > 0 and 100 * self.ops_ms / self.wall_ms or 0, self.wall_ms - self.ops_ms)}
  lines[2] = string.format("%-32s %8s %10s %7s", "op", "calls", "ms", "share")
  for _, e in ipairs(self.entries) do
    local name = e.kind == "backward" and ("backward " .. e.name) or e.name
    lines[#lines + 1] = string.format("%-32s %8d %10.2f %6.1f%%", name, e.calls, e.ms, 100 * e.share)
  end
  if #self.gemms > 0 then
    lines[#lines + 1] = string.format("matrix products by shape: %.1f ms, %.1f GFLOP/s (timed inside the ops above)",
      self.gemm_ms, self.gemm_gflops)
    lines[#lines + 1] = string.format("%-32s %8s %10s %9s", "op(a) (m, k) @ op(b) (k, n)", "calls", "ms", "GFLOP/s")
    local function dim(d) return d >= self.bucket_from and (d .. "+") or tostring(d) end
    for _, g in ipairs(self.gemms) do
      local shape = string.format("(%s, %s)%s @ (%s, %s)%s", dim(g.m), dim(g.k), g.ta and "T" or "", dim(g.k), dim(g.n),
        g.tb and "T" or "")
      lines[#lines + 1] = string.format("%-32s %8d %10.2f %9.1f", shape, g.calls, g.ms, g.gflops)
    end
  end
  return table.concat(lines, "\n")
end

--- jl.profile(fn, ...) → report: runs fn(...) with the op profiler on.
function M.profile(fn, ...)
  if type(fn) ~= "function" then
    error("jl.profile: expected a function to run, got " .. type(fn), 2)
  end
  local t0 = core.clock()
  core.profile_start()
  local ok, err = pcall(fn, ...)
  local raw, raw_gemms, bucket_from = core.profile_stop()
  if not ok then error(err, 0) end
  local wall_ms = (core.clock() - t0) * 1e3
  local entries, ops_ms = {}, 0
  for i, e in ipairs(raw) do
    entries[i] = {name = e.name, kind = e.kind, calls = e.calls, ms = e.seconds * 1e3}
    ops_ms = ops_ms + e.seconds * 1e3
  end
  for _, e in ipairs(entries) do e.share = wall_ms > 0 and e.ms / wall_ms or 0 end
  table.sort(entries, function(a, b) return a.ms > b.ms end)
  local gemms, gemm_ms, gemm_flops = {}, 0, 0
  for i, g in ipairs(raw_gemms) do
    gemms[i] = {m = g.m, n = g.n, k = g.k, ta = g.ta, tb = g.tb, calls = g.calls, ms = g.seconds * 1e3,
      gflops = g.seconds > 0 and g.flops / g.seconds / 1e9 or 0}
    gemm_ms, gemm_flops = gemm_ms + g.seconds * 1e3, gemm_flops + g.flops
  end
  table.sort(gemms, function(a, b) return a.ms > b.ms end)
  return setmetatable({wall_ms = wall_ms, ops_ms = ops_ms, entries = entries, gemms = gemms, gemm_ms = gemm_ms,
    gemm_gflops = gemm_ms > 0 and gemm_flops / gemm_ms / 1e6 or 0, bucket_from = bucket_from}, Report)
end

return M
