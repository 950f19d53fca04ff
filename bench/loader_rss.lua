-- loader_rss.lua — memory and speed of the streaming loader (DESIGN rule 6).
--
--   jetlab bench/loader_rss.lua gen FILE N        random jets in the ATLAS layout
--                                                 (200 columns, 5..120 real), via jl.io
--   jetlab bench/loader_rss.lua run FILE [MODE]   one pass; MODE = "flat" (default: a
--                                                 shuffled 70% split, 200x7 flat batches
--                                                 of 256, as the FCNN teacher uses),
--                                                 "ragged" (the same as ragged batches),
--                                                 "kd" (flat, smear + undersample and the
--                                                 teacher view), "all" (every jet, no split),
--                                                 "cached" (flat, through a 64 MiB row cache
--                                                 spilling to $TMPDIR: two passes, the
--                                                 second from the cache; jetlab.data_cache)
-- run prints one JSON line per pass: jets, seconds, jets_per_s, rss_start_mib (after
-- opening), vm_hwm_mib (the process's peak resident set so far) and batches;
-- cached adds the cache's memory_mib and spill_mib.
-- bench/loader_rss.sh runs it for 10k, 100k and 1M jets.
local data = require "jetlab.data"
local data_cache = require "jetlab.data_cache"

local function status_mib(field)
  local f = assert(io.open("/proc/self/status"))
  local text = f:read("a")
  f:close()
  return tonumber(text:match(field .. ":%s*(%d+) kB")) / 1024
end

local function gen(path, n)
  n = math.tointeger(tonumber(n))
  local C, step = 200, 10000
  jl.manual_seed(1)
  local w <close> = assert(jl.io.jets_writer(path))
  for first = 1, n, step do
    local m = math.min(step, n - first + 1)
    local counts = jl.randint(5, 121, m, 1)
    local mask = jl.arange(C, {dtype = "i64"}):view(1, C):lt(counts):to("f32")
    local pt = (jl.rand(m, C) * 100 + 0.5) * mask
    local eta = (jl.randn(m, C) * 0.3 + jl.randn(m, 1)) * mask
    local phi = (jl.randn(m, C) * 0.3) * mask
    local E = pt * ((eta:exp() + (-eta):exp()) * 0.5)
    assert(w:write{
      pt = pt, eta = eta, phi = phi, E = E, jet_pt = pt:sum(2), jet_eta = jl.zeros(m),
      jet_phi = jl.zeros(m), jet_m = jl.zeros(m), labels = jl.randint(0, 2, m), weights = jl.ones(m),
    })
  end
end

local function run(path, mode)
  mode = mode or "flat"
  local ds = assert(data.open(path))
  local view = mode == "all" and ds or ds:split{0.7, 0.15, 0.15, seed = 1}
  local opts = {batch_size = 256, shuffle = true, seed = 1, format = mode == "ragged" and "ragged" or "flat",
                features = {max_constituents = 200}}
  if mode == "kd" then
    opts.teacher_view = true
    opts.degrade = {data.smear{E = 0.1, pt = 0.1}, data.undersample{keep = 5}}
  end
  if mode == "cached" then
    data_cache.configure{mb = 64, dir = os.getenv("TMPDIR") or "/tmp"}
    opts.cache = true
  end
  collectgarbage()
  local rss0 = status_mib("VmRSS")
  for pass = 1, mode == "cached" and 2 or 1 do
    local t0, jets, batches = jl.clock(), 0, 0
    for b in view:batches(opts) do
      jets = jets + b.n
      batches = batches + 1
      b = nil -- luacheck: ignore 311 (frees the batch before collectgarbage)
      collectgarbage()
    end
    local dt = jl.clock() - t0
    local s = data_cache.stats()
    print(string.format('{"file":"%s","mode":"%s","pass":%d,"jets":%d,"batches":%d,"seconds":%.2f,"jets_per_s":%.0f,'
                        .. '"rss_start_mib":%.1f,"vm_hwm_mib":%.1f,"memory_mib":%.1f,"spill_mib":%.1f}',
                        path, mode, pass, jets, batches, dt, jets / dt, rss0, status_mib("VmHWM"),
                        s.memory_bytes / 2 ^ 20, s.spill_bytes / 2 ^ 20))
  end
end

local cmd = arg[1]
if cmd == "gen" then gen(arg[2], arg[3])
elseif cmd == "run" then run(arg[2], arg[3])
else error("usage: loader_rss.lua gen FILE N | run FILE [flat|ragged|kd|all|cached]") end
