-- jetlab.cli — a small flag parser for subcommands (stdlib/cmd/*.lua) and scripts.
--
--   local cli = require "jetlab.cli"
--   local spec = {
--     name = "jetlab cluster",                  -- prefixes usage errors
--     usage = "jetlab cluster --events FILE [options]",
--     about = "Clusters the particles of an event file into jets.",
--     options = {
--       {"events", "string", help = "event file", required = true},
--       {"algo", "string", "antikt", help = "jet algorithm", choices = {"antikt", "kt"}},
--       {"r", "number", 1.0, help = "jet radius"},
--       {"n", "integer", 10, help = "how many"},
--       {"verbose", "boolean", false, help = "say more"},
--     },
--   }
--   local opts = cli.parse_or_exit(arg, spec)    -- opts.events, opts.r, ...; opts[1..] positionals
--
-- Each option is {name, type, default, help=, required=, choices=, short=}; type is
-- "string", "number", "integer" or "boolean". On the command line: `--name
-- value` or `--name=value`; a boolean is `--name` (true) or `--no-name`
-- (false); `--` ends the options; anything else not starting with `--` is a
-- positional argument. `-h` and `--help` ask for the help text. short = "o"
-- lets `-o value` stand for `--name value`.

local M = {}

local function find(spec, name)
  for _, o in ipairs(spec.options or {}) do
    if o[1] == name then return o end
  end
end

-- The option whose short form is the letter, or the option named so.
local function find_short(spec, letter)
  for _, o in ipairs(spec.options or {}) do
    if o.short == letter then return o end
  end
  return find(spec, letter)
end

local function convert(o, text)
  local kind = o[2]
  local v
  if kind == "string" then
    v = text
  elseif kind == "number" then
    v = tonumber(text)
    if not v then return nil, string.format("--%s expects a number, got '%s'", o[1], text) end
  elseif kind == "integer" then
    v = math.tointeger(tonumber(text))
    if not v then return nil, string.format("--%s expects an integer, got '%s'", o[1], text) end
  else
    error(string.format("cli: option '%s' has unknown type '%s'", o[1], tostring(kind)), 3)
  end
  if o.choices then
    for _, c in ipairs(o.choices) do
      if c == v then return v end
    end
    return nil, string.format("--%s must be one of %s, got '%s'", o[1], table.concat(o.choices, ", "), text)
  end
  return v
end

--- cli.help(spec) → the help text: usage, about, then one line per option.
function M.help(spec)
  local lines = {"usage: " .. (spec.usage or "jetlab [options]")}
  if spec.about then lines[#lines + 1] = "\n" .. spec.about end
  lines[#lines + 1] = "\noptions:"
  local opts = {}
  for _, o in ipairs(spec.options or {}) do opts[#opts + 1] = o end
  opts[#opts + 1] = {"help", "boolean", help = "print this help and exit"}
  for _, o in ipairs(opts) do
    local flag = (o.short and "-" .. o.short .. ", " or "") .. "--" .. o[1]
    if o[2] ~= "boolean" then flag = flag .. " " .. (o[2] == "string" and "TEXT" or o[2]:upper()) end
    local text = o.help or ""
    if o.choices then text = text .. " (" .. table.concat(o.choices, "|") .. ")" end
    if o.required then
      text = text .. " [required]"
    elseif o[3] ~= nil and o[2] ~= "boolean" then
      text = text .. " [default: " .. tostring(o[3]) .. "]"
    end
    lines[#lines + 1] = string.format("  %-22s %s", flag, text)
  end
  if spec.notes then lines[#lines + 1] = "\n" .. spec.notes end
  return table.concat(lines, "\n")
end

--- cli.parse(args, spec) → opts, or nil and a message for bad usage.
--- args is a list of strings (e.g. the global `arg`); opts holds every option
--- (its default when not given), the positionals in opts[1..n], and
--- opts.help = true when -h/--help was given (nothing is checked then).
function M.parse(args, spec)
  local opts, given = {}, {}
  local i, rest = 1, false
  while i <= #args do
    local a = args[i]
    local short = not rest and a:match("^%-%a$") and a ~= "-h" and find_short(spec, a:sub(2))
    if short then a = "--" .. short[1] end -- -o for --o, or for the option with short = "o"
    if rest or a:sub(1, 2) ~= "--" and a ~= "-h" then
      opts[#opts + 1] = a
    elseif a == "--" then
      rest = true
    elseif a == "-h" or a == "--help" then
      return {help = true}
    else
      local name, value = a:match("^%-%-([^=]+)=(.*)$")
      name = name or a:sub(3)
      local o, negated = find(spec, name), false
      if not o and name:sub(1, 3) == "no-" then
        o = find(spec, name:sub(4))
        negated = o ~= nil and o[2] == "boolean"
        if not negated then o = nil end
      end
      if not o then return nil, "unknown option --" .. name end
      if o[2] == "boolean" then
        if value then return nil, string.format("--%s takes no value", name) end
        opts[o[1]] = not negated
      else
        if not value then
          i = i + 1
          value = args[i]
          if value == nil then return nil, string.format("--%s needs a value", name) end
        end
        local v, err = convert(o, value)
        if v == nil then return nil, err end
        opts[o[1]] = v
      end
      given[o[1]] = true
    end
    i = i + 1
  end
  for _, o in ipairs(spec.options or {}) do
    if not given[o[1]] then
      if o.required then return nil, "missing --" .. o[1] end
      opts[o[1]] = o[3]
    end
  end
  return opts
end

--- cli.fail(spec, message) prints "<spec.name>: message" to stderr and exits 2
--- (bad input: a missing file, a wrong argument), as parse_or_exit does on bad usage.
function M.fail(spec, message)
  io.stderr:write(string.format("%s: %s\n", spec.name or "jetlab", message))
  os.exit(2)
end

--- cli.parse_or_exit(args, spec) → opts; prints the help and exits 0 on
--- --help, prints "<spec.name>: message (see --help)" to stderr and exits 2
--- on bad usage.
function M.parse_or_exit(args, spec)
  local opts, err = M.parse(args, spec)
  if opts and opts.help then
    print(M.help(spec))
    os.exit(0)
  end
  if not opts then
    io.stderr:write(string.format("%s: %s (see --help)\n", spec.name or "jetlab", err))
    os.exit(2)
  end
  return opts
end

return M
