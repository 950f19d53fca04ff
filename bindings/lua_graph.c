/* lua_graph.c — graph ops on ragged batches, for the graph-network modules.
 *
 * A ragged batch is a node table x (N, C) plus offsets (B+1) i64 holding
 * cumulative counts: jet b owns rows offsets[b]+1 .. offsets[b+1] (1-based).
 *
 *   local nbr, edge_offsets = jl.knn(coords, offsets, 16)  -- nbr (E) 1-based rows
 *   local pooled = jl.segment_mean(x, offsets)             -- (B, C)
 */
#include "lua_args.h"
#include "lua_module.h"

/* jl.knn(coords (N, D), offsets (B+1), k) → nbr (E) i64 1-based, edge_offsets (N+1) i64 */
static int l_knn(lua_State *L)
{
    jl_tensor *coords = jl_lua_check(L, 1), *offsets = jl_lua_check(L, 2);
    int k = jl_lua_check_int(L, 3);
    luaL_argcheck(L, k >= 1, 3, "k must be at least 1");
    jl_tensor *edge_offsets = NULL, *nbr = jl_knn(coords, offsets, k, &edge_offsets);
    if (!nbr) return jl_lua_raise(L);
    jl_tensor *one_based = jl_affine(nbr, 1, 1);
    jl_release(nbr);
    if (!one_based) {
        jl_release(edge_offsets);
        return jl_lua_raise(L);
    }
    jl_lua_push(L, one_based);
    return 1 + jl_lua_push(L, edge_offsets);
}

/* jl.segment_ids(offsets (S+1)) → (E) i64, the 1-based segment of every row */
static int l_segment_ids(lua_State *L)
{
    jl_tensor *ids = jl_segment_ids(jl_lua_check(L, 1));
    if (!ids) return jl_lua_raise(L);
    jl_tensor *one_based = jl_affine(ids, 1, 1);
    jl_release(ids);
    return jl_lua_push(L, one_based);
}

#define SEGMENT(name)                                                                \
    static int l_##name(lua_State *L)                                                \
    {                                                                                \
        return jl_lua_push(L, jl_##name(jl_lua_check(L, 1), jl_lua_check(L, 2)));    \
    }
SEGMENT(segment_sum)
SEGMENT(segment_mean)
SEGMENT(segment_max)
#undef SEGMENT

static const luaL_Reg graph_functions[] = {
    {"knn", l_knn},
    {"segment_ids", l_segment_ids},
    {"segment_sum", l_segment_sum},
    {"segment_mean", l_segment_mean},
    {"segment_max", l_segment_max},
    {NULL, NULL},
};

/* jl.edge_gather, jl.batch_norm_relu, jl.edges_by_dst (lua_edgeconv.c). */
void jl_lua_open_edgeconv(lua_State *L, int module, int methods);

void jl_lua_open_graph(lua_State *L, int module, int methods)
{
    (void)methods;
    jl_lua_setfuncs(L, module, graph_functions);
    jl_lua_open_edgeconv(L, module, methods);
}
