-- jetlab.layouts — how the tensor names of model files made outside jetlab map
-- onto jetlab's modules, one file per layout:
--   lundnet  fdreyer/LundNet (the LundNet authors' published models)
--   peer     shared/peers/torch_peer.py (the PyTorch peer of jetlab bench)
--   weaver   hqucms/weaver-core's ParticleNet (and ParticleNetTagger's pn.*)
--
--   local layouts = require "jetlab.layouts"
--   local L = layouts.get("lundnet")
--   local name, rule = layouts.to_jetlab(L, "edge_convs.0.theta.weight")   -- "blocks.1.theta.weight"
--   local back = layouts.to_outside(L, "blocks.1.theta.weight")            -- "edge_convs.0.theta.weight"
--
-- A layout module returns {name =, about =, rules =, models =, prefixes =, refuse =}:
--   rules     {outside = template, jetlab = template[, outside_rank = n]} tried in
--             order. Templates are dotted names where {a}, {b} stand for integers
--             (0-based outside, 1-based in jetlab: the same placeholder is one more
--             on the jetlab side) and a final $ for the rest of the name. With
--             outside_rank the outside tensor has trailing size-1 dimensions up to
--             that rank (weaver's Conv1d / Conv2d 1x1 weights).
--   models    cli model name → function(tensors) → spec ({name =, args =}, see
--             nn.models.build); tensors: outside name → tensor, for what a
--             layout reads off the file (input width, a fusion block).
--   prefixes  leading name components dropped on import ("module." of DataParallel).
--   refuse    {pattern, why}: tensors that have no jetlab counterpart, refused with why.

local M = {}

local KNOWN = {"lundnet", "peer", "weaver"}

--- layouts.get(name) → the layout module; an error lists the known layouts.
function M.get(name)
  for _, k in ipairs(KNOWN) do
    if k == name then return require("jetlab.layouts." .. name) end
  end
  error(string.format("unknown layout '%s' (one of %s)", tostring(name), table.concat(KNOWN, ", ")), 2)
end

M.known = KNOWN

-- A template as a Lua pattern and the names of its placeholders in order.
local compiled = setmetatable({}, {__mode = "k"})
local function compile(template)
  local c = compiled[template]
  if c then return c end
  local names = {}
  local pattern = template:gsub("[%.%-%+%*%?%[%]%^%(%)%%]", "%%%0")
  pattern = pattern:gsub("{(%a)}", function(n)
    names[#names + 1] = n
    return "(%d+)"
  end)
  pattern = pattern:gsub("%$$", function()
    names[#names + 1] = "$"
    return "(.+)"
  end)
  c = {pattern = "^" .. pattern .. "$", names = names}
  compiled[template] = c
  return c
end

-- template with its placeholders filled from values (integers shifted by shift).
local function fill(template, values, shift)
  local s = template:gsub("{(%a)}", function(n) return tostring(values[n] + shift) end)
  return (s:gsub("%$$", function() return values["$"] end))
end

-- The name on the `to` side of the first rule whose `from` side matches name.
local function translate(layout, name, from, to, shift)
  for _, rule in ipairs(layout.rules) do
    local c = compile(rule[from])
    local caps = table.pack(name:match(c.pattern))
    if caps[1] ~= nil then
      local values = {}
      for i, n in ipairs(c.names) do values[n] = n == "$" and caps[i] or tonumber(caps[i]) end
      local ok = true
      for n, v in pairs(values) do
        if n ~= "$" and v + shift < 0 then ok = false end
      end
      if ok then return fill(rule[to], values, shift), rule end
    end
  end
  return nil
end

--- layouts.to_jetlab(layout, outside_name) → jetlab name, rule | nil
function M.to_jetlab(layout, name) return translate(layout, name, "outside", "jetlab", 1) end

--- layouts.to_outside(layout, jetlab_name) → outside name, rule | nil
function M.to_outside(layout, name) return translate(layout, name, "jetlab", "outside", -1) end

--- layouts.strip(layout, name) → name without the layout's droppable prefixes.
function M.strip(layout, name)
  local changed = true
  while changed do
    changed = false
    for _, p in ipairs(layout.prefixes or {}) do
      if name:sub(1, #p) == p then
        name, changed = name:sub(#p + 1), true
      end
    end
  end
  return name
end

--- layouts.refusal(layout, name) → why the name has no jetlab counterpart, or nil.
function M.refusal(layout, name)
  for _, r in ipairs(layout.refuse or {}) do
    if name:match(r[1]) then return r[2] end
  end
  return nil
end

return M
