-- jetlab.layouts.peer — the names of shared/peers/torch_peer.py's models (the
-- PyTorch peer of jetlab bench), onto jetlab's: every integer component + 1
-- (ModuleList and Sequential count from 1 here), bn -> bn_input, fc -> head.
--   fcnn, fcnn-student       <n>.*                      <-> <n+1>.*
--   particlenet(-lite)       bn.*, blocks.<i>.{lins,bns}.<j>.*, blocks.<i>.{sc,sc_bn}.*, fc.<n>.*
--   lundnet5, lundnet3       bn.*, blocks.<i>.{theta,phi,bns,sc}.<j>.*, fusion.<n>.*, fc.<n>.*
--                            (onto nn.models.lundnet{variant = "peer"})
-- Inputs: as jetlab bench and the peer use them: fcnn the flattened ATLAS
-- features of the first inputs / 7 constituents (the peer's standardisation
-- statistics are not in its state_dict), ParticleNet the raw ATLAS features of
-- every constituent, LundNet the Lund-plane graphs.

local function first_in_features(tensors)
  local w = tensors["0.weight"]
  if not w or w:dim() ~= 2 then error("no 0.weight (hidden, inputs) to read the input width from", 0) end
  return w.shape[2]
end

local function fcnn(ctor)
  return function(tensors) return {name = ctor, args = {first_in_features(tensors)}} end
end

local function plain(ctor, args)
  return function() return {name = ctor, args = args or {}} end
end

return {
  name = "peer",
  about = "shared/peers/torch_peer.py (the PyTorch peer)",
  prefixes = {"module."},
  rules = {
    {outside = "bn.$", jetlab = "bn_input.$"},
    {outside = "blocks.{a}.lins.{b}.$", jetlab = "blocks.{a}.lins.{b}.$"},
    {outside = "blocks.{a}.bns.{b}.$", jetlab = "blocks.{a}.bns.{b}.$"},
    {outside = "blocks.{a}.theta.{b}.$", jetlab = "blocks.{a}.theta.{b}.$"},
    {outside = "blocks.{a}.phi.{b}.$", jetlab = "blocks.{a}.phi.{b}.$"},
    {outside = "blocks.{a}.sc.{b}.$", jetlab = "blocks.{a}.sc.{b}.$"},
    {outside = "blocks.{a}.$", jetlab = "blocks.{a}.$"},
    {outside = "fusion.{a}.$", jetlab = "fusion.{a}.$"},
    {outside = "fc.{a}.$", jetlab = "head.{a}.$"},
    {outside = "{a}.$", jetlab = "{a}.$"},
  },
  models = {
    fcnn = fcnn("fcnn_teacher"),
    ["fcnn-student"] = fcnn("fcnn_student"),
    particlenet = plain("particlenet"),
    ["particlenet-lite"] = plain("particlenet_lite"),
    lundnet5 = plain("lundnet5", {{variant = "peer"}}),
    lundnet3 = plain("lundnet3", {{variant = "peer"}}),
  },
}
