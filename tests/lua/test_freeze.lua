-- test_freeze.lua — transfer's frozen mode: after training steps with AdamW
-- (weight decay on), frozen parameters are bit-identical and get no gradient,
-- while the re-initialised head trains. A frozen GNN backbone (jetlab.nn.backbone:
-- LundNet, ParticleNet with and without fusion, the published LundNet5 imported)
-- keeps its parameters and BatchNorm buffers bit-identical through model:train()
-- and train.fit, records no autograd node (jl.profile shows no backward op of it),
-- and its pooled representations cached once (jetlab.pooled_source) train the head
-- exactly as the uncached batches do.
local T = require "jetlab.test"
local nn = require "jetlab.nn"
local optim = require "jetlab.optim"
local loss = require "jetlab.loss"
local train = require "jetlab.train"
local ckpt = require "jetlab.ckpt"
local backbone = require "jetlab.nn.backbone"
local pooled_source = require "jetlab.pooled_source"

package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local G = require "gnn_batches"

T.case("frozen backbone: bit-identical after AdamW steps, no gradients; head moves", function()
  jl.manual_seed(11)
  local model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.BatchNorm1d(16), nn.Linear(16, 2))
  model:freeze("1")
  model:freeze("3")
  model:reset_parameters("4")
  local before = {}
  for _, e in ipairs(model:named_parameters()) do before[e[1]] = e[2]:clone() end
  local opt = optim.AdamW(model:parameters({trainable = true}), {lr = 1e-2, weight_decay = 0.1})
  local x, y = jl.randn(32, 6), jl.randint(1, 3, 32)
  for _ = 1, 5 do
    opt:zero_grad()
    loss.cross_entropy(model(x), y):backward()
    for _, e in ipairs(model:named_parameters()) do
      local frozen = e[1]:sub(1, 2) ~= "4."
      T.eq(e[2].grad == nil, frozen, e[1] .. " has a gradient only when trainable")
    end
    opt:step()
  end
  for _, e in ipairs(model:named_parameters()) do
    if e[1]:sub(1, 2) == "4." then
      T.ok(not jl.equal(e[2], before[e[1]]), e[1] .. " trained")
    else
      T.ok(jl.equal(e[2], before[e[1]]), e[1] .. " is bit-identical")
    end
  end
end)

local LUND_SMALL = {blocks = {{8, 8}, {8, 8}, {16, 16}}, fusion = 24, fc = 16}
local PN_SMALL = {k = 4, blocks = {{8, 8}, {16, 16}}, fc = 16}

local function lund_case(seed) return G.lund_batch({9, 14, 5, 22, 11, 7}, 5, seed) end
local function pn_case(seed) return G.ragged({9, 14, 5, 22, 11, 7}, seed) end

local MODELS = {
  -- pooling: the backward node of the mean over each jet's nodes (LundNet's is fused with
  -- the fusion block's ReLU and BatchNorm)
  {name = "LundNet", make = function() return nn.models.lundnet(LUND_SMALL) end, batch = lund_case,
    pooling = "relu_batch_norm_mean"},
  {name = "ParticleNet", make = function() return nn.models.particlenet(PN_SMALL) end, batch = pn_case,
    pooling = "segment_mean"},
  {name = "ParticleNet with fusion", batch = pn_case, pooling = "segment_mean",
   make = function()
     local o = {fusion = 32}
     for k, v in pairs(PN_SMALL) do o[k] = v end
     return nn.models.particlenet(o)
   end},
}

-- {name = clone} of every parameter and buffer.
local function snapshot(model)
  local out = {}
  for _, e in ipairs(model:named_parameters()) do out[e[1]] = e[2]:clone() end
  for _, e in ipairs(model:named_buffers()) do out[e[1]] = e[2]:clone() end
  return out
end

-- The parameter or buffer of model at a dotted name ("blocks.1.fcs.1.weight").
local function tensor_at(model, name)
  local path, leaf = name:match("^(.*)%.([^.]+)$")
  return model:get(path)[leaf]
end

local function is_head(name) return name:match("^head%.") ~= nil end

-- A few batches of one model family, labelled 1..2.
local function batches(make_batch, n)
  local list = {}
  for i = 1, n do
    local b = make_batch(100 + i)
    list[i] = {x = b, y = jl.randint(1, 3, b.offsets:numel() - 1)}
  end
  return list
end

-- A model with its backbone frozen after a few training steps (train mode, as a
-- pre-trained one: BatchNorm running statistics away from their initial values).
local function pretrained_frozen(M, seed, opts)
  jl.manual_seed(seed)
  local model = M.make()
  local opt = optim.AdamW(model:parameters(), {lr = 1e-2})
  model:train()
  for _, b in ipairs(batches(M.batch, 2)) do
    opt:zero_grad()
    loss.cross_entropy(model(b.x), b.y):backward()
    opt:step()
  end
  backbone.freeze(model, opts)
  model:reset_parameters("head")
  return model
end

