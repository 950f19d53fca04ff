-- jetlab.onnx — a jetlab model as an ONNX file that ONNX Runtime runs (issue 18):
-- the family exporters describe the graph (jetlab.onnx.fcnn, jetlab.onnx.lundnet),
-- core/io/onnx serialises it (jl.onnx.write: protobuf by hand, atomic write).
--
--   local onnx = require "jetlab.onnx"
--   assert(onnx.export("run/best.h5", "fcnn.onnx"))                -- a checkpoint path
--   assert(onnx.export(model, "lundnet5.onnx", {opset = 17, inputs = {kind = "lund", features = 5}}))
--   assert(onnx.export("pn.h5", "pn.onnx", {points = 128}))          -- ParticleNet: P fixed
--
-- Families: FCNN (fcnn, fcnn_teacher, fcnn_student): features (batch, inputs) →
-- probabilities (batch, 2); LundNet (lundnet, lundnet5, lundnet3; the published
-- variant): node_features, edge_src, edge_dst, node_jet, num_jets → probabilities
-- (jets, 2); ParticleNet (particlenet, particlenet_lite, particlenet_teacher,
-- particlenet_student; fusion or not), padded as weaver's: points (batch, 2, P),
-- features (batch, C, P), mask (batch, 1, P) → probabilities (batch, 2), P = opts.points
-- (default 128). Others (the peer LundNet) are refused, naming the families that export.
-- metadata_props: jetlab.model (spec.model as JSON), jetlab.inputs (spec.inputs as
-- JSON: the preprocessing, standardisation constants included), inputs / outputs
-- (what each graph value holds), feature_order, signal_class; for FCNN with
-- standardisation standardize.mean / standardize.std (7 numbers each).
-- Returns true, {family =, nodes =, initializers =} | nil, message (nothing written).

local jl = require "jetlab"
local json = require "jetlab.json"

local M = {}

M.OPSET = 17
M.OPSET_MIN, M.OPSET_MAX = 16, 21
M.POINTS = 128   -- ParticleNet: padded constituents per jet

local families = {
  fcnn = "jetlab.onnx.fcnn", fcnn_teacher = "jetlab.onnx.fcnn", fcnn_student = "jetlab.onnx.fcnn",
  lundnet = "jetlab.onnx.lundnet", lundnet5 = "jetlab.onnx.lundnet", lundnet3 = "jetlab.onnx.lundnet",
  particlenet = "jetlab.onnx.particlenet", particlenet_lite = "jetlab.onnx.particlenet",
  particlenet_teacher = "jetlab.onnx.particlenet", particlenet_student = "jetlab.onnx.particlenet",
}

local ATLAS_FEATURES = "eta_rotated,phi_rotated,log_pt,log_E,log_pt_over_jet_pt,log_E_over_jet_E,delta_R"
local LUND_FEATURES = {[5] = "ln_z,ln_delta,psi,ln_m,ln_kt", [3] = "ln_z,ln_delta,ln_kt"}

-- metadata_props of a family's export: what the inputs hold and how they are made.
local function metadata(spec, inputs, family, info)
  local m = {["jetlab.model"] = json.encode(spec), ["jetlab.version"] = jl.version,
    signal_class = "probabilities[:, 1] (class 2 of 2) is the signal probability"}
  if inputs then m["jetlab.inputs"] = json.encode(inputs) end
  if family == "jetlab.onnx.fcnn" then
    m.inputs = "features: (batch, inputs) f32, per jet the first inputs/7 constituents (pT-ordered, zero-padded) "
      .. "x 7 features in feature_order, flattened constituent-major; real constituents standardised "
      .. "(x - standardize.mean) / standardize.std, padding left at 0"
    m.feature_order = ATLAS_FEATURES
    if inputs and inputs.standardize then
      m["standardize.mean"] = json.encode(inputs.standardize.mean)
      m["standardize.std"] = json.encode(inputs.standardize.std)
    end
  elseif family == "jetlab.onnx.particlenet" then
    m.inputs = string.format("points: (batch, 2, %d) f32 raw (eta_rotated, phi_rotated); features: (batch, %d, %d) f32 "
      .. "per constituent (pT-ordered) the features in feature_order, standardised (x - mean) / std as "
      .. "jetlab.inputs.standardize; mask: (batch, 1, %d) f32 1 real, 0 padding (padding's points and features 0); "
      .. "jets of n <= k = %d constituents differ from jetlab (it uses n - 1 neighbours)",
      info.points, info.inputs, info.points, info.points, info.k)
    m.feature_order = ATLAS_FEATURES
    m.points = tostring(info.points)
  else
    m.inputs = "node_features: (nodes, F) f32 Lund-plane nodes of all jets (jl.lund.graphs rows); "
      .. "edge_src, edge_dst: (edges) i64 0-based node rows (messages flow src -> dst); "
      .. "node_jet: (nodes) i64 0-based jet of each node; num_jets: () i64"
    m.feature_order = LUND_FEATURES[info.features]
  end
  m.outputs = "probabilities: (jets, classes) f32 softmax of the logits"
  return m
end

--- onnx.export(model | checkpoint_path, out_path[, {opset = 17, inputs =, points = 128}]) → true, info | nil, message
function M.export(model, path, opts)
  opts = opts or {}
  local inputs = opts.inputs
  if type(model) == "string" then
    local m, state = require("jetlab.ckpt").model(model)
    if not m then return nil, state end
    model, inputs = m, inputs or state.spec.inputs
  end
  local opset = opts.opset or M.OPSET
  if math.type(opset) ~= "integer" or opset < M.OPSET_MIN or opset > M.OPSET_MAX then
    return nil, string.format("onnx: opset %s is not written (%d to %d)", tostring(opset), M.OPSET_MIN, M.OPSET_MAX)
  end
  if opts.points ~= nil and (math.type(opts.points) ~= "integer" or opts.points < 2) then
    return nil, string.format("onnx: points must be an integer >= 2, got %s", tostring(opts.points))
  end
  local spec = model.spec
  local family = spec and families[spec.name]
  if not family then
    local names = {}
    for k in pairs(families) do names[#names + 1] = k end
    table.sort(names)
    return nil, string.format("onnx: model '%s' has no ONNX form (exported: %s)", spec and spec.name or "without a spec",
      table.concat(names, ", "))
  end
  model:eval()
  local g, info = require(family).graph(model, spec.name, opts.points or M.POINTS)
  if not g then return nil, "onnx: " .. spec.name .. ": " .. info end
  local doc = string.format("jetlab %s %s", spec.name, jl.version)
  local ok, err = jl.onnx.write(path, g:description{opset = opset, version = jl.version, doc = doc,
    metadata = metadata(spec, inputs, family, info)})
  if not ok then return nil, "onnx: " .. err end
  return true, {family = spec.name, nodes = #g.nodes, initializers = #g.initializers, opset = opset}
end

return M
