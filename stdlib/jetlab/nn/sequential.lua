-- jetlab.nn.sequential — nn.Sequential: children run one after another.
-- Children are named "1", "2", ... (so parameters are "1.weight", "3.bias")
-- and are also reachable as seq[1], seq[2]; #seq is their count.
--
--   local net = nn.Sequential(nn.Linear(560, 64), nn.ReLU(), nn.Linear(64, 2))
--   -- or nn.Sequential({layer1, layer2}); net:add(nn.Sigmoid())
--   local logits = net(x)                -- x (B, 560) → (B, 2)

local Module = require "jetlab.nn.module"

local Sequential = Module:extend("Sequential")

function Sequential:__init(...)
  Module.__init(self)
  local first = ...
  local list = (select("#", ...) == 1 and type(first) == "table" and not Module.is_module(first)) and first or {...}
  for i = 1, #list do self:add(list[i]) end
end

--- seq:add(module) → seq
function Sequential:add(m)
  local i = #self._child_names + 1
  self:register_module(tostring(i), m)
  rawset(self, i, m)
  return self
end

function Sequential:forward(x)
  for i = 1, #self._child_names do x = self[i](x) end
  return x
end

return Sequential
