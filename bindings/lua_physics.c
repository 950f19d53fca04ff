/* lua_physics.c — jl.physics: event files and jet clustering (core/physics/jl_jets.h).
 *
 *   local events = assert(jl.physics.read_events("single-event.dat"))
 *   print(#events, events[1].shape[1])              -- events: (n, 4) f32 px py pz E
 *   local jets = jl.physics.cluster(events[1], {algo = "antikt", r = 0.4, ptmin = 20})
 *   print(jets[1].pt, jets[1].eta, jets[1].phi, jets[1].m, #jets[1].constituents)
 *   local all = assert(jl.physics.cluster_file("events.dat", {r = 1.0, ptmin = 500}))
 *   print(all[1].event)                             -- 1-based event number
 *
 * Options: algo = "antikt" (default) | "cambridge" | "kt" | "genkt" (needs p =),
 * r = 1.0 (default), ptmin = 0 (default: every inclusive jet, pt >= ptmin).
 * A jet is a table {pt, eta, phi, m, y, px, py, pz, E, n, constituents} with
 * 1-based constituent indices, ascending; cluster_file adds `event`. The file
 * readers return nil, message when the file is missing or malformed; bad
 * options are Lua errors naming the option. cluster_file clusters the exact
 * double-precision values of the file (the tensors of read_events are f32).
 */
#include <math.h>
#include <string.h>

#include "jl_jets.h"
#include "lua_args.h"
#include "lua_module.h"

#define JL_PHYSICS_BOX_MT "jetlab.physics.box"

/* A core object owned by a userdata, so that a Lua error while building the
 * result tables frees it at the next collection. */
typedef struct box {
    void *ptr;
    void (*free)(void *);
} box;

static int box_gc(lua_State *L)
{
    box *b = luaL_checkudata(L, 1, JL_PHYSICS_BOX_MT);
    if (b->ptr)
        b->free(b->ptr);
    b->ptr = NULL;
    return 0;
}

static void free_events(void *p) { jl_events_free(p); }
static void free_cluster(void *p) { jl_cluster_free(p); }

/* Pushes an empty box with its free function. */
static box *push_box(lua_State *L, void (*free_fn)(void *))
{
    box *b = lua_newuserdatauv(L, sizeof *b, 0);
    *b = (box){NULL, free_fn};
    luaL_setmetatable(L, JL_PHYSICS_BOX_MT);
    return b;
}

static void box_release(box *b)
{
    if (b->ptr)
        b->free(b->ptr);
    b->ptr = NULL;
}

/* Reads the event file at arg 1 into a box pushed on the stack; on failure
 * pushes nil, message and returns NULL (DESIGN rule 4: I/O failures are values). */
static jl_events *read_events(lua_State *L, box **out)
{
    const char *path = luaL_checkstring(L, 1);
    box *b = push_box(L, free_events);
    jl_events *ev = jl_events_read(path);
    if (!ev) {
        if (jl_last_error_code() != JL_EIO)
            jl_lua_raise(L);
        lua_pushnil(L);
        lua_pushstring(L, jl_last_error());
        return NULL;
    }
    b->ptr = ev;
    *out = b;
    return ev;
}

/* --- options --------------------------------------------------------------- */

static double opt_number(lua_State *L, int arg, const char *key, double def)
{
    lua_getfield(L, arg, key);
    double v = def;
    if (!lua_isnil(L, -1)) {
        if (lua_type(L, -1) != LUA_TNUMBER)
            luaL_argerror(L, arg,
                          lua_pushfstring(L, "option '%s' must be a number, got %s", key,
                                          luaL_typename(L, -1)));
        v = lua_tonumber(L, -1);
    }
    lua_pop(L, 1);
    return v;
}

