--lua
local p = jl.randn(4, {requires_grad = true})
local g = jl.randn(4)
local m, v = jl.zeros(4), jl.zeros(4)
S(function() return jl.sgd_update_(p, g, {lr = 0.1, momentum = 0.9}) end)
S(function() return jl.adam_update_(p, g, m, v, {lr = 0.1, step = 1}) end)
S(function() return jl.sum_squares({p, g}) end)
S(function() return jl.linear(jl.randn(2, 4), jl.randn(3, 4), jl.zeros(3)) end)
S(function() return jl.batch_norm(jl.randn(5, 4), jl.zeros(4), jl.ones(4), jl.ones(4), jl.zeros(4), {training = true}) end)
