/* script.c — running Lua chunks for the jetlab host, as lua.c does: a message
 * handler that appends a traceback, Ctrl-C armed around every call, errors
 * reported on stderr, and the global `arg` table for scripts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "host.h"

static const char *message_prefix = JL_HOST_NAME;

void jl_host_message_prefix(const char *prefix)
{
    message_prefix = prefix;
}

/* One fwrite for the whole line: under an MPI launcher every rank's stderr goes
 * through one pipe, and a line written in pieces interleaves with another rank's. */
void jl_host_message(const char *msg)
{
    fflush(stdout);
    const char *prefix = message_prefix ? message_prefix : "";
    const char *separator = message_prefix ? ": " : "";
    size_t length = strlen(prefix) + strlen(separator) + strlen(msg) + 1;
    char *line = malloc(length + 1);
    if (!line) {
        fprintf(stderr, "%s%s%s\n", prefix, separator, msg);
        return;
    }
    snprintf(line, length + 1, "%s%s%s\n", prefix, separator, msg);
    fwrite(line, 1, length, stderr);
    fflush(stderr);
    free(line);
}

int jl_host_report(lua_State *L, int status)
{
    if (status != LUA_OK) {
        const char *msg = lua_tostring(L, -1);
        jl_host_message(msg ? msg : "(error object is not a string)");
        lua_pop(L, 1);
    }
    return status;
}

/* Error handler: turns the error object into a string and appends a traceback. */
static int l_msghandler(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    if (msg == NULL) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
            return 1;
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    luaL_traceback(L, L, msg, 1);
    return 1;
}

int jl_host_docall(lua_State *L, int narg, int nres)
{
    int base = lua_gettop(L) - narg;
    lua_pushcfunction(L, l_msghandler);
    lua_insert(L, base);
    jl_host_sigint_arm(L);
    int status = lua_pcall(L, narg, nres, base);
    jl_host_sigint_disarm(L);
    lua_remove(L, base);
    return status;
}

void jl_host_create_arg(lua_State *L, char **argv, int argc, int script)
{
    if (script == argc)
        script = 0;
    lua_createtable(L, argc - (script + 1), script + 1);
    for (int i = 0; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i - script);
    }
    lua_setglobal(L, "arg");
}

int jl_host_run_string(lua_State *L, const char *code, const char *name)
{
    int status = luaL_loadbuffer(L, code, strlen(code), name);
    if (status == LUA_OK)
        status = jl_host_docall(L, 0, 0);
    return jl_host_report(L, status);
}

/* Pushes arg[1..#arg]; returns how many. */
static int push_script_args(lua_State *L)
{
    if (lua_getglobal(L, "arg") != LUA_TTABLE)
        luaL_error(L, "'arg' is not a table");
    int n = (int)luaL_len(L, -1);
    luaL_checkstack(L, n + 3, "too many arguments to script");
    for (int i = 1; i <= n; i++)
        lua_rawgeti(L, -i, i);
    lua_remove(L, -n - 1);
    return n;
}

int jl_host_run_file(lua_State *L, const char *path)
{
    int status = luaL_loadfile(L, path);
    if (status == LUA_OK) {
        int n = push_script_args(L);
        status = jl_host_docall(L, n, 0);
    }
    return jl_host_report(L, status);
}
