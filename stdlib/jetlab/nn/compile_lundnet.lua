-- jetlab.nn.compile_lundnet — nn.compile of a LundNet (either variant): its
-- eval-mode forward as one C graph plan (jl.graph_plan), with every BatchNorm folded:
-- each block's edge BatchNorms into the Linear before them (the first into the
-- message's theta and phi - theta), the shortcut's into its Linear; the fusion
-- layer's (after its ReLU) is applied to each jet's mean over nodes (it commutes
-- with the mean), the input BatchNorm to the node features. No autograd, no Lua and
-- no tensor between the layers.
--
--   local net = nn.models.lundnet5()   -- ... trained, or ckpt.import of the published model
--   local infer = nn.compile(net, {softmax = true})      -- a snapshot of the eval-mode model
--   local probs = infer{x = g.x, offsets = g.offsets, src = g.src, dst = g.dst,
--                       edge_offsets = g.edge_offsets}    -- (B, 2), the model's batch table
--
-- The batch is the model's (models/lundnet.lua): x (N, features) f32 cpu, offsets (B+1),
-- src, dst (E) 1-based; the edges grouped by dst as the model groups them (cached in
-- batch._graph). The peer variant's blocks (LundEdgeConv: a message, BatchNorm, ReLU and
-- mean per layer) become message passes (jl.graph_plan's pass = true) and a last layer
-- with the shortcut (its Linear's bias and BatchNorm folded) on the block's input.

local jl = require "jetlab"
local compile = require "jetlab.nn.compile"
local lundnet = require "jetlab.nn.models.lundnet"

local M = {}

-- w (out, in) with its rows scaled: scale (out).
local function scale_rows(w, scale) return (w * scale:unsqueeze(2)):contiguous() end

-- The specs of a LundEdgeConv block (peer variant): one pass per layer but the last, then
-- the last layer with the shortcut.
local function peer_specs(block, where)
  local specs = {}
  for l = 1, #block.widths do
    local s, t = compile.bn_affine(block.bns[l], where .. ".bns." .. l)
    local th = block.theta[l].weight:detach()
    specs[l] = {centre = scale_rows(th, s), neighbour = scale_rows(block.phi[l].weight:detach() - th, s),
      bias = t:contiguous(), pass = l < #block.widths}
  end
  if block.sc then
    local lin, bn = block.sc[1], block.sc[2]
    local s, t = compile.bn_affine(bn, where .. ".sc.2")
    local b = lin.bias and lin.bias:detach() * s + t or t
    specs[#specs].shortcut = {scale_rows(lin.weight:detach(), s), b:contiguous()}
  end
  return specs
end

-- The specs ({centre, neighbour, bias, later, shortcut, pass}) of block i (`where` names it).
local function block_specs(block, where)
  if block.__name == "LundEdgeConv" then return peer_specs(block, where) end
  if block.__name ~= "GraphEdgeConv" then
    error(string.format("nn.compile: %s is a %s; a LundNet plan takes GraphEdgeConv or LundEdgeConv blocks",
      where, tostring(block.__name)), 4)
  end
  local s1, t1 = compile.bn_affine(block.bns[1], where .. ".bns.1")
  local th = block.theta.weight:detach()
  local spec = {centre = scale_rows(th, s1), neighbour = scale_rows(block.phi.weight:detach() - th, s1),
    bias = t1:contiguous(), later = {}}
  for l = 2, #block.widths do
    local s, t = compile.bn_affine(block.bns[l], where .. ".bns." .. l)
    spec.later[l - 1] = {scale_rows(block.fcs[l - 1].weight:detach(), s), t:contiguous()}
  end
  if block.sc then
    local s, t = compile.bn_affine(block.sc_bn, where .. ".sc_bn")
    local b = block.sc.bias and block.sc.bias:detach() * s + t or t
    spec.shortcut = {scale_rows(block.sc.weight:detach(), s), b:contiguous()}
  end
  return {spec}
end

-- The head plan (BatchNorm folded as nn.compile folds it).
local function head_plan(net, softmax)
  local steps = compile.steps(net.head)
  if softmax then steps[#steps + 1] = {"softmax"} end
  return jl.plan(net.fusion[1].out_features, steps)
end

local function check_fusion(net)
  local f = net.fusion
  if #f._child_names ~= 3 or f[1].__name ~= "Linear" or f[2].__name ~= "ReLU" or f[3].__name ~= "BatchNorm1d" then
    error("nn.compile: a LundNet plan needs the fusion Linear, ReLU, BatchNorm1d", 4)
  end
end

--- M.compile(net[, {softmax = false}]) → callable plan: plan(batch) → (B, outputs)
function M.compile(net, opts)
  if opts ~= nil and type(opts) ~= "table" then error("nn.compile: options must be a table", 2) end
  opts = opts or {}
  for k in pairs(opts) do
    if k ~= "softmax" then error("nn.compile: unknown option '" .. tostring(k) .. "' for a LundNet", 2) end
  end
  check_fusion(net)
  local spec = {features = net.features, blocks = {}}
  jl.no_grad(function()
    local s, t = compile.bn_affine(net.bn_input, "bn_input")
    spec.input = {s:contiguous(), t:contiguous()}
    for i = 1, #net.blocks._child_names do
      for _, b in ipairs(block_specs(net.blocks[i], "blocks." .. i)) do spec.blocks[#spec.blocks + 1] = b end
    end
    local fl = net.fusion[1]
    spec.fusion = {fl.weight:detach():contiguous(), fl.bias and fl.bias:detach():contiguous() or jl.zeros(fl.out_features)}
    local fs, ft = compile.bn_affine(net.fusion[3], "fusion.3")
    spec.fusion_affine = {fs:contiguous(), ft:contiguous()}
    spec.head = head_plan(net, opts.softmax)
  end)
  local plan = jl.graph_plan(spec)
  return setmetatable({plan = plan}, {
    __call = function(self, batch)
      if type(batch) ~= "table" or not jl.is_tensor(batch.x) or not jl.is_tensor(batch.offsets) then
        error("LundNet plan: expected a batch {x = (N, F), offsets = (B+1), src = (E), dst = (E)}", 2)
      end
      local g = lundnet.graph(batch)
      return self.plan(batch.x, batch.offsets, g.edge_offsets, g.nbr)
    end,
    __index = function(_, k) return plan[k] end,
    __len = function() return #plan end,
    __tostring = function() return tostring(plan) end,
  })
end

return M
