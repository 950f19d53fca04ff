-- experiments/all.lua — runs every experiment, one jetlab process each, then
-- prints a combined summary (each run's headline tables and the wall time of
-- each experiment) and writes it to results/all/<run-id>/summary.md.
--
--   jetlab experiments/all.lua --quick              (the README's main command; scripts/demo.sh)
--   jetlab experiments/all.lua --quick --only '{"compression_kd", "real_events"}'
--   jetlab experiments/all.lua --full --data atlas_top500.h5
--   jetlab experiments/all.lua --quick --generator pythia   (every sample made by Pythia 8)
--
-- --quick/--full, --device, --data, --generator, --seed and --out are passed to every
-- experiment. --resume goes on after an interruption: an experiment whose
-- latest run finished is not run again, one whose latest run did not finish
-- is resumed (--resume), the others run. Order matters: real_events scores the checkpoints of
-- compression_kd and transfer, and data_efficiency reuses transfer's
-- pre-trained model. --sweep also runs experiments/kd_sweep.lua.

package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local jl = require "jetlab"
local E = require "jetlab.experiment"
local fs = require "jetlab.fs"
local json = require "jetlab.json"
local results = require "jetlab.results"

local ALL = {"degradation_kd", "compression_kd", "transfer", "data_efficiency", "real_events"}
local cfg = E.config{
  about = "Runs every experiment (" .. table.concat(ALL, ", ") .. ") and prints a combined summary.",
  only = ALL, sweep = false, keep_going = false,
}
local dir = arg[0]:match("^(.*)/") or "."
local exe = require("jetlab.paths").exe
if not exe or exe == "" then exe = arg[-1] end

local common = {"--" .. cfg.preset, "--device", cfg.device, "--generator", cfg.generator, "--seed", tostring(cfg.seed),
  "--out", cfg.out}
if cfg.data then common[#common + 1], common[#common + 2] = "--data", cfg.data end
local list = {}
for _, name in ipairs(cfg.only) do list[#list + 1] = name end
if cfg.sweep then list[#list + 1] = "kd_sweep" end

-- Under --resume: "done" when the experiment's latest run finished, "resume" when it did not, nil without one.
local function resume_state(name)
  if not E.resume_requested(cfg) then return nil end
  local text = fs.read(cfg.out .. "/" .. name .. "/latest/metrics.json")
  if not text then return nil end
  local m = json.decode(text)
  return type(m) == "table" and m.finished and "done" or "resume"
end

local timing, failed = {}, {}
local t_all = jl.clock()
for i, name in ipairs(list) do
  local words = {exe, dir .. "/" .. name .. ".lua"}
  for _, w in ipairs(common) do words[#words + 1] = w end
  local state = resume_state(name)
  if state == "resume" then words[#words + 1] = "--resume" end
  local command = fs.command(words)
  if state == "done" then
    print(string.format("\n==== [%d/%d] %s: finished before (%s/%s/latest) ====", i, #list, name, cfg.out, name))
    timing[#timing + 1] = {name, 0, "finished before"}
    goto continue
  end
  print(string.format("\n==== [%d/%d] %s ====", i, #list, command))
  local t0 = jl.clock()
  local ok, how, code = os.execute(command)
  local seconds = jl.clock() - t0
  timing[#timing + 1] = {name, seconds, ok and "ok" or string.format("failed (%s %s)", how, tostring(code))}
  if not ok then
    failed[#failed + 1] = name
    if how == "signal" or code == 130 or code == 143 then   -- interrupted: stop here
      io.stderr:write("all: interrupted; go on with: " .. E.command(cfg) .. " --resume\n")
      break
    end
    if not cfg.keep_going then break end
  end
  ::continue::
end
local total = jl.clock() - t_all

-- The headline tables of a run's summary.md: every "## title" + Markdown table but the wide ones.
local SKIP = {["Metrics"] = true, ["Pythia jets and their P(top)"] = true}
local function headline_tables(path)
  local f = io.open(path)
  if not f then return {} end
  local tables, cur = {}, nil
  for line in f:lines() do
    local title = line:match("^## (.+)$")
    if title then
      cur = not SKIP[title] and title ~= "Plots" and {title = title, rows = {}} or nil
      if cur then tables[#tables + 1] = cur end
    elseif cur and line:match("^|") and not line:match("^| %-%-%-") then
      local cells = {}
      for cell in line:sub(2, -2):gmatch("([^|]*)|?") do
        if #cells < 64 then cells[#cells + 1] = cell:match("^%s*(.-)%s*$") end
      end
      if cells[#cells] == "" then cells[#cells] = nil end
      if not cur.columns then cur.columns = cells else cur.rows[#cur.rows + 1] = cells end
    end
  end
  f:close()
  return tables
end

local run = results.run("all", cfg, {root = cfg.out, tags = {generator = cfg.generator}})
run:write_config()
for _, name in ipairs(list) do
  local latest = cfg.out .. "/" .. name .. "/latest"
  for _, t in ipairs(headline_tables(latest .. "/summary.md")) do
    if t.columns then run:table(name .. ": " .. t.title, t.columns, t.rows) end
  end
end
run:table("Wall time per experiment (s)", {"experiment", "seconds", "status"}, timing)
run:note(string.format("Total: %.0f s (%.1f min), preset %s, %d threads. Tables from each experiment's latest run " ..
  "(`%s/<experiment>/latest/summary.md`); jets made by the %s generator unless --data was given.", total, total / 60,
  cfg.preset, jl.get_num_threads(), cfg.out, cfg.generator))
run:finish()
print(string.format("all: %d experiment(s) in %.0f s (%.1f min)%s", #list, total, total / 60,
  #failed > 0 and "; FAILED: " .. table.concat(failed, ", ") or ""))
if #failed > 0 then os.exit(1) end
