-- jetlab.data_cache — the row caches behind jetlab.data views (batches option
-- cache): each view's prepared jets (checked, degraded, standardised
-- features, the teacher's view) are stored on the first pass and copied on
-- the later ones, so an epoch costs the shuffle and the model (issue 16). The
-- batches are bit-identical with and without a cache (core/data/jl_row_cache.h).
--
--   local dc = require "jetlab.data_cache"
--   dc.configure{mb = 512, dir = run.dir}  -- every view caches, 512 MiB in memory in all, spill under run.dir
--   dc.configure{mb = 0}                   -- caching off (the default before any configure)
--   dc.stats()                             -- {caches =, jets =, memory_bytes =, spill_bytes =, budget_bytes =}
--   if dc.claim(owner, bytes) then ... end  -- other prepared inputs (Lund graphs) in the same budget
--
-- One cache per view's jets (views made by :with and :split share their jet
-- list) and feature configuration (columns, standardisation, degradation,
-- teacher view and its features, strict), made on first use and collected
-- with the views. The budget is shared: a new cache gets what the live ones
-- do not use yet; beyond its share a cache spills to a memory-mapped file
-- in dir (unlinked at once: nothing stays behind). The default budget,
-- default_mb(), is a quarter of MemAvailable.

local core = require "jetlab.core"
local literal = require "jetlab.literal"

local dc = {}

local setup = {mb = 0, dir = nil}
local live = setmetatable({}, {__mode = "k"})    -- RowCache → true
local by_owner = setmetatable({}, {__mode = "k"}) -- jets tensor or view root → {config key → RowCache}
local claims = setmetatable({}, {__mode = "k"})   -- owner → bytes claimed (dc.claim)

--- dc.default_mb() → a quarter of /proc/meminfo's MemAvailable in MiB (1024 when unreadable).
function dc.default_mb()
  local f = io.open("/proc/meminfo", "r")
  local text = f and f:read("a") or ""
  if f then f:close() end
  local kb = tonumber(text:match("MemAvailable:%s*(%d+)"))
  return kb and kb // 4096 or 1024
end

--- dc.configure{mb =, dir =}: the budget in MiB of every cache together (0: no
--- caching) and the folder of the spill files (default $TMPDIR or /tmp).
function dc.configure(o)
  if type(o) ~= "table" then error("data_cache.configure: {mb =, dir =} expected", 2) end
  for k in pairs(o) do
    if k ~= "mb" and k ~= "dir" then error("data_cache.configure: unknown option '" .. tostring(k) .. "' (expected dir, mb)", 2) end
  end
  if type(o.mb) ~= "number" or o.mb < 0 then error("data_cache.configure: mb must be a number >= 0", 2) end
  if o.dir ~= nil and type(o.dir) ~= "string" then error("data_cache.configure: dir must be a folder path", 2) end
  setup = {mb = o.mb, dir = o.dir}
end

--- dc.enabled() → whether views cache by default (a budget was configured).
function dc.enabled() return setup.mb > 0 end

--- dc.stats() → the live caches' totals.
function dc.stats()
  local s = {caches = 0, jets = 0, memory_bytes = 0, spill_bytes = 0, budget_bytes = math.floor(setup.mb * 1048576)}
  for c in pairs(live) do
    local one = c:stats() or {jets = 0, memory_bytes = 0, spill_bytes = 0} -- collected, not yet out of `live`
    s.caches, s.jets = s.caches + 1, s.jets + one.jets
    s.memory_bytes, s.spill_bytes = s.memory_bytes + one.memory_bytes, s.spill_bytes + one.spill_bytes
  end
  for _, bytes in pairs(claims) do s.memory_bytes = s.memory_bytes + bytes end
  return s
end

--- dc.claim(owner, bytes) → true when caching is on and `bytes` more fit in
--- the budget now; they then count against it (dc.stats().memory_bytes) while
--- owner lives. For prepared inputs kept in Lua tensors (Lund graphs); false:
--- the caller prepares them per batch instead (there is no spill for them).
function dc.claim(owner, bytes)
  if setup.mb <= 0 then return false end
  bytes = math.ceil(bytes)
  local now = dc.stats()
  if now.memory_bytes + bytes > now.budget_bytes then return false end
  claims[owner] = (claims[owner] or 0) + bytes
  return true
end

--- dc.for_view(owner, spec) → the RowCache of the jets `owner` stands for
--- (a jets tensor, or a table for a whole file) and spec = {jets =, max_rows =,
--- teacher =, key = the loader options that shape the jets}, made now if new.
function dc.for_view(owner, spec)
  local caches = by_owner[owner] or {}
  by_owner[owner] = caches
  local key = literal.encode(spec.key)
  if caches[key] then return caches[key] end
  local now = dc.stats()
  local free = now.budget_bytes - now.memory_bytes
  local c = core.data.row_cache{jets = spec.jets, max_rows = spec.max_rows, teacher = spec.teacher,
    budget_bytes = free > 0 and math.floor(free) or 0, dir = setup.dir}
  caches[key], live[c] = c, true
  return c
end

return dc
