-- jetlab.nn.dropout — nn.Dropout(p): in training, zeroes each element with
-- probability p (drawn from the jl generator, so seeded by jl.manual_seed)
-- and scales the rest by 1 / (1 - p); the identity in eval.
--
--   local drop = nn.Dropout(0.1)
--   local y = drop(x)                -- training
--   drop:eval(); assert(drop(x) == x)

local Module = require "jetlab.nn.module"
local F = require "jetlab.nn.functional"

local Dropout = Module:extend("Dropout")

function Dropout:__init(p)
  Module.__init(self)
  p = p == nil and 0.5 or p
  if type(p) ~= "number" or p < 0 or p > 1 then error("Dropout: p must be in [0, 1], got " .. tostring(p), 2) end
  self.p = p
end

function Dropout:forward(x) return F.dropout(x, self.p, self.training) end

function Dropout:extra_repr() return string.format("p=%g", self.p) end

return Dropout