for _, M in ipairs(MODELS) do
  T.case(M.name .. ": a frozen backbone is bit-identical after train.fit (parameters and BatchNorm buffers)", function()
    local model = pretrained_frozen(M, 3)
    local before = snapshot(model)
    local opt = optim.AdamW(model:parameters({trainable = true}), {lr = 1e-2, weight_decay = 0.1})
    train.fit{model = model, optimizer = opt, train = batches(M.batch, 3), epochs = 2, log = false, seed = 5}
    T.ok(model.training, "fit leaves the model in train mode")
    T.ok(not model.bn_input.training and not model.blocks.training, "the frozen parts stay in eval mode")
    local trained = 0
    for name, t in pairs(before) do
      local now = tensor_at(model, name)
      if is_head(name) then
        trained = trained + (jl.equal(now, t) and 0 or 1)
      else
        T.ok(jl.equal(now, t), name .. " is bit-identical")
      end
    end
    T.ok(trained >= 4, "the head trained")
  end)

  T.case(M.name .. ": a frozen backbone records no autograd node: no backward op but the head's", function()
    local model = pretrained_frozen(M, 4)
    local b = batches(M.batch, 1)[1]
    local head_only = jl.profile(function()
      local pooled = jl.no_grad(function() return model:represent(b.x) end)
      loss.cross_entropy(model.head(pooled), b.y):backward()
    end)
    local frozen = jl.profile(function() loss.cross_entropy(model(b.x), b.y):backward() end)
    local function backward_ops(r)
      local set = {}
      for _, e in ipairs(r.entries) do
        if e.kind == "backward" then set[#set + 1] = e.name .. " x" .. e.calls end
      end
      table.sort(set)
      return table.concat(set, ", ")
    end
    T.eq(backward_ops(frozen), backward_ops(head_only), "the backward ops of a frozen step are the head's")
    T.ok(not backward_ops(frozen):find(M.pooling, 1, true), backward_ops(frozen))
    backbone.unfreeze(model)
    local scratch = jl.profile(function() loss.cross_entropy(model(b.x), b.y):backward() end)
    T.ok(backward_ops(scratch):find(M.pooling, 1, true), "unfrozen, backward crosses the pooling: " ..
      backward_ops(scratch))
  end)
end

T.case("LundNet, upto = \"blocks\": bn_input and blocks fixed, fusion and head trained", function()
  local model = pretrained_frozen(MODELS[1], 6, {upto = "blocks"})
  local before = snapshot(model)
  local opt = optim.AdamW(model:parameters({trainable = true}), {lr = 1e-2})
  train.fit{model = model, optimizer = opt, train = batches(MODELS[1].batch, 2), epochs = 1, log = false, seed = 5}
  T.ok(model.fusion.training, "the fusion block trains (train mode)")
  T.ok(not jl.equal(model.fusion[1].weight, before["fusion.1.weight"]), "fusion trained")
  T.ok(not jl.equal(model.fusion[3].running_mean, before["fusion.3.running_mean"]), "fusion's BatchNorm adapts")
  T.ok(jl.equal(model.blocks[3].fcs[1].weight, before["blocks.3.fcs.1.weight"]), "blocks fixed")
  T.ok(jl.equal(model.bn_input.running_var, before["bn_input.running_var"]), "input BatchNorm fixed")
  T.raises(function() pooled_source(model, {}) end, "frozen")
end)

T.case("pooled_source: the head trained on cached representations = trained on the batches", function()
  local function run(cached)
    local model = pretrained_frozen(MODELS[1], 8)
    local jets = {}
    for i = 1, 4 do jets[i] = {x = lund_case(200 + i), y = jl.randint(1, 3, 6), w = jl.rand(6) + 0.5, n = 6} end
    local src = jets
    if cached then src = pooled_source(model, jets, {batch_size = 6}) end
    local opt = optim.Adam(model:parameters({trainable = true}), {lr = 1e-2})
    local h = train.fit{model = model, optimizer = opt, train = src, epochs = 3, log = false, seed = 9}
    return model, h
  end
  local a, ha = run(false)
  local b, hb = run(true)
  T.eq(hb[3].train_loss, ha[3].train_loss, "the same losses")
  for _, e in ipairs(a:named_parameters()) do
    T.ok(jl.equal(e[2], tensor_at(b, e[1])), e[1] .. " equal")
  end
end)

T.case("the published LundNet5, imported, frozen: backbone bit-identical after training, head trained", function()
  local model = assert(ckpt.import("tests/fixtures/lundnet/Top_QCD_500GeV_LundNet5.pt",
    {model = "lundnet5", layout = "lundnet"}))
  backbone.freeze(model)
  model:reset_parameters("head")
  local before = snapshot(model)
  local opt = optim.Adam(model:parameters({trainable = true}), {lr = 1e-3})
  jl.manual_seed(2)
  train.fit{model = model, optimizer = opt, train = batches(MODELS[1].batch, 2), epochs = 1, log = false, seed = 5}
  T.eq(model:num_parameters({trainable = true}), 384 * 256 + 256 + 256 * 2 + 2)
  for name, t in pairs(before) do
    if not is_head(name) then
      T.ok(jl.equal(tensor_at(model, name), t), name .. " is bit-identical")
    end
  end
  T.ok(not jl.equal(model.head[4].weight, before["head.4.weight"]), "the head trained")
end)

T.run()
