/* lua_system.c — the two process helpers the training loop needs and plain
 * Lua lacks: a monotonic wall clock (os.clock is CPU time, summed over the
 * worker threads) and isatty (progress bar on a terminal, plain lines otherwise).
 *
 *   local t0 = jl.clock()
 *   ...
 *   print(jl.clock() - t0, "seconds", jl.isatty(1) and "on a terminal" or "piped")
 */
#include <time.h>
#include <unistd.h>

#include "lua_args.h"
#include "lua_module.h"

/* jl.clock() → seconds (float) from a monotonic clock; only differences mean anything. */
static int l_clock(lua_State *L)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    lua_pushnumber(L, (lua_Number)ts.tv_sec + 1e-9 * (lua_Number)ts.tv_nsec);
    return 1;
}

/* jl.isatty([fd = 1]) → true when the file descriptor is a terminal. */
static int l_isatty(lua_State *L)
{
    int fd = (int)luaL_optinteger(L, 1, 1);
    lua_pushboolean(L, isatty(fd));
    return 1;
}

static const luaL_Reg system_functions[] = {
    {"clock", l_clock},
    {"isatty", l_isatty},
    {NULL, NULL},
};

void jl_lua_open_system(lua_State *L, int module, int methods)
{
    jl_lua_setfuncs(L, module, system_functions);
}
