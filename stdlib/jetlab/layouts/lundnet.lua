-- jetlab.layouts.lundnet — fdreyer/LundNet's names (LundNet.py, EdgeConv.py): the
-- LundNet authors' published models, onto nn.models.lundnet{variant = "published"}.
--   bn_fts.*                              <-> bn_input.*
--   edge_convs.<i>.{theta,phi,sc,sc_bn}.* <-> blocks.<i+1>.{...}.*
--   edge_convs.<i>.{fcs,bns}.<j>.*        <-> blocks.<i+1>.{...}.<j+1>.*
--   fusion_block.<j>.*                    <-> fusion.<j+1>.*   (Linear, ReLU, BatchNorm1d)
--   fc.0.0.* / fc.1.*                     <-> head.1.* / head.4.*
-- Inputs: the Lund-plane graphs of the jets (jl.lund.graphs), 5 or 3 node features,
-- no standardisation besides bn_fts.

local function lund(features)
  return function()
    return {name = "lundnet" .. features, args = {{variant = "published"}}}
  end
end

return {
  name = "lundnet",
  about = "fdreyer/LundNet (the published LundNet models)",
  prefixes = {"module."},
  rules = {
    {outside = "bn_fts.$", jetlab = "bn_input.$"},
    {outside = "edge_convs.{a}.fcs.{b}.$", jetlab = "blocks.{a}.fcs.{b}.$"},
    {outside = "edge_convs.{a}.bns.{b}.$", jetlab = "blocks.{a}.bns.{b}.$"},
    {outside = "edge_convs.{a}.$", jetlab = "blocks.{a}.$"},
    {outside = "fusion_block.{a}.$", jetlab = "fusion.{a}.$"},
    {outside = "fc.0.0.$", jetlab = "head.1.$"},
    {outside = "fc.1.$", jetlab = "head.4.$"},
  },
  models = {lundnet5 = lund(5), lundnet3 = lund(3)},
}
