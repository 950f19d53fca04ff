--lua
local x = jl.randn(3, 4, {requires_grad = true})
local w = jl.randn(4, 2, {requires_grad = true})
local y = (x:matmul(w) + 1):relu():log_softmax(2)
S(function() y:sum():backward() end)
S(function() return x.grad:sum(2, true) end)
S(function() x.grad = nil; return (x * 2):mean():backward() end)
S(function() return jl.cross_entropy(y, jl.from({1, 2, 1}, {dtype = 'i64'})) end)
