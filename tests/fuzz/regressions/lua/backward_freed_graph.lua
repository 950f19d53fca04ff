--lua
-- a second backward from a new root through a node freed by the first one ran
-- its backward rule on released inputs: NULL dereference (core/autograd.c)
local x = jl.ones(4, {requires_grad = true})
local y = x + x
y:sum():backward()
S(function() y:sum():backward() end)
