-- test_bad_inputs.lua — runs the table of bad inputs of tests/bad_inputs/cases.lua:
-- every row's call must raise an error matching its `raises` pattern, or
-- return nil, message matching its `returns` pattern; no message may be empty
-- or show "(null)". One case per row, named by its description.
local T = require "jetlab.test"
local fs = require "jetlab.fs"

local dir = fs.tmpdir()

local ctx = {dir = dir, missing = dir .. "/no-such-file"}
function ctx.P(s) return (s:gsub("[%^%$%(%)%%%.%[%]%*%+%-%?]", "%%%0")) end
function ctx.fixture(name) return "tests/fixtures/" .. name end
function ctx.path(name) return dir .. "/" .. name end
function ctx.file(name, text)
  local f = assert(io.open(ctx.path(name), "wb"))
  f:write(text)
  f:close()
  return ctx.path(name)
end
function ctx.read(path) return assert(fs.read(path)) end

local rows = dofile("tests/bad_inputs/cases.lua")(ctx)

local function check_message(msg, pattern, desc)
  T.ok(type(msg) == "string", desc .. ": the message is a " .. type(msg) .. ", not a string")
  T.ok(msg ~= "", desc .. ": empty message")
  T.ok(not msg:find("(null)", 1, true), desc .. ": message shows (null): " .. msg)
  if not msg:find(pattern) then
    error(string.format("%s:\n  message  %s\n  expected %s", desc, msg, pattern), 0)
  end
end

for _, row in ipairs(rows) do
  local desc, call = row[1], row[2]
  assert((row.raises == nil) ~= (row.returns == nil), desc .. ": a row needs one of raises/returns")
  T.case(desc, function()
    local ok, a, b = pcall(call)
    if row.raises then
      if ok then error(string.format("%s: no error raised (returned %s, %s)", desc, tostring(a), tostring(b)), 0) end
      check_message(tostring(a), row.raises, desc)
    else
      if not ok then error(string.format("%s: raised %s instead of returning nil, message", desc, tostring(a)), 0) end
      if a then error(string.format("%s: succeeded (returned %s)", desc, tostring(a)), 0) end
      check_message(b, row.returns, desc)
    end
  end)
end

T.case("(temporary files removed)", function()
  collectgarbage()
  fs.remove_tree(dir)
  T.ok(not fs.exists(dir))
end)

T.run()
