/* lua_graph_plan.c — jl.graph_plan: graph inference plans (core/tensor/jl_graph_plan.h)
 * from Lua. nn.compile (stdlib/jetlab/nn/compile_lundnet.lua) builds them from a
 * LundNet with its BatchNorms folded; this is the raw form. Opened by jl_lua_open_plan.
 *
 *   local g = jl.graph_plan{features = 5, input = {scale, shift},
 *     blocks = {{centre = wc, neighbour = wn, bias = b, later = {{w2, b2}}, shortcut = {wsc, bsc}}, ...},
 *     -- a block {centre =, neighbour =, bias =, pass = true} is a message pass (jl_graph_plan_add_pass)
 *     fusion = {wf, bf}, fusion_affine = {scale, shift}, head = jl.plan(384, {...})}
 *   local probs = g(x, offsets, edge_offsets, nbr)   -- x (N, 5), nbr (E) 1-based -> (B, outputs)
 *   print(g.features, g.outputs, #g)                -- 5  2  6 (blocks)
 *
 * Weights are copied; the head plan is kept alive by the graph plan. */
#include <string.h>

#include "jl_graph_plan.h"
#include "lua_args.h"
#include "lua_module.h"

#define GRAPH_PLAN_MT "jetlab.GraphPlan"
#define MAX_LATER 16

typedef struct lgraph_plan {
    jl_graph_plan *g; /* owned */
} lgraph_plan;

/* The tensor at field key (at index i when key is NULL) of the table at idx; NULL when absent. */
static jl_tensor *field_tensor(lua_State *L, int idx, const char *key, lua_Integer i, const char *what)
{
    if (key) lua_getfield(L, idx, key);
    else lua_geti(L, idx, i);
    jl_tensor *t = lua_isnil(L, -1) ? NULL : jl_lua_test(L, -1);
    bool bad = !lua_isnil(L, -1) && !t;
    lua_pop(L, 1); /* the spec table keeps the tensor alive */
    if (bad) luaL_error(L, "jl.graph_plan: %s must be a tensor", what);
    return t;
}

/* The pair {w, b} at field key of the table at idx: pushes nothing; *w, *b or NULLs when absent. */
static bool field_pair(lua_State *L, int idx, const char *key, jl_tensor **w, jl_tensor **b, const char *what)
{
    *w = *b = NULL;
    int type = lua_getfield(L, idx, key);
    if (type == LUA_TNIL) {
        lua_pop(L, 1);
        return false;
    }
    if (type != LUA_TTABLE) luaL_error(L, "jl.graph_plan: %s must be a table {weight, bias}", what);
    int t = lua_gettop(L);
    *w = field_tensor(L, t, NULL, 1, what);
    *b = field_tensor(L, t, NULL, 2, what);
    lua_pop(L, 1);
    return true;
}

