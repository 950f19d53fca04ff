-- luacheck configuration (tests/CMakeLists.txt runs it as the test lint.luacheck over
-- stdlib/, experiments/, tests/lua/, tests/sh/*.lua and bench/*.lua).
-- Lua 5.4 as the jetlab host builds it (with math.cosh and math.sinh, LUA_COMPAT_MATHLIB)
-- and the host's global `jl` (the jetlab module).
stds.jetlab = {
  read_globals = {
    "jl",
    math = {fields = {"cosh", "sinh"}},
  },
}
std = "lua54+jetlab"
-- methods keep the implicit self of their interface even when they do not use it
self = false
-- `not (x > 0)` is how the code rejects NaN with the rest: keep it
ignore = {"581"}
-- lines are meant to stay near 120 columns (.editorconfig); this is the hard limit
max_line_length = 160
