/* signals.c — Ctrl-C for the jetlab host.
 *
 * While a chunk runs, the first SIGINT sets jl_lua_interrupted (for long C
 * loops in the bindings) and installs a count hook that raises "interrupted"
 * in Lua at the next instruction, as lua.c's laction does; the handler resets
 * itself to the default, so a second Ctrl-C ends a process stuck in C. At the
 * REPL prompt SIGINT is only recorded, for repl.c to clear the line.
 */
#include <signal.h>
#include <string.h>

#include <lauxlib.h>

#include "jl_lua.h"
#include "host.h"

volatile int jl_lua_interrupted = 0;

static lua_State *volatile running_state = NULL;
static volatile sig_atomic_t sigint_seen = 0;
static struct sigaction saved_action;

static void stop_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    lua_sethook(L, NULL, 0, 0);
    luaL_error(L, "interrupted");
}

static void on_sigint_running(int sig)
{
    (void)sig;
    jl_lua_interrupted = 1;
    sigint_seen = 1;
    if (running_state)
        lua_sethook(running_state, stop_hook, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
}

static void on_sigint_prompt(int sig)
{
    (void)sig;
    sigint_seen = 1;
}

static void install(void (*handler)(int), int flags, struct sigaction *old)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, old);
}

void jl_host_sigint_arm(lua_State *L)
{
    jl_lua_interrupted = 0;
    sigint_seen = 0;
    running_state = L;
    install(on_sigint_running, SA_RESETHAND, &saved_action);
}

void jl_host_sigint_disarm(lua_State *L)
{
    sigaction(SIGINT, &saved_action, NULL);
    running_state = NULL;
    lua_sethook(L, NULL, 0, 0);
}

void jl_host_sigint_catch(void)
{
    sigint_seen = 0;
    install(on_sigint_prompt, 0, NULL);
}

int jl_host_sigint_take(void)
{
    int seen = sigint_seen;
    sigint_seen = 0;
    return seen;
}
