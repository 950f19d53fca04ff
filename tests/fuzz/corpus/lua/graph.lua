--lua
local x = jl.randn(6, 2)
local off = jl.from({0, 2, 6}, {dtype = 'i64'})
S(function() return jl.knn(x, off, 2) end)
S(function() local ids = jl.segment_ids(off); return jl.segment_mean(x, off), ids end)
S(function() return jl.segment_max(x, off), jl.segment_sum(x, off) end)
S(function() return jl.metrics.auc(jl.rand(8), jl.from({0, 1, 0, 1, 1, 0, 0, 1})) end)
S(function() return jl.physics.cluster(jl.from({{1, 0, 0, 2}, {0, 1, 0, 2}}), {algo = 'kt', r = 0.4}) end)
S(function() return jl.data.split(8, {0.5, 0.5}, 1) end)
