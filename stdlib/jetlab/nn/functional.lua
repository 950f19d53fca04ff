-- jetlab.nn.functional — stateless forms of the layers written in Lua
-- (batch_norm itself is the C op jl.batch_norm).
--
--   local F = require("jetlab.nn").functional
--   local y = F.dropout(x, 0.1, true)                    -- training: zeros with p, rest / (1 - p)
--   local z = F.layer_norm(x, {64}, w, b, 1e-5)          -- over the last dim of x (N, 64)

local jl = require "jetlab"

local F = {}

--- F.dropout(x, p, training) → x with each element zeroed with probability p
--- and the rest scaled by 1 / (1 - p) when training; x itself otherwise.
function F.dropout(x, p, training)
  if type(p) ~= "number" or p < 0 or p > 1 then error("dropout: p must be in [0, 1], got " .. tostring(p), 2) end
  if not training or p == 0 then return x end
  if p == 1 then return x * 0 end
  local keep = jl.bernoulli(1 - p, x.shape, {device = x.device})
  return x * (keep * (1 / (1 - p)))
end

--- F.layer_norm(x, normalized_shape, weight?, bias?, eps = 1e-5): normalises
--- over the trailing dims given by normalized_shape (a table, or one size),
--- with the biased variance, then scales and shifts (weight, bias of that shape).
function F.layer_norm(x, normalized_shape, weight, bias, eps)
  local norm = type(normalized_shape) == "number" and {normalized_shape} or normalized_shape
  local shape, k = x.shape, #norm
  local ok = #shape >= k and k > 0
  for i = 1, k do ok = ok and shape[#shape - k + i] == norm[i] end
  if not ok then
    error(string.format("layer_norm: input of shape (%s) does not end with the normalized shape (%s)",
      table.concat(shape, ", "), table.concat(norm, ", ")), 2)
  end
  local flat = k > 1 and x:flatten(#shape - k + 1, #shape) or x
  local centred = flat - flat:mean(-1, true)
  local var = (centred * centred):mean(-1, true)
  local y = centred / (var + (eps or 1e-5)):sqrt()
  if k > 1 then y = y:reshape(shape) end
  if weight then y = y * weight end
  if bias then y = y + bias end
  return y
end

return F
