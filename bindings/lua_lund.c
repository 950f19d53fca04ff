/* lua_lund.c — jl.lund: Lund-plane declustering (core/physics/jl_lund.h) from Lua.
 *
 *   local f = assert(jl.io.open_jets("train.h5"))
 *   local g = jl.lund.graphs(f:read(1, 256), {features = 5, ln_kt_min = -1})
 *   -- g.x (N, 5) f32, g.offsets (B+1), g.src, g.dst (E), g.edge_offsets (N+1),
 *   -- g.parent (N), g.n_constituents (B)
 *   local g2 = jl.lund.graphs(p4, offsets)            -- ragged (N, 4) px py pz E + (B+1) offsets
 *   local nodes = jl.lund.jet(particles)              -- one jet, (n, 4) px py pz E
 *   print(nodes[1].parent, nodes[1].ln_z, nodes[1].ln_delta, nodes[1].psi, nodes[1].ln_m, nodes[1].ln_kt)
 *   local jets = assert(jl.lund.events("events.dat", {r = 1.0, ptmin = 500}))
 *   print(jets[1].event, jets[1].pt, jets[1].m, jets[1].n, #jets[1].nodes)
 *
 * Index conventions (1-based in Lua): offsets and edge_offsets are cumulative
 * counts as in jl.knn (jet b owns nodes offsets[b]+1 .. offsets[b+1]); src,
 * dst and parent are 1-based global node rows, parent 0 for a jet's root;
 * a node table's parent is its 1-based position in the jet's list, 0 for the
 * root. Node order, features and the ln kt cut are those of core/physics/jl_lund.h.
 * Options: features = 5 (default) | 3 (graphs only), ln_kt_min = number (no
 * cut when absent); events also takes r = 1.0 and ptmin = 0 (anti-kt jets,
 * as jl.physics.cluster_file). events returns nil, message when the file is
 * missing or malformed; everything else that is wrong is a Lua error.
 */
#include <math.h>
#include <string.h>

#include "jl_jets.h"
#include "jl_lund.h"
#include "lua_args.h"
#include "lua_module.h"

#define EVENTS_MT "jetlab.lund.events"

_Static_assert(sizeof(jl_p4) == 4 * sizeof(double), "jl_p4 is four packed doubles");

/* --- options --------------------------------------------------------------- */

/* Reads the options table at arg (absent or nil: defaults). jetdef non-NULL
 * also accepts r and ptmin (anti-kt jets for events). */
static jl_lund_opts check_opts(lua_State *L, int arg, jl_jetdef *jetdef)
{
    jl_lund_opts o = {.features = 5};
    if (jetdef)
        *jetdef = (jl_jetdef){.p = JL_ANTIKT, .r = 1.0, .ptmin = 0.0};
    if (lua_isnoneornil(L, arg))
        return o;
    luaL_checktype(L, arg, LUA_TTABLE);
    lua_pushnil(L);
    while (lua_next(L, arg)) {
        const char *key = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "";
        int is_number = lua_type(L, -1) == LUA_TNUMBER;
        double v = lua_tonumber(L, -1);
        const char *bad = NULL;
        if (strcmp(key, "features") == 0 && !jetdef) {
            if (!lua_isinteger(L, -1) || (v != 5 && v != 3))
                bad = "option 'features' must be 5 or 3";
            o.features = (int)v;
        } else if (strcmp(key, "ln_kt_min") == 0) {
            if (!is_number || v != v)
                bad = "option 'ln_kt_min' must be a number";
            o.kt_cut = true;
            o.ln_kt_min = v;
        } else if (jetdef && strcmp(key, "r") == 0) {
            if (!is_number || !(v > 0) || v == HUGE_VAL)
                bad = "option 'r' must be a finite number > 0";
            jetdef->r = v;
        } else if (jetdef && strcmp(key, "ptmin") == 0) {
            if (!is_number || !(v >= 0) || v == HUGE_VAL)
                bad = "option 'ptmin' must be a finite number >= 0";
            jetdef->ptmin = v;
        } else {
            lua_pop(L, 1);
            luaL_argerror(L, arg,
                          lua_pushfstring(L, "unknown option '%s' (expected %s)",
                                          luaL_tolstring(L, -1, NULL),
                                          jetdef ? "r, ptmin, ln_kt_min" : "features, ln_kt_min"));
        }
        if (bad)
            luaL_argerror(L, arg, lua_pushfstring(L, "%s, got %s", bad, luaL_tolstring(L, -1, NULL)));
        lua_pop(L, 1);
    }
    return o;
}

/* --- results --------------------------------------------------------------- */

