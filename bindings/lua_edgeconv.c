/* lua_edgeconv.c — the EdgeConv building blocks (core/tensor/ops_edgeconv.c), for
 * stdlib/jetlab/nn/edgeconv.lua. Opened by jl_lua_open_graph.
 *
 *   local nbr, eoff = jl.knn(coords, offsets, 16)           -- 1-based nbr
 *   local z = jl.edge_gather(ab, eoff, nbr)                 -- ab (N, 2C) → (E, C)
 *   local y = jl.batch_norm_relu(z, w, b, rm, rv, {training = true, momentum = 0.1, eps = 1e-5})
 *   local m = jl.batch_norm_relu(z, w, b, rm, rv, {training = true, segments = eoff})  -- (N, C)
 *   local p = jl.relu_batch_norm(z, w, b, rm, rv, {training = true, segments = offsets})  -- BN(ReLU(z)), pooled
 *   local nbr2, eoff2, perm = jl.edges_by_dst(src, dst, n_nodes)  -- 1-based src/dst/nbr/perm
 *   local rows, off, src2, dst2, eoff3 = jl.graph_select(offsets, eoff2, nbr2, jets)  -- jets 1-based
 *   local f = jl.edge_features(x, eoff, nbr)                -- x (N, C) → (E, 2C) [x_i, x_j - x_i]
 *   local m = jl.scatter_mean(msg, dst, n_nodes)            -- msg (E, C), dst (E) 1-based → (n, C)
 *
 * Index conventions as jl.knn: neighbour rows (nbr, src, dst, perm) are 1-based,
 * offsets are cumulative counts.
 */
#include <stdint.h>
#include <string.h>

#include "lua_args.h"
#include "lua_module.h"

/* The rows of the node table at arg (its first dim; unlimited when it is not 2-D,
 * which the op itself then reports). */
static int64_t table_rows(lua_State *L, int arg)
{
    jl_tensor *t = jl_lua_check(L, arg);
    return t->ndim == 2 ? t->shape[0] : INT64_MAX;
}

/* The 1-based rows at arg as a 0-based copy owned by the Lua stack (pushed), so a
 * later error cannot leak it; returns it borrowed. */
static jl_tensor *stacked_rows(lua_State *L, int arg, const char *what, int64_t n)
{
    jl_lua_push(L, jl_lua_check_rows(L, arg, what, n));
    return jl_lua_check(L, -1);
}

/* jl.edge_gather(ab (N, 2C), edge_offsets (N+1), nbr (E) 1-based) → (E, C) */
static int l_edge_gather(lua_State *L)
{
    jl_tensor *ab = jl_lua_check(L, 1), *eoff = jl_lua_check(L, 2);
    jl_tensor *nbr = stacked_rows(L, 3, "edge_gather: nbr", table_rows(L, 1));
    return jl_lua_push(L, jl_edge_gather(ab, eoff, nbr));
}

/* jl.edge_features(x (N, C), edge_offsets (N+1), nbr (E) 1-based) → (E, 2C) */
static int l_edge_features(lua_State *L)
{
    jl_tensor *x = jl_lua_check(L, 1), *eoff = jl_lua_check(L, 2);
    jl_tensor *nbr = stacked_rows(L, 3, "edge_features: nbr", table_rows(L, 1));
    return jl_lua_push(L, jl_edge_features(x, eoff, nbr));
}

/* jl.scatter_mean(src (E, F), index (E) 1-based, n) → (n, F) */
static int l_scatter_mean(lua_State *L)
{
    jl_tensor *src = jl_lua_check(L, 1);
    lua_Integer n = luaL_checkinteger(L, 3);
    luaL_argcheck(L, n >= 0, 3, "the number of targets must be >= 0");
    jl_tensor *index = stacked_rows(L, 2, "scatter_mean: index", (int64_t)n);
    return jl_lua_push(L, jl_scatter_mean(src, index, (int64_t)n));
}

static jl_tensor *opt_tensor(lua_State *L, int arg)
{
    return lua_isnoneornil(L, arg) ? NULL : jl_lua_check(L, arg);
}

/* jl.batch_norm_relu(x, weight?, bias?, running_mean?, running_var?,
 *                    {training = false, momentum = 0.1, eps = 1e-5, segments = nil}),
 * and jl.relu_batch_norm(...) with the same arguments when relu_first. */
