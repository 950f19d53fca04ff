-- jetlab.onnx.latency — jetlab's inference latency against ONNX Runtime's on the
-- same exported model and the same jets (`jetlab bench --onnx`, bench/onnx_latency.sh).
--
--   local latency = require "jetlab.onnx.latency"
--   local j = latency.jetlab("best.h5", "jets.h5", {batch = 64, reps = 20})      -- jetlab's side alone
--   local row = assert(latency.compare("best.h5", "jets.h5", {batch = 64, reps = 20, rounds = 3, threads = 2}))
--   print(row.ort_over_jetlab_batched, row.ort_over_jetlab_single)
--
-- jetlab's side: the checkpoint's forward with softmax, eval, no grad, on the first
-- `batch` jets of the file and on the first jet alone, median milliseconds over `reps`
-- calls after 3 warm-up calls. The FCNNs and LundNet run as jetlab deploys them (and
-- libjetlab runs them): their nn.compile inference plan, softmax included, one C call
-- (the eager forward when nn.compile refuses the model; `eager = true` times the
-- eager forward instead). ParticleNet takes the ragged batch as predict.chunks gives
-- it; ONNX Runtime gets the same jets padded (jetlab.onnx.inputs). A call ends with
-- the probabilities in a host tensor, as ORT's ends with them in a numpy array.
-- ONNX Runtime's side: stdlib/onnx/ort_latency.py (CPUExecutionProvider, intra-op
-- threads = threads, inter-op 1), run by a Python that imports onnxruntime and numpy
-- (o.python, else $JETLAB_ONNX_PYTHON, else $JETLAB_TEST_PYTHON, else .venv-test/ at
-- the root of the jetlab tree, made by scripts/install-test-venv.sh). The engine
-- itself never uses ONNX Runtime.

local jl = require "jetlab"
local ckpt = require "jetlab.ckpt"
local fs = require "jetlab.fs"
local json = require "jetlab.json"
local nn = require "jetlab.nn"
local paths = require "jetlab.paths"
local predict = require "jetlab.predict"

local M = {}

local ROOT = paths.stdlib:match("^(.*)/[^/]+$") or "."
local SCRIPT = paths.stdlib .. "/onnx/ort_latency.py"

--- latency.INSTALL: the command that makes the venv with onnxruntime.
M.INSTALL = "bash " .. ROOT .. "/scripts/install-test-venv.sh"

