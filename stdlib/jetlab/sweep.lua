-- jetlab.sweep — parameter grids and resumable sweeps, optionally in parallel processes.
--
--   local sweep = require "jetlab.sweep"
--   for _, p in ipairs(sweep.grid{alpha = {0.1, 0.5, 0.9}, T = {1, 2, 4}}) do
--     print(p.T, p.alpha)                   -- T=1 alpha=0.1, T=1 alpha=0.5, ... (last key fastest)
--   end
--   local rows = sweep.run("kd_alpha_T", {alpha = {0.1, 0.5, 0.9}, T = {1, 2, 4}}, function(p)
--     local student = train_student(p.alpha, p.T)   -- anything; returns scalar metrics
--     return {auc = student.auc, rej50 = student.rej50}
--   end, {workers = 2, plot = {x = "alpha", y = "auc", series = "T"}})
--
-- sweep.grid(spec) → the points of the grid, an array of {key = value}: keys
-- sorted, the last key varying fastest. Values are numbers, strings or booleans.
--
-- sweep.run(name, grid, fn[, {root = "results", workers = 1, plot =, log = true,
--                              backend = "local", slurm =, array_task =}])
-- → array of {point =, metrics =, seconds =} in grid order. grid is a spec
-- (as for sweep.grid) or an array of points. fn(point) returns a table of
-- scalar metrics. Everything goes to <root>/<name>/:
--   points/<key>.lua  one file per finished point, written atomically; a point
--                     with a file is done and skipped by later runs, so an
--                     interrupted or failed sweep resumes where it stopped
--   sweep.csv         grid keys, metrics (union over points), seconds: one row
--                     per finished point, rewritten (atomically) after each one
--   summary.md, sweep.png   rows sorted by plot.y (best, i.e. highest, first)
--                     and plot.y against plot.x, one line per value of the other
--                     keys (plot.series first); by default x is the first
--                     numeric key and y "auc" or the first numeric metric.
-- fn raising on a point stops the sweep with that error (finished points stay).
--
-- workers > 1 runs the pending points in that many worker processes: the
-- running script is started again (the jetlab executable, arg[0] and its
-- arguments) with JETLAB_SWEEP_NAME and JETLAB_SWEEP_POINTS set; in such a
-- worker, sweep.run(name, ...) runs only those points and ends the process,
-- and any other sweep.run only returns the points its files hold (running
-- nothing). So a worker repeats what the script does before sweep.run: keep
-- that cheap (expensive shared work, e.g. a teacher, belongs in fn, cached in
-- a file under <root>/<name>/). Worker output goes to
-- <root>/<name>/worker-<n>.log; a failed worker is an error after the others
-- finish.
--
-- backend = "slurm" runs the pending points as one SLURM job array instead,
-- task N = point N of the grid counted from 0 (jetlab.sweep.slurm: the sbatch
-- script, the settings in slurm = {partition =, time =, cpus_per_task =, mem =,
-- account =, extra =, ...}, following the job, resubmitting failed points).
-- array_task = N runs only point N (from 0; done already: nothing) in this
-- process, writes its file and ends the process (status 1 when it failed):
-- what each task of a batch array runs, under SLURM or any other system
-- (HTCondor's $(Process)), while one later run without it collects the points.
-- A script's command line gives all three through sweep.FLAGS:
--
--   local cfg = E.config{..., flags = sweep.FLAGS}  -- --backend, --array-task N, --slurm '{...}'
--   sweep.run(name, grid, fn, sweep.with_flags(E.flags(cfg), {root = ..., workers = cfg.workers}))

local core = require "jetlab.core"
local fs = require "jetlab.fs"
local json = require "jetlab.json"
local literal = require "jetlab.literal"
local options = require "jetlab.options"
local plot = require "jetlab.plot"
local results = require "jetlab.results"

local sweep = {}

local function scalar(v)
  local t = type(v)
  return t == "number" or t == "string" or t == "boolean"
end

--- sweep.grid(spec) → array of points (see the header).
function sweep.grid(spec)
  local keys = {}
  for k, values in pairs(spec) do
    assert(type(k) == "string", "sweep.grid: keys must be strings")
    assert(type(values) == "table" and #values > 0, "sweep.grid: '" .. k .. "' needs a non-empty list of values")
    for _, v in ipairs(values) do assert(scalar(v), "sweep.grid: values of '" .. k .. "' must be scalars") end
    keys[#keys + 1] = k
  end
  table.sort(keys)
  local points, total = {}, 1
  for _, k in ipairs(keys) do total = total * #spec[k] end
  for n = 0, total - 1 do
    local p, rest = {}, n
    for j = #keys, 1, -1 do
      local values = spec[keys[j]]
      p[keys[j]] = values[rest % #values + 1]
      rest = rest // #values
    end
    points[#points + 1] = p
  end
  return points
end

local function text(v)
  return type(v) == "number" and json.number(v) or tostring(v)
end

-- "T=1,alpha=0.1": the point's identity, also its file name (other bytes as %XX).
local function point_key(point, keys)
  local parts = {}
  for i, k in ipairs(keys) do parts[i] = k .. "=" .. text(point[k]) end
  return table.concat(parts, ",")
end

local function file_name(key)
  return key:gsub("[^%w.,=_+-]", function(c) return string.format("%%%02X", c:byte()) end) .. ".lua"
end

local function read_point(path)
  local s = fs.read(path)
  if not s then return nil end
  return literal.decode((s:gsub("^return ", "")), path)
end

local Sweep = {}
Sweep.__index = Sweep

-- Point i's identity, "T=1,alpha=0.1".
function Sweep:key(i)
  return point_key(self.points[i], self.keys)
end

function Sweep:point_path(i)
  return self.dir .. "/points/" .. file_name(self:key(i))
end

-- The exit status a worker or an array task wrote to path (a number), or nil while there is none.
function Sweep.exit_status(path)
  local f = io.open(path)
  if not f then return nil end
  local rc = f:read("n")
  f:close()
  return rc
end

function Sweep:run_point(i)
  local point = self.points[i]
  local copy = {}
  for k, v in pairs(point) do copy[k] = v end
  local t0 = core.clock()
  local ok, metrics = pcall(self.fn, copy)
  if not ok then
    error(string.format("sweep %s: point %s failed: %s", self.name, point_key(point, self.keys), tostring(metrics)), 0)
  end
  if type(metrics) ~= "table" then error("sweep " .. self.name .. ": fn must return a table of metrics", 0) end
  for k, v in pairs(metrics) do
    if type(k) ~= "string" or not scalar(v) or point[k] ~= nil then
      error(string.format("sweep %s: metric '%s' must be a new name with a scalar value", self.name, tostring(k)), 0)
    end
  end
  local rec = {point = point, metrics = metrics, seconds = core.clock() - t0}
  fs.write(self:point_path(i), "return " .. literal.encode(rec) .. "\n")
  return rec
end

-- Loads the point files that exist; returns how many points are done.
function Sweep:scan()
  local done = 0
  for i in ipairs(self.points) do
    self.rows[i] = self.rows[i] or read_point(self:point_path(i))
    if self.rows[i] then done = done + 1 end
  end
  return done
end

function Sweep:metric_keys()
  local seen, keys = {}, {}
  for i in ipairs(self.points) do
    for k in pairs(self.rows[i] and self.rows[i].metrics or {}) do
      if not seen[k] then seen[k], keys[#keys + 1] = true, k end
    end
  end
  return (results.order_keys(keys))
end

function Sweep:write_csv()
  local columns = {}
  for _, k in ipairs(self.keys) do columns[#columns + 1] = k end
  local metrics = self:metric_keys()
  for _, k in ipairs(metrics) do columns[#columns + 1] = k end
  columns[#columns + 1] = "seconds"
  local lines = {results.csv_line(columns)}
  for i in ipairs(self.points) do
    local r = self.rows[i]
    if r then
      local row = {}
      for j, k in ipairs(self.keys) do row[j] = r.point[k] end
      for j, k in ipairs(metrics) do row[#self.keys + j] = r.metrics[k] end
      row[#columns] = r.seconds
      lines[#lines + 1] = results.csv_line(row, #columns)
    end
  end
  fs.write(self.dir .. "/sweep.csv", table.concat(lines))
  return columns
end

function Sweep:announce(i)
  local r = self.rows[i]
  local parts = {}
  for _, k in ipairs(self:metric_keys()) do
    if r.metrics[k] ~= nil then parts[#parts + 1] = k .. "=" .. results.format_value(r.metrics[k]) end
  end
  self.log(string.format("sweep %s: %s done in %.1f s: %s", self.name, point_key(r.point, self.keys),
    r.seconds, table.concat(parts, " ")))
end

-- The command that starts this script again, or nil when there is no script.
local function self_command()
  local script = rawget(_G, "arg") and arg[0]
  local ok, paths = pcall(require, "jetlab.paths")
  local exe = ok and paths.exe ~= "" and paths.exe or (arg and arg[-1])
  if not script or not exe or script == "-" then return nil end
  local words = {exe, script}
  for i = 1, #arg do words[#words + 1] = arg[i] end
  return fs.command(words)
end

-- Reads the files of the pending points that appeared since the last call: each
-- one rewrites sweep.csv and is announced.
function Sweep:collect(pending)
  for _, i in ipairs(pending) do
    if not self.rows[i] then
      self.rows[i] = read_point(self:point_path(i))
      if self.rows[i] then
        self:write_csv()
        self:announce(i)
      end
    end
  end
end

-- Waits for points run elsewhere: every `seconds`, collects the pending points'
-- files, then calls check(), which returns true while some are still running.
-- SIGINT raises "interrupted" followed by `after` (what goes on running).
function Sweep:follow(pending, seconds, check, after)
  repeat
    local ok, how = os.execute("sleep " .. seconds)
    if not ok and how == "signal" then error("sweep " .. self.name .. ": interrupted" .. (after or ""), 0) end
    self:collect(pending)
  until not check()
  self:collect(pending)
end

function Sweep:parallel(pending, workers, command)
  local assigned = {}
  for n, i in ipairs(pending) do
    local w = (n - 1) % workers + 1
    assigned[w] = assigned[w] or {}
    table.insert(assigned[w], i)
  end
  local jobs = {}
  for w, list in ipairs(assigned) do
    local log, status = self.dir .. "/worker-" .. w .. ".log", self.dir .. "/worker-" .. w .. ".status"
    os.remove(status)
    jobs[w] = {status = status, log = log}
    local cmd = string.format("JETLAB_SWEEP_NAME=%s JETLAB_SWEEP_POINTS=%s %s >%s 2>&1; echo $? >%s",
      fs.quote(self.name), table.concat(list, ","), command, fs.quote(log), fs.quote(status .. ".tmp"))
    os.execute("(" .. cmd .. "; mv " .. fs.quote(status .. ".tmp") .. " " .. fs.quote(status) .. ") &")
  end
  self.log(string.format("sweep %s: %d points on %d workers (logs: %s/worker-N.log)", self.name, #pending, #jobs, self.dir))
  local running, failed = #jobs, {}
  self:follow(pending, 0.2, function()
    for w, job in ipairs(jobs) do
      local rc = not job.done and Sweep.exit_status(job.status)
      if rc then
        job.done, running = true, running - 1
        if rc ~= 0 then failed[#failed + 1] = string.format("worker %d (exit %s, see %s)", w, tostring(rc), job.log) end
      end
    end
    return running > 0
  end)
  if #failed > 0 then error("sweep " .. self.name .. ": " .. table.concat(failed, "; "), 0) end
end

-- The plot options resolved against the keys and metrics, or nil (no plot).
function Sweep:plot_spec(opts)
  local spec = opts or {}
  local function numeric_key(k)
    for i in ipairs(self.points) do
      local r = self.rows[i]
      local v = r and (r.point[k] == nil and r.metrics[k] or r.point[k])
      if v ~= nil and type(v) ~= "number" then return false end
    end
    return true
  end
  local x, y = spec.x, spec.y
  for _, k in ipairs(self.keys) do x = x or (numeric_key(k) and k or nil) end
  local metrics = self:metric_keys()
  for _, k in ipairs(metrics) do if k == "auc" then y = y or k end end
  for _, k in ipairs(metrics) do y = y or (numeric_key(k) and k or nil) end
  if not x or not y then return nil end
  local group = {}
  if spec.series then group[1] = spec.series end
  for _, k in ipairs(self.keys) do
    if k ~= x and k ~= spec.series then group[#group + 1] = k end
  end
  return {x = x, y = y, group = group}
end

function Sweep:summary(plot_opts)
  local spec = self:plot_spec(plot_opts)
  local done, rank = {}, {}
  for i in ipairs(self.points) do
    if self.rows[i] then
      done[#done + 1] = self.rows[i]
      rank[self.rows[i]] = i
    end
  end
  local in_grid_order = table.move(done, 1, #done, 1, {})
  if spec then
    table.sort(done, function(a, b)
      local va, vb = tonumber(a.metrics[spec.y]) or -math.huge, tonumber(b.metrics[spec.y]) or -math.huge
      if va ~= vb then return va > vb end
      return rank[a] < rank[b]
    end)
  end
  local columns, metrics = {}, self:metric_keys()
  for _, k in ipairs(self.keys) do columns[#columns + 1] = k end
  local _, labels = results.order_keys(metrics)
  for _, l in ipairs(labels) do columns[#columns + 1] = l end
  columns[#columns + 1] = "seconds"
  local rows = {}
  for i, r in ipairs(done) do
    rows[i] = {}
    for j, k in ipairs(self.keys) do rows[i][j] = r.point[k] end
    for j, k in ipairs(metrics) do rows[i][#self.keys + j] = r.metrics[k] end
    rows[i][#columns] = r.seconds
  end
  local md = {string.format("# Sweep %s\n\n%d of %d points done%s; every row: `sweep.csv`.\n",
    self.name, #done, #self.points, spec and ", best " .. spec.y .. " first" or "")}
  md[#md + 1] = results.markdown_table(columns, rows) .. "\n"
  if spec and #done > 0 then
    local series, by_label = {}, {}
    for _, r in ipairs(in_grid_order) do
      local parts = {}
      for _, k in ipairs(spec.group) do parts[#parts + 1] = k .. "=" .. text(r.point[k]) end
      local label = #parts > 0 and table.concat(parts, ", ") or spec.y
      if not by_label[label] then
        by_label[label] = {label = label, pts = {}}
        series[#series + 1] = by_label[label]
      end
      table.insert(by_label[label].pts, {r.point[spec.x], r.metrics[spec.y]})
    end
    for _, s in ipairs(series) do
      table.sort(s.pts, function(a, b) return a[1] < b[1] end)
      s.x, s.y = {}, {}
      for j, p in ipairs(s.pts) do s.x[j], s.y[j] = p[1], p[2] end
    end
    if plot.curves(self.dir .. "/sweep.png", {title = "Sweep " .. self.name, xlabel = spec.x, ylabel = spec.y,
                                               series = series, key = "outside right top"}) then
      md[#md + 1] = "![" .. spec.y .. " against " .. spec.x .. "](sweep.png)\n"
    end
  end
  fs.write(self.dir .. "/summary.md", table.concat(md, "\n"))
  self.log("")
  self.log(string.format("== sweep %s: %d of %d points", self.name, #done, #self.points))
  self.log(results.text_table(columns, rows))
  self.log("results: " .. self.dir)
end

--- sweep.FLAGS: the command-line flags of sweep.run's backend and array task, as jetlab.cli
--- options (E.config{flags = sweep.FLAGS}); sweep.with_flags turns their values into options.
sweep.FLAGS = {
  {"backend", "string", choices = {"local", "slurm"}, help = "where the sweep's points run: worker processes " ..
    "on this machine (--workers) or one SLURM job array (sbatch) [default: local]"},
  {"array-task", "integer", help = "run only point N of the sweep (grid order, from 0), write its result and " ..
    "exit: what each task of a batch-system array runs (SLURM's $SLURM_ARRAY_TASK_ID, HTCondor's $(Process))"},
  {"slurm", "string", help = "sbatch settings for --backend slurm, a Lua table: " ..
    "'{partition = \"cpu\", time = \"02:00:00\", cpus_per_task = 2, mem = \"4G\", account = \"hep\", " ..
    "extra = {\"--qos=normal\"}, max_running = 10, poll = 5}'"},
}

--- sweep.with_flags(flags, opts) → opts with backend, array_task and slurm set from the
--- values of sweep.FLAGS given on the command line (flags: E.flags(cfg) or jetlab.cli's result).
function sweep.with_flags(flags, opts)
  local o = {}
  for k, v in pairs(opts or {}) do o[k] = v end
  o.backend = flags.backend or o.backend
  o.array_task = flags["array-task"] or o.array_task
  if flags.slurm then
    local t = literal.decode(flags.slurm)
    if type(t) ~= "table" then
      error(string.format("--slurm expects a Lua table like '{partition = \"cpu\", time = \"01:00:00\"}', got '%s'",
        flags.slurm), 0)
    end
    o.slurm = t
  end
  return o
end

-- Runs point array_task + 1 here (array-task mode, see the header), then ends the process.
function Sweep:array_task(n)
  local i = math.tointeger(n) and n + 1
  if not (i and self.points[i]) then
    io.stderr:write(string.format("sweep %s: --array-task %s: the sweep has points 0 to %d\n", self.name, tostring(n),
      #self.points - 1))
    os.exit(2, true)
  end
  self.rows[i] = read_point(self:point_path(i))
  if self.rows[i] then
    self.log(string.format("sweep %s: point %d (%s) is done already", self.name, n, self:key(i)))
    os.exit(0, true)
  end
  local ok, rec = pcall(self.run_point, self, i)
  if not ok then
    io.stderr:write(rec, "\n")
    os.exit(1, true)
  end
  self.rows[i] = rec
  self:announce(i)
  os.exit(0, true)
end

local function worker_points()
  local list = {}
  for n in (os.getenv("JETLAB_SWEEP_POINTS") or ""):gmatch("%d+") do list[#list + 1] = tonumber(n) end
  return list
end

--- sweep.run(name, grid, fn[, opts]) → array of {point=, metrics=, seconds=} (see the header).
function sweep.run(name, grid, fn, opts)
  assert(type(name) == "string" and name:match("^[%w_.-]+$"), "sweep.run: the name must be a plain file name")
  assert(type(grid) == "table" and type(fn) == "function", "sweep.run: a grid and a function expected")
  local o = options.check("sweep.run", opts, {root = "results", workers = 1, plot = options.OPTIONAL, log = true,
    backend = "local", slurm = options.OPTIONAL, array_task = options.OPTIONAL})
  if o.backend ~= "local" and o.backend ~= "slurm" then
    error(string.format("sweep.run: backend must be \"local\" or \"slurm\", got %s", tostring(o.backend)), 2)
  end
  local points = grid[1] and grid or sweep.grid(grid)
  local seen, keys = {}, {}
  for _, p in ipairs(points) do
    for k in pairs(p) do
      if not seen[k] then seen[k], keys[#keys + 1] = true, k end
    end
  end
  table.sort(keys)
  local log = o.log == true and print or o.log == false and function() end or o.log
  local self = setmetatable({name = name, fn = fn, points = points, keys = keys, rows = {}, log = log,
                             dir = o.root .. "/" .. name}, Sweep)
  local function finished()
    local out = {}
    for i in ipairs(points) do out[#out + 1] = self.rows[i] end
    return out
  end
  local worker = os.getenv("JETLAB_SWEEP_NAME")
  if worker and worker ~= name then -- a worker of another sweep: only read
    self:scan()
    return finished()
  end
  fs.mkdir(self.dir .. "/points")
  if o.array_task then self:array_task(o.array_task) end
  if worker then
    local failed, list = false, worker_points()
    if #list == 0 then
      error("sweep " .. name .. ": started as its worker (JETLAB_SWEEP_NAME) with no points: a batch task must " ..
        "reach sweep.run's array_task (sweep.FLAGS' --array-task)", 0)
    end
    for _, i in ipairs(list) do
      local ok, err = pcall(self.run_point, self, i)
      if not ok then
        io.stderr:write(err, "\n")
        failed = true
      end
    end
    os.exit(failed and 1 or 0, true)
  end
  local done = self:scan()
  local pending = {}
  for i in ipairs(points) do
    if not self.rows[i] then pending[#pending + 1] = i end
  end
  self:write_csv()
  self.log(string.format("sweep %s: %d points, %d already done", name, #points, done))
  local command = (o.backend == "slurm" or o.workers > 1 and #pending > 1) and self_command()
  if o.backend == "slurm" and not command then
    error("sweep " .. name .. ": the slurm backend starts the script again in each task: run it as `jetlab SCRIPT.lua`", 0)
  elseif o.workers > 1 and #pending > 1 and not command then
    self.log("sweep " .. name .. ": no script to start workers from; running the points here")
  end
  if o.backend == "slurm" then
    if #pending > 0 then require("jetlab.sweep.slurm").run(self, pending, command, o.slurm) end
  elseif command then
    self:parallel(pending, o.workers, command)
  else
    for _, i in ipairs(pending) do
      self.rows[i] = self:run_point(i)
      self:write_csv()
      self:announce(i)
    end
  end
  self:write_csv()
  self:summary(o.plot)
  return finished()
end

return sweep
