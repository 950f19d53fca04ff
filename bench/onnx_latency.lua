-- onnx_latency.lua — jetlab's side of bench/onnx_latency.sh: a checkpoint's forward
-- on the first BATCH jets of JETS.h5 and on the first jet alone, median milliseconds
-- over REPS calls, as one JSON line (how it is timed: jetlab.onnx.latency).
--   jetlab bench/onnx_latency.lua CKPT.h5 JETS.h5 BATCH REPS THREADS [eager]
local jl = require "jetlab"
local json = require "jetlab.json"
local latency = require "jetlab.onnx.latency"

local threads = tonumber(arg[5])
jl.set_num_threads(threads)
local r = assert(latency.jetlab(arg[1], arg[2], {batch = tonumber(arg[3]), reps = tonumber(arg[4]),
                                                 eager = arg[6] == "eager"}))
print(json.encode({side = "jetlab", model = r.model, threads = threads, batch = r.batch, compiled = r.compiled,
                   batched_ms = r.batched_ms, single_ms = r.single_ms}))
