-- jetlab.nn.activation — parameter-free layers: ReLU, Sigmoid, Tanh, Identity,
-- Flatten (start_dim = 2, end_dim = -1: everything but the batch dim, 1-based).
--
--   local net = nn.Sequential(nn.Flatten(), nn.Linear(80 * 7, 64), nn.ReLU())
--   local y = nn.Tanh()(x)

local Module = require "jetlab.nn.module"

local M = {}

-- A parameter-free layer named `name` computing fn(x).
local function elementwise(name, fn)
  local cls = Module:extend(name)
  function cls:forward(x) return fn(x) end
  return cls
end

M.ReLU = elementwise("ReLU", function(x) return x:relu() end)
M.Sigmoid = elementwise("Sigmoid", function(x) return x:sigmoid() end)
M.Tanh = elementwise("Tanh", function(x) return x:tanh() end)
M.Identity = elementwise("Identity", function(x) return x end)

M.Flatten = Module:extend("Flatten")

function M.Flatten:__init(start_dim, end_dim)
  Module.__init(self)
  self.start_dim, self.end_dim = start_dim or 2, end_dim or -1
end

function M.Flatten:forward(x) return x:flatten(self.start_dim, self.end_dim) end

function M.Flatten:extra_repr()
  return string.format("start_dim=%d, end_dim=%d", self.start_dim, self.end_dim)
end

return M
