--lua
-- a tensor holding itself (or another tensor holding it) as its grad: a
-- reference cycle in C, leaked (bindings/lua_autograd.c set_grad)
local t = jl.zeros(2, 3)
t.grad = t
local a, b = jl.zeros(2, {requires_grad = true}), jl.zeros(2, {requires_grad = true})
a.grad = b
b.grad = a
