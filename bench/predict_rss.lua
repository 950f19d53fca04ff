-- predict_rss.lua — memory and speed of jetlab.predict.file (the streaming behind
-- `jetlab predict`): resident memory sampled after every chunk, on a file of N jets.
--
--   jetlab bench/predict_rss.lua JETS.h5 N MODEL [BATCH]
--     JETS.h5   a jet file (jetlab gen); its jets are written again and again into
--               a file of N jets (/tmp/jetlab_predict_rss_N.h5, kept for reruns)
--     MODEL     fcnn (the FCNN teacher on 80 constituents, fresh weights, flat
--               inputs through jetlab.data's loader) or a checkpoint path (e.g. an
--               imported LundNet: Lund graphs read chunk by chunk)
-- Prints one JSON line: jets, chunks, jets_per_s, rss_first_mib (after the first
-- tenth of the chunks), rss_last_mib (after the last chunk), growth_mib, vm_hwm_mib.
-- With a bounded stream rss_last - rss_first is the scores kept for the metrics
-- (12 bytes per jet), not the jets.
local ckpt = require "jetlab.ckpt"
local fs = require "jetlab.fs"
local predict = require "jetlab.predict"
local nn = require "jetlab.nn"

local function status_mib(field)
  local text = assert(fs.read("/proc/self/status"))
  return tonumber(text:match(field .. ":%s*(%d+) kB")) / 1024
end

--- A file of n jets: the jets of src repeated (jl.io.jets_writer, one batch at a time).
local function repeated(src, n, path)
  if fs.exists(path) then return path end
  local f <close> = assert(jl.io.open_jets(src))
  local b = assert(f:read(1, f:count()))
  local m = f:count()
  fs.atomic_write(path, function(tmp)
    local w <close> = assert(jl.io.jets_writer(tmp))
    for first = 1, n, m do
      local len = math.min(m, n - first + 1)
      local part = {}
      for k, v in pairs(b) do part[k] = jl.is_tensor(v) and v:narrow(1, 1, len) or v end
      assert(w:write(part))
    end
    assert(w:close())
  end)
  return path
end

local src, n, which, batch = arg[1], math.tointeger(tonumber(arg[2])), arg[3], math.tointeger(tonumber(arg[4] or 1024))
if not (src and n and which) then error("usage: jetlab bench/predict_rss.lua JETS.h5 N fcnn|CKPT.h5 [BATCH]", 0) end
local path = repeated(src, n, string.format("/tmp/jetlab_predict_rss_%d.h5", n))
local dir = fs.tmpdir()
local model = which
if which == "fcnn" then
  model = dir .. "/fcnn.h5"
  local m = nn.models.fcnn_teacher(80 * 7)
  assert(ckpt.save(model, {model = m, spec = {model = m.spec, inputs = {kind = "flat", max_constituents = 80}}}))
end
local chunks, total, samples = 0, (n + batch - 1) // batch, {}
collectgarbage()
local s = assert(predict.file(model, path, dir .. "/scores.csv", {batch = batch, progress = false,
  on_chunk = function()
    chunks = chunks + 1
    if chunks == math.max(1, total // 10) or chunks == total then
      collectgarbage()
      samples[#samples + 1] = status_mib("VmRSS")
    end
  end}))
fs.remove_tree(dir)
print(string.format('{"model":"%s","jets":%d,"chunks":%d,"batch":%d,"threads":%d,"jets_per_s":%.0f,'
  .. '"rss_first_mib":%.1f,"rss_last_mib":%.1f,"growth_mib":%.1f,"vm_hwm_mib":%.1f}', which, s.jets, chunks, batch,
  jl.get_num_threads(), s.jets_per_second, samples[1], samples[#samples], samples[#samples] - samples[1],
  status_mib("VmHWM")))
