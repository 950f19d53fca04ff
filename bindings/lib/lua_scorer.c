/* lua_scorer.c — a Lua state holding one checkpoint's scorer: the standard
 * libraries, package.preload["jetlab.core"], the stdlib on package.path, and
 * require("jetlab.embedded").open(path) kept as the registry's SCORER_KEY.
 * Every Lua call runs protected (lua_pcall): a Lua error becomes a status and
 * a message, never a panic. os.exit is replaced by a function raising an
 * error, so that no stdlib code can end the caller's process.
 */
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "jl_lua.h"
#include "lib_internal.h"

static const char SCORER_KEY[] = "libjetlab.scorer";

static int exit_refused(lua_State *L)
{
    return luaL_error(L, "os.exit is not available inside libjetlab");
}

/* open_state(path) → scorer table (protected): builds the state and opens path. */
static int open_state(lua_State *L)
{
    const char *path = lua_tostring(L, 1);
    luaL_openlibs(L);
    lua_getglobal(L, "os");
    lua_pushcfunction(L, exit_refused);
    lua_setfield(L, -2, "exit");
    lua_pop(L, 1);

    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    lua_pushcfunction(L, luaopen_jetlab_core);
    lua_setfield(L, -2, "jetlab.core");
    lua_pop(L, 1);

    const char *dir = jlib_stdlib_dir();
    lua_getglobal(L, "package");
    lua_pushfstring(L, "%s/?.lua;%s/?/init.lua", dir, dir);
    lua_setfield(L, -2, "path");
    lua_pop(L, 1);

    lua_getglobal(L, "require");
    lua_pushliteral(L, "jetlab.embedded");
    if (lua_pcall(L, 1, 1, 0) != LUA_OK)
        return luaL_error(L, "jetlab's stdlib (%s) does not load: %s", dir, lua_tostring(L, -1));
    lua_getfield(L, -1, "open");
    lua_pushstring(L, path);
    lua_call(L, 1, 2);
    if (lua_isnil(L, -2))
        return luaL_error(L, "%s", luaL_optstring(L, -1, "the checkpoint does not open"));
    lua_pop(L, 1);
    return 1;
}

jetlab_status jlib_scorer_open(const char *path, jlib_scorer *out)
{
    memset(out, 0, sizeof *out);
    lua_State *L = luaL_newstate();
    if (!L)
        return jlib_fail(JETLAB_ERROR_MEMORY, "jetlab_open: no memory for a Lua state");
    lua_pushcfunction(L, open_state);
    lua_pushstring(L, path);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        const char *why = lua_tostring(L, -1);
        jetlab_status st = jlib_fail(strstr(why ? why : "", "stdlib") ? JETLAB_ERROR_MODEL : JETLAB_ERROR_CHECKPOINT,
                                     "jetlab_open: %s: %s", path, why ? why : "(no message)");
        lua_close(L);
        return st;
    }
    lua_getfield(L, -1, "width");
    out->width = lua_isinteger(L, -1) ? (int64_t)lua_tointeger(L, -1) : 0;
    lua_getfield(L, -2, "describe");
    out->describe = strdup(luaL_optstring(L, -1, ""));
    lua_pop(L, 2);
    lua_setfield(L, LUA_REGISTRYINDEX, SCORER_KEY);
    out->L = L;
    if (!out->describe) {
        jlib_scorer_close(out);
        return jlib_fail(JETLAB_ERROR_MEMORY, "jetlab_open: no memory");
    }
    return JETLAB_OK;
}

/* run(jets, n, scores) (protected): scorer.score on the four tensors, copied into scores. */
static int run(lua_State *L)
{
    const jlib_jets *jets = lua_touserdata(L, 1);
    int64_t n = (int64_t)lua_tointeger(L, 2);
    float *scores = lua_touserdata(L, 3);
    lua_getfield(L, LUA_REGISTRYINDEX, SCORER_KEY);
    lua_getfield(L, -1, "score");
    jl_tensor *in[4] = {jets->pt, jets->eta, jets->phi, jets->E};
    for (int k = 0; k < 4; k++) {
        jl_retain(in[k]);
        jl_lua_push(L, in[k]);
    }
    lua_call(L, 4, 1);
    jl_tensor *s = jl_lua_check(L, -1);
    if (s->dtype != JL_F32 || s->ndim != 1 || s->shape[0] != n || !jl_is_contiguous(s) ||
        jl_device_of(s) != JL_CPU)
        return luaL_error(L, "the model gave scores %s for %d jets (expected (%d) f32)", jl_shape_str(s), (int)n,
                          (int)n);
    memcpy(scores, jl_data(s), (size_t)n * sizeof(float));
    return 0;
}

jetlab_status jlib_scorer_run(jlib_scorer *s, const jlib_jets *jets, int64_t n, float *scores)
{
    lua_State *L = s->L;
    lua_pushcfunction(L, run);
    lua_pushlightuserdata(L, (void *)jets);
    lua_pushinteger(L, (lua_Integer)n);
    lua_pushlightuserdata(L, scores);
    int rc = lua_pcall(L, 3, 0, 0);
    jetlab_status st = JETLAB_OK;
    if (rc != LUA_OK) {
        const char *why = lua_tostring(L, -1);
        st = jlib_fail(rc == LUA_ERRMEM ? JETLAB_ERROR_MEMORY : JETLAB_ERROR_MODEL, "scoring %lld jets: %s",
                       (long long)n, why ? why : "(no message)");
        lua_pop(L, 1);
    }
    lua_gc(L, LUA_GCCOLLECT);
    return st;
}

void jlib_scorer_close(jlib_scorer *s)
{
    if (s->L)
        lua_close(s->L);
    free(s->describe);
    memset(s, 0, sizeof *s);
}
