--lua
-- an error message quoting an option value that itself reads "(null)" was taken for a
-- NULL printed with %s (a false finding of the harness's "(null)" check)
S(function() return jl.physics.cluster(jl.from({{1, 0, 0, 2}, {0, 1, 0, 2}}), {algo = 'kt(null)', r = 0.4}) end)
