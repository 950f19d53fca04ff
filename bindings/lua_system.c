/* lua_system.c — the process helpers the training loop needs and plain
 * Lua lacks: a monotonic wall clock (os.clock is CPU time, summed over the
 * worker threads), isatty (progress bar on a terminal, plain lines otherwise),
 * the peak resident set size, and the interrupt flag the host's SIGINT/SIGTERM
 * handlers raise (bindings/host/signals.c) for train.fit to stop at a step
 * boundary.
 *
 *   local t0 = jl.clock()
 *   ...
 *   print(jl.clock() - t0, "seconds", jl.isatty(1) and "on a terminal" or "piped")
 *   print(jl.peak_rss() / 2^20, "MiB at most")
 *   local was = jl.defer_interrupts(true)    -- Ctrl-C: set a flag, raise no error
 *   while not jl.interrupted() do step() end -- "SIGINT" / "SIGTERM" once signalled
 *   jl.defer_interrupts(was)
 */
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
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

/* jl.peak_rss() → the process's peak resident set size in bytes (getrusage). */
static int l_peak_rss(lua_State *L)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return luaL_error(L, "peak_rss: getrusage failed");
    lua_pushinteger(L, (lua_Integer)ru.ru_maxrss * 1024); /* Linux: KiB */
    return 1;
}

/* See jl_lua.h. Without a host nothing sets them but jl.interrupt. */
volatile sig_atomic_t jl_lua_interrupt_defer = 0;
volatile sig_atomic_t jl_lua_interrupt_pending = 0;
volatile sig_atomic_t jl_lua_interrupt_signal = 0;

static const struct {
    const char *name;
    int number;
} signal_names[] = {{"SIGINT", SIGINT}, {"SIGTERM", SIGTERM}};

/* jl.interrupted() → "SIGINT" | "SIGTERM" when a signal asked the running
 * code to stop (the host's handlers, or jl.interrupt), else false. */
static int l_interrupted(lua_State *L)
{
    if (!jl_lua_interrupt_pending && !jl_lua_interrupted) {
        lua_pushboolean(L, 0);
        return 1;
    }
    int sig = jl_lua_interrupt_signal;
    for (size_t i = 0; i < sizeof signal_names / sizeof signal_names[0]; i++) {
        if (signal_names[i].number == sig) {
            lua_pushstring(L, signal_names[i].name);
            return 1;
        }
    }
    lua_pushfstring(L, "signal %d", sig);
    return 1;
}

/* jl.interrupt(["SIGINT" | "SIGTERM"]) — records that signal as the host's
 * handler does for a first signal in deferred mode (no Lua error is raised):
 * a test hook to stop train.fit at a chosen step. jl.interrupt(false) clears
 * the record. */
static int l_interrupt(lua_State *L)
{
    if (lua_isboolean(L, 1) && !lua_toboolean(L, 1)) {
        jl_lua_interrupt_pending = 0;
        jl_lua_interrupt_signal = 0;
        jl_lua_interrupted = 0;
        return 0;
    }
    const char *name = luaL_optstring(L, 1, "SIGINT");
    for (size_t i = 0; i < sizeof signal_names / sizeof signal_names[0]; i++) {
        if (strcmp(signal_names[i].name, name) == 0) {
            jl_lua_interrupt_signal = signal_names[i].number;
            jl_lua_interrupt_pending = 1;
            return 0;
        }
    }
    return luaL_argerror(L, 1, lua_pushfstring(L, "expected \"SIGINT\", \"SIGTERM\" or false, got \"%s\"", name));
}

/* jl.defer_interrupts(on) → the previous setting (boolean). While on, the
 * host's first SIGINT/SIGTERM only sets the flag jl.interrupted() reads; a
 * second one raises "interrupted" as usual. The host turns it off after each
 * chunk. */
static int l_defer_interrupts(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TBOOLEAN);
    lua_pushboolean(L, jl_lua_interrupt_defer != 0);
    jl_lua_interrupt_defer = lua_toboolean(L, 1);
    return 1;
}

static const luaL_Reg system_functions[] = {
    {"clock", l_clock},
    {"isatty", l_isatty},
    {"peak_rss", l_peak_rss},
    {"interrupted", l_interrupted},
    {"interrupt", l_interrupt},
    {"defer_interrupts", l_defer_interrupts},
    {NULL, NULL},
};

void jl_lua_open_system(lua_State *L, int module, int methods)
{
    jl_lua_setfuncs(L, module, system_functions);
}
