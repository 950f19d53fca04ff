-- jetlab — the `jetlab` module (the global `jl` in the host): every function
-- of the C module jetlab.core, plus a few helpers written in Lua.
--
--   local jl = require "jetlab"
--   local x = jl.randn(3, 4, {requires_grad = true})
--   local y = (x * 2 + 1):relu():sum()
--   y:backward()
--   print(x.grad, jl.allclose(x.grad, jl.where(x:gt(-0.5), 2, 0)))
--
-- Conventions (see DESIGN.md): dims, positions and index tensors are 1-based,
-- negative dims count from the end; dtypes are "f32" (default), "i32", "i64",
-- "u8" (alias "bool"); options go in a table given last:
-- {dtype=, device="cpu"|"cuda", requires_grad=}.

local core = require "jetlab.core"

local jl = {}
for name, value in pairs(core) do jl[name] = value end
jl.core = core

-- Options for a *_like helper: t's dtype and device unless opts says otherwise.
local function like_opts(t, opts)
  local o = {dtype = t.dtype, device = t.device}
  for k, v in pairs(opts or {}) do o[k] = v end
  return o
end

--- jl.empty_like(t[, opts]), jl.rand_like(t[, opts]), jl.randn_like(t[, opts])
function jl.empty_like(t, opts) return core.empty(t.shape, like_opts(t, opts)) end
function jl.rand_like(t, opts) return core.rand(t.shape, like_opts(t, opts)) end
function jl.randn_like(t, opts) return core.randn(t.shape, like_opts(t, opts)) end

--- jl.shape_str(t) → "(3, 4)", for messages.
function jl.shape_str(t)
  return "(" .. table.concat(t.shape, ", ") .. ")"
end

--- jl.same_shape(a, b) → true when a and b have the same shape.
function jl.same_shape(a, b)
  local sa, sb = a.shape, b.shape
  if #sa ~= #sb then return false end
  for i = 1, #sa do
    if sa[i] ~= sb[i] then return false end
  end
  return true
end

--- jl.equal(a, b) → true when a and b have the same shape and equal values.
function jl.equal(a, b)
  if not jl.same_shape(a, b) then return false end
  if a:numel() == 0 then return true end
  return a:ne(b):to("i64"):sum():item() == 0
end

--- jl.allclose(a, b[, rtol = 1e-5[, atol = 1e-8]]) → true when
--- |a - b| <= atol + rtol * |b| everywhere (b may broadcast to a, or be a number).
function jl.allclose(a, b, rtol, atol)
  rtol, atol = rtol or 1e-5, atol or 1e-8
  return jl.no_grad(function()
    local fa = a:to("f32")
    local fb = core.is_tensor(b) and b:to("f32") or b
    local diff = (fa - fb):abs()
    local bound = core.is_tensor(fb) and fb:abs() * rtol + atol or math.abs(fb) * rtol + atol
    if diff:numel() == 0 then return true end
    return diff:gt(bound):to("i64"):sum():item() == 0
  end)
end

--- jl.profile(fn, ...) → report of fn's time op by op (stdlib/jetlab/profile.lua).
function jl.profile(fn, ...)
  if type(fn) ~= "function" then
    error("jl.profile: expected a function to run, got " .. type(fn), 2)
  end
  return require("jetlab.profile").profile(fn, ...)
end

-- Lua libraries reachable as jl.<name>, loaded on first use: jl.nn is require "jetlab.nn".
local lazy = {nn = "jetlab.nn"}
setmetatable(jl, {__index = function(t, key)
  local name = lazy[key]
  if not name then return nil end
  local lib = require(name)
  rawset(t, key, lib)
  return lib
end})

return jl
