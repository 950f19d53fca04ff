-- jetlab.json — a small, exact JSON encoder and decoder (metrics.json).
--
--   local json = require "jetlab.json"
--   local s = json.encode({auc = 0.981, models = {"fcnn", "gnn"}}, {indent = 2})
--   local t = assert(json.decode(s))           -- t.auc == 0.981, t.models[2] == "gnn"
--
-- encode: a table whose keys are exactly 1..n (n > 0), or one marked by
-- json.array(t), is an array; a table with string keys only (or no keys) is an
-- object, keys sorted so equal tables give equal text. Other tables (mixed or
-- sparse keys, cycles), functions and userdata are an error naming the path.
-- Numbers: integers as such, floats as the shortest of %.15g / %.17g that
-- reads back equal; NaN and ±inf become null (JSON has no such numbers).
-- Strings are escaped (quote, backslash, control characters); their bytes are
-- passed through as they are (UTF-8 expected). json.null encodes as null.
--
-- decode: returns the value, or nil and a message with the byte offset.
-- Objects and arrays become tables (arrays marked as json.array, so an empty
-- one encodes back as []); null becomes json.null, which keeps array
-- positions; numbers without '.', 'e' or 'E' that fit become integers.

local json = {}

json.null = setmetatable({}, {__tostring = function() return "null" end})

local array_mt = {__name = "json.array"}

--- json.array(t) → t, marked to encode as an array even when empty.
function json.array(t)
  return setmetatable(t or {}, array_mt)
end

--- json.number(v) → the exact text of a finite number (integers stay integers).
function json.number(v)
  if math.type(v) == "integer" then return string.format("%d", v) end
  local s = string.format("%.15g", v)
  if tonumber(s) ~= v then s = string.format("%.17g", v) end
  return s
end

local escapes = {['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
                 ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t"}

local function quote(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    return escapes[c] or string.format("\\u%04x", c:byte())
  end) .. '"'
end

-- "array", "object", or nil and the reason.
local function kind(t)
  if getmetatable(t) == array_mt then return "array" end
  local n, count, strings = #t, 0, 0
  for k in pairs(t) do
    count = count + 1
    if type(k) == "string" then strings = strings + 1 end
  end
  if count == 0 then return "object" end
  if n > 0 and count == n then return "array" end
  if strings == count then return "object" end
  return nil, "a table with mixed or sparse keys"
end

local function encode(v, path, indent, depth, seen, out)
  local t = type(v)
  if v == json.null or t == "nil" then
    out[#out + 1] = "null"
  elseif t == "number" then
    out[#out + 1] = (v ~= v or v == math.huge or v == -math.huge) and "null" or json.number(v)
  elseif t == "string" then
    out[#out + 1] = quote(v)
  elseif t == "boolean" then
    out[#out + 1] = tostring(v)
  elseif t == "table" then
    if seen[v] then error("json: cycle at " .. path, 0) end
    local k, why = kind(v)
    if not k then error("json: " .. why .. " at " .. path .. " cannot be written", 0) end
    seen[v] = true
    local items = {}
    if k == "array" then
      for i = 1, #v do items[i] = {nil, v[i], path .. "[" .. i .. "]"} end
    else
      local keys = {}
      for key in pairs(v) do keys[#keys + 1] = key end
      table.sort(keys)
      for i, key in ipairs(keys) do items[i] = {key, v[key], path .. "." .. key} end
    end
    local open, close = k == "array" and "[" or "{", k == "array" and "]" or "}"
    local nested = false
    for _, item in ipairs(items) do nested = nested or type(item[2]) == "table" end
    -- arrays of plain values stay on one line; everything else gets one line per item
    local pad = indent and (k == "object" or nested) and "\n" .. string.rep(" ", indent * (depth + 1))
    out[#out + 1] = open
    for i, item in ipairs(items) do
      if i > 1 then out[#out + 1] = pad and "," or (indent and ", " or ",") end
      if pad then out[#out + 1] = pad end
      if item[1] then out[#out + 1] = quote(item[1]) .. (indent and ": " or ":") end
      encode(item[2], item[3], indent, depth + 1, seen, out)
    end
    if pad and #items > 0 then out[#out + 1] = "\n" .. string.rep(" ", indent * depth) end
    out[#out + 1] = close
    seen[v] = nil
  else
    error(string.format("json: a %s at %s cannot be written", t, path), 0)
  end
end

--- json.encode(value[, {indent = n}]) → string; raises on a value JSON cannot hold.
function json.encode(value, opts)
  local out = {}
  encode(value, "top", opts and opts.indent, 0, {}, out)
  return table.concat(out)
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
