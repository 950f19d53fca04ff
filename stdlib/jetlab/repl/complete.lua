-- jetlab.repl.complete — the REPL's tab completion (the host hands it the line
-- before the cursor and the word readline completes): globals and Lua
-- keywords, fields along a dotted path, methods after a colon (through
-- metatables: `x:su` → `x:sub(`, `x:sum(`), and inside `f({...})` the option
-- names that f declared (jetlab.options.declare: train.fit, optimizers,
-- view:batches). File names inside strings are readline's own.
--
--   local complete = require "jetlab.repl.complete"
--   complete.candidates("jl.ran", "jl.ran")           -- {"jl.rand(", "jl.rand_like(", ...}
--   complete.candidates("train.fit({mo", "mo")        -- {"model = "}

local names = require "jetlab.repl.names"
local options = require "jetlab.options"

local complete = {}

local KEYWORDS = {"and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if",
  "in", "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while"}

local function with_prefix(list, prefix, decorate)
  local out = {}
  for _, name in ipairs(list) do
    if name:sub(1, #prefix) == prefix then
      local c = decorate(name)
      if c then out[#out + 1] = c end
    end
  end
  return out
end

-- The open brackets of code (a stack of {char, position}), strings and
-- comments skipped.
local function open_brackets(code)
  local stack, i = {}, 1
  local closing = {[")"] = "(", ["}"] = "{", ["]"] = "["}
  while i <= #code do
    local c = code:sub(i, i)
    if c == '"' or c == "'" then
      local j = i + 1
      while j <= #code and code:sub(j, j) ~= c do
        if code:sub(j, j) == "\\" then j = j + 1 end
        j = j + 1
      end
      i = j
    elseif code:sub(i, i + 1) == "--" then
      break
    elseif c == "(" or c == "{" or c == "[" then
      stack[#stack + 1] = {c, i}
    elseif closing[c] and #stack > 0 and stack[#stack][1] == closing[c] then
      stack[#stack] = nil
    end
    i = i + 1
  end
  return stack
end

-- The option names f declared, when `before` ends at a key position of a
-- table that is an argument of a call to f: `train.fit({`, `opt({lr = 1, `.
local function option_keys(before)
  if not before:match("[{,]%s*$") then return nil end
  local stack = open_brackets(before)
  local brace, paren = stack[#stack], stack[#stack - 1]
  if not brace or brace[1] ~= "{" then return nil end
  local callee
  if paren and paren[1] == "(" then
    callee = before:sub(1, paren[2] - 1):match("([%a_][%w_.:]*)%s*$")
  else
    callee = before:sub(1, brace[2] - 1):match("([%a_][%w_.:]*)%s*$") -- f{...}
  end
  local f = callee and names.resolve(callee)
  return f ~= nil and options.declared(f) or nil
end

--- complete.candidates(line, word) → the completions of word (the end of
--- line, the text before the cursor), each a replacement for word.
function complete.candidates(line, word)
  local before = line:sub(1, #line - #word)
  local keys = option_keys(before)
  if keys and word:match("^[%w_]*$") then
    return with_prefix(keys, word, function(k) return k .. " = " end)
  end
  local lead, path = word:match("^(.-)([%a_][%w_.:]*)$") -- lead: "x/" of "x/jl.ra"
  if not path or (lead ~= "" and lead:match("[%w_.:]$")) then return {} end
  local head, sep, partial = path:match("^(.-)([.:]?)([%w_]*)$")
  if sep == "" then
    local all = names.members(_G)
    for _, k in ipairs(KEYWORDS) do all[#all + 1] = k end
    table.sort(all)
    return with_prefix(all, partial, function(k)
      return lead .. k .. (type(rawget(_G, k)) == "function" and "(" or "")
    end)
  end
  local v = names.resolve(head)
  if v == nil then return {} end
  return with_prefix(names.members(v), partial, function(k)
    local is_function = type(names.resolve(head .. "." .. k)) == "function"
    if sep == ":" and not is_function then return nil end
    return lead .. head .. sep .. k .. (is_function and "(" or "")
  end)
end

return complete