local function median(t)
  local s = table.move(t, 1, #t, 1, {})
  table.sort(s)
  return #s % 2 == 1 and s[(#s + 1) // 2] or 0.5 * (s[#s // 2] + s[#s // 2 + 1])
end

--- latency.jetlab(ckpt_path, jets_path, o) → {model =, compiled =, batch =, batched_ms =, single_ms =}
--- | nil, message. o: batch (default 64), reps (default 20), eager (default false).
function M.jetlab(ckpt_path, jets_path, o)
  o = o or {}
  local batch, reps = o.batch or 64, o.reps or 20
  local model, state = ckpt.model(ckpt_path)
  if not model then return nil, state end
  local kind = state.spec.inputs.kind
  local plan
  if not o.eager and (kind == "flat" or kind == "lund") then
    local ok, p = pcall(nn.compile, model, {softmax = true})
    plan = ok and p or nil
  end
  local function median_ms(n)
    local reader, err = predict.chunks(jets_path, state.spec.inputs, {batch = n, degrade = false})
    if not reader then error(err, 0) end
    local x = reader.next().x
    local run = plan and function() return plan(x) end
      or function() return jl.no_grad(function() return model(x):softmax(2) end) end
    for _ = 1, 3 do run() end
    local t = {}
    for i = 1, reps do
      local t0 = jl.clock()
      run()
      t[i] = (jl.clock() - t0) * 1e3
    end
    return median(t)
  end
  local ok, batched = pcall(median_ms, batch)
  if not ok then return nil, batched end
  return {model = model.spec.name, compiled = plan ~= nil, batch = batch, batched_ms = batched,
          single_ms = median_ms(1)}
end

--- latency.python(o) → the path of a Python that imports onnxruntime and numpy | nil, message.
function M.python(o)
  local py = o and o.python or os.getenv("JETLAB_ONNX_PYTHON") or os.getenv("JETLAB_TEST_PYTHON") or
             ROOT .. "/.venv-test/bin/python"
  if os.execute(fs.quote(py) .. " -c 'import onnxruntime, numpy' >/dev/null 2>&1") then return py end
  return nil, string.format("ONNX Runtime is not available (%s cannot import onnxruntime and numpy): run `%s`, " ..
                            "or name a Python with --python", py, M.INSTALL)
end

--- latency.onnxruntime(python, onnx_path, inputs_json, o) → {batch =, batched_ms =, single_ms =, version =}
--- | nil, message. o: reps, threads.
function M.onnxruntime(python, onnx_path, inputs_json, o)
  local words = {python, SCRIPT, onnx_path, inputs_json, o.reps or 20, o.threads or jl.get_num_threads()}
  local p = assert(io.popen(fs.command(words) .. " 2>&1", "r"))
  local text = p:read("a")
  p:close()
  local ok, r = pcall(json.decode, text:match("([^\n]+)\n*$") or "")
  if not ok or type(r) ~= "table" or not r.batched_ms then
    return nil, "ONNX Runtime's side failed: " .. text:gsub("%s+$", "")
  end
  return r
end

--- latency.compare(ckpt_path, jets_path, o) → row | nil, message: exports the checkpoint
--- (jetlab.onnx, o.points for ParticleNet), writes the first batch's ONNX inputs, then
--- o.rounds (default 3) alternating rounds (jetlab then ORT, ORT then jetlab, ...) of
--- o.reps calls each at o.threads (default: jetlab's pool). row: model, compiled, batch,
--- threads, rounds, jetlab_batched_ms, ort_batched_ms, jetlab_single_ms, ort_single_ms
--- (medians over rounds), ort_over_jetlab_batched, ort_over_jetlab_single (> 1: jetlab
--- faster), onnxruntime (its version). o.dir: where the .onnx and .json go (default a
--- temporary folder, removed).
function M.compare(ckpt_path, jets_path, o)
  o = o or {}
  local python, perr = M.python(o)
  if not python then return nil, perr end
  local threads = o.threads or jl.get_num_threads()
  local was = jl.get_num_threads()
  jl.set_num_threads(threads)
  local dir = o.dir or fs.tmpdir()
  local onnx_path, inputs_json = dir .. "/model.onnx", dir .. "/inputs.json"
  local ok, row = pcall(function()
    local okx, err = ckpt.export_onnx(ckpt_path, onnx_path, {points = o.points})
    if not okx then error("export: " .. tostring(err), 0) end
    local written, werr = require("jetlab.onnx.inputs").write(ckpt_path, jets_path, inputs_json,
      {max_jets = o.batch or 64, batch = o.batch or 64, points = o.points})
    if not written then error(werr, 0) end
    local j, o_ = {batched = {}, single = {}}, {batched = {}, single = {}}
    local r = {threads = threads, rounds = o.rounds or 3}
    for round = 1, r.rounds do
      local sides = round % 2 == 1 and {"jetlab", "ort"} or {"ort", "jetlab"}
      for _, side in ipairs(sides) do
        local got, err2
        if side == "jetlab" then
          got, err2 = M.jetlab(ckpt_path, jets_path, o)
          if got then r.model, r.compiled = got.model, got.compiled end
        else
          got, err2 = M.onnxruntime(python, onnx_path, inputs_json, {reps = o.reps, threads = threads})
          if got then r.batch, r.onnxruntime = got.batch, got.version end
        end
        if not got then error(err2, 0) end
        local into = side == "jetlab" and j or o_
        into.batched[#into.batched + 1], into.single[#into.single + 1] = got.batched_ms, got.single_ms
      end
    end
    r.jetlab_batched_ms, r.ort_batched_ms = median(j.batched), median(o_.batched)
    r.jetlab_single_ms, r.ort_single_ms = median(j.single), median(o_.single)
    r.ort_over_jetlab_batched = r.ort_batched_ms / r.jetlab_batched_ms
    r.ort_over_jetlab_single = r.ort_single_ms / r.jetlab_single_ms
    return r
  end)
  jl.set_num_threads(was)
  if not o.dir then fs.remove_tree(dir) end
  if not ok then return nil, tostring(row) end
  return row
end

return M
