/* signals.c — Ctrl-C (and SIGTERM) for the jetlab host.
 *
 * While a chunk runs, the first SIGINT or SIGTERM sets jl_lua_interrupted
 * (for long C loops in the bindings) and installs a count hook that raises
 * "interrupted" in Lua at the next instruction, as lua.c's laction does; a
 * second signal restores the default action and re-raises, so it ends a
 * process stuck in C. At the REPL prompt SIGINT is only recorded, for repl.c
 * to clear the line (SIGTERM keeps its default action there).
 *
 * Deferred mode (jl_lua_interrupt_defer, set by jl.defer_interrupts, which
 * train.fit uses): the first signal only records itself in
 * jl_lua_interrupt_pending, for the Lua code to poll with jl.interrupted()
 * and stop at a safe point (train.fit: the next step boundary, then it saves
 * a checkpoint); the second one interrupts as above (hook), the third one
 * ends the process. jl_lua_interrupt_signal keeps the last signal's number
 * after the chunk ends, for main.c's exit status (128 + signal).
 */
#include <signal.h>
#include <string.h>

#include <lauxlib.h>

#include "jl_lua.h"
#include "host.h"

volatile int jl_lua_interrupted = 0;

static lua_State *volatile running_state = NULL;
static volatile sig_atomic_t sigint_seen = 0;
static volatile sig_atomic_t signal_count = 0;
static struct sigaction saved_int, saved_term;

static void stop_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    lua_sethook(L, NULL, 0, 0);
    luaL_error(L, "interrupted");
}

static void on_signal_running(int sig)
{
    int n = ++signal_count;
    sigint_seen = 1;
    jl_lua_interrupt_signal = sig;
    if (jl_lua_interrupt_defer && n == 1) {
        jl_lua_interrupt_pending = 1;
        return;
    }
    if (n == 1 || (jl_lua_interrupt_defer && n == 2)) {
        jl_lua_interrupt_pending = 1;
        jl_lua_interrupted = 1;
        if (running_state)
            lua_sethook(running_state, stop_hook, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
        return;
    }
    /* Stuck: the default action ends the process once the handler returns. */
    signal(sig, SIG_DFL);
    raise(sig);
}

static void on_sigint_prompt(int sig)
{
    (void)sig;
    sigint_seen = 1;
}

static void install(int sig, void (*handler)(int), int flags, struct sigaction *old)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGINT);
    sigaddset(&sa.sa_mask, SIGTERM);
    sigaction(sig, &sa, old);
}

void jl_host_sigint_arm(lua_State *L)
{
    jl_lua_interrupted = 0;
    jl_lua_interrupt_pending = 0;
    jl_lua_interrupt_defer = 0;
    jl_lua_interrupt_signal = 0;
    signal_count = 0;
    sigint_seen = 0;
    running_state = L;
    install(SIGINT, on_signal_running, 0, &saved_int);
    install(SIGTERM, on_signal_running, 0, &saved_term);
}

void jl_host_sigint_disarm(lua_State *L)
{
    sigaction(SIGINT, &saved_int, NULL);
    sigaction(SIGTERM, &saved_term, NULL);
    running_state = NULL;
    jl_lua_interrupt_defer = 0;
    lua_sethook(L, NULL, 0, 0);
}

void jl_host_sigint_catch(void)
{
    sigint_seen = 0;
    install(SIGINT, on_sigint_prompt, 0, NULL);
}

int jl_host_sigint_take(void)
{
    int seen = sigint_seen;
    sigint_seen = 0;
    return seen;
}

int jl_host_interrupt_signal(void)
{
    return jl_lua_interrupt_signal;
}
