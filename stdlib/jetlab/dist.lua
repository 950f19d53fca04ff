-- jetlab.dist — what a script run as K MPI ranks (`mpirun -n K jetlab
-- script.lua`) shares between them beyond train.fit (jetlab.dist_train):
-- who writes files, rank 0's strings, work done once by rank 0. Owner: the
-- experiment harness (jetlab.experiment, results, samples, fs, plot). In one
-- process every function is the plain case (this process writes, fn just runs).
--
--   if dist.writer() then ... end            -- rank 0 only (every process alone)
--   local id = dist.broadcast_string(id)     -- rank 0's string on every rank
--   dist.after_rank0(function() make(path) end)   -- rank 0 runs it; all wait for it
--   dist.quiet_others()                      -- ranks > 0 print nothing
local jl = require "jetlab"

local dist = {}

--- dist.several() → true under MPI with more than one rank.
function dist.several() return jl.dist.size() > 1 end

--- dist.writer() → true on the process that writes files and results: rank 0.
function dist.writer() return jl.dist.rank() == 0 end

--- dist.broadcast_string(s) → rank 0's s (a string) on every rank.
function dist.broadcast_string(s)
  if not dist.several() then return s end
  local n = jl.dist.broadcast_integers({dist.writer() and #s or 0})[1]
  local codes = {}
  for i = 1, n do codes[i] = dist.writer() and s:byte(i) or 0 end
  return string.char(table.unpack(jl.dist.broadcast_integers(codes)))
end

--- dist.after_rank0(fn, ...) → fn(...)'s results on rank 0 (nil elsewhere):
--- rank 0 runs fn, then every rank waits until it has (a barrier), so what it
--- wrote is there for all. An error on rank 0 ends the job (every rank stops).
function dist.after_rank0(fn, ...)
  if not dist.several() then return fn(...) end
  local results = dist.writer() and table.pack(fn(...)) or {n = 0}
  jl.dist.barrier()
  return table.unpack(results, 1, results.n)
end

--- dist.quiet_others(): on ranks > 0, print and io.write write nothing (rank 0
--- speaks for the job; errors still go to stderr).
function dist.quiet_others()
  if dist.writer() then return end
  print = function() end -- luacheck: ignore 121
  io.output("/dev/null")
end

return dist
