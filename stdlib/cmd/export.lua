-- jetlab export — a jetlab checkpoint as a .safetensors file under the tensor
-- names of a PyTorch layout (ckpt.export, jetlab.interchange), for
-- safetensors.torch.load_file + model.load_state_dict in the matching PyTorch model;
-- or as an ONNX model (ckpt.export_onnx, jetlab.onnx) that ONNX Runtime runs.
--
--   jetlab export lundnet5.h5 --layout lundnet -o lundnet5.safetensors
--   jetlab export run/best.h5 --layout peer -o fcnn.safetensors
--   jetlab export run/best.h5 -o fcnn.onnx [--opset 17]
--   jetlab export pn.h5 -o pn.onnx --points 128     # ParticleNet: padded to P points

local cli = require "jetlab.cli"
local ckpt = require "jetlab.ckpt"
local layouts = require "jetlab.layouts"
local onnx = require "jetlab.onnx"

local spec = {
  name = "jetlab export",
  usage = "jetlab export CKPT.h5 --layout lundnet|peer|weaver -o FILE.safetensors\n" ..
          "       jetlab export CKPT.h5 -o MODEL.onnx [--opset N] [--points P]",
  about = "Writes the weights of CKPT.h5 (a checkpoint with a model spec: jetlab import's, or train.fit's)\n" ..
          "to FILE.safetensors under the layout's names: lundnet = fdreyer/LundNet, weaver = weaver-core's\n" ..
          "ParticleNet, peer = shared/peers/torch_peer.py; or, for -o MODEL.onnx, the model as an ONNX graph\n" ..
          "(FCNN, LundNet and ParticleNet families; output probabilities, preprocessing in metadata_props).\n" ..
          "Atomic: nothing is written when anything is wrong.",
  options = {
    {"layout", "string", help = "whose tensor names to write (.safetensors)", choices = layouts.known},
    {"output", "string", short = "o", help = "the file to write (.safetensors or .onnx)", required = true},
    {"opset", "integer", onnx.OPSET, help = string.format("ONNX opset (%d to %d; .onnx)", onnx.OPSET_MIN, onnx.OPSET_MAX)},
    {"points", "integer", onnx.POINTS, help = "ParticleNet: constituents per jet P of the padded inputs (.onnx)"},
  },
}

local opts = cli.parse_or_exit(arg, spec)
local function fail(msg) cli.fail(spec, msg) end
if #opts ~= 1 then fail("expected one checkpoint CKPT.h5 (see --help)") end
local to_onnx = opts.output:match("%.onnx$") ~= nil
if not to_onnx and not opts.output:match("%.safetensors$") then
  fail(string.format("-o %s: export writes .safetensors or .onnx files (name it FILE.safetensors or MODEL.onnx)",
    opts.output))
end
if to_onnx and opts.layout then fail("--layout names tensors of .safetensors files; an .onnx file takes none") end
if not to_onnx and not opts.layout then fail("missing --layout (needed for .safetensors)") end

if to_onnx then
  local ok, info = ckpt.export_onnx(opts[1], opts.output, {opset = opts.opset, points = opts.points})
  if not ok then fail((info:gsub("^onnx: ", ""))) end
  print(string.format("jetlab export: %s (%s) → %s, ONNX opset %d, %d nodes, %d initializers", opts[1], info.family,
    opts.output, info.opset, info.nodes, info.initializers))
  return
end
local model, err = ckpt.model(opts[1])
if not model then fail(err) end
local ok, why = ckpt.export(model, opts.output, {layout = opts.layout})
if not ok then fail((why:gsub("^export: ", ""))) end
print(string.format("jetlab export: %s (%s, %d parameters) → %s, layout %s, %d tensors", opts[1], model.spec.name,
  model:num_parameters(), opts.output, opts.layout, #ckpt.named_tensors(model)))
