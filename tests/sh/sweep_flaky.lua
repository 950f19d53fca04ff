-- sweep_flaky.lua — the small sweep of test_slurm_sweep.sh: y = x * x over x = 1..4
-- in <out>/flaky/ (sweep.FLAGS: --backend, --array-task, --slurm). Point x = 3
-- raises while the file --fail names exists (a failed task, then a resubmitted one);
-- point x = 4 waits (up to 60 s) while the file --hold names exists (a task still running).
--   jetlab sweep_flaky.lua --out DIR [--fail FILE] [--hold FILE] [--backend slurm --slurm '{...}'] [--resume]
local E = require "jetlab.experiment"
local fs = require "jetlab.fs"
local sweep = require "jetlab.sweep"

local cfg = E.config{about = "A sweep whose point x = 3 fails while --fail's file exists.", fail = "", hold = "",
  flags = sweep.FLAGS}
local rows = sweep.run("flaky", {x = {1, 2, 3, 4}}, function(p)
  if p.x == 3 and cfg.fail ~= "" and fs.exists(cfg.fail) then error("point x=3 fails on purpose") end
  for _ = 1, 600 do
    if p.x ~= 4 or cfg.hold == "" or not fs.exists(cfg.hold) then break end
    os.execute("sleep 0.1")
  end
  return {y = p.x * p.x}
end, sweep.with_flags(E.flags(cfg), {root = cfg.out, plot = {x = "x", y = "y"}}))
print(string.format("flaky: %d points", #rows))