/* Pushes the list of n nodes (parents 1-based, 0 for the root). */
static void push_nodes(lua_State *L, const jl_lund_node *nodes, int n)
{
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_createtable(L, 0, 6);
        lua_pushinteger(L, nodes[i].parent + 1);
        lua_setfield(L, -2, "parent");
        jl_lua_set_number(L, "ln_z", nodes[i].ln_z);
        jl_lua_set_number(L, "ln_delta", nodes[i].ln_delta);
        jl_lua_set_number(L, "psi", nodes[i].psi);
        jl_lua_set_number(L, "ln_m", nodes[i].ln_m);
        jl_lua_set_number(L, "ln_kt", nodes[i].ln_kt);
        lua_rawseti(L, -2, i + 1);
    }
}

/* Sets field key of the table on top to t (steals); shift 1 turns 0-based
 * indices into 1-based ones. */
static void set_tensor(lua_State *L, const char *key, jl_tensor *t, int shift)
{
    jl_lua_push(L, t);
    if (shift) {
        jl_lua_push(L, jl_affine(t, 1, shift));
        lua_remove(L, -2);
    }
    lua_setfield(L, -2, key);
}

/* (n, 4) px py pz E tensor at arg → n four-vectors in GC-managed scratch (pushed). */
static jl_p4 *check_p4(lua_State *L, int arg, int64_t *n)
{
    jl_tensor *t = jl_lua_check(L, arg);
    if (t->ndim != 2 || t->shape[1] != 4)
        luaL_argerror(L, arg, lua_pushfstring(L, "particles must be (n, 4) px py pz E, got %s",
                                              jl_shape_str(t)));
    *n = t->shape[0];
    jl_p4 *p = jl_lua_scratch(L, (size_t)(*n > 0 ? *n : 1) * sizeof *p);
    if (jl_to_doubles(t, (double *)p)) /* jl_p4 is four packed doubles */
        jl_lua_raise(L);
    return p;
}

/* --- functions ------------------------------------------------------------- */

/* jl.lund.graphs(batch | p4 (N, 4), offsets (B+1)[, opts]) → graph table */
static int l_graphs(lua_State *L)
{
    jl_lund_graphs g;
    int rc;
    lua_settop(L, 3); /* scratch pushed below must not take an absent argument's place */
    if (lua_istable(L, 1) && !jl_lua_test(L, 1)) {
        jl_lund_opts o = check_opts(L, 2, NULL);
        jl_tensor *cols[4];
        static const char *const names[4] = {"pt", "eta", "phi", "E"};
        for (int k = 0; k < 4; k++) {
            lua_getfield(L, 1, names[k]);
            cols[k] = jl_lua_test(L, -1);
            if (!cols[k])
                luaL_argerror(L, 1, lua_pushfstring(L, "batch.%s must be a tensor", names[k]));
            lua_pop(L, 1); /* still referenced by the batch table */
        }
        rc = jl_lund_graphs_atlas(cols[0], cols[1], cols[2], cols[3], &o, &g);
    } else {
        int64_t n;
        jl_p4 *p = check_p4(L, 1, &n);
        jl_tensor *off = jl_lua_check(L, 2);
        jl_lund_opts o = check_opts(L, 3, NULL);
        if (off->ndim != 1 || off->shape[0] < 1 || (off->dtype != JL_I64 && off->dtype != JL_I32))
            luaL_argerror(L, 2, lua_pushfstring(L, "offsets must be (B+1) i64 or i32, got %s %s",
                                                jl_dtype_name(off->dtype), jl_shape_str(off)));
        int64_t B = off->shape[0] - 1;
        double *d = jl_lua_scratch(L, (size_t)(B + 1) * sizeof *d);
        int64_t *offsets = jl_lua_scratch(L, (size_t)(B + 1) * sizeof *offsets);
        if (jl_to_doubles(off, d))
            jl_lua_raise(L);
        for (int64_t b = 0; b <= B; b++)
            offsets[b] = (int64_t)d[b];
        if (offsets[B] != n)
            luaL_argerror(L, 2, lua_pushfstring(L, "offsets end at %I but particles has %I rows",
                                                (lua_Integer)offsets[B], (lua_Integer)n));
        rc = jl_lund_graphs_ragged(p, offsets, B, &o, &g);
    }
    if (rc != JL_OK)
        return jl_lua_raise(L);
    lua_createtable(L, 0, 7);
    set_tensor(L, "x", g.x, 0);
    set_tensor(L, "offsets", g.offsets, 0);
    set_tensor(L, "edge_offsets", g.edge_offsets, 0);
    set_tensor(L, "n_constituents", g.n_constituents, 0);
    set_tensor(L, "src", g.src, 1);
    set_tensor(L, "dst", g.dst, 1);
    set_tensor(L, "parent", g.parent, 1);
    return 1;
}

