/* lua_loss.c — jl.cross_entropy: the fused softmax cross-entropy of core
 * (core/tensor/ops_loss.c) with Lua's 1-based class labels.
 *
 *   local logits = model(x)                       -- (B, K)
 *   local loss = jl.cross_entropy(logits, y)      -- y (B) i64 in 1..K
 *   local wl = jl.cross_entropy(logits, y, {weights = w, reduction = "sum"})
 *
 * reduction: "mean" (default: sum(w l) / sum(w), or the plain mean without
 * weights), "sum", or "none" (the (B) per-sample w*l).
 */
#include <string.h>

#include "lua_args.h"
#include "lua_module.h"

typedef struct ce_args {
    jl_tensor *weights;
    jl_reduction reduction;
} ce_args;

static ce_args check_ce_opts(lua_State *L, int arg)
{
    ce_args a = {NULL, JL_REDUCTION_MEAN};
    if (lua_isnoneornil(L, arg)) return a;
    luaL_checktype(L, arg, LUA_TTABLE);
    lua_pushnil(L);
    while (lua_next(L, arg)) {
        const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?";
        if (strcmp(k, "weights") == 0) {
            a.weights = lua_isnil(L, -1) ? NULL : jl_lua_test(L, -1);
            if (!lua_isnil(L, -1) && !a.weights)
                luaL_error(L, "cross_entropy: option 'weights': tensor expected, got %s", luaL_typename(L, -1));
        } else if (strcmp(k, "reduction") == 0) {
            static const char *const names[] = {"mean", "sum", "none", NULL};
            const char *v = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "";
            int i = 0;
            while (names[i] && strcmp(names[i], v) != 0) i++;
            if (!names[i])
                luaL_error(L, "cross_entropy: option 'reduction' must be \"mean\", \"sum\" or \"none\", got %s",
                           luaL_tolstring(L, -1, NULL));
            a.reduction = (jl_reduction)i;
        } else {
            luaL_error(L, "cross_entropy: unknown option '%s' (weights, reduction)", k);
        }
        lua_pop(L, 1);
    }
    return a;
}

/* The labels at arg (i64 or i32, 1..K) as a 0-based i64 tensor (+1); raises
 * naming the first label out of range, in the user's 1-based terms. */
static jl_tensor *check_labels(lua_State *L, int arg, int64_t K)
{
    jl_tensor *labels = jl_lua_check(L, arg);
    if (labels->dtype != JL_I64 && labels->dtype != JL_I32)
        luaL_argerror(L, arg, lua_pushfstring(L, "labels must be i64 or i32, got %s", jl_dtype_name(labels->dtype)));
    jl_tensor *host = jl_to_device(labels, JL_CPU);
    jl_tensor *flat = host ? jl_contiguous(host) : NULL;
    jl_release(host);
    if (!flat) jl_lua_raise(L);
    int64_t n = jl_numel(flat), bad = -1;
    const void *data = jl_data(flat);
    for (int64_t r = 0; r < n && bad < 0; r++) {
        int64_t v = flat->dtype == JL_I64 ? ((const int64_t *)data)[r] : ((const int32_t *)data)[r];
        if (v < 1 || v > K) bad = r;
    }
    int64_t value = bad < 0 ? 0
                    : flat->dtype == JL_I64 ? ((const int64_t *)data)[bad] : ((const int32_t *)data)[bad];
    jl_release(flat);
    if (bad >= 0)
        luaL_error(L, "cross_entropy: label %I (row %I) out of range for %I classes (labels are 1..%I)",
                   (lua_Integer)value, (lua_Integer)(bad + 1), (lua_Integer)K, (lua_Integer)K);
    jl_tensor *shifted = jl_affine(labels, 1.0, -1.0);
    jl_tensor *zero_based = shifted && shifted->dtype != JL_I64 ? jl_to_dtype(shifted, JL_I64) : jl_retain(shifted);
    jl_release(shifted);
    if (!zero_based) jl_lua_raise(L);
    return zero_based;
}

/* jl.cross_entropy(logits (B, K), labels (B) 1-based[, {weights=, reduction=}]) */
static int l_cross_entropy(lua_State *L)
{
    jl_tensor *logits = jl_lua_check(L, 1);
    jl_lua_check(L, 2);
    ce_args a = check_ce_opts(L, 3);
    if (logits->ndim != 2)
        return luaL_error(L, "cross_entropy: logits must be (B, K), got %s", jl_shape_str(logits));
    jl_tensor *labels = check_labels(L, 2, logits->shape[1]);
    jl_tensor *out = jl_cross_entropy(logits, labels, a.weights, a.reduction);
    jl_release(labels);
    return jl_lua_push(L, out);
}

static const luaL_Reg loss_functions[] = {
    {"cross_entropy", l_cross_entropy},
    {NULL, NULL},
};

void jl_lua_open_loss(lua_State *L, int module, int methods)
{
    jl_lua_setfuncs(L, module, loss_functions);
}
