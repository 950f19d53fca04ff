/* state.c — what every jetlab Lua state holds before any user code runs:
 * the standard libraries, package.preload["jetlab.core"] (the C module from
 * bindings/), the stdlib search path, and the global `jl = require "jetlab"`.
 */
#include <lauxlib.h>
#include <lualib.h>

#include "jl_lua.h"
#include "host.h"

int jl_host_open(lua_State *L)
{
    luaL_checkversion(L);
    luaL_openlibs(L);

    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    lua_pushcfunction(L, luaopen_jetlab_core);
    lua_setfield(L, -2, "jetlab.core");
    lua_pop(L, 1);

    jl_host_setup_paths(L);

    lua_getglobal(L, "require");
    lua_pushliteral(L, "jetlab");
    int status = jl_host_docall(L, 1, 1);
    if (status != LUA_OK)
        return jl_host_report(L, status);
    lua_setglobal(L, "jl");
    return LUA_OK;
}