/* jl.lund.jet(particles (n, 4) px py pz E[, opts]) → nodes */
static int l_jet(lua_State *L)
{
    int64_t n;
    lua_settop(L, 2);
    jl_lund_opts o = check_opts(L, 2, NULL);
    jl_p4 *p = check_p4(L, 1, &n);
    jl_lund_node *nodes = jl_lua_scratch(L, (size_t)(n > 1 ? n : 1) * sizeof *nodes);
    int count = jl_lund_decluster(p, n, &o, nodes);
    if (count < 0)
        return jl_lua_raise(L);
    push_nodes(L, nodes, count);
    return 1;
}

/* The event file and the current clustering of jl.lund.events, freed at
 * collection when a Lua error interrupts the loop. */
typedef struct events_box {
    jl_events *ev;
    jl_cluster *c;
} events_box;

static int events_gc(lua_State *L)
{
    events_box *b = luaL_checkudata(L, 1, EVENTS_MT);
    jl_cluster_free(b->c);
    jl_events_free(b->ev);
    b->c = NULL;
    b->ev = NULL;
    return 0;
}

/* jl.lund.events(path[, {r=, ptmin=, ln_kt_min=}]) → jets with nodes, or nil, message */
static int l_events(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    jl_jetdef def;
    lua_settop(L, 2);
    jl_lund_opts o = check_opts(L, 2, &def);
    events_box *box = lua_newuserdatauv(L, sizeof *box, 0);
    *box = (events_box){0};
    luaL_setmetatable(L, EVENTS_MT);
    box->ev = jl_events_read(path);
    if (!box->ev) {
        if (jl_last_error_code() != JL_EIO)
            return jl_lua_raise(L);
        lua_pushnil(L);
        lua_pushstring(L, jl_last_error());
        return 2;
    }
    const jl_events *ev = box->ev;
    int64_t most = 1;
    for (int64_t e = 0; e < ev->count; e++)
        if (ev->offsets[e + 1] - ev->offsets[e] > most)
            most = ev->offsets[e + 1] - ev->offsets[e];
    jl_p4 *cons = jl_lua_scratch(L, (size_t)most * sizeof *cons);
    jl_lund_node *nodes = jl_lua_scratch(L, (size_t)most * sizeof *nodes);
    lua_newtable(L);
    lua_Integer count = 0;
    for (int64_t e = 0; e < ev->count; e++) {
        if (jl_lua_interrupted)
            luaL_error(L, "interrupted");
        const jl_p4 *p = ev->p + ev->offsets[e];
        box->c = jl_cluster_run(p, ev->offsets[e + 1] - ev->offsets[e], &def);
        if (!box->c)
            return jl_lua_raise(L);
        for (int j = 0; j < box->c->n_jets; j++) {
            const jl_jet *jet = &box->c->jets[j];
            for (int i = 0; i < jet->n; i++)
                cons[i] = p[jet->constituents[i]];
            int n_nodes = jl_lund_decluster(cons, jet->n, &o, nodes);
            if (n_nodes < 0)
                return jl_lua_raise(L);
            lua_createtable(L, 0, 8);
            lua_pushinteger(L, (lua_Integer)e + 1);
            lua_setfield(L, -2, "event");
            jl_lua_set_number(L, "pt", jet->pt);
            jl_lua_set_number(L, "eta", jet->eta);
            jl_lua_set_number(L, "phi", jet->phi);
            jl_lua_set_number(L, "m", jet->m);
            lua_pushinteger(L, jet->n);
            lua_setfield(L, -2, "n");
            push_nodes(L, nodes, n_nodes);
            lua_setfield(L, -2, "nodes");
            lua_rawseti(L, -2, ++count);
        }
        jl_cluster_free(box->c);
        box->c = NULL;
    }
    jl_events_free(box->ev);
    box->ev = NULL;
    return 1;
}

static const luaL_Reg lund_functions[] = {
    {"graphs", l_graphs},
    {"jet", l_jet},
    {"events", l_events},
    {NULL, NULL},
};

void jl_lua_open_lund(lua_State *L, int module, int methods)
{
    (void)methods;
    if (luaL_newmetatable(L, EVENTS_MT)) {
        lua_pushcfunction(L, events_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_pop(L, 1);
    lua_newtable(L);
    jl_lua_setfuncs(L, lua_gettop(L), lund_functions);
    lua_setfield(L, module, "lund");
}
