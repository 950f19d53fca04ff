-- jetlab.repl — the Lua side of the interactive `jetlab` (the C loop is
-- bindings/host/repl.c; bindings/host/repl_session.c calls these hooks):
--
--   ?              the modules            ?jl.randn, ?train.fit   help of a name
--   :time          toggles the wall time and tensor memory delta after each command
--   :trace         the traceback of the last error (errors show one line on a terminal)
--   help(obj)      the help of a value: function, module, model, tensor
--
-- Completion: jetlab.repl.complete; help texts: jetlab.repl.help.

local complete = require "jetlab.repl.complete"
local help = require "jetlab.repl.help"
local jl = require "jetlab"

local repl = {}

local timing = false
local last_error
local started_at, started_bytes

local function tensor_bytes()
  local s = jl.stats()
  return s.bytes + s.cuda_bytes
end

local function show_bytes(n)
  local sign = n < 0 and "-" or "+"
  n = math.abs(n)
  for _, unit in ipairs({"B", "KiB", "MiB", "GiB"}) do
    if n < 1024 or unit == "GiB" then
      return string.format(unit == "B" and "%s%d %s" or "%s%.1f %s", sign, n, unit)
    end
    n = n / 1024
  end
end

--- repl.install() sets the global help(obj).
function repl.install()
  _G.help = function(obj) print(help.text(obj)) end
end

local COMMANDS = {
  time = function()
    timing = not timing
    print("timing " .. (timing and "on" or "off"))
  end,
  trace = function()
    print(last_error or "no error yet")
  end,
}

--- repl.command(line) → true when line was a REPL command (`?...`, `:name`), run.
function repl.command(line)
  local query = line:match("^%s*%?%s*(.-)%s*$")
  if query == "" then
    print(help.modules())
  elseif query and query:match("^[%a_][%w_.:]*$") then
    print(help.lookup(query))
  elseif query then
    local f, err = load("return " .. query, "=?", "t")
    if not f then error(err, 0) end
    print(help.text(f()))
  else
    local name = line:match("^%s*:(%a+)%s*$")
    if not name then return false end
    if not COMMANDS[name] then error(string.format(":%s: unknown command (:time, :trace, ?name)", name), 0) end
    COMMANDS[name]()
  end
  return true
end

--- repl.started() marks the start of a command, for :time.
function repl.started()
  if timing then started_at, started_bytes = jl.clock(), tensor_bytes() end
end

--- repl.finished() prints "time 0.0123 s  tensor memory +1.0 KiB" when :time is on.
function repl.finished()
  if timing and started_at then
    print(string.format("time %.4f s  tensor memory %s", jl.clock() - started_at,
      show_bytes(tensor_bytes() - started_bytes)))
  end
  started_at = nil
end

--- repl.error(message, one_line) → what to show of an error: its first line
--- without the "stdin:N:" position and the C source position when one_line,
--- else the whole message; the whole one is kept for :trace.
function repl.error(message, one_line)
  last_error = message
  if not one_line then return message end
  local first = message:match("^[^\n]*")
  first = first:gsub("^stdin:%d+: ", ""):gsub(" %([%w_]+%.c:%d+%)$", "")
  return first
end

--- repl.complete(line, word) → the completions of word, the end of line.
repl.complete = complete.candidates

return repl