/* The options table at arg (absent or nil: the defaults). */
static jl_jetdef check_jetdef(lua_State *L, int arg)
{
    jl_jetdef def = {.p = JL_ANTIKT, .r = 1.0, .ptmin = 0.0};
    if (lua_isnoneornil(L, arg))
        return def;
    luaL_checktype(L, arg, LUA_TTABLE);
    static const char *const keys[] = {"algo", "p", "r", "ptmin", NULL};
    lua_pushnil(L);
    while (lua_next(L, arg)) {
        lua_pop(L, 1);
        int known = 0;
        for (int i = 0; keys[i]; i++)
            known |= lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), keys[i]) == 0;
        if (!known)
            luaL_argerror(L, arg,
                          lua_pushfstring(L, "unknown option '%s' (expected algo, p, r, ptmin)",
                                          luaL_tolstring(L, -1, NULL)));
    }

    static const char *const algos[] = {"antikt", "cambridge", "kt", "genkt", NULL};
    static const double powers[] = {JL_ANTIKT, JL_CAMBRIDGE, JL_KT, 0.0};
    lua_getfield(L, arg, "algo");
    int algo = 0;
    if (!lua_isnil(L, -1)) {
        const char *name = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
        for (algo = 0; name && algos[algo] && strcmp(name, algos[algo]) != 0; algo++) {}
        if (!name || !algos[algo])
            luaL_argerror(L, arg,
                          lua_pushfstring(L, "option 'algo' must be antikt, cambridge, kt or "
                                             "genkt, got %s", luaL_tolstring(L, -1, NULL)));
    }
    lua_pop(L, 1);
    def.p = powers[algo];

    lua_getfield(L, arg, "p");
    int has_p = !lua_isnil(L, -1);
    lua_pop(L, 1);
    if (strcmp(algos[algo], "genkt") == 0) {
        if (!has_p)
            luaL_argerror(L, arg, "option 'p' is required with algo = \"genkt\"");
        def.p = opt_number(L, arg, "p", 0.0);
        if (!isfinite(def.p))
            luaL_argerror(L, arg, "option 'p' must be finite");
    } else if (has_p) {
        luaL_argerror(L, arg, "option 'p' is only for algo = \"genkt\"");
    }

    def.r = opt_number(L, arg, "r", def.r);
    if (!(def.r > 0) || !isfinite(def.r))
        luaL_argerror(L, arg, lua_pushfstring(L, "option 'r' must be a number > 0, got %f", def.r));
    def.ptmin = opt_number(L, arg, "ptmin", def.ptmin);
    if (!(def.ptmin >= 0) || !isfinite(def.ptmin))
        luaL_argerror(L, arg,
                      lua_pushfstring(L, "option 'ptmin' must be a number >= 0, got %f", def.ptmin));
    return def;
}

/* --- results --------------------------------------------------------------- */

static void set_number(lua_State *L, const char *key, double v)
{
    lua_pushnumber(L, v);
    lua_setfield(L, -2, key);
}

/* Appends c's jets to the array at index `list` (event > 0 adds an `event` field). */
static void push_jets(lua_State *L, int list, const jl_cluster *c, lua_Integer event)
{
    lua_Integer n = (lua_Integer)luaL_len(L, list);
    for (int j = 0; j < c->n_jets; j++) {
        const jl_jet *jet = &c->jets[j];
        lua_createtable(L, 0, event > 0 ? 12 : 11);
        if (event > 0) {
            lua_pushinteger(L, event);
            lua_setfield(L, -2, "event");
        }
        set_number(L, "pt", jet->pt);
        set_number(L, "eta", jet->eta);
        set_number(L, "phi", jet->phi);
        set_number(L, "m", jet->m);
        set_number(L, "y", jet->y);
        set_number(L, "px", jet->p.px);
        set_number(L, "py", jet->p.py);
        set_number(L, "pz", jet->p.pz);
        set_number(L, "E", jet->p.E);
        lua_pushinteger(L, jet->n);
        lua_setfield(L, -2, "n");
        lua_createtable(L, jet->n, 0);
        for (int i = 0; i < jet->n; i++) {
            lua_pushinteger(L, (lua_Integer)jet->constituents[i] + 1);
            lua_rawseti(L, -2, i + 1);
        }
        lua_setfield(L, -2, "constituents");
        lua_rawseti(L, list, ++n);
    }
}

