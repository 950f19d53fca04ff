-- jetlab.nn.layernorm — nn.LayerNorm(normalized_shape): normalises over the
-- trailing dims (biased variance), then weight * y + bias of that shape, as
-- PyTorch's. Composed from differentiable ops (see functional.layer_norm).
--
--   local ln = nn.LayerNorm(64)              -- or {8, 64}; {eps = 1e-5, elementwise_affine = true, bias = true}
--   local y = ln(x)                          -- x (..., 64)

local jl = require "jetlab"
local options = require "jetlab.options"
local Module = require "jetlab.nn.module"
local F = require "jetlab.nn.functional"
local init = require "jetlab.nn.initializers"

local LayerNorm = Module:extend("LayerNorm")

function LayerNorm:__init(normalized_shape, opts)
  Module.__init(self)
  local shape = type(normalized_shape) == "number" and {normalized_shape} or normalized_shape
  if type(shape) ~= "table" or #shape == 0 then
    error("LayerNorm: normalized_shape must be a size or a table of sizes", 2)
  end
  local o = options.check("LayerNorm", opts, {eps = 1e-5, elementwise_affine = true, bias = true})
  self.normalized_shape = {table.unpack(shape)}
  self.eps, self.elementwise_affine = o.eps, o.elementwise_affine
  if self.elementwise_affine then
    self:register_parameter("weight", jl.ones(self.normalized_shape))
    if o.bias then self:register_parameter("bias", jl.zeros(self.normalized_shape)) end
  end
end

function LayerNorm:_reset()
  if self.weight then init.ones_(self.weight) end
  if self.bias then init.zeros_(self.bias) end
end

function LayerNorm:forward(x)
  return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
end

function LayerNorm:extra_repr()
  return string.format("(%s), eps=%g, elementwise_affine=%s", table.concat(self.normalized_shape, ", "), self.eps,
    tostring(self.elementwise_affine))
end

return LayerNorm
