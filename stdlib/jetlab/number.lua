-- jetlab.number — a number as the shortest text that reads back equal: the one
-- number formatter behind jetlab.json and jetlab.literal.
--
--   local number = require "jetlab.number"
--   number.exact(0.1 + 0.2)   --> "0.30000000000000004"
--   number.exact(0.5)         --> "0.5"
--   number.exact(3)           --> "3"

local number = {}

--- number.exact(v) → integers as %d; finite floats as the shorter of %.15g and
--- %.17g that reads back equal (tonumber(s) == v). Non-finite floats are the
--- caller's to write (JSON and Lua spell them differently).
function number.exact(v)
  if math.type(v) == "integer" then return string.format("%d", v) end
  local s = string.format("%.15g", v)
  if tonumber(s) ~= v then s = string.format("%.17g", v) end
  return s
end

return number
