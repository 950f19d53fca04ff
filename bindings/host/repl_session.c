/* repl_session.c — the REPL's calls into its Lua side, the module
 * jetlab.repl (stdlib/jetlab/repl/): `?`/`:` commands, :time around each
 * command, errors kept for :trace (one line on a terminal), completion. The
 * module is kept in the registry; a failing hook reports its error and the
 * loop goes on.
 */
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "host.h"

static const char SESSION_KEY[] = "jetlab.repl.session";
static int one_line_errors;

/* Pushes the function `name` of jetlab.repl (nil when the module is missing). */
static void push_hook(lua_State *L, const char *name)
{
    if (lua_getfield(L, LUA_REGISTRYINDEX, SESSION_KEY) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_pushnil(L);
        return;
    }
    lua_getfield(L, -1, name);
    lua_remove(L, -2);
}

/* Calls hook `name` with the narg values on top; leaves nres results, or
 * returns a status with the error reported and nothing left. */
static int call_hook(lua_State *L, const char *name, int narg, int nres)
{
    push_hook(L, name);
    if (lua_isnil(L, -1)) {
        lua_pop(L, narg + 1);
        return LUA_ERRRUN;
    }
    lua_insert(L, -narg - 1);
    return jl_host_report(L, lua_pcall(L, narg, nres, 0));
}

void jl_host_session_open(lua_State *L, int one_line)
{
    one_line_errors = one_line;
    lua_getglobal(L, "require");
    lua_pushliteral(L, "jetlab.repl");
    if (jl_host_report(L, lua_pcall(L, 1, 1, 0)) != LUA_OK)
        return;
    lua_setfield(L, LUA_REGISTRYINDEX, SESSION_KEY);
    call_hook(L, "install", 0, 0);
}

int jl_host_session_command(lua_State *L, const char *line)
{
    const char *p = line + strspn(line, " \t");
    if (*p != '?' && *p != ':')
        return 0;
    push_hook(L, "command");
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return 0;
    }
    lua_pushstring(L, line);
    int status = jl_host_docall(L, 1, 1);
    if (status != LUA_OK) {
        jl_host_session_report(L, status);
        return 1;
    }
    int handled = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return handled;
}

void jl_host_session_started(lua_State *L)
{
    call_hook(L, "started", 0, 0);
}

void jl_host_session_finished(lua_State *L)
{
    call_hook(L, "finished", 0, 0);
}

void jl_host_session_report(lua_State *L, int status)
{
    if (status == LUA_OK)
        return;
    push_hook(L, "error");
    if (lua_isnil(L, -1) || !lua_isstring(L, -2)) {
        lua_pop(L, 1);
        jl_host_report(L, status);
        return;
    }
    lua_insert(L, -2);
    lua_pushboolean(L, one_line_errors);
    if (jl_host_report(L, lua_pcall(L, 2, 1, 0)) == LUA_OK) {
        jl_host_message(lua_tostring(L, -1));
        lua_pop(L, 1);
    }
}

char **jl_host_session_complete(lua_State *L, const char *line, const char *word, int *count)
{
    *count = 0;
    lua_pushstring(L, line);
    lua_pushstring(L, word);
    if (call_hook(L, "complete", 2, 1) != LUA_OK)
        return NULL;
    int n = lua_istable(L, -1) ? (int)luaL_len(L, -1) : 0;
    char **out = n > 0 ? calloc((size_t)n, sizeof *out) : NULL;
    for (int i = 0; out && i < n; i++) {
        lua_rawgeti(L, -1, i + 1);
        const char *s = lua_tostring(L, -1);
        if (s)
            out[(*count)++] = strdup(s);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return out;
}
