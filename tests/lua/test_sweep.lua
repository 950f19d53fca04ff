-- Tests of jetlab.sweep: grid order, resuming, failures, worker processes.
local T = require "jetlab.test"
local fs = require "jetlab.fs"
local sweep = require "jetlab.sweep"

local function lines(path)
  local out = {}
  for l in io.lines(path) do out[#out + 1] = l end
  return out
end

local SPEC = {alpha = {0.1, 0.5}, T = {1, 2, 4}}

local function score(p)
  return {auc = 0.9 + 0.01 * p.T - 0.1 * p.alpha, tag = "T" .. p.T}
end

T.case("grid: keys sorted, the last key varying fastest", function()
  T.eq(sweep.grid(SPEC), {
    {T = 1, alpha = 0.1}, {T = 1, alpha = 0.5}, {T = 2, alpha = 0.1},
    {T = 2, alpha = 0.5}, {T = 4, alpha = 0.1}, {T = 4, alpha = 0.5},
  })
  T.eq(sweep.grid{b = {true, false}, a = {"x"}, c = {3}}, {{a = "x", b = true, c = 3}, {a = "x", b = false, c = 3}})
  T.eq(#sweep.grid{a = {1, 2, 3}, b = {1, 2}, c = {1, 2, 3, 4}}, 24)
  T.raises(function() sweep.grid{a = {}} end, "non%-empty list")
  T.raises(function() sweep.grid{a = {{1}}} end, "must be scalars")
end)

T.case("run: every point once, sweep.csv in grid order, a second run skips them all", function()
  fs.with_tmpdir(function(dir)
    local calls = 0
    local function fn(p)
      calls = calls + 1
      return score(p)
    end
    local opts = {root = dir, log = false}
    local rows = sweep.run("kd", SPEC, fn, opts)
    T.eq(calls, 6)
    T.eq(#rows, 6)
    T.eq(rows[3].point, {T = 2, alpha = 0.1})
    T.eq(rows[3].metrics, score{T = 2, alpha = 0.1})
    local csv = lines(dir .. "/kd/sweep.csv")
    T.eq(csv[1], "T,alpha,auc,tag,seconds")
    T.eq(#csv, 7)
    T.ok(csv[4]:find("^2,0.1,0.91,T2,[%d.e-]+$"), csv[4])
    local again = sweep.run("kd", SPEC, fn, opts)
    T.eq(calls, 6, "nothing runs again")
    T.eq(again[6].metrics, rows[6].metrics)
    T.eq(lines(dir .. "/kd/sweep.csv"), csv)
    -- a wider grid runs only the new points
    sweep.run("kd", {alpha = {0.1, 0.5, 0.9}, T = {1, 2, 4}}, fn, opts)
    T.eq(calls, 9)
    T.eq(#lines(dir .. "/kd/sweep.csv"), 10)
    local md = io.open(dir .. "/kd/summary.md"):read("a")
    T.ok(md:find("9 of 9 points done, best auc first", 1, true), md)
    T.ok(md:find("| 4 | 0.1 | 0.93 | T4 |", 1, true), "the best row is listed:\n" .. md)
  end)
end)

T.case("run: a point that fails stops the sweep, keeps earlier rows, and a rerun completes", function()
  fs.with_tmpdir(function(dir)
    local calls, broken = 0, true
    local function fn(p)
      calls = calls + 1
      if broken and p.T == 2 and p.alpha == 0.5 then error("out of memory") end
      return score(p)
    end
    local opts = {root = dir, log = false}
    T.raises(function() sweep.run("crash", SPEC, fn, opts) end, "point T=2,alpha=0.5 failed: .*out of memory")
    T.eq(calls, 4)
    T.eq(#lines(dir .. "/crash/sweep.csv"), 4, "header and the three finished points")
    broken = false
    local rows = sweep.run("crash", SPEC, fn, opts)
    T.eq(calls, 4 + 3, "the failed point and the two after it")
    T.eq(#rows, 6)
    T.eq(#lines(dir .. "/crash/sweep.csv"), 7)
    T.raises(function() sweep.run("bad", SPEC, function() return 1 end, opts) end, "must return a table")
    T.raises(function() sweep.run("bad", SPEC, function() return {T = 1} end, opts) end, "metric 'T' must be a new name")
    T.raises(function() sweep.run("x", SPEC, fn, {root = dir, wrokers = 2}) end, "unknown option 'wrokers'")
  end)
end)

-- A script that sweeps with 2 workers; each call of fn leaves a file named
-- after the point and the process id, so the test can count calls and processes.
local SCRIPT = [[
local sweep = require "jetlab.sweep"
local dir, fail = arg[1], arg[2] == "fail"
local other = sweep.run("other", {x = {1, 2}}, function() return {v = 1} end, {root = dir, log = false})
assert(#other == 2 and other[2].metrics.v == 1, "workers read the finished sweep")
sweep.run("par", {alpha = {0.1, 0.5}, T = {1, 2, 4}}, function(p)
  local pid = io.open("/proc/self/stat"):read("a"):match("^%d+")
  io.open(string.format("%s/calls/%s-%s-%s", dir, p.T, p.alpha, pid), "w"):close()
  if fail and p.T == 4 then error("broken point") end
  return {auc = p.T + p.alpha}
end, {root = dir, workers = 2, log = false})
print("parent continues")
]]

local function run_script(dir, extra)
  local f = assert(io.open(dir .. "/par.lua", "w"))
  f:write(SCRIPT)
  f:close()
  fs.mkdir(dir .. "/calls")
  local exe = require("jetlab.paths").exe
  local p = io.popen(string.format("%s %s %s %s 2>&1", fs.quote(exe), fs.quote(dir .. "/par.lua"),
    fs.quote(dir), extra or ""))
  local out = p:read("a")
  return p:close(), out
end

local function calls_in(dir)
  local p = io.popen("ls " .. fs.quote(dir .. "/calls"))
  local points, pids, n = {}, {}, 0
  for name in p:lines() do
    local point, pid = name:match("^(.*)-(%d+)$")
    points[point] = (points[point] or 0) + 1
    pids[pid] = true
    n = n + 1
  end
  p:close()
  local np = 0
  for _ in pairs(pids) do np = np + 1 end
  return points, n, np
end

T.case("run with workers = 2: every point exactly once, in two other processes", function()
  fs.with_tmpdir(function(dir)
    local ok, out = run_script(dir)
    T.ok(ok, out)
    T.eq(out, "parent continues\n", "workers end at their sweep; the parent goes on")
    local points, n, processes = calls_in(dir)
    T.eq(n, 6)
    T.eq(points, {["1-0.1"] = 1, ["1-0.5"] = 1, ["2-0.1"] = 1, ["2-0.5"] = 1, ["4-0.1"] = 1, ["4-0.5"] = 1})
    T.eq(processes, 2)
    local csv = lines(dir .. "/par/sweep.csv")
    T.eq(#csv, 7)
    T.ok(csv[7]:find("^4,0.5,4.5,"), csv[7])
    T.ok(io.open(dir .. "/par/worker-1.log") and io.open(dir .. "/par/worker-2.log"), "worker logs")
    T.eq(#lines(dir .. "/other/sweep.csv"), 3, "the other sweep ran once, in the parent")
    ok = run_script(dir)
    T.ok(ok)
    T.eq(select(2, calls_in(dir)), 6, "a second run starts no point")
  end)
end)

T.case("run with workers = 2: a failing point fails the sweep after the others finish", function()
  fs.with_tmpdir(function(dir)
    local ok, out = run_script(dir, "fail")
    T.ok(not ok, "the script fails")
    T.ok(out:find("sweep par: worker %d %(exit 1, see .*worker%-%d%.log%)"), out)
    T.eq(#lines(dir .. "/par/sweep.csv"), 5, "the four good points are recorded")
    local log = io.open(dir .. "/par/worker-1.log"):read("a") .. io.open(dir .. "/par/worker-2.log"):read("a")
    T.ok(log:find("point T=4,alpha=0.1 failed: .*broken point"), log)
  end)
end)

T.case("backend options: sweep.with_flags, a bad backend, bad slurm settings are errors naming them", function()
  local o = sweep.with_flags({backend = "slurm", ["array-task"] = 3, slurm = '{partition = "cpu", mem = "4G"}'},
    {root = "r", workers = 2})
  T.eq(o, {root = "r", workers = 2, backend = "slurm", array_task = 3, slurm = {partition = "cpu", mem = "4G"}})
  T.eq(sweep.with_flags({}, {workers = 2}), {workers = 2}, "no flags: the options as they were")
  T.raises(function() sweep.with_flags({slurm = "partition = cpu"}, {}) end, "%-%-slurm expects a Lua table")
  fs.with_tmpdir(function(dir)
    local function run(opts)
      opts.root, opts.log = dir, false
      return sweep.run("bad", SPEC, score, opts)
    end
    T.raises(function() run{backend = "condor"} end, 'backend must be "local" or "slurm", got condor')
    T.raises(function() run{backend = "slurm", slurm = {queue = "x"}} end, "unknown option 'queue'")
    T.raises(function() run{backend = "slurm", slurm = {extra = {"qos=long"}}} end,
      "slurm.extra: each entry is one sbatch option")
    T.raises(function() run{backend = "slurm", slurm = {time = "1 hour"}} end, "slurm.time: a plain word")
    T.raises(function() run{backend = "slurm", slurm = {max_running = 0}} end, "slurm.max_running")
    T.eq(#lines(dir .. "/bad/sweep.csv"), 1, "no point ran")
  end)
end)

T.run()
