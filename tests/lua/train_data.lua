-- train_data.lua — the synthetic training data that test_train.lua,
-- test_resume.lua and tests/sh/train_tiny.lua share (a helper, not a suite:
-- ctest runs only test_*.lua). Load it with
--   package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
--   local D = require "train_data"

local D = {}

--- D.make_data(n, seed) → x (n, 4), y (n) i64 labelled by a fixed hyperplane
--- (2 = signal above it), w (n) weights in [0.5, 1.5); seeds jl first.
function D.make_data(n, seed)
  jl.manual_seed(seed)
  local x = jl.randn(n, 4)
  local direction = jl.tensor({{1.5}, {-2}, {0.5}, {1}})
  local y = (x:matmul(direction):select(2, 1) + 0.3):gt(0):to("i64") + 1
  local w = jl.rand(n) + 0.5
  return x, y, w
end

--- D.shuffled_source(x, y, w, batch) → a train.fit data source over the rows
--- of x, y, w in batches, shuffled with jl.randperm at the start of every pass
--- (train.lua's contract: fit's seed repeats the order).
function D.shuffled_source(x, y, w, batch)
  local n = x.shape[1]
  return {
    num_batches = (n + batch - 1) // batch,
    batches = function()
      local perm = jl.randperm(n)
      local start = 1
      return function()
        if start > n then return nil end
        local len = math.min(batch, n - start + 1)
        local idx = perm:narrow(1, start, len)
        start = start + len
        return {x = x:index_select(1, idx), y = y:index_select(1, idx), w = w:index_select(1, idx), n = len}
      end
    end,
  }
end

return D
