-- jetlab export — a jetlab checkpoint as a .safetensors file under the tensor
-- names of a PyTorch layout (ckpt.export, jetlab.interchange), for
-- safetensors.torch.load_file + model.load_state_dict in the matching PyTorch model.
--
--   jetlab export lundnet5.h5 --layout lundnet -o lundnet5.safetensors
--   jetlab export run/best.h5 --layout peer -o fcnn.safetensors

local cli = require "jetlab.cli"
local ckpt = require "jetlab.ckpt"
local layouts = require "jetlab.layouts"

local spec = {
  name = "jetlab export",
  usage = "jetlab export CKPT.h5 --layout lundnet|peer|weaver -o FILE.safetensors",
  about = "Writes the weights of CKPT.h5 (a checkpoint with a model spec: jetlab import's, or train.fit's)\n" ..
          "to FILE.safetensors under the layout's names: lundnet = fdreyer/LundNet, weaver = weaver-core's\n" ..
          "ParticleNet, peer = shared/peers/torch_peer.py. Atomic: nothing is written when anything is wrong.",
  options = {
    {"layout", "string", help = "whose tensor names to write", choices = layouts.known, required = true},
    {"output", "string", short = "o", help = "the file to write (.safetensors)", required = true},
  },
}

local opts = cli.parse_or_exit(arg, spec)
local function fail(msg) cli.fail(spec, msg) end
if #opts ~= 1 then fail("expected one checkpoint CKPT.h5 (see --help)") end
if not opts.output:match("%.safetensors$") then
  fail(string.format("-o %s: export writes .safetensors files (name it FILE.safetensors)", opts.output))
end

local model, err = ckpt.model(opts[1])
if not model then fail(err) end
local ok, why = ckpt.export(model, opts.output, {layout = opts.layout})
if not ok then fail((why:gsub("^export: ", ""))) end
print(string.format("jetlab export: %s (%s, %d parameters) → %s, layout %s, %d tensors", opts[1], model.spec.name,
  model:num_parameters(), opts.output, opts.layout, #ckpt.named_tensors(model)))
