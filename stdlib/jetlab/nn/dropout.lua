-- jetlab.nn.dropout — nn.Dropout(p): in training, zeroes each element with
-- probability p (drawn from the jl generator, so seeded by jl.manual_seed)
-- and scales the rest by 1 / (1 - p); the identity in eval.
--
--   local drop = nn.Dropout(0.1)
--   local y = drop(x)                -- training
--   drop:eval(); assert(drop(x) == x)
--
-- Under MPI train.fit sets Dropout.rows = {first =, count =, total =}: this
-- rank holds rows first .. first + count - 1 of a global batch of total. An
-- input of count rows then gets those rows of the mask drawn for all total
-- rows, so every rank draws what one process does and the masks (and jl's
-- generator) stay those of one process.

local jl = require "jetlab"
local Module = require "jetlab.nn.module"
local F = require "jetlab.nn.functional"

local Dropout = Module:extend("Dropout")

function Dropout:__init(p)
  Module.__init(self)
  p = p == nil and 0.5 or p
  if type(p) ~= "number" or p < 0 or p > 1 then error("Dropout: p must be in [0, 1], got " .. tostring(p), 2) end
  self.p = p
end

function Dropout:forward(x)
  local rows = Dropout.rows
  if rows and self.training and self.p > 0 and self.p < 1 and x.ndim >= 1 and x.shape[1] == rows.count then
    local shape = x.shape
    shape[1] = rows.total
    local keep = jl.bernoulli(1 - self.p, shape, {device = x.device}):narrow(1, rows.first, rows.count)
    return x * (keep * (1 / (1 - self.p)))
  end
  return F.dropout(x, self.p, self.training)
end

function Dropout:extra_repr() return string.format("p=%g", self.p) end

return Dropout
