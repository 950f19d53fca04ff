-- jetlab.json — a small, exact JSON encoder and decoder (metrics.json).
--
--   local json = require "jetlab.json"
--   local s = json.encode({auc = 0.981, models = {"fcnn", "gnn"}}, {indent = 2})
--   local t = assert(json.decode(s))           -- t.auc == 0.981, t.models[2] == "gnn"
--
-- encode: a table whose keys are exactly 1..n (n > 0), or one marked by
-- json.array(t), is an array; a table with string keys only (or no keys) is an
-- object, keys sorted so equal tables give equal text (or in a given order:
-- json.ordered). Other tables (mixed or sparse keys, cycles), functions and
-- userdata are an error naming the path. Numbers: integers as such, floats as
-- the shortest of %.15g / %.17g that reads back equal (jetlab.number), or with
-- a given number of digits; NaN and ±inf become null (JSON has no such numbers).
-- Strings are escaped (quote, backslash, control characters); their bytes are
-- passed through as they are (UTF-8 expected). json.null encodes as null.
--
-- decode: returns the value, or nil and a message with the byte offset.
-- Objects and arrays become tables (arrays marked as json.array, so an empty
-- one encodes back as []); null becomes json.null, which keeps array
-- positions; numbers without '.', 'e' or 'E' that fit become integers.

local number = require "jetlab.number"

local json = {}

json.null = setmetatable({}, {__tostring = function() return "null" end})

local array_mt = {__name = "json.array"}

--- json.array(t) → t, marked to encode as an array even when empty.
function json.array(t)
  return setmetatable(t or {}, array_mt)
end

--- json.ordered(keys) → mark: mark(t) returns t, marked to encode as an object
--- whose keys come in the order of the list keys (those t lacks left out); a
--- key of t that the list lacks is an error.
function json.ordered(keys)
  local mt = {__name = "json.ordered", keys = keys}
  return function(t) return setmetatable(t, mt) end
end

--- json.number(v) → the exact text of a finite number (integers stay integers).
json.number = number.exact

