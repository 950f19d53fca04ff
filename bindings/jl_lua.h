/* jl_lua.h — the Lua C API layer over core (DESIGN.md: bindings/ only).
 *
 * luaopen_jetlab_core builds the C module `jetlab.core`; stdlib/jetlab/init.lua
 * wraps it as `jetlab` (the host also sets the global `jl`). Tensors are full
 * userdata holding one jl_tensor* reference; __gc and __close release it,
 * idempotently. Every core error becomes a Lua error here, after the binding
 * has released its temporaries.
 */
#ifndef JL_LUA_H
#define JL_LUA_H

#include <signal.h>

#include <lua.h>
#include <lauxlib.h>

#include "jl_ops.h"

#define JL_TENSOR_MT "jetlab.Tensor"

/* The C module table (jetlab.core). */
int luaopen_jetlab_core(lua_State *L);

/* Pushes a userdata owning t (steals the +1 reference). t == NULL raises the
 * current core error as a Lua error (so `return jl_lua_push(L, jl_add(a, b))`
 * reports failures). Returns 1. */
int jl_lua_push(lua_State *L, jl_tensor *t);
/* The tensor at idx, or a Lua argument error naming the argument. Borrowed. */
jl_tensor *jl_lua_check(lua_State *L, int idx);
/* The tensor at idx or NULL when it is not a tensor. Borrowed. */
jl_tensor *jl_lua_test(lua_State *L, int idx);
/* Raises the current core error (jl_last_error) as a Lua error; never returns. */
int jl_lua_raise(lua_State *L);

/* Set by the host: called from long-running C loops to learn that the user
 * pressed Ctrl-C (returns nonzero to stop). NULL when no host. */
extern volatile int jl_lua_interrupted;

/* Interrupt state shared by the host's signal handlers (bindings/host/signals.c)
 * and jl.interrupted / jl.interrupt / jl.defer_interrupts (lua_system.c):
 *   defer    nonzero while Lua code stops at its own safe points (train.fit):
 *            the host's first SIGINT/SIGTERM then only sets pending
 *   pending  a signal asked the running code to stop (polled by jl.interrupted)
 *   signal   the number of that signal (SIGINT, SIGTERM), 0 when none */
extern volatile sig_atomic_t jl_lua_interrupt_defer;
extern volatile sig_atomic_t jl_lua_interrupt_pending;
extern volatile sig_atomic_t jl_lua_interrupt_signal;

#endif
