--lua
-- an i64 sum that overflows was signed overflow (undefined behaviour) in
-- kernels/cpu/reduce.c; it wraps now
local s = jl.from({math.mininteger, -(1 << 62)}, {dtype = "i64"}):sum()
local t = jl.full({4, 3}, math.maxinteger, {dtype = "i64"}):sum(1)
