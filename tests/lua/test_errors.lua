-- test_errors.lua — every bad call raises a Lua error whose message says what
-- was wrong (Lua-style "bad argument" for argument types, 1-based positions
-- and dims, core's message for shape problems), and no argument crashes.
local T = require "jetlab.test"

local t = jl.zeros(4, 4)         -- (4, 4)
local r = jl.zeros(3, 4)         -- (3, 4)
local leaf = jl.zeros(3, {requires_grad = true})
local function i64(list) return jl.from(list, {dtype = "i64"}) end

-- {call, Lua pattern the message must match}
local bad_calls = {
  -- shapes and options
  {function() return jl.zeros("a") end, "bad argument #1 to 'zeros' %(number expected, got string%)"},
  {function() return jl.zeros(3, "x") end, "bad argument #2 to 'zeros' %(table expected, got string%)"},
  {function() return jl.zeros(-1) end, "size must be non%-negative, got %-1"},
  {function() return jl.zeros(1.5) end, "no integer representation"},
  {function() return jl.zeros(0 / 0) end, "no integer representation"},
  {function() return jl.zeros(1, 1, 1, 1, 1, 1, 1) end, "at most 6 dims"},
  {function() return jl.zeros({1, 1, 1, 1, 1, 1, 1}) end, "at most 6 are supported"},
  {function() return jl.zeros(1e10, 1e10) end, "shape %(10000000000, 10000000000%) is too large"},
  {function() return jl.ones(2 ^ 62, 4) end, "too large"},
  {function() return jl.zeros({3, dtype = "f32"}) end, "shape table must be a list of sizes"},
  {function() return jl.zeros({"x"}) end, "size 1 must be an integer, got string"},
  {function() return jl.zeros(2 ^ 50) end, "out of cpu memory"},
  {function() return jl.zeros(3, {dtype = "f64"}) end, "unknown dtype 'f64'"},
  {function() return jl.zeros(3, {dtyp = "f32"}) end, "unknown option 'dtyp'"},
  {function() return jl.zeros(3, {device = "tpu"}) end, "unknown device 'tpu'"},
  {function() return jl.zeros(3, {requires_grad = "yes"}) end, "requires_grad must be a boolean"},
  {function() return jl.ones(3, {dtype = "i64", requires_grad = true}) end, "only f32 tensors can require grad, got i64"},
  {function() return jl.full(3, 1) end, "bad argument #1 to 'full' %(table expected, got number%)"},
  {function() return jl.full({2}, "x") end, "bad argument #2 to 'full' %(number expected, got string%)"},
  {function() return jl.arange() end, "bad argument #1 to 'arange' %(number expected, got no value%)"},
  {function() return jl.arange(0, 1, 0) end, "step must be nonzero"},
  {function() return jl.arange(0, 1 / 0) end, "must be finite"},
  {function() return jl.arange(2 ^ 62) end, "too many elements"},
  -- nested tables
  {function() return jl.from({{1, 2}, {3}}) end, "ragged nested table: expected 2 elements at %[2%] %(depth 2%), got 1"},
  {function() return jl.from({{1, 2}, 3}) end, "ragged nested table: expected a table of 2 elements at %[2%]"},
  {function() return jl.from({{{1}, {2}}, {{1}, {2, 3}}}) end, "expected 1 elements at %[2%]%[2%] %(depth 3%), got 2"},
  {function() return jl.from({1, "x"}) end, "expected a number at %[2%], got string"},
  {function() return jl.from({{1}, {{2}}}) end, "expected a number at %[2%]%[1%], got table"},
  {function() return jl.from("x") end, "bad argument #1 to 'from' %(table, number or tensor expected, got string%)"},
  {function() return jl.from({300}, {dtype = "u8"}) end, "value 300 at %[1%] does not fit in u8"},
  {function() return jl.from({1e30}, {dtype = "i32"}) end, "does not fit in i32"},
  {function() return jl.from({{{{{{{1}}}}}}}) end, "nested deeper than 6 dims"},
  -- random
  {function() return jl.randint(5, 5, 3) end, "hi must be greater than lo"},
  {function() return jl.bernoulli(2, 3) end, "probability must be in %[0, 1%]"},
  {function() return jl.randperm(-1) end, "n must be non%-negative"},
  -- dims are 1-based
  {function() return r:sum(3) end, "bad argument #1 to 'sum' %(dim 3 out of range %(expected 1%.%.2 or %-2%.%.%-1; dims are 1%-based%)%)"},
  {function() return r:sum(0) end, "dim 0 out of range"},
  {function() return r:sum(-3) end, "dim %-3 out of range"},
  {function() return r:sum("x") end, "bad argument #1 to 'sum' %(number expected, got string%)"},
  {function() return r:sum(1, "yes") end, "bad argument #2 to 'sum' %(boolean expected, got string%)"},
  {function() return jl.zeros(3):sum(1):sum(1) end, "dim 1 out of range: the tensor has no dims"},
  {function() return r:softmax() end, "bad argument #1 to 'softmax' %(number expected, got no value%)"},
  {function() return r:unsqueeze(4) end, "dim 4 out of range %(expected 1%.%.3"},
  {function() return r:transpose(1, 3) end, "dim 3 out of range"},
  {function() return r:permute(1) end, "expected 2 dims for a 2%-D tensor, got 1"},
  {function() return r:permute(1, 1) end, "dim 1 appears twice"},
  {function() return r:permute(1, 5) end, "entry 2 is not a dim of a 2%-D tensor"},
  {function() return r:var(1, {unbiased = 1}) end, "unbiased must be a boolean"},
  -- positions are 1-based
  {function() return r[5] end, "index 5 out of range for dim 1 of size 3"},
  {function() return r[0] end, "index 0 out of range for dim 1 of size 3 %(indices are 1%-based%)"},
  {function() return r[-4] end, "index %-4 out of range for dim 1 of size 3"},
  {function() return r[1][5] end, "index 5 out of range for dim 1 of size 4"},
  {function() return t[1.5] end, "tensor index must be an integer"},
  {function() return t[true] end, "tensor index must be an integer or a field name, got boolean"},
  {function() t[1] = "x" end, "cannot assign a string to a tensor element"},
  {function() t[9] = 1 end, "index 9 out of range for dim 1 of size 4"},
  {function() t.foo = 1 end, "cannot set field 'foo' of a tensor"},
  {function() return #jl.from(3) end, "length of a 0%-d tensor"},
  {function() return jl.from(3)[1] end, "cannot index a 0%-d tensor"},
  {function() return r:select(2, 9) end, "index 9 out of range for dim 2 of size 4"},
  {function() return r:narrow(2, 4, 2) end, "length 2 from start 4 exceeds dim 2 of size 4"},
  {function() return r:narrow(1, 0, 1) end, "start 0 out of range for dim 1 of size 3"},
  {function() return r:item() end, "item: the tensor has 12 elements"},
  -- index tensors hold 1-based positions; messages show the user's value
  {function() return t:index_select(1, i64({1, 5})) end, "index 5 out of range for dim 1 of size 4"},
  {function() return t:index_select(2, i64({0})) end, "index 0 out of range for dim 2 of size 4 %(indices are 1%-based%)"},
  {function() return t:index_select(1, jl.from({1})) end, "index tensor must be i64 or i32, got f32"},
  {function() return t:gather(1, i64({{9, 1, 1, 1}})) end, "index 9 out of range for dim 1 of size 4"},
  {function() return t:scatter_add(2, i64({{5}}), jl.ones(1, 1)) end, "index 5 out of range for dim 2 of size 4"},
  {function() return t:index_add(1, i64({-1}), jl.ones(1, 4)) end, "index %-1 out of range for dim 1 of size 4"},
  {function() return t:index_select(1, "x") end, "bad argument #2 to 'index_select' %(tensor expected, got string%)"},
  -- shapes checked by core
  {function() return jl.zeros(3) + jl.zeros(4) end, "add: shapes %(3%) and %(4%) cannot be broadcast"},
  {function() return r:matmul(jl.zeros(5, 6)) end, "matmul: shapes %(3, 4%) and %(5, 6%) do not align"},
  {function() return r:view(5) end, "view: shape %(5%) is invalid"},
  {function() return r:view(-1, -1) end, "only one size may be %-1"},
  {function() return r:expand(-2) end, "size must be non%-negative"},
  {function() return jl.where(jl.zeros(2), 1, 2) end, "where: the condition must be a u8"},
  {function() return jl.cat({jl.zeros(2, 3), jl.zeros(3, 2)}) end, "cat:"},
  {function() return jl.zeros(3) + jl.zeros(3, {dtype = "i64"}) end, "dtypes differ"},
  -- operand types
  {function() return t + "x" end, "tensor or number expected, got string"},
  {function() return "x" + t end, "tensor or number expected, got string"},
  {function() return t + {} end, "tensor or number expected, got table"},
  {function() return jl.sum(3) end, "bad argument #1 to 'sum' %(tensor expected, got number%)"},
  {function() return jl.matmul(t, 3) end, "bad argument #2 to 'matmul' %(tensor expected, got number%)"},
  {function() return t:to("f64") end, "unknown dtype or device 'f64'"},
  {function() return t:clamp(2, 1) end, "hi must be >= lo"},
  {function() return jl.cat({}) end, "empty list of tensors"},
  {function() return jl.cat({t, 3}) end, "element 2 is a number, expected a tensor"},
  {function() return jl.cat(t) end, "bad argument #1 to 'cat' %(table expected, got jetlab.Tensor%)"},
  {function() return t:copy_(1) end, "bad argument #1 to 'copy_' %(tensor expected, got number%)"},
  -- autograd
  {function() r:backward() end, "backward: the tensor does not require grad"},
  {function() (leaf * 2):backward() end, "a gradient is needed for a non%-scalar output"},
  {function() leaf.requires_grad = 1 end, "requires_grad must be a boolean, got number"},
  {function() jl.zeros(3, {dtype = "i64"}).requires_grad = true end, "only f32 tensors can require grad"},
  {function() (leaf * 2).requires_grad = false end, "can only be turned off on a leaf tensor"},
  {function() leaf.grad = jl.zeros(5) end, "grad must match the tensor: f32 %(3%)"},
  {function() leaf.grad = 3 end, "grad must be a tensor or nil, got number"},
  {function() leaf:fill_(1) end, "requires grad"},
  {function() leaf[1] = 1 end, "requires grad"},
  {function() return jl.no_grad(3) end, "bad argument #1 to 'no_grad' %(function expected, got number%)"},
  -- process-wide
  {function() jl.set_num_threads(0) end, "thread count must be in 1%.%.4096"},
  {function() jl.manual_seed("x") end, "bad argument #1 to 'manual_seed' %(number expected, got string%)"},
}

T.case("bad calls raise errors that say what was wrong", function()
  for k, c in ipairs(bad_calls) do
    T.raises(c[1], c[2], "bad call " .. k)
  end
end)

T.case("errors carry the caller's position", function()
  local err = T.raises(function() return jl.zeros(3) + jl.zeros(4) end)
  T.ok(err:find("^tests/lua/test_errors%.lua:%d+:") or err:find("test_errors%.lua:%d+:"), err)
end)

T.case("no_grad restores grad mode when the body fails", function()
  T.raises(function() jl.no_grad(function() return jl.zeros(2) + jl.zeros(3) end) end, "cannot be broadcast")
  T.eq(jl.is_grad_enabled(), true)
end)

-- Every function and method with odd arguments: errors are fine, crashes are
-- not, and nothing leaks.
local odd = {
  false, 0, -1, 3, 2 ^ 62, -2 ^ 63, 1e300, 0.5, 0 / 0, "x", "i64", {}, {2, 3}, {dtype = "i64"},
  jl.zeros(2, 3), jl.zeros(0), jl.from(1), jl.from({1, 2}, {dtype = "i64"}), jl.zeros(2, {dtype = "u8"}),
}
local skip = {
  set_num_threads = true, -- resizes the pool: tested above
  set_grad_enabled = true, no_grad = true, enable_grad = true, -- take functions
  empty = true, -- uninitialised memory: zeros covers the same parsing
}

local function try_all(fn, first)
  local n = #odd
  for i = 0, n do
    for j = 0, n do
      local a, b = odd[i], odd[j]
      if first ~= nil then
        pcall(fn, first, a, b)
      else
        pcall(fn, a, b)
      end
    end
  end
end

T.case("no function crashes on odd arguments", function()
  collectgarbage()
  local before = jl.stats().tensors
  local names = {}
  for name, fn in pairs(jl) do
    if type(fn) == "function" and not skip[name] then names[#names + 1] = name end
  end
  table.sort(names)
  for _, name in ipairs(names) do try_all(jl[name]) end
  local methods = {}
  for name, fn in pairs(jl.Tensor) do
    if type(fn) == "function" and not skip[name] then methods[#methods + 1] = name end
  end
  table.sort(methods)
  for _, name in ipairs(methods) do
    try_all(jl.Tensor[name], jl.zeros(2, 3))
    try_all(jl.Tensor[name], jl.from(2))
  end
  T.eq(jl.is_grad_enabled(), true)
  collectgarbage()
  collectgarbage()
  T.eq(jl.stats().tensors, before, "no tensor leaked")
end)

T.run()
