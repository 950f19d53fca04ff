-- jetlab.literal — Lua values as Lua source text, and back: how checkpoints
-- store a config table (and anything else that must be a readable string).
--
--   local literal = require "jetlab.literal"
--   local s = literal.encode({lr = 1e-3, hidden = {400, 400}, name = "fcnn"})
--   --> {hidden = {400, 400}, lr = 0.001, name = "fcnn"}
--   local t = assert(literal.decode(s))
--
-- Tables (nested, no cycles), strings, booleans and numbers round-trip
-- exactly: integers stay integers, floats stay floats (shortest of %.15g /
-- %.17g that reads back equal), inf and nan are written 1/0, -1/0, 0/0. Keys
-- are sorted (integers first), so equal tables give equal text. Functions,
-- userdata (tensors) and threads are an error naming the key path.

local number = require "jetlab.number"

local literal = {}

local function number_text(v)
  if math.type(v) == "integer" then return number.exact(v) end
  if v ~= v then return "0/0" end
  if v == math.huge then return "1/0" end
  if v == -math.huge then return "-1/0" end
  local s = number.exact(v)
  if not s:find("[%.eEn]") then s = s .. ".0" end -- keep it a float
  return s
end

local function key_less(a, b)
  local ta, tb = type(a), type(b)
  if ta ~= tb then return ta == "number" end
  if ta == "boolean" then return (not a) and b end
  return a < b
end

local function encode(v, path, seen, out)
  local t = type(v)
  if t == "number" then
    out[#out + 1] = number_text(v)
  elseif t == "string" then
    out[#out + 1] = string.format("%q", v)
  elseif t == "boolean" or t == "nil" then
    out[#out + 1] = tostring(v)
  elseif t == "table" then
    if seen[v] then error("literal: cycle at " .. path, 0) end
    seen[v] = true
    local keys, n = {}, #v
    for k in pairs(v) do
      if not (math.type(k) == "integer" and k >= 1 and k <= n) then keys[#keys + 1] = k end
    end
    table.sort(keys, key_less)
    out[#out + 1] = "{"
    for i = 1, n do
      if i > 1 then out[#out + 1] = ", " end
      encode(v[i], path .. "[" .. i .. "]", seen, out)
    end
    for i, k in ipairs(keys) do
      if i > 1 or n > 0 then out[#out + 1] = ", " end
      if type(k) == "string" and k:match("^[%a_][%w_]*$") then
        out[#out + 1] = k .. " = "
      elseif type(k) == "string" or type(k) == "number" or type(k) == "boolean" then
        local kk = {}
        encode(k, path, seen, kk)
        out[#out + 1] = "[" .. table.concat(kk) .. "] = "
      else
        error("literal: a " .. type(k) .. " key at " .. path .. " cannot be written", 0)
      end
      encode(v[k], path .. "." .. tostring(k), seen, out)
    end
    out[#out + 1] = "}"
    seen[v] = nil
  else
    error(string.format("literal: a %s at %s cannot be written", t, path), 0)
  end
end

--- literal.encode(value) → string; raises on a value that cannot be written.
function literal.encode(value)
  local out = {}
  encode(value, "top", {}, out)
  return table.concat(out)
end

--- literal.decode(s[, name]) → value, or nil, message when s is not a literal.
--- Evaluated with an empty environment: no library function can be reached.
function literal.decode(s, name)
  local chunk, err = load("return " .. s, "=" .. (name or "literal"), "t", {})
  if not chunk then return nil, err end
  local ok, value = pcall(chunk)
  if not ok then return nil, value end
  return value
end

return literal
