-- jetlab.layouts.weaver — hqucms/weaver-core's ParticleNet names
-- (weaver/nn/model/ParticleNet.py) onto nn.models.particlenet:
--   bn_fts.*                            <-> bn_input.*
--   edge_convs.<i>.convs.<j>.weight     <-> blocks.<i+1>.lins.<j+1>.weight   (Conv2d 1x1: (o, c, 1, 1) <-> (o, c))
--   edge_convs.<i>.bns.<j>.*            <-> blocks.<i+1>.bns.<j+1>.*          (BatchNorm2d)
--   edge_convs.<i>.sc.weight            <-> blocks.<i+1>.sc.weight            (Conv1d: (o, c, 1) <-> (o, c))
--   edge_convs.<i>.sc_bn.*              <-> blocks.<i+1>.sc_bn.*
--   fusion_block.0.weight / .1.*        <-> fusion.1.weight / fusion.2.*      (use_fusion; Conv1d, BatchNorm1d)
--   fc.0.0.* / fc.1.*                   <-> head.1.* / head.4.*
-- A ParticleNetTagger's pn.* (and DataParallel's module.*) are read as ParticleNet;
-- its pf_conv / sv_conv feature convolutions have no jetlab counterpart and are refused.
-- The input width, the outputs and the fusion block are read off the file.
-- Inputs: the raw ATLAS features of every constituent, coordinates (eta, phi) = columns 1, 2.

local function particlenet(ctor)
  return function(tensors)
    local o = {}
    local bn = tensors["bn_fts.weight"]
    if bn then o.inputs = bn.shape[1] end
    local fusion = tensors["fusion_block.0.weight"]
    if fusion then o.fusion = fusion.shape[1] end
    local last = tensors["fc.1.weight"]
    if last then o.outputs = last.shape[1] end
    return {name = ctor, args = {o}}
  end
end

return {
  name = "weaver",
  about = "hqucms/weaver-core ParticleNet",
  prefixes = {"module.", "pn."},
  refuse = {
    {"^pf_conv%.", "weaver's ParticleNetTagger feature convolution pf_conv has no jetlab counterpart " ..
      "(jetlab's ParticleNet reads the 7 ATLAS features directly)"},
    {"^sv_conv%.", "weaver's ParticleNetTagger secondary-vertex branch sv_conv has no jetlab counterpart"},
  },
  rules = {
    {outside = "bn_fts.$", jetlab = "bn_input.$"},
    {outside = "edge_convs.{a}.convs.{b}.weight", jetlab = "blocks.{a}.lins.{b}.weight", outside_rank = 4},
    {outside = "edge_convs.{a}.bns.{b}.$", jetlab = "blocks.{a}.bns.{b}.$"},
    {outside = "edge_convs.{a}.sc.weight", jetlab = "blocks.{a}.sc.weight", outside_rank = 3},
    {outside = "edge_convs.{a}.sc_bn.$", jetlab = "blocks.{a}.sc_bn.$"},
    {outside = "fusion_block.0.weight", jetlab = "fusion.1.weight", outside_rank = 3},
    {outside = "fusion_block.1.$", jetlab = "fusion.2.$"},
    {outside = "fc.0.0.$", jetlab = "head.1.$"},
    {outside = "fc.1.$", jetlab = "head.4.$"},
  },
  models = {particlenet = particlenet("particlenet"), ["particlenet-lite"] = particlenet("particlenet_lite")},
}
