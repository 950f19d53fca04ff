-- small_op.lua — the cost of one small op called from Lua (µs), one JSON line.
-- Run: jetlab bench/small_op.lua [iterations]
local n = tonumber(arg[1]) or 200000
local a, b = jl.ones(4), jl.ones(4)
local function time_loop(fn)
  local samples = {}
  for r = 1, 7 do
    local t0 = os.clock()
    fn()
    samples[r] = os.clock() - t0
  end
  table.sort(samples)
  return samples[4]
end
local empty = time_loop(function() for _ = 1, n do end end)
local add = time_loop(function() for _ = 1, n do local _ = a + b end end)
local relu = time_loop(function() for _ = 1, n do local _ = a:relu() end end)
collectgarbage()
print(string.format('{"bench":"small_op","elements":4,"iterations":%d,"add_us":%.3f,"relu_us":%.3f}',
  n, (add - empty) / n * 1e6, (relu - empty) / n * 1e6))
