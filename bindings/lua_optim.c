/* lua_optim.c — the low-level optimizer updates of core/tensor/ops_optim.c, for
 * stdlib/jetlab/optim.lua. Each updates param (and its state) in place, with
 * torch.optim's formulas, and returns param.
 *
 *   jl.sgd_update_(p, p.grad, buf, {lr = 0.1, momentum = 0.9, fresh = true})
 *   jl.adam_update_(p, p.grad, m, v, step, {lr = 1e-3, weight_decay = 1e-2, decoupled = true})
 *   local sq = jl.sum_squares({p1.grad, p2.grad})   -- a number (double)
 *
 * sgd_update_ options: lr (required), momentum = 0, dampening = 0,
 * weight_decay = 0, nesterov = false, fresh = false (the buffer holds nothing
 * yet: torch's first step); buf may be nil when momentum is 0.
 * adam_update_ options: lr (required), beta1 = 0.9, beta2 = 0.999, eps = 1e-8,
 * weight_decay = 0, decoupled = false (true: AdamW). step counts from 1.
 */
#include <string.h>

#include "lua_args.h"
#include "lua_module.h"

/* One option: a number (num != NULL) or a boolean (flag != NULL). */
typedef struct opt_field {
    const char *name;
    double *num;
    bool *flag;
    bool required;
    bool seen;
} opt_field;

/* Reads the options table at arg into fields (NULL-name terminated); unknown
 * keys, wrong types and missing required fields raise naming fn. */
static void read_options(lua_State *L, int arg, const char *fn, opt_field *fields)
{
    luaL_checktype(L, arg, LUA_TTABLE);
    lua_pushnil(L);
    while (lua_next(L, arg)) {
        const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?";
        opt_field *f = fields;
        while (f->name && strcmp(f->name, k) != 0) f++;
        if (!f->name) {
            luaL_Buffer b;
            luaL_buffinit(L, &b);
            for (opt_field *g = fields; g->name; g++) {
                if (g != fields) luaL_addstring(&b, ", ");
                luaL_addstring(&b, g->name);
            }
            luaL_pushresult(&b);
            luaL_error(L, "%s: unknown option '%s' (%s)", fn, k, lua_tostring(L, -1));
        }
        if (f->num) {
            if (!lua_isnumber(L, -1)) luaL_error(L, "%s: option '%s': number expected, got %s", fn, k, luaL_typename(L, -1));
            *f->num = lua_tonumber(L, -1);
        } else {
            if (!lua_isboolean(L, -1)) luaL_error(L, "%s: option '%s': boolean expected, got %s", fn, k, luaL_typename(L, -1));
            *f->flag = lua_toboolean(L, -1);
        }
        f->seen = true;
        lua_pop(L, 1);
    }
    for (opt_field *f = fields; f->name; f++)
        if (f->required && !f->seen) luaL_error(L, "%s: option '%s' is required", fn, f->name);
}

/* jl.sgd_update_(param, grad, buf|nil, opts) → param */
static int l_sgd_update_(lua_State *L)
{
    jl_tensor *param = jl_lua_check(L, 1), *grad = jl_lua_check(L, 2);
    jl_tensor *buf = lua_isnil(L, 3) ? NULL : jl_lua_check(L, 3);
    jl_sgd_config c = {0};
    bool fresh = false;
    opt_field fields[] = {
        {.name = "lr", .num = &c.lr, .required = true},
        {.name = "momentum", .num = &c.momentum},
        {.name = "dampening", .num = &c.dampening},
        {.name = "weight_decay", .num = &c.weight_decay},
        {.name = "nesterov", .flag = &c.nesterov},
        {.name = "fresh", .flag = &fresh},
        {.name = NULL},
    };
    read_options(L, 4, "sgd_update_", fields);
    if (jl_sgd_update_(param, grad, buf, fresh, &c) < 0) return jl_lua_raise(L);
    lua_settop(L, 1);
    return 1;
}

/* jl.adam_update_(param, grad, exp_avg, exp_avg_sq, step, opts) → param */
static int l_adam_update_(lua_State *L)
{
    jl_tensor *param = jl_lua_check(L, 1), *grad = jl_lua_check(L, 2);
    jl_tensor *m = jl_lua_check(L, 3), *v = jl_lua_check(L, 4);
    lua_Integer step = luaL_checkinteger(L, 5);
    jl_adam_config c = {.beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
    opt_field fields[] = {
        {.name = "lr", .num = &c.lr, .required = true},
        {.name = "beta1", .num = &c.beta1},
        {.name = "beta2", .num = &c.beta2},
        {.name = "eps", .num = &c.eps},
        {.name = "weight_decay", .num = &c.weight_decay},
        {.name = "decoupled", .flag = &c.decoupled},
        {.name = NULL},
    };
    read_options(L, 6, "adam_update_", fields);
    if (jl_adam_update_(param, grad, m, v, (int64_t)step, &c) < 0) return jl_lua_raise(L);
    lua_settop(L, 1);
    return 1;
}

/* jl.sum_squares({t1, t2, ...}) → sum of squares of every element, a number */
static int l_sum_squares(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    int n = (int)luaL_len(L, 1);
    jl_tensor **ts = jl_lua_scratch(L, sizeof(jl_tensor *) * (size_t)(n > 0 ? n : 1));
    for (int i = 0; i < n; i++) {
        lua_geti(L, 1, i + 1);
        ts[i] = jl_lua_test(L, -1);
        if (!ts[i]) luaL_error(L, "sum_squares: item %d is a %s, tensor expected", i + 1, luaL_typename(L, -1));
        lua_pop(L, 1); /* the table keeps the tensor alive */
    }
    double total = 0.0;
    if (jl_sum_squares(n, ts, &total) < 0) return jl_lua_raise(L);
    lua_pushnumber(L, total);
    return 1;
}

static const luaL_Reg optim_functions[] = {
    {"sgd_update_", l_sgd_update_},
    {"adam_update_", l_adam_update_},
    {"sum_squares", l_sum_squares},
    {NULL, NULL},
};

void jl_lua_open_optim(lua_State *L, int module, int methods)
{
    jl_lua_setfuncs(L, module, optim_functions);
}
