/* lua_metrics.c — jl.metrics: ROC curve and AUC in C (core/data/jl_metrics.h);
 * stdlib/jetlab/metrics.lua adds rejection and accuracy to the same table.
 *
 *   local roc = jl.metrics.roc(scores, labels, {weights = w})
 *   print(roc.auc, roc.eff_s, roc.eff_b, roc.thresholds)
 *   print(jl.metrics.auc(scores, labels))
 *
 * Labels follow the training convention, 1 = background and 2 = signal;
 * {signal = 1} selects 0/1 labels (background 0), {signal =, background =}
 * any other pair. A label that is neither is an error naming it and its
 * position (a 0 among 1/2 labels, a 2 among 0/1 ones, a third class).
 */
#include <string.h>

#include "jl_metrics.h"
#include "lua_args.h"
#include "lua_module.h"

typedef struct roc_args {
    jl_tensor *scores, *labels, *weights;
    double signal, background;
} roc_args;

/* (scores, labels[, {weights=, signal=, background=}]); unknown option keys
 * are errors; every label must be background or signal. */
static roc_args check_roc_args(lua_State *L, const char *what)
{
    roc_args a = {jl_lua_check(L, 1), jl_lua_check(L, 2), NULL, 2, 1};
    bool has_background = false;
    if (!lua_isnoneornil(L, 3)) {
        luaL_checktype(L, 3, LUA_TTABLE);
        lua_pushnil(L);
        while (lua_next(L, 3)) {
            const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?";
            if (strcmp(k, "weights") == 0) {
                if (!lua_isnil(L, -1)) {
                    a.weights = jl_lua_test(L, -1);
                    if (!a.weights) luaL_error(L, "option 'weights': tensor expected, got %s", luaL_typename(L, -1));
                }
            } else if (strcmp(k, "signal") == 0) {
                if (!lua_isnumber(L, -1))
                    luaL_error(L, "option 'signal': number expected, got %s", luaL_typename(L, -1));
                a.signal = lua_tonumber(L, -1);
            } else if (strcmp(k, "background") == 0) {
                if (!lua_isnumber(L, -1))
                    luaL_error(L, "option 'background': number expected, got %s", luaL_typename(L, -1));
                a.background = lua_tonumber(L, -1);
                has_background = true;
            } else {
                luaL_error(L, "unknown option '%s' (weights, signal, background)", k);
            }
            lua_pop(L, 1);
        }
    }
    if (!has_background) a.background = a.signal == 1 ? 0 : 1;
    if (a.background == a.signal) luaL_error(L, "%s: background and signal are both %f", what, a.signal);
    /* after jl_roc's shape checks would pass: a shape error is its message */
    if (a.labels->ndim == 1 && a.scores->ndim == 1 && a.labels->shape[0] == a.scores->shape[0] &&
        jl_check_binary_labels(what, a.labels, a.background, a.signal) < 0)
        jl_lua_raise(L);
    return a;
}

/* jl.metrics.roc(scores, labels[, opts]) → {eff_s=, eff_b=, thresholds=, auc=} */
static int l_roc(lua_State *L)
{
    roc_args a = check_roc_args(L, "roc");
    jl_tensor *es, *eb, *thr;
    double auc;
    if (jl_roc(a.scores, a.labels, a.weights, a.signal, &es, &eb, &thr, &auc) < 0) return jl_lua_raise(L);
    lua_createtable(L, 0, 4);
    jl_lua_push(L, es);
    lua_setfield(L, -2, "eff_s");
    jl_lua_push(L, eb);
    lua_setfield(L, -2, "eff_b");
    jl_lua_push(L, thr);
    lua_setfield(L, -2, "thresholds");
    lua_pushnumber(L, auc);
    lua_setfield(L, -2, "auc");
    return 1;
}

/* jl.metrics.auc(scores, labels[, opts]) → number */
static int l_auc(lua_State *L)
{
    roc_args a = check_roc_args(L, "auc");
    double auc;
    if (jl_roc(a.scores, a.labels, a.weights, a.signal, NULL, NULL, NULL, &auc) < 0) return jl_lua_raise(L);
    lua_pushnumber(L, auc);
    return 1;
}

static const luaL_Reg metrics_functions[] = {
    {"roc", l_roc},
    {"auc", l_auc},
    {NULL, NULL},
};

void jl_lua_open_metrics(lua_State *L, int module, int methods)
{
    lua_newtable(L);
    jl_lua_setfuncs(L, lua_gettop(L), metrics_functions);
    lua_setfield(L, module, "metrics");
}
