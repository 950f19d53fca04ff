/* lua_nn.c — nn functional ops that live in C: batch normalisation.
 *
 *   -- x (N, C); weight, bias, running_mean, running_var (C) or nil
 *   local y = jl.batch_norm(x, w, b, rm, rv, {training = true, momentum = 0.1, eps = 1e-5})
 *
 * Options (all optional): training (default false, as torch.nn.functional;
 * eval needs the running buffers), momentum (0.1), eps (1e-5). In training
 * the running buffers, when given, are updated in place as PyTorch does.
 */
#include <string.h>

#include "lua_args.h"
#include "lua_module.h"

typedef struct bn_opts {
    bool training;
    double momentum, eps;
} bn_opts;

/* Reads {training=, momentum=, eps=} at arg (absent or nil: defaults); unknown keys are errors. */
static bn_opts check_bn_opts(lua_State *L, int arg)
{
    bn_opts o = {.training = false, .momentum = 0.1, .eps = 1e-5};
    if (lua_isnoneornil(L, arg)) return o;
    luaL_checktype(L, arg, LUA_TTABLE);
    lua_pushnil(L);
    while (lua_next(L, arg)) {
        const char *key = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "";
        if (strcmp(key, "training") == 0) {
            luaL_argexpected(L, lua_isboolean(L, -1), arg, "training = boolean");
            o.training = lua_toboolean(L, -1);
        } else if (strcmp(key, "momentum") == 0 || strcmp(key, "eps") == 0) {
            if (!lua_isnumber(L, -1)) luaL_error(L, "batch_norm: option %s must be a number, got %s", key, luaL_typename(L, -1));
            *(key[0] == 'm' ? &o.momentum : &o.eps) = lua_tonumber(L, -1);
        } else {
            lua_pushvalue(L, -2);
            luaL_error(L, "batch_norm: unknown option '%s' (expected training, momentum, eps)", luaL_tolstring(L, -1, NULL));
        }
        lua_pop(L, 1);
    }
    return o;
}

/* The tensor at arg, or NULL when it is nil or absent. */
static jl_tensor *opt_tensor(lua_State *L, int arg)
{
    return lua_isnoneornil(L, arg) ? NULL : jl_lua_check(L, arg);
}

/* jl.batch_norm(x, weight?, bias?, running_mean?, running_var?, opts?) */
static int l_batch_norm(lua_State *L)
{
    jl_tensor *x = jl_lua_check(L, 1);
    jl_tensor *w = opt_tensor(L, 2), *b = opt_tensor(L, 3), *rm = opt_tensor(L, 4), *rv = opt_tensor(L, 5);
    bn_opts o = check_bn_opts(L, 6);
    return jl_lua_push(L, jl_batch_norm(x, w, b, rm, rv, o.training, o.momentum, o.eps));
}

static const luaL_Reg nn_functions[] = {
    {"batch_norm", l_batch_norm},
    {NULL, NULL},
};

void jl_lua_open_nn(lua_State *L, int module, int methods)
{
    (void)methods;
    jl_lua_setfuncs(L, module, nn_functions);
}
