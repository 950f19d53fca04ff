-- test_fuzz_regressions.lua — every bug the fuzz harnesses (tests/fuzz) found
-- in the Lua API, reproduced as a plain test of the normal suite. The
-- crashing inputs themselves are replayed in the fuzz build
-- (tests/fuzz/regressions/, ctest -R fuzz.regress).
local T = require "jetlab.test"

local function live() collectgarbage(); collectgarbage(); return jl.stats().tensors end

-- kernels/cpu: double -> integer conversions of out-of-range values and NaN
-- were C casts (undefined behaviour: INT64_MIN on x86, a UBSan report); they
-- saturate now, NaN gives 0.
T.case("integer conversions saturate", function()
  T.eq(jl.full({2}, 1e300, {dtype = "i64"}):tolist(), {math.maxinteger, math.maxinteger})
  T.eq(jl.full({1}, -1e300, {dtype = "i64"}):tolist(), {math.mininteger})
  T.eq(jl.full({1}, 2 ^ 63, {dtype = "i64"}):tolist(), {math.maxinteger})
  T.eq(jl.full({2}, 1e300, {dtype = "i32"}):tolist(), {2147483647, 2147483647})
  T.eq(jl.full({1}, -1e300, {dtype = "i32"}):tolist(), {-2147483648})
  T.eq(jl.full({1}, 0 / 0, {dtype = "i64"}):tolist(), {0})
  T.eq(jl.from({1e30, -1e30, 0 / 0}):to("i64"):tolist(), {math.maxinteger, math.mininteger, 0})
  T.eq(jl.from({1e30}):to("i32"):tolist(), {2147483647})
  -- through an operand: i64 tensor / math.maxinteger
  local q = jl.from({1, 2, 3}, {dtype = "i64"}) / math.maxinteger
  T.eq(q.dtype, "i64")
end)

-- bindings/lua_autograd.c: t.grad = t (or a and b holding each other) made a
-- reference cycle in C that was never freed.
T.case("a tensor may hold itself as its grad without leaking", function()
  local before = live()
  do
    local t = jl.zeros(2, 3)
    t.grad = t
    T.eq(t.grad:tolist(), {{0, 0, 0}, {0, 0, 0}})
    local a, b = jl.zeros(2, {requires_grad = true}), jl.ones(2, {requires_grad = true})
    a.grad = b
    b.grad = a
    T.eq(a.grad:tolist(), {1, 1})
    -- the grad shares the storage of the tensor assigned
    b:detach():fill_(5)
    T.eq(a.grad:tolist(), {5, 5})
  end
  T.eq(live(), before, "tensors alive after the cycle went out of scope")
end)

-- core/autograd.c: a second backward from a new root reached a node freed by
-- the first backward and ran its rule on released inputs (a segfault for
-- x + x; for x * 2 a silent "success" that left x.grad unchanged).
T.case("backward through a graph freed by an earlier backward is an error", function()
  local x = jl.ones(4, {requires_grad = true})
  local y = x + x
  y:sum():backward()
  T.raises(function() y:sum():backward() end, "backward: the graph through add was already freed by an earlier backward")
  local z = x * 2
  z:sum():backward()
  T.raises(function() z:sum():backward() end, "already freed by an earlier backward")
  T.eq(x.grad:tolist(), {4, 4, 4, 4})
end)

-- kernels/cpu/reduce.c: an overflowing i64 sum was signed overflow (undefined
-- behaviour); it wraps, as torch's and numpy's.
T.case("integer sums wrap on overflow", function()
  T.eq(jl.from({math.mininteger, -(1 << 62)}, {dtype = "i64"}):sum():item(), 1 << 62)
  T.eq(jl.full({2, 2}, 1 << 62, {dtype = "i64"}):sum(1):tolist(), {math.mininteger, math.mininteger})
end)

-- core/h5_pytables.c, h5_common.c, h5_tensors.c: a corrupt file whose number
-- type claims megabytes per value made HDF5 allocate (and touch) gigabytes to
-- read 4 jets. Such types are refused (chunked datasets), and so is an
-- unchunked dataset whose type and shape need more bytes than it stores
-- (which this file's contiguous table now meets first); the message names
-- the dataset.
T.case("HDF5 types and shapes larger than what the file stores are refused", function()
  local path = "tests/fuzz/regressions/h5/pytables_huge_float_type.h5"
  local r, err = jl.io.open_jets(path)
  T.eq(r, nil)
  T.ok(err:find("dataset /table/table stores 12960 bytes but its shape and type need 15385755744") or
       err:find("/table/table field values_block_0 holds 4784128%-byte numbers, expected at most 8 bytes"), err)
  path = "tests/fuzz/regressions/h5/pytables_row_past_storage.h5"
  r, err = jl.io.open_jets(path)
  T.eq(r, nil)
  T.ok(err:find("dataset /table/table stores 12960 bytes but its shape and type need 16710120096"), err)
end)

-- core/h5_tensors.c: a checkpoint whose contiguous dataset claims 4e9
-- elements over 16 stored bytes made the reader allocate 16.7 GB before
-- HDF5 could fail; such a dataset is refused by its stored size.
T.case("a checkpoint dataset whose shape exceeds its storage is refused", function()
  local path = "tests/fuzz/regressions/ckpt/contiguous_shape_past_storage.h5"
  local state, err = require("jetlab.ckpt").load(path)
  T.eq(state, nil)
  T.ok(err:find("dataset /bn/bias in " .. path:gsub("%p", "%%%0") .. " stores 16 bytes but its shape needs 16709845008"), err)
end)

-- tests/fuzz/fuzz_lua.c: an error message quoting an option value that reads
-- "(null)" was taken for a NULL printed with %s; the message must quote the value.
T.case("an option's error message quotes the value given", function()
  local jets = jl.from({{1, 0, 0, 2}, {0, 1, 0, 2}})
  T.raises(function() jl.physics.cluster(jets, {algo = "kt(null)", r = 0.4}) end,
    "option 'algo' must be antikt, cambridge, kt or genkt, got kt%(null%)")
end)

T.run()
