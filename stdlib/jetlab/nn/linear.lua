-- jetlab.nn.linear — nn.Linear: y = x W^T + b, weight (out, in), bias (out).
-- Initialised as PyTorch's: kaiming_uniform(a = sqrt(5)) for the weight, i.e.
-- U(-1/sqrt(in), 1/sqrt(in)), and the same bound for the bias.
--
--   local fc = nn.Linear(560, 400)              -- {bias = false} drops the bias
--   local y = fc(x)                             -- x (..., 560) → (..., 400)

local jl = require "jetlab"
local options = require "jetlab.options"
local Module = require "jetlab.nn.module"
local init = require "jetlab.nn.initializers"

local Linear = Module:extend("Linear")

local function check_size(what, n)
  if math.type(n) ~= "integer" or n < 1 then
    error(string.format("Linear: %s must be a positive integer, got %s", what, tostring(n)), 3)
  end
end

function Linear:__init(in_features, out_features, opts)
  Module.__init(self)
  check_size("in_features", in_features)
  check_size("out_features", out_features)
  self.in_features, self.out_features = in_features, out_features
  self:register_parameter("weight", jl.empty(out_features, in_features))
  if options.check("Linear", opts, {bias = true}).bias then self:register_parameter("bias", jl.empty(out_features)) end
  self:_reset()
end

function Linear:_reset()
  init.kaiming_uniform_(self.weight, {a = math.sqrt(5)})
  if self.bias then
    local bound = 1 / math.sqrt(self.in_features)
    init.uniform_(self.bias, -bound, bound)
  end
end

function Linear:forward(x) return jl.linear(x, self.weight, self.bias) end

function Linear:extra_repr()
  return string.format("in_features=%d, out_features=%d, bias=%s", self.in_features, self.out_features,
    tostring(self.bias ~= nil))
end

return Linear
