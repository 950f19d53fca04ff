-- jetlab.test — the test runner for tests/lua/test_*.lua.
--
--   local T = require "jetlab.test"
--   T.case("adds", function()
--     T.eq(1 + 1, 2)
--     T.near(jl.tensor({1, 2}) * 0.1, {0.1, 0.2}, 1e-6)
--     T.raises(function() error("bad shape") end, "shape")
--   end)
--   T.run()   -- never returns: exits 0 when every case passed, 1 otherwise
--
-- Assertions take (got, want, ...). Tensors (userdata whose metatable is
-- "jetlab.Tensor") are compared through :tolist(). T.run prints "FAIL name:
-- message" for each failing case (with a traceback when the error did not come
-- from an assertion), then "N passed, N failed" alone on the last line. When
-- the global `jl` has stats(), more live tensors after the cases than before
-- them counts as one more failure ("leak check"). JETLAB_TEST_FILTER, a Lua
-- pattern, keeps only the cases whose name matches it.

local T = {}

local cases = {}
local assertion_failure -- the message of the last failed assertion

local function fail(msg, user_msg)
  if user_msg then msg = tostring(user_msg) .. ": " .. msg end
  local info = debug.getinfo(3, "Sl")
  if info and info.currentline > 0 then
    msg = string.format("%s:%d: %s", info.short_src, info.currentline, msg)
  end
  assertion_failure = msg
  error(msg, 0)
end

local function is_tensor(x)
  if type(x) ~= "userdata" then return false end
  local mt = getmetatable(x)
  return type(mt) == "table" and mt.__name == "jetlab.Tensor"
end

local function plain(x)
  if is_tensor(x) then return x:tolist() end
  return x
end

local function show(x)
  if type(x) == "string" then return string.format("%q", x) end
  if type(x) ~= "table" then return tostring(x) end
  local parts, n = {}, #x
  for i = 1, math.min(n, 8) do parts[#parts + 1] = show(x[i]) end
  if n > 8 then parts[#parts + 1] = "... (" .. n .. " items)" end
  for k, v in pairs(x) do
    if not (math.type(k) == "integer" and k >= 1 and k <= n) then
      parts[#parts + 1] = "[" .. show(k) .. "]=" .. show(v)
    end
  end
  return "{" .. table.concat(parts, ", ") .. "}"
end

local function key_path(path, k)
  return path .. "[" .. show(k) .. "]"
end

-- Walks two values in parallel; leaf(a, b) returns nil when the leaves agree,
-- else a description. Returns nil or "at <path>: <description>".
local function compare(a, b, leaf, path)
  if type(a) == "table" and type(b) == "table" then
    for k, v in pairs(a) do
      if b[k] == nil then return string.format("at %s: unexpected %s", key_path(path, k), show(v)) end
      local d = compare(v, b[k], leaf, key_path(path, k))
      if d then return d end
    end
    for k, v in pairs(b) do
      if a[k] == nil then return string.format("at %s: missing %s", key_path(path, k), show(v)) end
    end
    return nil
  end
  local d = leaf(a, b)
  if d then return string.format("at %s: %s", path == "" and "top" or path, d) end
  return nil
end

local function exact(a, b)
  if a == b then return nil end
  return string.format("got %s, want %s", show(a), show(b))
end

local function within(tol)
  return function(a, b)
    if type(a) ~= "number" or type(b) ~= "number" then
      return string.format("got %s, want %s (numbers expected)", show(a), show(b))
    end
    if a == b then return nil end
    local bound = tol * (1 + math.max(math.abs(a), math.abs(b)))
    if math.abs(a - b) <= bound then return nil end
    return string.format("got %s, want %s (|diff| %.3g > %.3g)", show(a), show(b), math.abs(a - b), bound)
  end
end

function T.case(name, fn)
  assert(type(name) == "string", "T.case: name must be a string")
  assert(type(fn) == "function", "T.case: fn must be a function")
  cases[#cases + 1] = {name = name, fn = fn}
end

function T.ok(cond, msg)
  if not cond then fail("condition is " .. tostring(cond), msg) end
  return cond
end

-- Deep equality: tables key by key, numbers exactly (1 == 1.0).
function T.eq(got, want, msg)
  local d = compare(plain(got), plain(want), exact, "")
  if d then fail("not equal " .. d, msg) end
end

-- |got - want| <= tol * (1 + max(|got|, |want|)) for numbers, elementwise for
-- (nested) tables and tensors. tol defaults to 1e-6.
function T.near(got, want, tol, msg)
  local d = compare(plain(got), plain(want), within(tol or 1e-6), "")
  if d then fail("not near " .. d, msg) end
end

-- fn must raise an error whose message matches the Lua pattern (any error
-- when pattern is nil); returns the message.
function T.raises(fn, pattern, msg)
  local okay, err = pcall(fn)
  if okay then fail("no error raised" .. (pattern and " (wanted one matching " .. show(pattern) .. ")" or ""), msg) end
  err = tostring(err)
  if pattern and not string.find(err, pattern) then
    fail(string.format("error %s does not match %s", show(err), show(pattern)), msg)
  end
  return err
end

local function live_tensors()
  collectgarbage()
  collectgarbage()
  local lib = rawget(_G, "jl")
  if type(lib) ~= "table" or type(lib.stats) ~= "function" then return nil end
  return lib.stats().tensors
end

local function handler(err)
  local msg = tostring(err)
  if msg == assertion_failure then return msg end
  return debug.traceback(msg, 2)
end

function T.run()
  local filter = os.getenv("JETLAB_TEST_FILTER")
  local passed, failed = 0, 0
  local before = live_tensors()
  for _, c in ipairs(cases) do
    if not filter or string.find(c.name, filter) then
      assertion_failure = nil
      local okay, err = xpcall(c.fn, handler)
      if okay then
        passed = passed + 1
      else
        failed = failed + 1
        print("FAIL " .. c.name .. ": " .. err)
      end
    end
  end
  local after = live_tensors()
  if before and after and after > before then
    failed = failed + 1
    print(string.format("FAIL leak check: %d tensors alive after the cases, %d before", after, before))
  end
  print(string.format("%d passed, %d failed", passed, failed))
  os.exit(failed == 0 and 0 or 1, true)
end

return T
