-- jetlab.progress — a progress line redrawn in place on a terminal (stdout),
-- for long passes over a known number of items.
--
--   local progress = require "jetlab.progress"
--   local bar = progress.bar{total = n, unit = "jets"}     -- nil when stdout is not a terminal
--   bar:update(done)                                        -- "1200/5000 jets [=====     ] 830 jets/s  ETA 0:05"
--   bar:clear()
--
-- progress.bar returns nil when stdout is not a terminal or JETLAB_PROGRESS=0
-- (force = true draws anyway), so logs and pipes stay free of carriage returns.
-- The line is redrawn at most 10 times a second (update(done, true) forces it).

local jl = require "jetlab"

local progress = {}

--- progress.clock(seconds) → "m:ss" or "h:mm:ss".
function progress.clock(seconds)
  seconds = math.floor(seconds + 0.5)
  local h, m, s = seconds // 3600, seconds // 60 % 60, seconds % 60
  if h > 0 then return string.format("%d:%02d:%02d", h, m, s) end
  return string.format("%d:%02d", m, s)
end

--- progress.enabled() → whether a progress line should be drawn (stdout a terminal, JETLAB_PROGRESS ~= "0").
function progress.enabled()
  return jl.isatty(1) and os.getenv("JETLAB_PROGRESS") ~= "0"
end

local Bar = {}
Bar.__index = Bar

--- progress.bar{total =, unit = "items", width = 24, force = false} → a bar, or nil (see the header).
function progress.bar(o)
  if not (o.force or progress.enabled()) then return nil end
  return setmetatable({total = o.total, unit = o.unit or "items", width = o.width or 24, t0 = jl.clock(),
    last = -math.huge}, Bar)
end

function Bar:update(done, force)
  local now = jl.clock()
  if not force and now - self.last < 0.1 then return end
  self.last = now
  local elapsed = now - self.t0
  local frac = self.total > 0 and math.min(done / self.total, 1) or 1
  local fill = math.floor(frac * self.width)
  local rate = elapsed > 0 and done / elapsed or 0
  local eta = done > 0 and "  ETA " .. progress.clock(elapsed * (self.total - done) / done) or ""
  io.stdout:write(string.format("\r%d/%d %s [%s%s] %.0f %s/s%s\27[K", done, self.total, self.unit,
    string.rep("=", fill), string.rep(" ", self.width - fill), rate, self.unit, eta))
  io.stdout:flush()
end

function Bar:clear()
  io.stdout:write("\r\27[K")
  io.stdout:flush()
end

return progress
