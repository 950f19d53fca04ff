-- jetlab import — a model trained outside jetlab (a PyTorch state_dict saved by
-- torch.save, zip or legacy format, or a .safetensors file) as a jetlab checkpoint,
-- through ckpt.import (jetlab.interchange: every name and shape checked) and ckpt.save.
--
--   jetlab import Top_QCD_500GeV_LundNet5.pt --model lundnet5 -o lundnet5.h5
--   jetlab import pn.pt --model particlenet --layout weaver -o pn.h5
--
-- The checkpoint holds the weights and spec = {model =, inputs =}, so
-- `jetlab predict`, ckpt.model, fine-tuning and train.fit{resume =} take it.

local cli = require "jetlab.cli"
local ckpt = require "jetlab.ckpt"
local layouts = require "jetlab.layouts"
local predict = require "jetlab.predict"

local MODELS = {"lundnet5", "lundnet3", "particlenet", "particlenet-lite", "fcnn", "fcnn-student"}
-- Where each model's files usually come from: the LundNet authors' published
-- taggers, weaver-core's ParticleNet, the PyTorch peer's FCNNs (the only layout with them).
local DEFAULT_LAYOUT = {lundnet5 = "lundnet", lundnet3 = "lundnet", particlenet = "weaver",
  ["particlenet-lite"] = "weaver", fcnn = "peer", ["fcnn-student"] = "peer"}

local spec = {
  name = "jetlab import",
  usage = "jetlab import FILE --model NAME [--layout lundnet|peer|weaver] -o CKPT.h5",
  about = "Reads FILE (a PyTorch state_dict saved by torch.save, or .safetensors; no Python needed),\n" ..
          "maps its tensors onto jetlab's MODEL by the layout's names, checks every name and shape,\n" ..
          "and writes a jetlab checkpoint with the model's spec and inputs (for jetlab predict).",
  options = {
    {"model", "string", help = "the architecture", choices = MODELS, required = true},
    {"layout", "string", help = "whose tensor names FILE uses [default: lundnet for lundnet5/3, " ..
     "weaver for particlenet(-lite), peer for fcnn(-student)]", choices = layouts.known},
    {"output", "string", short = "o", help = "the checkpoint to write (.h5)", required = true},
  },
  notes = "Layouts: lundnet = fdreyer/LundNet (the authors' published taggers), weaver = hqucms/weaver-core's\n" ..
          "ParticleNet, peer = shared/peers/torch_peer.py. Nothing is written when anything is wrong.",
}

local opts = cli.parse_or_exit(arg, spec)
local function fail(msg) cli.fail(spec, msg) end
if #opts ~= 1 then fail("expected one model FILE (see --help)") end
local path = opts[1]
local layout = opts.layout or DEFAULT_LAYOUT[opts.model]

local model, report = ckpt.import(path, {model = opts.model, layout = layout})
if not model then fail((report:gsub("^import: ", ""))) end
local ok, err = ckpt.save(opts.output, {model = model, spec = report.spec})
if not ok then fail(string.format("cannot write -o %s: %s", opts.output, err)) end

print(string.format("jetlab import: %s (%s), layout %s → %s", path, report.format, report.layout, opts.model))
print(string.format("  %d tensors read, %d parameters", report.tensors, report.parameters))
print("  inputs: " .. predict.describe(report.spec.inputs))
print("  wrote " .. opts.output)
