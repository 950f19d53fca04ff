-- roundtrip_jetlab.lua — jetlab's half of tests/reference/torch_roundtrip.py: for each
-- case of JOB.json {name, layout, model, kind, pt, in, export, out}, imports the
-- PyTorch state_dict `pt` (ckpt.import), runs the model on the inputs of the
-- .safetensors file `in`, writes the logits to the .safetensors file `out` and
-- exports the model to `export` (ckpt.export, the layout's names).
--
--   build/jetlab tests/reference/roundtrip_jetlab.lua JOB.json
--
-- Inputs by kind: flat {x (B, F)}; ragged {x (N, 7), offsets (B+1)} (coordinates:
-- the first two columns of x); lund {x (N, F), offsets (B+1), src, dst (E) 0-based}.
local ckpt = require "jetlab.ckpt"
local json = require "jetlab.json"

local f = assert(io.open((assert(arg[1], "usage: jetlab roundtrip_jetlab.lua JOB.json"))))
local job = assert(json.decode(f:read("a")))
f:close()

local function read_inputs(path)
  local file = assert(jl.model_files.read(path))
  local t = {}
  for _, e in ipairs(file.tensors) do t[e[1]] = e[2] end
  return t
end

for _, c in ipairs(job) do
  local model, report = assert(ckpt.import(c.pt, {model = c.model, layout = c.layout}))
  local t = read_inputs(c["in"])
  local batch
  if c.kind == "flat" then
    batch = t.x
  elseif c.kind == "ragged" then
    batch = {x = t.x, offsets = t.offsets}
  elseif c.kind == "lund" then
    batch = {x = t.x, offsets = t.offsets, src = t.src + 1, dst = t.dst + 1}
  else
    error("unknown input kind " .. tostring(c.kind))
  end
  local logits = jl.no_grad(function() return model(batch) end)
  assert(jl.model_files.write_safetensors(c.out, {{"logits", logits}}, {}))
  assert(ckpt.export(model, c.export, {layout = c.layout}))
  print(string.format("jetlab: %s imported as %s (%s, %d tensors, %d parameters), exported", c.name,
    model.spec and model.spec.name or c.model, report.format, report.tensors, report.parameters))
end