local escapes = {['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
                 ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t"}

local function quote(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    return escapes[c] or string.format("\\u%04x", c:byte())
  end) .. '"'
end

-- The path of the value being written, for messages: top.a[2].b
local function path_of(keys)
  local parts = {"top"}
  for i, k in ipairs(keys) do parts[i + 1] = math.type(k) == "integer" and "[" .. k .. "]" or "." .. k end
  return table.concat(parts)
end

local huge, math_type, format, exact = math.huge, math.type, string.format, number.exact

-- The text of a value that is no table (json.null aside), or nil for a table or a value JSON cannot hold.
local function scalar(v, digits)
  local t = type(v)
  if t == "number" then
    if v ~= v or v == huge or v == -huge then return "null" end
    if digits and math_type(v) == "float" then return format(digits, v) end
    return exact(v)
  elseif t == "string" then
    return quote(v)
  elseif t == "boolean" then
    return tostring(v)
  elseif v == nil or v == json.null then
    return "null"
  end
end

-- How table t is written: "array", n; or "object", its keys in order. Raises on other tables.
local function layout(t, c)
  local mt = getmetatable(t)
  if mt == array_mt then return "array", #t end
  local n, count, strings = #t, 0, 0
  for k in pairs(t) do
    count = count + 1
    if type(k) == "string" then strings = strings + 1 end
  end
  if mt and mt.__name == "json.ordered" then
    local keys = {}
    for _, k in ipairs(mt.keys) do
      if t[k] ~= nil then keys[#keys + 1] = k end
    end
    if #keys ~= count then error("json: a key outside the given order at " .. path_of(c.keys), 0) end
    return "object", keys
  end
  if count == 0 then return "object", {} end
  if n > 0 and count == n then return "array", n end
  if strings ~= count then
    error("json: a table with mixed or sparse keys at " .. path_of(c.keys) .. " cannot be written", 0)
  end
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  return "object", keys
end

-- The text of array t when its n items are all finite numbers and floats take
-- a fixed format (digits), else nil: one string.format call for the row.
local function number_row(t, n, c)
  local specs, digits = c.specs, c.digits
  for i = 1, n do
    local x = t[i]
    if type(x) ~= "number" or x ~= x or x == huge or x == -huge then return nil end
    specs[i] = math_type(x) == "integer" and "%d" or digits
  end
  return "[" .. format(table.concat(specs, c.comma, 1, n), table.unpack(t, 1, n)) .. "]"
end

-- The text of v; c holds the options, the tables being written (tables, depth of them open) and their keys.
local function encode(v, c, depth)
  if type(v) ~= "table" or v == json.null then
    return scalar(v, c.digits) or error(string.format("json: a %s at %s cannot be written", type(v), path_of(c.keys)), 0)
  end
  local open_tables = c.tables
  for i = 1, depth do
    if open_tables[i] == v then error("json: cycle at " .. path_of(c.keys), 0) end
  end
  local kind, keys = layout(v, c)
  local is_array = kind == "array"
  local n = is_array and keys or #keys
  if is_array and c.digits and n > 0 then
    local row = number_row(v, n, c)
    if row then return row end
  end
  open_tables[depth + 1] = v
  local parts, nested, path = {}, not is_array, c.keys
  for i = 1, n do
    local key = is_array and i or keys[i]
    local item = v[key]
    local text = type(item) ~= "table" and scalar(item, c.digits)
    if not text then
      nested = true
      path[#path + 1] = key
      text = encode(item, c, depth + 1)
      path[#path] = nil
    end
    parts[i] = is_array and text or quote(key) .. c.colon .. text
  end
  open_tables[depth + 1] = nil
  local open, close = is_array and "[" or "{", is_array and "]" or "}"
  -- with indent, arrays of plain values stay on one line; everything else gets one line per item
  if c.indent and nested and n > 0 then
    local pad = "\n" .. string.rep(" ", c.indent * (depth + 1))
    return open .. pad .. table.concat(parts, "," .. pad) .. "\n" .. string.rep(" ", c.indent * depth) .. close
  end
  return open .. table.concat(parts, c.comma) .. close
end

--- json.encode(value[, {indent = n, spaced = true, digits = n}]) → string;
--- raises on a value JSON cannot hold. indent: one line per object member;
--- spaced: one line with ", " and ": " between items (as Python's json.dumps);
--- digits: floats written with %.<digits>g instead of exactly.
function json.encode(value, opts)
  local o = opts or {}
  local wide = o.indent or o.spaced
  local c = {tables = {}, keys = {}, specs = {}, indent = o.indent, comma = wide and ", " or ",",
             colon = wide and ": " or ":", digits = o.digits and "%." .. o.digits .. "g"}
  return encode(value, c, 0)
end

-- Decoder: a recursive descent over the string s; pos is a byte index.

local function fail(pos, what)
  error({string.format("json: %s at byte %d", what, pos)}, 0)
end

local function skip(s, pos)
  return s:find("[^ \t\r\n]", pos) or #s + 1
end

local function utf8_of(s, pos, hex)
  local code = tonumber(hex, 16)
  if code >= 0xD800 and code <= 0xDBFF then
    local low = s:match("^\\u(%x%x%x%x)", pos + 6)
    local lo = low and tonumber(low, 16)
    if not lo or lo < 0xDC00 or lo > 0xDFFF then fail(pos, "unpaired surrogate") end
    return utf8.char(0x10000 + (code - 0xD800) * 0x400 + (lo - 0xDC00)), 12
  end
  return utf8.char(code), 6
end

local unescape = {['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n", r = "\r", t = "\t"}

local function read_string(s, pos) -- pos at the opening quote
  local parts, i = {}, pos + 1
  while true do
    local j = s:find('["\\%c]', i)
    if not j then fail(pos, "unterminated string") end
    parts[#parts + 1] = s:sub(i, j - 1)
    local c = s:sub(j, j)
    if c == '"' then return table.concat(parts), j + 1 end
    if c ~= "\\" then fail(j, "control character in string") end
    local e = s:sub(j + 1, j + 1)
    if e == "u" then
      local hex = s:match("^%x%x%x%x", j + 2)
      if not hex then fail(j, "bad \\u escape") end
      local text, len = utf8_of(s, j, hex)
      parts[#parts + 1], i = text, j + len
    elseif unescape[e] then
      parts[#parts + 1], i = unescape[e], j + 2
    else
      fail(j, "bad escape")
    end
  end
end

local read_value

local function read_container(s, pos, close, item)
  local t, n = {}, 0
  pos = skip(s, pos + 1)
  if s:sub(pos, pos) == close then return t, pos + 1 end
  while true do
    n = n + 1
    pos = item(s, pos, t, n)
    pos = skip(s, pos)
    local c = s:sub(pos, pos)
    if c == close then return t, pos + 1 end
    if c ~= "," then fail(pos, "expected ',' or '" .. close .. "'") end
    pos = skip(s, pos + 1)
  end
end

local function array_item(s, pos, t, n)
  t[n], pos = read_value(s, pos)
  return pos
end

local function object_item(s, pos, t)
  if s:sub(pos, pos) ~= '"' then fail(pos, "expected a string key") end
  local key
  key, pos = read_string(s, pos)
  pos = skip(s, pos)
  if s:sub(pos, pos) ~= ":" then fail(pos, "expected ':'") end
  t[key], pos = read_value(s, skip(s, pos + 1))
  return pos
end

local literals = {["true"] = true, ["false"] = false, null = json.null}

function read_value(s, pos)
  if pos > #s then fail(pos, "unexpected end of text") end
  local c = s:sub(pos, pos)
  if c == "{" then return read_container(s, pos, "}", object_item) end
  if c == "[" then
    local t, next_pos = read_container(s, pos, "]", array_item)
    return json.array(t), next_pos
  end
  if c == '"' then return read_string(s, pos) end
  local word = s:match("^%a+", pos)
  if word then
    if literals[word] == nil then fail(pos, "unexpected '" .. word .. "'") end
    return literals[word], pos + #word
  end
  local int = s:match("^-?%d+", pos)
  if not int then fail(pos, "unexpected character") end
  if int:match("^-?0%d") then fail(pos, "leading zero in a number") end
  local frac = s:match("^%.%d+", pos + #int) or ""
  local num = int .. frac .. (s:match("^[eE][-+]?%d+", pos + #int + #frac) or "")
  return tonumber(num), pos + #num
end

--- json.decode(s) → value, or nil and a message.
function json.decode(s)
  local ok, value, pos = pcall(function()
    local v, p = read_value(s, skip(s, 1))
    return v, skip(s, p)
  end)
  if not ok then return nil, type(value) == "table" and value[1] or tostring(value) end
  if pos <= #s then return nil, string.format("json: trailing text at byte %d", pos) end
  return value
end

return json
