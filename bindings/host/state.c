/* state.c — what every jetlab Lua state holds before any user code runs:
 * the standard libraries, package.preload["jetlab.core"] (the C module from
 * bindings/) and ["jetlab.c_docs"] (the doc table of its functions), the
 * stdlib search path, and the global `jl = require "jetlab"`;
 * with JETLAB_CHECK_LEAKS=1 / JETLAB_LEAK_REPORT, an os.exit that closes the
 * state and checks leaks.
 */
#include <stdlib.h>

#include <lauxlib.h>
#include <lualib.h>

#include "c_docs.h"
#include "jl_lua.h"
#include "host.h"

/* os.exit([code [, close]]) with the leak check on (main.c): as Lua's, but the
 * state is always closed (finalizers release every tensor) and the leak check
 * runs before exit. */
static int l_exit_checked(lua_State *L)
{
    int status;
    if (lua_isboolean(L, 1))
        status = lua_toboolean(L, 1) ? EXIT_SUCCESS : EXIT_FAILURE;
    else
        status = (int)luaL_optinteger(L, 1, EXIT_SUCCESS);
    fflush(NULL);
    lua_close(L);
    exit(jl_host_check_leaks(status));
    return 0;
}

int jl_host_open(lua_State *L)
{
    luaL_checkversion(L);
    luaL_openlibs(L);
    if (jl_host_leak_check_enabled()) {
        lua_getglobal(L, "os");
        lua_pushcfunction(L, l_exit_checked);
        lua_setfield(L, -2, "exit");
        lua_pop(L, 1);
    }

    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    lua_pushcfunction(L, luaopen_jetlab_core);
    lua_setfield(L, -2, "jetlab.core");
    lua_pushcfunction(L, luaopen_jetlab_c_docs);
    lua_setfield(L, -2, "jetlab.c_docs");
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