/* Adds block number k (1-based), the table at the stack top. */
static int add_block(lua_State *L, jl_graph_plan *g, int k)
{
    int t = lua_gettop(L);
    if (!lua_istable(L, t)) return luaL_error(L, "jl.graph_plan: block %d must be a table", k);
    jl_tensor *wc = field_tensor(L, t, "centre", 0, "a block's centre weight");
    jl_tensor *wn = field_tensor(L, t, "neighbour", 0, "a block's neighbour weight");
    jl_tensor *bias = field_tensor(L, t, "bias", 0, "a block's bias");
    lua_getfield(L, t, "pass");
    bool pass = lua_toboolean(L, -1);
    lua_pop(L, 1);
    if (pass) return jl_graph_plan_add_pass(g, wc, wn, bias);
    const jl_tensor *lw[MAX_LATER], *lb[MAX_LATER];
    int n_later = 0;
    if (lua_getfield(L, t, "later") == LUA_TTABLE) {
        lua_Integer n = luaL_len(L, -1);
        if (n > MAX_LATER) return luaL_error(L, "jl.graph_plan: block %d has %d later layers (at most %d)", k, (int)n,
                                             MAX_LATER);
        for (lua_Integer l = 1; l <= n; l++) {
            lua_geti(L, -1, l);
            if (!lua_istable(L, -1)) return luaL_error(L, "jl.graph_plan: block %d, later layer %d must be {w, b}", k, (int)l);
            lw[n_later] = field_tensor(L, lua_gettop(L), NULL, 1, "a later layer's weight");
            lb[n_later] = field_tensor(L, lua_gettop(L), NULL, 2, "a later layer's bias");
            n_later++;
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);
    jl_tensor *wsc, *bsc;
    field_pair(L, t, "shortcut", &wsc, &bsc, "a block's shortcut");
    return jl_graph_plan_add_block(g, wc, wn, bias, n_later, lw, lb, wsc, bsc);
}

/* jl.graph_plan(spec) → GraphPlan */
static int l_graph_plan(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_getfield(L, 1, "features");
    lua_Integer features = luaL_checkinteger(L, -1);
    lua_pop(L, 1);
    lua_getfield(L, 1, "head");
    jl_plan *head = *(jl_plan **)luaL_checkudata(L, -1, "jetlab.Plan");
    if (!head) return luaL_error(L, "jl.graph_plan: the head plan is closed");
    int head_idx = lua_gettop(L);
    lgraph_plan *u = lua_newuserdatauv(L, sizeof *u, 1);
    u->g = NULL;
    luaL_setmetatable(L, GRAPH_PLAN_MT);
    int ud = lua_gettop(L);
    lua_pushvalue(L, head_idx);
    lua_setiuservalue(L, ud, 1); /* the head lives as long as the graph plan */
    u->g = jl_graph_plan_new((int64_t)features);
    if (!u->g) return jl_lua_raise(L);
    jl_tensor *w, *b;
    if (field_pair(L, 1, "input", &w, &b, "input") && jl_graph_plan_set_input(u->g, w, b)) return jl_lua_raise(L);
    if (lua_getfield(L, 1, "blocks") != LUA_TTABLE) return luaL_error(L, "jl.graph_plan: blocks must be a list");
    lua_Integer n = luaL_len(L, -1);
    for (lua_Integer k = 1; k <= n; k++) {
        lua_geti(L, -1, k);
        if (add_block(L, u->g, (int)k)) return jl_lua_raise(L);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    jl_tensor *s, *t;
    field_pair(L, 1, "fusion", &w, &b, "fusion");
    field_pair(L, 1, "fusion_affine", &s, &t, "fusion_affine");
    if (jl_graph_plan_set_fusion(u->g, w, b, s, t, head)) return jl_lua_raise(L);
    lua_settop(L, ud);
    return 1;
}

static jl_graph_plan *check_graph_plan(lua_State *L)
{
    return ((lgraph_plan *)jl_lua_check_handle(L, 1, GRAPH_PLAN_MT, "graph plan"))->g;
}

/* g(x (N, F), offsets (B+1), edge_offsets (N+1), nbr (E) 1-based) → (B, outputs) */
static int l_call(lua_State *L)
{
    jl_graph_plan *g = check_graph_plan(L);
    jl_tensor *x = jl_lua_check(L, 2), *offsets = jl_lua_check(L, 3), *eoff = jl_lua_check(L, 4);
    jl_lua_push(L, jl_lua_check_rows(L, 5, "graph plan: nbr", x->ndim == 2 ? x->shape[0] : 0));
    return jl_lua_push(L, jl_graph_plan_run(g, x, offsets, eoff, jl_lua_check(L, -1)));
}

static int l_gc(lua_State *L)
{
    jl_graph_plan_free(jl_lua_take_handle(L, 1, GRAPH_PLAN_MT));
    return 0;
}

static int l_len(lua_State *L)
{
    lua_pushinteger(L, jl_graph_plan_blocks(check_graph_plan(L)));
    return 1;
}

static int l_index(lua_State *L)
{
    jl_graph_plan *g = check_graph_plan(L);
    const char *k = luaL_checkstring(L, 2);
    if (strcmp(k, "features") == 0) lua_pushinteger(L, jl_graph_plan_features(g));
    else if (strcmp(k, "outputs") == 0) lua_pushinteger(L, jl_graph_plan_outputs(g));
    else lua_pushnil(L);
    return 1;
}

static int l_tostring(lua_State *L)
{
    jl_graph_plan *g = check_graph_plan(L);
    lua_pushfstring(L, "GraphPlan(%d blocks: %d -> %d)", jl_graph_plan_blocks(g), (int)jl_graph_plan_features(g),
                    (int)jl_graph_plan_outputs(g));
    return 1;
}

static const luaL_Reg graph_plan_metamethods[] = {
    {"__call", l_call}, {"__gc", l_gc}, {"__close", l_gc}, {"__len", l_len},
    {"__index", l_index}, {"__tostring", l_tostring}, {NULL, NULL},
};

static const luaL_Reg graph_plan_functions[] = {{"graph_plan", l_graph_plan}, {NULL, NULL}};

void jl_lua_open_graph_plan(lua_State *L, int module)
{
    jl_lua_setfuncs(L, module, graph_plan_functions);
    luaL_newmetatable(L, GRAPH_PLAN_MT);
    jl_lua_setfuncs(L, lua_gettop(L), graph_plan_metamethods);
    lua_pop(L, 1);
}
