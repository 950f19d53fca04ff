-- jetlab.sweep.slurm — jetlab.sweep's slurm backend: a sweep's pending points as one SLURM job array.
--
-- sweep.run(name, grid, fn, {backend = "slurm", slurm = settings}) calls
-- slurm.run(sw, pending, command, settings):
--   sw        the sweep (jetlab.sweep's Sweep): name, dir, points, rows, log, key, follow, collect
--   pending   the grid indices (from 1) of the points without a file
--   command   the shell command that starts the running script again, its flags included
--   settings  {partition =, time =, cpus_per_task =, mem =, account =: the sbatch options of
--             those names; extra = {"--qos=long", ...}: more sbatch options; max_running = N:
--             at most N tasks at once (--array=...%N); poll = seconds between squeue calls (5)}
--
-- Task N of the array is point N + 1 of the grid (task ids count from 0, as
-- $SLURM_ARRAY_TASK_ID does): it runs `command --array-task N` with
-- JETLAB_SWEEP_NAME set, in the submitting folder, with the submitting
-- environment (sbatch's default), so the script must hand --array-task to
-- sweep.run (sweep.FLAGS). The points come back as files, collected as the
-- local backend's are. Files, in <root>/<name>/slurm/:
--   array.sbatch   the script last submitted (sbatch copies it: rewriting it touches no job)
--   task-N.log     task N's output, stdout and stderr
--   task-N.status  task N's exit status, written by the script when the command returns
--   jobs.txt       one line per submission, "JOBID TASK,TASK,...": a rerun follows the tasks of
--                  these still in squeue and submits only the other pending points, so a point
--                  that failed or never ran is submitted again and no point runs twice at once
-- A task that leaves squeue without its point file has failed: it is reported
-- with its exit status (or, when there is none, sacct's state where accounting
-- works) and its log, and slurm.run raises once no task is left. SIGINT stops
-- the following, not the job (scancel does).

local fs = require "jetlab.fs"
local options = require "jetlab.options"

local slurm = {}

local SETTINGS = {partition = options.OPTIONAL, time = options.OPTIONAL, cpus_per_task = options.OPTIONAL,
  mem = options.OPTIONAL, account = options.OPTIONAL, extra = {}, max_running = options.OPTIONAL, poll = 5}
-- seconds a task may be gone from squeue before its status file must be there
local GRACE = 10

-- Runs a shell command; returns its exit status and its output (stdout and stderr).
local function shell(cmd)
  local p = assert(io.popen(cmd .. " 2>&1"))
  local out = p:read("a")
  local ok, how, code = p:close()
  return ok and 0 or (how == "exit" and code or 128 + code), out
end

local function check_settings(what, given)
  local s = options.check(what, given, SETTINGS)
  for _, k in ipairs{"partition", "time", "cpus_per_task", "mem", "account"} do
    local v = s[k]
    if v ~= nil and not ((type(v) == "string" or math.type(v) == "integer") and tostring(v):match("^[%w:._@+,=-]+$")) then
      error(string.format("%s.%s: a plain word or integer expected, got %s", what, k, tostring(v)), 0)
    end
  end
  assert(type(s.extra) == "table", what .. ".extra: a list of sbatch options expected")
  for _, e in ipairs(s.extra) do
    if type(e) ~= "string" or not e:match("^%-") or e:find("\n") then
      error(string.format("%s.extra: each entry is one sbatch option like \"--qos=long\", got %s", what, tostring(e)), 0)
    end
  end
  if s.max_running ~= nil and not (math.type(s.max_running) == "integer" and s.max_running > 0) then
    error(what .. ".max_running: a positive integer expected", 0)
  end
  if type(s.poll) ~= "number" or s.poll <= 0 then error(what .. ".poll: seconds > 0 expected", 0) end
  return s
end

-- "0-3,7,9-10": the sorted task ids as sbatch's --array wants them.
local function ranges(tasks)
  local out, i = {}, 1
  while i <= #tasks do
    local j = i
    while tasks[j + 1] == tasks[j] + 1 do j = j + 1 end
    out[#out + 1] = j > i and tasks[i] .. "-" .. tasks[j] or tostring(tasks[i])
    i = j + 1
  end
  return table.concat(out, ",")
end

local function cwd()
  local p = assert(io.popen("pwd"))
  local dir = p:read("l")
  p:close()
  return dir
end

local function absolute(path)
  return path:sub(1, 1) == "/" and path or cwd() .. "/" .. path
end

local function script_text(sw, s, tasks, dir, command)
  local lines = {"#!/bin/bash",
    string.format("# written by jetlab.sweep: sweep %s, task N runs point N of the grid (from 0)", sw.name),
    "#SBATCH --job-name=" .. sw.name,
    "#SBATCH --array=" .. ranges(tasks) .. (s.max_running and "%" .. s.max_running or ""),
    "#SBATCH --output=" .. dir .. "/task-%a.log"}
  for _, k in ipairs{"partition", "time", "cpus_per_task", "mem", "account"} do
    if s[k] ~= nil then lines[#lines + 1] = "#SBATCH --" .. k:gsub("_", "-") .. "=" .. s[k] end
  end
  for _, e in ipairs(s.extra) do lines[#lines + 1] = "#SBATCH " .. e end
  local status = fs.quote(dir .. "/task-") .. '"$SLURM_ARRAY_TASK_ID".status'
  for _, l in ipairs{
    "cd " .. fs.quote(cwd()),
    "export JETLAB_SWEEP_NAME=" .. fs.quote(sw.name),
    command .. ' --array-task "$SLURM_ARRAY_TASK_ID"',
    "rc=$?",
    'echo "$rc" >' .. status .. ".tmp && mv " .. status .. ".tmp " .. status,
    'exit "$rc"'} do
    lines[#lines + 1] = l
  end
  return table.concat(lines, "\n") .. "\n"
end

-- The submissions in jobs.txt: array of {job = "123", tasks = {0, 4}}.
local function read_jobs(path)
  local jobs = {}
  for line in (fs.read(path) or ""):gmatch("[^\n]+") do
    local job, list = line:match("^(%d+) ([%d,]+)$")
    if job then
      local tasks = {}
      for t in list:gmatch("%d+") do tasks[#tasks + 1] = tonumber(t) end
      jobs[#jobs + 1] = {job = job, tasks = tasks}
    end
  end
  return jobs
end

local function job_ids(jobs_of)
  local seen, ids = {}, {}
  for _, job in pairs(jobs_of) do
    if not seen[job] then seen[job], ids[#ids + 1] = true, job end
  end
  table.sort(ids)
  return ids
end

-- The array tasks of the jobs that squeue lists: {[task] = {job =, state = "PD" | "R" | ...}};
-- nil, squeue's message when it fails (a job it no longer knows is no failure).
local function queued(ids)
  if #ids == 0 then return {} end
  local rc, out = shell("squeue -h -r -o '%F %K %t' -j " .. table.concat(ids, ","))
  if rc ~= 0 then
    if out:find("Invalid job id") then return {} end
    return nil, (out:gsub("%s+$", ""))
  end
  local tasks = {}
  for job, task, state in out:gmatch("(%d+) (%d+) (%S+)") do tasks[tonumber(task)] = {job = job, state = state} end
  return tasks
end

-- sacct's state of each task of the jobs ({[task] = "TIMEOUT"}); {} without accounting.
local function accounted(ids)
  local rc, out = shell("sacct -n -P -X -o JobID,State -j " .. table.concat(ids, ","))
  local states = {}
  if rc == 0 then
    for task, state in out:gmatch("%d+_(%d+)|(%S+)") do states[tonumber(task)] = state end
  end
  return states
end

-- Submits the tasks as one array; returns the job id.
local function submit(sw, s, tasks, dir, command)
  for _, t in ipairs(tasks) do os.remove(dir .. "/task-" .. t .. ".status") end
  local path = dir .. "/array.sbatch"
  fs.write(path, script_text(sw, s, tasks, dir, command))
  local rc, out = shell("sbatch --parsable " .. fs.quote(path))
  local job = rc == 0 and out:match("^%s*(%d+)")
  if not job then
    error(string.format("sweep %s: sbatch %s failed (exit %d): %s", sw.name, path, rc, (out:gsub("%s+$", ""))), 0)
  end
  local f = assert(io.open(dir .. "/jobs.txt", "a"))
  f:write(job, " ", table.concat(tasks, ","), "\n")
  f:close()
  sw.log(string.format("sweep %s: submitted SLURM job %s, %d tasks (%s), script %s, logs %s/task-N.log",
    sw.name, job, #tasks, ranges(tasks), path, dir))
  return job
end

--- slurm.run(sw, pending, command, settings): runs the pending points as array tasks (see the header).
function slurm.run(sw, pending, command, settings)
  local s = check_settings("sweep " .. sw.name .. ": slurm", settings)
  if shell("command -v sbatch") ~= 0 then
    error("sweep " .. sw.name .. ": the slurm backend needs sbatch, which is not on PATH " ..
      "(run on a SLURM submit host, or use the local backend)", 0)
  end
  local dir = absolute(sw.dir .. "/slurm")
  fs.mkdir(dir)
  -- task → the job that runs it; the tasks of earlier submissions still queued are followed
  local job_of, fresh = {}, {}
  local earlier = {}
  for _, j in ipairs(read_jobs(dir .. "/jobs.txt")) do earlier[#earlier + 1] = j.job end
  local live, err = queued(earlier)
  if not live then error("sweep " .. sw.name .. ": squeue failed: " .. err, 0) end
  for _, i in ipairs(pending) do
    local task = i - 1
    if live[task] then job_of[task] = live[task].job else fresh[#fresh + 1] = task end
  end
  local following = job_ids(job_of)
  if #following > 0 then
    sw.log(string.format("sweep %s: %d points still queued or running in SLURM job %s: following them",
      sw.name, #pending - #fresh, table.concat(following, ", ")))
  end
  if #fresh > 0 then
    local job = submit(sw, s, fresh, dir, command)
    for _, t in ipairs(fresh) do job_of[t] = job end
  end

  local failed, gone_since, misses, last = {}, {}, 0, nil
  local function fail(task, why)
    local msg = string.format("task %d (%s): %s, log %s/task-%d.log", task, sw:key(task + 1), why, dir, task)
    failed[#failed + 1] = msg
    sw.log(string.format("sweep %s: %s", sw.name, msg))
    job_of[task] = nil
  end
  local function check()
    local q, qerr = queued(job_ids(job_of))
    if not q then
      misses = misses + 1
      if misses >= 5 then error("sweep " .. sw.name .. ": squeue failed 5 times in a row: " .. qerr, 0) end
      return true
    end
    misses = 0
    local count = {PD = 0, R = 0, ending = 0}
    for task in pairs(job_of) do
      local i = task + 1
      if q[task] then
        local st = q[task].state
        local k = (st == "PD" or st == "R") and st or "ending"
        count[k] = count[k] + 1
      else
        sw:collect({i})
        local rc = sw.exit_status(dir .. "/task-" .. task .. ".status")
        gone_since[task] = gone_since[task] or os.time()
        if sw.rows[i] then
          job_of[task] = nil
        elseif rc then
          fail(task, rc == 0 and "exit 0 but no point file (does the script hand --array-task to sweep.run?)"
            or "exit " .. rc)
        elseif os.time() - gone_since[task] > GRACE then
          local state = accounted(job_ids({job_of[task]}))[task]
          fail(task, "ended without an exit status (" .. (state and "sacct: " .. state or
            "cancelled, out of time or memory, or its node failed; no accounting here to say which") .. ")")
        else
          count.ending = count.ending + 1
        end
      end
    end
    local done = 0
    for _, i in ipairs(pending) do done = done + (sw.rows[i] and 1 or 0) end
    local line = string.format("sweep %s: %d done, %d failed, %d running, %d pending", sw.name, done, #failed,
      count.R + count.ending, count.PD)
    if line ~= last then
      sw.log(line)
      last = line
    end
    return next(job_of) ~= nil
  end
  sw:follow(pending, s.poll, check, string.format("; SLURM job %s goes on (scancel stops it; the same " ..
    "command, --resume added, follows it again)", table.concat(job_ids(job_of), ", ")))
  if #failed > 0 then
    error(string.format("sweep %s: %d of %d SLURM tasks failed:\n  %s\nthe same command, --resume added, " ..
      "submits only the failed and missing points again", sw.name, #failed, #pending,
      table.concat(failed, "\n  ")), 0)
  end
end

return slurm
