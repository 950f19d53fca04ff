-- jetlab.nn.backbone — the frozen feature extractor of a GNN tagger (transfer
-- learning, seed 2's "frozen" variant).
--
-- LundNet and ParticleNet are a backbone — everything up to the pooled jet
-- representation: bn_input, blocks and, when the model has one, fusion — and a
-- dense head. model:represent(batch) gives the pooled (B, C) representation,
-- model(batch) = model.head(model:represent(batch)).
--
--   backbone.freeze(model)                      -- bn_input, blocks, fusion fixed
--   model:reset_parameters("head")              -- the head re-initialised and trained
--   backbone.freeze(model, {upto = "blocks"})   -- bn_input and blocks fixed, fusion trained
--   backbone.unfreeze(model)                    -- all of it trains again
--
-- A frozen part
--   * no longer requires grad, so autograd records nothing for it (an op whose
--     inputs need no gradient makes no node and saves no tensor: jl_needs_graph)
--     and backward stops at the first trainable layer;
--   * stays in eval mode through model:train(): its BatchNorm layers normalise with
--     the pre-trained running statistics and never update them (Keras's frozen
--     BatchNorm; a PyTorch requires_grad = False layer in train mode would keep
--     updating them, which weaver's --freeze-model-weights does; the LundNet authors'
--     code has no frozen transfer). The frozen part is then a fixed, deterministic
--     function of the jet (no dropout in it), so its output for a jet may be computed
--     once per run and reused: jetlab.nn.pooled_source;
--   * runs under no_grad when the whole backbone is frozen (upto = "pooled").
-- upto = "blocks" is jetlab's earlier frozen variant with the fusion block trained
-- (back then the input BatchNorm trained too, which sent backward through every block).

local jl = require "jetlab"
local Module = require "jetlab.nn.module"

local M = {}

local PARTS = {pooled = {"bn_input", "blocks", "fusion"}, blocks = {"bn_input", "blocks"}}

--- backbone.freeze(model[, {upto = "pooled" | "blocks"}]) → model: the backbone's
--- parts up to upto frozen and kept in eval mode (see above).
function M.freeze(model, opts)
  local upto = opts and opts.upto or "pooled"
  local names = PARTS[upto]
  if not names then error("backbone.freeze: upto must be \"pooled\" or \"blocks\", got " .. tostring(upto), 2) end
  if type(model.represent) ~= "function" then
    error("backbone.freeze: " .. tostring(model.__name) .. " has no backbone (a model with represent() is expected)", 2)
  end
  local parts = {}
  for _, name in ipairs(names) do
    if rawget(model, name) ~= nil then
      model:freeze(name)
      parts[#parts + 1] = name
    end
  end
  rawset(model, "frozen_parts", parts)
  rawset(model, "frozen_upto", upto)
  return model:train(model.training)
end

--- backbone.unfreeze(model) → model: the frozen parts train again (train mode follows the model's).
function M.unfreeze(model)
  for _, name in ipairs(rawget(model, "frozen_parts") or {}) do model:unfreeze(name) end
  rawset(model, "frozen_parts", nil)
  rawset(model, "frozen_upto", nil)
  return model:train(model.training)
end

--- backbone.is_frozen(model) → true when everything up to the pooled representation is frozen.
function M.is_frozen(model) return rawget(model, "frozen_upto") == "pooled" end

--- backbone.train(model[, mode]) → model: Module.train, then the frozen parts back in
--- eval mode. The models install it as their train method.
function M.train(model, mode)
  Module.train(model, mode)
  for _, name in ipairs(rawget(model, "frozen_parts") or {}) do Module.train(model[name], false) end
  return model
end

--- backbone.represent(model, batch, embed) → the pooled (B, C) representation:
--- batch.pooled when the batch carries it (jetlab.nn.pooled_source), else
--- embed(model, batch), under no_grad when the whole backbone is frozen.
function M.represent(model, batch, embed)
  if type(batch) == "table" and batch.pooled ~= nil then return batch.pooled end
  if M.is_frozen(model) then return jl.no_grad(embed, model, batch) end
  return embed(model, batch)
end

--- backbone.forward(model, batch, embed) → model.head(backbone.represent(model, batch, embed)),
--- the pooled representation it made released at once (autograd keeps what backward needs).
function M.forward(model, batch, embed)
  local pooled = M.represent(model, batch, embed)
  local logits = model.head(pooled)
  if pooled ~= batch.pooled then getmetatable(pooled).__close(pooled) end
  return logits
end

return M
