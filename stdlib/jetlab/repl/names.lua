-- jetlab.repl.names — values reached by a dotted or colon path from the
-- REPL's globals ("jl.nn.Linear", "x:sum"), the names a value offers for
-- completion, and the path of a value for help.
--
--   local names = require "jetlab.repl.names"
--   names.resolve("train.fit")     -- a global, else the stdlib module jetlab.train
--   names.members(jl.randn(2))     -- the tensor methods (jl.Tensor), sorted
--   names.path_of(jl.randn)        -- "jl.randn"

local names = {}

local IDENT = "^[%a_][%w_]*$"
local MAX_DEPTH = 4

local function is_tensor(v)
  local jl = rawget(_G, "jl")
  return type(v) == "userdata" and jl and jl.is_tensor(v)
end

-- v[k] without raising (an __index that errors gives nil).
local function field(v, k)
  local ok, r = pcall(function() return v[k] end)
  if ok then return r end
  return nil
end

-- The tables whose keys v answers to: v itself, then the __index tables of its
-- metatables (a tensor: the methods table jl.Tensor).
local function key_sources(v)
  local out, seen = {}, {}
  if is_tensor(v) then
    out[1] = rawget(_G, "jl").Tensor
    return out
  end
  local t = v
  for _ = 1, MAX_DEPTH do
    if type(t) == "table" and not seen[t] then
      seen[t] = true
      out[#out + 1] = t
    end
    local mt = getmetatable(t)
    if type(mt) ~= "table" then break end
    t = rawget(mt, "__index")
    if type(t) ~= "table" then break end
  end
  return out
end

--- names.members(v) → the identifier keys v answers to (its own and those of
--- its metatables' __index tables), sorted.
function names.members(v)
  local set, out = {}, {}
  for _, t in ipairs(key_sources(v)) do
    for k in pairs(t) do
      if type(k) == "string" and k:match(IDENT) and not set[k] then
        set[k] = true
        out[#out + 1] = k
      end
    end
  end
  table.sort(out)
  return out
end

--- names.split(path) → the parts of "a.b:c" ({"a", "b", "c"}) and whether the
--- last one follows a colon; nil when path is not such a path.
function names.split(path)
  if not path:match("^[%a_][%w_]*[%w_.:]*$") or path:find("[.:][.:]") then return nil end
  local parts = {}
  for part in path:gmatch("[^.:]+") do parts[#parts + 1] = part end
  return parts, path:find(":[%w_]*$") ~= nil
end

-- The value of a global, else of the stdlib module jetlab.<name> (train, nn, ...).
local function root(name)
  local v = rawget(_G, name)
  if v ~= nil then return v end
  local ok, mod = pcall(require, "jetlab." .. name)
  if ok then return mod end
  return nil
end

--- names.resolve(path) → the value at "a.b.c" or "x:m" (nil when any part is missing).
function names.resolve(path)
  local parts = names.split(path)
  if not parts then return nil end
  local v = root(parts[1])
  for i = 2, #parts do
    if v == nil then return nil end
    v = field(v, parts[i])
  end
  return v
end

--- names.path_of(v) → a path that reaches v from the globals or the loaded
--- jetlab modules ("jl.randn", "train.fit", "t:sum" for a tensor method), or nil.
function names.path_of(v)
  local jl = rawget(_G, "jl")
  if jl and jl.Tensor then
    for k, m in pairs(jl.Tensor) do
      if m == v and rawget(jl, k) ~= v then return "t:" .. k end
    end
  end
  local roots = {{"", _G}}
  for modname, mod in pairs(package.loaded) do
    local short = modname:match("^jetlab%.([%w_.]+)$")
    if short and type(mod) == "table" then roots[#roots + 1] = {short, mod} end
  end
  local queue, seen, best, head = {}, {}, nil, 1
  for _, r in ipairs(roots) do queue[#queue + 1] = {r[1], r[2], 0} end
  while head <= #queue do
    local path, t, depth = queue[head][1], queue[head][2], queue[head][3]
    head = head + 1
    if not seen[t] then
      seen[t] = true
      for k, x in pairs(t) do
        if type(k) == "string" and k:match(IDENT) and k ~= "_G" and k ~= "package" and k ~= "Tensor" then
          local p = path == "" and k or path .. "." .. k
          if x == v and (not best or #p < #best) then best = p end
          if type(x) == "table" and depth < MAX_DEPTH then queue[#queue + 1] = {p, x, depth + 1} end
        end
      end
    end
  end
  return best
end

return names
