-- jetlab.pythia.workers — Pythia worker processes (stdlib/pythia/worker.py), one
-- per core, read in block order: block b comes from worker (b - first) % count,
-- so the blocks, and everything made of them, do not depend on the count.
--
--   local workers = require "jetlab.pythia.workers"
--   local pool <close> = workers.start{python = py, seed = 1, first = 0, count = 2, events = 100,
--                                      settings = lines, log = "out.h5.partial/workers.log"}
--   local b, events = assert(pool:read())   -- events[i]: {{px, py, pz, E}, ...} GeV
--                                           -- with truth = "top"|"w": events[i].truth too
--   pool:stop()                             -- also when the pool goes out of scope

local fs = require "jetlab.fs"
local paths = require "jetlab.paths"

local workers = {}

local SCRIPT = paths.stdlib .. "/pythia/worker.py"

local Pool = {}
Pool.__index = Pool

-- The last lines of the workers' log, for an error message.
local function log_tail(log)
  local text = fs.read(log) or ""
  local lines = {}
  for line in text:gmatch("[^\n]+") do lines[#lines + 1] = line end
  return table.concat(lines, "\n", math.max(1, #lines - 5))
end

--- workers.start(o) → pool. o: python (path), seed, first (first block), count
--- (workers), events (per block), settings (Pythia setting lines), log (the
--- workers' stderr is appended there), truth (optional, "top" or "w": every event
--- also carries .truth = {{group, y, phi}, ...}, the decay quarks of each top or W,
--- group numbering the resonance).
function workers.start(o)
  local pool = setmetatable({procs = {}, next = o.first, first = o.first, log = o.log, truth = o.truth}, Pool)
  for w = 0, o.count - 1 do
    local words = {o.python, SCRIPT, "--seed", o.seed, "--first", o.first + w, "--stride", o.count,
                   "--events", o.events}
    if o.truth then
      words[#words + 1] = "--truth"
      words[#words + 1] = o.truth
    end
    for _, line in ipairs(o.settings) do
      words[#words + 1] = "--setting"
      words[#words + 1] = line
    end
    local p = assert(io.popen(fs.command(words) .. " 2>>" .. fs.quote(o.log), "r"))
    local pid = (p:read("l") or ""):match("^pid (%d+)$")
    pool.procs[w + 1] = {pipe = p, pid = pid}
    if not pid then
      pool:stop()
      error("pythia: a worker did not start: " .. log_tail(o.log), 0)
    end
  end
  return pool
end

-- A header line "<word> <n>" then n lines of `width` numbers each, as
-- {{x1, ..., x_width}, ...}; nil when the text is something else.
local function read_rows(p, word, width)
  local n = tonumber(((p:read("l") or ""):match("^" .. word .. " (%d+)$")))
  if not n then return nil end
  local rows = {}
  for i = 1, n do
    local row = {}
    for k = 1, width do
      row[k] = p:read("n")
      if not row[k] then return nil end
    end
    rows[i] = row
  end
  if n > 0 then p:read("l") end
  return rows
end

-- One event: "event <n>" then n lines "px py pz E"; with truth, then "truth <k>"
-- and k lines "group y phi".
local function read_event(p, truth)
  local particles = read_rows(p, "event", 4)
  if particles and truth then
    particles.truth = read_rows(p, "truth", 3)
    if not particles.truth then return nil end
  end
  return particles
end

--- pool:read() → b, events: the next block in order, or nil, message when its
--- worker stopped or wrote something else.
function Pool:read()
  local b = self.next
  local proc = self.procs[(b - self.first) % #self.procs + 1]
  local bad = function() return nil, string.format("pythia: the worker of block %d stopped: %s", b, log_tail(self.log)) end
  local got, n = (proc.pipe:read("l") or ""):match("^block (%d+) (%d+)$")
  if tonumber(got) ~= b then return bad() end
  local events = {}
  for e = 1, tonumber(n) do
    events[e] = read_event(proc.pipe, self.truth)
    if not events[e] then return bad() end
  end
  self.next = b + 1
  return b, events
end

--- pool:stop() ends every worker (by its process id) and waits for them.
function Pool:stop()
  for _, proc in ipairs(self.procs) do
    if proc.pid then os.execute("kill " .. proc.pid .. " 2>/dev/null") end
    proc.pipe:close()
  end
  self.procs = {}
end

Pool.__close = Pool.stop
Pool.__gc = Pool.stop

return workers
