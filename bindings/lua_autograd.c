/* lua_autograd.c — the autograd surface: fields (requires_grad, grad,
 * is_leaf, grad_fn), backward, detach, and grad mode (no_grad).
 *
 *   local a = jl.randn(3, 4, {requires_grad = true})
 *   a:relu():sum():backward()
 *   print(a.grad)                          -- ones where a > 0
 *   a.grad = nil                           -- clears it
 *   local y = jl.no_grad(function() return teacher(x) end)
 */
#include <string.h>

#include "lua_args.h"
#include "lua_module.h"

int jl_lua_get_grad_field(lua_State *L, jl_tensor *t, const char *name)
{
    if (strcmp(name, "requires_grad") == 0) {
        lua_pushboolean(L, t->requires_grad);
    } else if (strcmp(name, "grad") == 0) {
        if (t->grad) jl_lua_push(L, jl_retain(t->grad));
        else lua_pushnil(L);
    } else if (strcmp(name, "is_leaf") == 0) {
        lua_pushboolean(L, t->grad_fn == NULL);
    } else if (strcmp(name, "grad_fn") == 0) {
        if (t->grad_fn) lua_pushstring(L, t->grad_fn->name);
        else lua_pushnil(L);
    } else {
        return 0;
    }
    return 1;
}

/* t.grad = g must keep the accumulation well-formed: same shape and dtype. */
static void set_grad(lua_State *L, jl_tensor *t)
{
    if (lua_isnil(L, 3)) {
        jl_release(t->grad);
        t->grad = NULL;
        return;
    }
    jl_tensor *g = jl_lua_test(L, 3);
    if (!g) luaL_error(L, "grad must be a tensor or nil, got %s", luaL_typename(L, 3));
    bool same = g->ndim == t->ndim && g->dtype == t->dtype && jl_device_of(g) == jl_device_of(t);
    for (int d = 0; same && d < t->ndim; d++) same = g->shape[d] == t->shape[d];
    if (!same)
        luaL_error(L, "grad must match the tensor: %s %s on %s, got %s %s on %s", jl_dtype_name(t->dtype),
                   jl_shape_str(t), jl_device_name(jl_device_of(t)), jl_dtype_name(g->dtype), jl_shape_str(g),
                   jl_device_name(jl_device_of(g)));
    /* a detached alias (same storage, no grad of its own): t.grad = t, or two
     * tensors holding each other as grads, would otherwise make a reference
     * cycle that is never freed */
    jl_tensor *d = jl_detach(g);
    if (!d) jl_lua_raise(L);
    jl_release(t->grad);
    t->grad = d;
}

int jl_lua_set_grad_field(lua_State *L, jl_tensor *t, const char *name)
{
    if (strcmp(name, "requires_grad") == 0) {
        if (!lua_isboolean(L, 3)) luaL_error(L, "requires_grad must be a boolean, got %s", luaL_typename(L, 3));
        if (!jl_lua_set_requires_grad(t, lua_toboolean(L, 3))) jl_lua_raise(L);
    } else if (strcmp(name, "grad") == 0) {
        set_grad(L, t);
    } else {
        return 0;
    }
    return 1;
}

/* t:requires_grad_(on = true) → t */
static int l_requires_grad_(lua_State *L)
{
    jl_tensor *t = jl_lua_check(L, 1);
    if (!jl_lua_set_requires_grad(t, jl_lua_opt_bool(L, 2, true))) return jl_lua_raise(L);
    lua_settop(L, 1);
    return 1;
}

/* t:backward(grad?): grad may be omitted for a one-element root. */
static int l_backward(lua_State *L)
{
    jl_tensor *t = jl_lua_check(L, 1);
    jl_tensor *grad = lua_isnoneornil(L, 2) ? NULL : jl_lua_check(L, 2);
    if (jl_backward(t, grad) < 0) return jl_lua_raise(L);
    return 0;
}

/* t:detach(): same storage, out of the graph. */
static int l_detach(lua_State *L) { return jl_lua_push(L, jl_detach(jl_lua_check(L, 1))); }

/* Calls fn(...) with grad mode set to `mode`, restoring it even when fn
 * raises (the error is re-raised unchanged); returns fn's results. */
static int with_grad_mode(lua_State *L, bool mode)
{
    luaL_checktype(L, 1, LUA_TFUNCTION);
    bool prev = jl_set_grad_enabled(mode);
    int status = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
    jl_set_grad_enabled(prev);
    if (status != LUA_OK) return lua_error(L);
    return lua_gettop(L);
}

/* jl.no_grad(fn, ...) / jl.enable_grad(fn, ...) */
static int l_no_grad(lua_State *L) { return with_grad_mode(L, false); }
static int l_enable_grad(lua_State *L) { return with_grad_mode(L, true); }

static int l_is_grad_enabled(lua_State *L)
{
    lua_pushboolean(L, jl_grad_enabled());
    return 1;
}

/* jl.set_grad_enabled(on) → the previous mode */
static int l_set_grad_enabled(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TBOOLEAN);
    lua_pushboolean(L, jl_set_grad_enabled(lua_toboolean(L, 1)));
    return 1;
}

static const luaL_Reg autograd_methods[] = {
    {"requires_grad_", l_requires_grad_},
    {"backward", l_backward},
    {"detach", l_detach},
    {NULL, NULL},
};

static const luaL_Reg autograd_functions[] = {
    {"backward", l_backward},
    {"detach", l_detach},
    {"no_grad", l_no_grad},
    {"enable_grad", l_enable_grad},
    {"is_grad_enabled", l_is_grad_enabled},
    {"set_grad_enabled", l_set_grad_enabled},
    {NULL, NULL},
};

void jl_lua_open_autograd(lua_State *L, int module, int methods)
{
    jl_lua_setfuncs(L, methods, autograd_methods);
    jl_lua_setfuncs(L, module, autograd_functions);
}