static int norm_relu(lua_State *L, bool relu_first)
{
    const char *op = relu_first ? "relu_batch_norm" : "batch_norm_relu";
    jl_tensor *x = jl_lua_check(L, 1);
    jl_tensor *w = opt_tensor(L, 2), *b = opt_tensor(L, 3), *rm = opt_tensor(L, 4), *rv = opt_tensor(L, 5);
    bool training = false;
    double momentum = 0.1, eps = 1e-5;
    jl_tensor *segments = NULL;
    if (!lua_isnoneornil(L, 6)) {
        luaL_checktype(L, 6, LUA_TTABLE);
        lua_pushnil(L);
        while (lua_next(L, 6)) {
            const char *key = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "";
            if (strcmp(key, "training") == 0) {
                luaL_argexpected(L, lua_isboolean(L, -1), 6, "training = boolean");
                training = lua_toboolean(L, -1);
            } else if (strcmp(key, "momentum") == 0 || strcmp(key, "eps") == 0) {
                if (!lua_isnumber(L, -1))
                    luaL_error(L, "%s: option %s must be a number, got %s", op, key, luaL_typename(L, -1));
                *(key[0] == 'm' ? &momentum : &eps) = lua_tonumber(L, -1);
            } else if (strcmp(key, "segments") == 0) {
                segments = jl_lua_check(L, -1); /* borrowed: the options table keeps it alive */
            } else {
                lua_pushvalue(L, -2);
                luaL_error(L, "%s: unknown option '%s' (expected training, momentum, eps, segments)", op,
                           luaL_tolstring(L, -1, NULL));
            }
            lua_pop(L, 1);
        }
    }
    return jl_lua_push(L, (relu_first ? jl_relu_batch_norm : jl_batch_norm_relu)(x, w, b, rm, rv, training, momentum,
                                                                                  eps, segments));
}

static int l_batch_norm_relu(lua_State *L) { return norm_relu(L, false); }
static int l_relu_batch_norm(lua_State *L) { return norm_relu(L, true); }

/* jl.edges_by_dst(src (E), dst (E) 1-based, n_nodes) → nbr (E) 1-based sources grouped
 * by dst, edge_offsets (N+1), perm (E) 1-based input position of each sorted edge */
static int l_edges_by_dst(lua_State *L)
{
    lua_Integer n = luaL_checkinteger(L, 3);
    luaL_argcheck(L, n >= 0, 3, "n_nodes must be >= 0");
    jl_tensor *src = stacked_rows(L, 1, "edges_by_dst: src", (int64_t)n);
    jl_tensor *dst = stacked_rows(L, 2, "edges_by_dst: dst", (int64_t)n);
    jl_tensor *eoff = NULL, *perm = NULL;
    jl_tensor *nbr = jl_edges_by_dst(src, dst, (int64_t)n, &eoff, &perm);
    if (!nbr) return jl_lua_raise(L);
    jl_tensor *nbr1 = jl_affine(nbr, 1, 1), *perm1 = nbr1 ? jl_affine(perm, 1, 1) : NULL;
    jl_release(nbr);
    jl_release(perm);
    if (!perm1) {
        jl_release(nbr1);
        jl_release(eoff);
        return jl_lua_raise(L);
    }
    jl_lua_push(L, nbr1);
    jl_lua_push(L, eoff);
    jl_lua_push(L, perm1);
    return 3;
}

/* jl.graph_select(offsets (B+1), edge_offsets (N+1), src (E) 1-based grouped by dst,
 * jets (K) 1-based) → rows (M) 1-based, offsets (K+1), src (E') 1-based, dst (E') 1-based,
 * edge_offsets (M+1): the batch of those graphs (core jl_graph_select, base 1: no copy
 * of the table, work in proportion to the selection) */
static int l_graph_select(lua_State *L)
{
    jl_tensor *offsets = jl_lua_check(L, 1), *eoff = jl_lua_check(L, 2);
    jl_tensor *src = jl_lua_check(L, 3), *jets = jl_lua_check(L, 4);
    jl_graph_batch b;
    if (jl_graph_select(offsets, eoff, src, jets, 1, &b)) return jl_lua_raise(L);
    jl_lua_push(L, b.rows);
    jl_lua_push(L, b.offsets);
    jl_lua_push(L, b.src);
    jl_lua_push(L, b.dst);
    jl_lua_push(L, b.edge_offsets);
    return 5;
}

static const luaL_Reg edgeconv_functions[] = {
    {"edge_gather", l_edge_gather},
    {"edge_features", l_edge_features},
    {"scatter_mean", l_scatter_mean},
    {"batch_norm_relu", l_batch_norm_relu},
    {"relu_batch_norm", l_relu_batch_norm},
    {"edges_by_dst", l_edges_by_dst},
    {"graph_select", l_graph_select},
    {NULL, NULL},
};

void jl_lua_open_edgeconv(lua_State *L, int module, int methods)
{
    (void)methods;
    jl_lua_setfuncs(L, module, edgeconv_functions);
}
