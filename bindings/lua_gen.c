/* lua_gen.c — jl.gen: the built-in jet generator (core/jl_gen.h). */
#include "lua_module.h"

void jl_lua_open_gen(lua_State *L, int module, int methods)
{
    (void)methods;
    lua_newtable(L);
    lua_setfield(L, module, "gen");
}
