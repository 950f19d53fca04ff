-- onnx_latency.lua — jetlab's side of bench/onnx_latency.sh: a checkpoint's forward
-- (softmax included, no_grad, eval) on the first BATCH jets of JETS.h5 and on the first
-- jet alone, median milliseconds over REPS calls after 3 warm-up calls, as one JSON line.
--   jetlab bench/onnx_latency.lua CKPT.h5 JETS.h5 BATCH REPS THREADS [eager]
-- ParticleNet takes the ragged batch as predict.chunks gives it (the ONNX side gets the
-- same jets padded). A feed-forward model (the FCNNs) and LundNet run as jetlab deploys
-- them: their nn.compile inference plan (LundNet: the graph plan), softmax included (one
-- C call), as libjetlab does (the eager forward when nn.compile refuses the model);
-- `eager` times the eager forward instead (the comparison). A call ends with the
-- probabilities in a host tensor, as ORT's ends with them in a numpy array (until
-- 2026-12-07 jetlab's side also converted them to a Lua table, about 1-3 µs).
local jl = require "jetlab"
local ckpt = require "jetlab.ckpt"
local nn = require "jetlab.nn"
local predict = require "jetlab.predict"
local json = require "jetlab.json"

local path, jets, batch, reps, threads = arg[1], arg[2], tonumber(arg[3]), tonumber(arg[4]), tonumber(arg[5])
local eager = arg[6] == "eager"
jl.set_num_threads(threads)
local model, state = assert(ckpt.model(path))
model:eval()
local compiled = not eager and (state.spec.inputs.kind == "flat" or state.spec.inputs.kind == "lund")
local ok, compiled_plan = pcall(nn.compile, model, {softmax = true})
local plan = compiled and ok and compiled_plan or nil

-- The median milliseconds of model(x):softmax(2) on the first n jets.
local function median_ms(n)
  local x = assert(predict.chunks(jets, state.spec.inputs, {batch = n, degrade = false})).next().x
  local run = plan and function() return plan(x) end
    or function() return jl.no_grad(function() return model(x):softmax(2) end) end
  for _ = 1, 3 do run() end
  local t = {}
  for i = 1, reps do
    local t0 = jl.clock()
    run()
    t[i] = (jl.clock() - t0) * 1e3
  end
  table.sort(t)
  return t[(reps + 1) // 2]
end

print(json.encode({side = "jetlab", model = model.spec.name, threads = threads, batch = batch,
  compiled = plan ~= nil, batched_ms = median_ms(batch), single_ms = median_ms(1)}))
