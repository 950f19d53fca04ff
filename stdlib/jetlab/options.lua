-- jetlab.options — option tables with defaults, where a misspelt key is an
-- error instead of a silently ignored setting.
--
--   local options = require "jetlab.options"
--   local o = options.check("optim.SGD", opts, {lr = options.REQUIRED, momentum = 0})
--   print(o.lr, o.momentum)
--
-- check(what, opts, defaults) returns a new table: defaults overridden by opts.
-- A key of opts that defaults lacks raises "<what>: unknown option 'key'
-- (expected a, b, c)"; a default of options.REQUIRED must be given; a default
-- of options.OPTIONAL may be left out (stays nil). opts may be nil.
--
-- declare(fn, defaults) records the option names fn (a function or a callable
-- class) takes, for the REPL's completion of `fn({<Tab>`; declared(fn) lists them.

local options = {}

options.REQUIRED = setmetatable({}, {__tostring = function() return "<required>" end})
options.OPTIONAL = setmetatable({}, {__tostring = function() return "<optional>" end})

local function sorted_keys(defaults)
  local keys = {}
  for k in pairs(defaults) do keys[#keys + 1] = tostring(k) end
  table.sort(keys)
  return keys
end

local function names(defaults)
  return table.concat(sorted_keys(defaults), ", ")
end

function options.check(what, opts, defaults)
  if opts ~= nil and type(opts) ~= "table" then
    error(string.format("%s: options must be a table, got %s", what, type(opts)), 3)
  end
  local out = {}
  for k, v in pairs(opts or {}) do
    if defaults[k] == nil then
      error(string.format("%s: unknown option '%s' (expected %s)", what, tostring(k), names(defaults)), 3)
    end
    out[k] = v
  end
  for k, v in pairs(defaults) do
    if out[k] == nil then
      if v == options.REQUIRED then error(string.format("%s: option '%s' is required", what, k), 3) end
      if v ~= options.OPTIONAL then out[k] = v end
    end
  end
  return out
end

local declarations = setmetatable({}, {__mode = "k"})

--- options.declare(fn, defaults) → fn, recording the keys of defaults as the options fn takes.
function options.declare(fn, defaults)
  declarations[fn] = defaults
  return fn
end

--- options.declared(fn) → the option names fn takes, sorted, or nil when it declared none.
function options.declared(fn)
  local defaults = declarations[fn]
  return defaults and sorted_keys(defaults) or nil
end

return options
