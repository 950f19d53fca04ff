-- h5_guard_overhead.lua — what reading jets in a forked child costs
-- (core/jl_h5_guard.h): one pass of data.open + batches over FILE, and raw
-- jl.io reads of 4096 jets, with a parent of BALLAST_MIB extra resident
-- memory (fork copies page tables). Compare JETLAB_H5_ISOLATION=0, 1 (the
-- default: only opening in a child) and 2 (every read in a child).
--   jetlab bench/h5_guard_overhead.lua FILE [BALLAST_MIB]
local data = require "jetlab.data"
local path, ballast_mib = arg[1], tonumber(arg[2] or "0")
local ballast = ballast_mib > 0 and jl.ones(math.floor(ballast_mib * 262144)) or nil

local t0, jets = jl.clock(), 0
for b in assert(data.open(path)):batches{batch_size = 256, format = "flat", features = {max_constituents = 200}} do
  jets = jets + b.n
end
local pass = jl.clock() - t0

local r = assert(jl.io.open_jets(path))
local t1, reads = jl.clock(), 0
for s = 1, r:count(), 4096 do
  r:read(s, math.min(4096, r:count() - s + 1))
  reads = reads + 1
end
local raw = jl.clock() - t1
print(string.format('{"isolation":%s,"ballast_mib":%d,"jets":%d,"pass_s":%.3f,"raw_reads":%d,"raw_s":%.3f,"ms_per_read":%.2f}',
                    os.getenv("JETLAB_H5_ISOLATION") or "1", ballast_mib, jets, pass, reads, raw,
                    1000 * raw / reads))
assert(ballast_mib == 0 or ballast, "the ballast stays alive to the end")