/* Clusters n particles into the box b, appends the jets to `list`, frees the clustering. */
static void cluster_into(lua_State *L, box *b, int list, const jl_p4 *p, int64_t n,
                         const jl_jetdef *def, lua_Integer event)
{
    jl_cluster *c = jl_cluster_run(p, n, def);
    if (!c)
        jl_lua_raise(L);
    b->ptr = c;
    push_jets(L, list, c, event);
    box_release(b);
}

/* --- functions ------------------------------------------------------------- */

/* jl.physics.read_events(path) → {(n1, 4), (n2, 4), ...} f32 px py pz E, or nil, message */
static int l_read_events(lua_State *L)
{
    box *b;
    jl_events *ev = read_events(L, &b);
    if (!ev)
        return 2;
    lua_createtable(L, (int)(ev->count < 1 << 24 ? ev->count : 0), 0);
    for (int64_t e = 0; e < ev->count; e++) {
        int64_t first = ev->offsets[e], n = ev->offsets[e + 1] - first;
        float *f = jl_lua_scratch(L, (size_t)(n > 0 ? n : 1) * 4 * sizeof *f);
        for (int64_t i = 0; i < n; i++) {
            const jl_p4 *p = &ev->p[first + i];
            f[4 * i + 0] = (float)p->px;
            f[4 * i + 1] = (float)p->py;
            f[4 * i + 2] = (float)p->pz;
            f[4 * i + 3] = (float)p->E;
        }
        int64_t shape[2] = {n, 4};
        jl_lua_push(L, jl_from_host(JL_F32, 2, shape, f));
        lua_remove(L, -2); /* the scratch */
        lua_rawseti(L, -2, (lua_Integer)e + 1);
    }
    box_release(b);
    return 1;
}

/* jl.physics.cluster(particles (n, 4) px py pz E[, opts]) → jets */
static int l_cluster(lua_State *L)
{
    jl_tensor *t = jl_lua_check(L, 1);
    if (t->ndim != 2 || t->shape[1] != 4)
        luaL_argerror(L, 1, lua_pushfstring(L, "particles must be (n, 4) px py pz E, got %s",
                                            jl_shape_str(t)));
    jl_jetdef def = check_jetdef(L, 2);
    int64_t n = t->shape[0];
    double *d = jl_lua_scratch(L, (size_t)(n > 0 ? n : 1) * 4 * sizeof *d);
    jl_p4 *p = jl_lua_scratch(L, (size_t)(n > 0 ? n : 1) * sizeof *p);
    if (jl_to_doubles(t, d))
        jl_lua_raise(L);
    for (int64_t i = 0; i < n; i++)
        p[i] = (jl_p4){d[4 * i], d[4 * i + 1], d[4 * i + 2], d[4 * i + 3]};
    box *b = push_box(L, free_cluster);
    lua_newtable(L);
    cluster_into(L, b, lua_gettop(L), p, n, &def, 0);
    return 1;
}

/* jl.physics.cluster_file(path[, opts]) → jets of every event (with `event`), or nil, message */
static int l_cluster_file(lua_State *L)
{
    jl_jetdef def = check_jetdef(L, 2);
    box *eb;
    jl_events *ev = read_events(L, &eb);
    if (!ev)
        return 2;
    box *b = push_box(L, free_cluster);
    lua_newtable(L);
    int list = lua_gettop(L);
    for (int64_t e = 0; e < ev->count; e++) {
        if (jl_lua_interrupted)
            luaL_error(L, "interrupted");
        cluster_into(L, b, list, ev->p + ev->offsets[e], ev->offsets[e + 1] - ev->offsets[e],
                     &def, (lua_Integer)e + 1);
    }
    box_release(eb);
    return 1;
}

static const luaL_Reg physics_functions[] = {
    {"read_events", l_read_events},
    {"cluster", l_cluster},
    {"cluster_file", l_cluster_file},
    {NULL, NULL},
};

void jl_lua_open_physics(lua_State *L, int module, int methods)
{
    if (luaL_newmetatable(L, JL_PHYSICS_BOX_MT)) {
        lua_pushcfunction(L, box_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_pop(L, 1);
    lua_newtable(L);
    jl_lua_setfuncs(L, lua_gettop(L), physics_functions);
    lua_setfield(L, module, "physics");
}
