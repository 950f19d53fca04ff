--lua
-- double -> i64/i32 conversions of values out of range or NaN were C casts
-- with undefined behaviour (kernels/cpu memory.c, elementwise.c, random.c)
local x = jl.from({1, 2, 3}, {dtype = "i64"}) / math.maxinteger
local y = jl.full({2}, 1e300, {dtype = "i32"})
local z = jl.full({2}, 0 / 0, {dtype = "i64"})
local w = jl.from({1e30, -1e30}):to("i64")
