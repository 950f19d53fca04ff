/* lua_data.c — jl.data: features, degradation, standardisation moments,
 * splits and the streaming loader (core/data/jl_features.h, core/data/jl_loader.h).
 * stdlib/jetlab/data.lua builds the user-facing datasets on top of these.
 *
 *   local x = jl.data.features(pt, eta, phi, E, {max_constituents = 80})      -- (N, 80, 7)
 *   local xr, offsets, coords = jl.data.features(pt, eta, phi, E, {format = "ragged"})
 *   local parts = jl.data.split(n, {0.7, 0.15, 0.15}, 1)   -- 1-based jet numbers
 *   local l = assert(jl.data.loader("top.h5", {jets = parts[1], shuffle = true, format = "ragged"}))
 *   local b = l:next(256)     -- {n=, x=, offsets=, coords=, y=, w=, jets=} or nil at the end
 *   local s = l:next(256, rank, size)  -- that rank's jets of the batch, with n_global=, w_global=
 *   local c = jl.data.row_cache{jets = n, max_rows = 160, budget_bytes = 1 << 28, teacher = true, dir = run}
 *   jl.data.loader("top.h5", {..., cache = c})   -- later passes copy the prepared jets (jl_row_cache.h)
 *   c:stats()                 -- {jets=, memory_bytes=, spill_bytes=, budget_bytes=}
 *
 * Conventions: jet numbers (jets=, the batch's jets) are 1-based rows of the
 * file; y holds 1-based class indices (1 background, 2 signal); offsets are
 * cumulative counts (jet b owns rows offsets[b]+1 .. offsets[b+1]).
 * Options tables reject unknown keys. Degradation: a list of steps
 * {kind = "smear", E = sigma, pt = sigma, relative = true} or
 * {kind = "undersample", keep = n, mode = "hardest" | "random"}, with
 * `seed` (default 0). Standardisation: {mean = {7 numbers}, std = {7 numbers}}.
 * Opening failures (missing file or dataset, wrong rank, inconsistent lengths)
 * return nil, message; a failure while streaming (a read error, strict
 * mode's invalid jet) is a Lua error from :next.
 */
#include <math.h>
#include <string.h>

#include "jl_features.h"
#include "jl_loader.h"
#include "lua_args.h"
#include "lua_module.h"

#define LOADER_MT "jetlab.data.Loader"
#define BATCH_MT "jetlab.data.batch"
#define CACHE_MT "jetlab.data.RowCache"

typedef struct {
    jl_loader *l; /* NULL once closed */
} lloader;

typedef struct {
    jl_row_cache *c; /* NULL once closed */
    int users;       /* open loaders reading it (each holds it as its user value) */
} lcache;

/* --- options -------------------------------------------------------------- */

/* Raises on keys of the table at arg that are not in keys (NULL-terminated). */
static void check_keys(lua_State *L, int arg, const char *what, const char *const *keys)
{
    lua_pushnil(L);
    while (lua_next(L, arg)) {
        lua_pop(L, 1);
        bool known = false;
        if (lua_type(L, -1) == LUA_TSTRING)
            for (int i = 0; keys[i] && !known; i++) known = strcmp(lua_tostring(L, -1), keys[i]) == 0;
        else if (lua_isinteger(L, -1) && strcmp(keys[0], "[list]") == 0)
            known = true;
        if (!known)
            luaL_error(L, "%s: unknown option '%s'", what, luaL_tolstring(L, -1, NULL));
    }
}

/* Field `key` of the table at idx as a number, def when nil. */
static double field_number(lua_State *L, int idx, const char *what, const char *key, double def)
{
    double v = def;
    if (lua_getfield(L, idx, key) != LUA_TNIL) {
        if (lua_type(L, -1) != LUA_TNUMBER)
            luaL_error(L, "%s: option '%s' must be a number, got %s", what, key, luaL_typename(L, -1));
        v = lua_tonumber(L, -1);
    }
    lua_pop(L, 1);
    return v;
}

static int64_t field_integer(lua_State *L, int idx, const char *what, const char *key, int64_t def)
{
    int64_t v = def;
    if (lua_getfield(L, idx, key) != LUA_TNIL) {
        if (!lua_isinteger(L, -1))
            luaL_error(L, "%s: option '%s' must be an integer, got %s", what, key,
                       luaL_tolstring(L, -1, NULL));
        v = (int64_t)lua_tointeger(L, -1);
    }
    lua_pop(L, 1);
    return v;
}

static bool field_bool(lua_State *L, int idx, const char *what, const char *key, bool def)
{
    bool v = def;
    if (lua_getfield(L, idx, key) != LUA_TNIL) {
        if (!lua_isboolean(L, -1))
            luaL_error(L, "%s: option '%s' must be a boolean, got %s", what, key, luaL_typename(L, -1));
        v = lua_toboolean(L, -1);
    }
    lua_pop(L, 1);
    return v;
}

/* Field `key` as one of names (NULL-terminated): its index, def when nil. */
static int field_choice(lua_State *L, int idx, const char *what, const char *key,
                        const char *const *names, int def)
{
    int v = def;
    if (lua_getfield(L, idx, key) != LUA_TNIL) {
        const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
        for (v = 0; s && names[v] && strcmp(s, names[v]) != 0; v++) {}
        if (!s || !names[v])
            luaL_error(L, "%s: option '%s' must be \"%s\" or \"%s\", got %s", what, key, names[0],
                       names[1], luaL_tolstring(L, -1, NULL));
    }
    lua_pop(L, 1);
    return v;
}

/* A list of 7 numbers at field `key` of the table at idx. */
static void seven_numbers(lua_State *L, int idx, const char *what, const char *key, double *out)
{
    if (lua_getfield(L, idx, key) != LUA_TTABLE)
        luaL_error(L, "%s: '%s' must be a list of %d numbers", what, key, JL_FEATURES);
    if (luaL_len(L, -1) != JL_FEATURES)
        luaL_error(L, "%s: '%s' must hold %d numbers, got %d", what, key, JL_FEATURES, (int)luaL_len(L, -1));
    for (int k = 0; k < JL_FEATURES; k++) {
        if (lua_rawgeti(L, -1, k + 1) != LUA_TNUMBER)
            luaL_error(L, "%s: '%s'[%d] must be a number", what, key, k + 1);
        out[k] = lua_tonumber(L, -1);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

/* Field `key` (a {mean=, std=} table) into *s; false when nil. */
static bool field_standardize(lua_State *L, int idx, const char *key, jl_standardize *s)
{
    if (lua_getfield(L, idx, key) == LUA_TNIL) {
        lua_pop(L, 1);
        return false;
    }
    int t = lua_gettop(L);
    if (!lua_istable(L, t)) luaL_error(L, "%s must be a table {mean = {...}, std = {...}}", key);
    check_keys(L, t, key, (const char *const[]){"mean", "std", "count", NULL});
    seven_numbers(L, t, key, "mean", s->mean);
    seven_numbers(L, t, key, "std", s->std);
    for (int k = 0; k < JL_FEATURES; k++)
        if (!(s->std[k] > 0) || !isfinite(s->std[k]) || !isfinite(s->mean[k]))
            luaL_error(L, "%s: std[%d] must be finite and > 0 and mean[%d] finite", key, k + 1, k + 1);
    lua_pop(L, 1);
    return true;
}

/* The degradation spec at idx: {seed =, {kind = ...}, ...}. */
static void check_degrade(lua_State *L, int idx, jl_degrade *d)
{
    luaL_checktype(L, idx, LUA_TTABLE);
    check_keys(L, idx, "degrade", (const char *const[]){"[list]", "seed", NULL});
    memset(d, 0, sizeof *d);
    d->seed = (uint64_t)field_integer(L, idx, "degrade", "seed", 0);
    int n = (int)luaL_len(L, idx);
    if (n > JL_DEGRADE_MAX_STEPS) luaL_error(L, "degrade: at most %d steps, got %d", JL_DEGRADE_MAX_STEPS, n);
    for (int s = 0; s < n; s++) {
        lua_rawgeti(L, idx, s + 1);
        int t = lua_gettop(L);
        if (!lua_istable(L, t)) luaL_error(L, "degrade: step %d must be a table", s + 1);
        jl_degrade_step *st = &d->step[s];
        int kind = field_choice(L, t, "degrade", "kind", (const char *const[]){"smear", "undersample", NULL}, -1);
        if (kind == 0) {
            check_keys(L, t, "smear", (const char *const[]){"kind", "E", "pt", "relative", NULL});
            st->kind = JL_DEGRADE_SMEAR;
            st->sigma_E = field_number(L, t, "smear", "E", 0);
            st->sigma_pt = field_number(L, t, "smear", "pt", 0);
            st->relative = field_bool(L, t, "smear", "relative", true);
        } else if (kind == 1) {
            check_keys(L, t, "undersample", (const char *const[]){"kind", "keep", "mode", NULL});
            st->kind = JL_DEGRADE_UNDERSAMPLE;
            st->keep = field_integer(L, t, "undersample", "keep", 5);
            st->mode = field_choice(L, t, "undersample", "mode", (const char *const[]){"hardest", "random", NULL},
                                    0) ? JL_KEEP_RANDOM : JL_KEEP_HARDEST;
        } else {
            luaL_error(L, "degrade: step %d needs kind = \"smear\" or \"undersample\"", s + 1);
        }
        lua_pop(L, 1);
    }
    d->n_steps = n;
    if (jl_degrade_check(d) != JL_OK) jl_lua_raise(L);
}

/* A 1-D i64 tensor of 1-based jet numbers at idx, as 0-based values in
 * GC-managed scratch (pushed on the stack). */
static int64_t *check_jets(lua_State *L, int idx, const char *what, int64_t *n)
{
    jl_tensor *t = jl_lua_test(L, idx);
    if (!t || t->dtype != JL_I64 || t->ndim != 1)
        luaL_error(L, "%s: jets must be a 1-D i64 tensor of 1-based jet numbers", what);
    *n = t->shape[0];
    int64_t *v = jl_lua_scratch(L, (size_t)(*n > 0 ? *n : 1) * sizeof *v);
    double *d = jl_lua_scratch(L, (size_t)(*n > 0 ? *n : 1) * sizeof *d);
    if (jl_to_doubles(t, d)) jl_lua_raise(L);
    for (int64_t i = 0; i < *n; i++) {
        if (!(d[i] >= 1)) luaL_error(L, "%s: jet number %f at position %d is below 1", what, d[i], (int)i + 1);
        v[i] = (int64_t)d[i] - 1;
    }
    lua_pop(L, 1); /* the doubles; v stays on the stack */
    return v;
}

/* --- features, degradation, moments --------------------------------------- */

/* jl.data.features(pt, eta, phi, E[, {max_constituents=, standardize=, format="padded"|"ragged"}])
 *   → x (N, C, 7)  |  x (N_total, 7), offsets (N+1), coords (N_total, 2) */
static int l_features(lua_State *L)
{
    jl_tensor *in[4];
    for (int k = 0; k < 4; k++) in[k] = jl_lua_check(L, k + 1);
    jl_features_opts o = {0};
    jl_standardize s;
    int ragged = 0;
    if (!lua_isnoneornil(L, 5)) {
        luaL_checktype(L, 5, LUA_TTABLE);
        check_keys(L, 5, "features", (const char *const[]){"max_constituents", "standardize", "format", NULL});
        o.max_constituents = field_integer(L, 5, "features", "max_constituents", 0);
        if (field_standardize(L, 5, "standardize", &s)) o.standardize = &s;
        ragged = field_choice(L, 5, "features", "format", (const char *const[]){"padded", "ragged", NULL}, 0);
    }
    if (!ragged) return jl_lua_push(L, jl_atlas_features(in[0], in[1], in[2], in[3], &o));
    jl_tensor *x, *offsets, *coords;
    if (jl_atlas_features_ragged(in[0], in[1], in[2], in[3], &o, &x, &offsets, &coords) != JL_OK)
        return jl_lua_raise(L);
    jl_lua_push(L, x);
    jl_lua_push(L, offsets);
    jl_lua_push(L, coords);
    return 3;
}

/* jl.data.degrade(pt, eta, phi, E, jets, spec) → pt, eta, phi, E (degraded copies);
 * jets (N) i64 1-based jet numbers: the random keys, as in the loader. */
static int l_degrade(lua_State *L)
{
    jl_tensor *in[4];
    for (int k = 0; k < 4; k++) in[k] = jl_lua_check(L, k + 1);
    int64_t n;
    int64_t *jets = check_jets(L, 5, "degrade", &n);
    jl_degrade d;
    check_degrade(L, 6, &d);
    if (jl_jets_check_args("degrade", in[0], in[1], in[2], in[3]) != JL_OK) return jl_lua_raise(L);
    if (n != in[0]->shape[0]) luaL_error(L, "degrade: %d jet numbers for %d jets", (int)n, (int)in[0]->shape[0]);
    jl_tensor *keys = jl_from_host(JL_I64, 1, &n, jets);
    if (!keys) return jl_lua_raise(L);
    jl_tensor *out[4] = {NULL};
    int rc = JL_OK;
    for (int k = 0; k < 4 && rc == JL_OK; k++)
        if (!(out[k] = jl_clone(in[k]))) rc = jl_last_error_code();
    if (rc == JL_OK) rc = jl_degrade_apply(&d, out[0], out[1], out[2], out[3], keys, false);
    jl_release(keys);
    if (rc != JL_OK) {
        for (int k = 0; k < 4; k++) jl_release(out[k]);
        return jl_lua_raise(L);
    }
    for (int k = 0; k < 4; k++) jl_lua_push(L, out[k]);
    return 4;
}

static void push_numbers(lua_State *L, const double *v, const char *key)
{
    lua_createtable(L, JL_FEATURES, 0);
    for (int k = 0; k < JL_FEATURES; k++) {
        lua_pushnumber(L, v[k]);
        lua_rawseti(L, -2, k + 1);
    }
    lua_setfield(L, -2, key);
}

/* jl.data.moments(x (N_total, 7)[, acc]) → acc {count=, mean={7}, m2={7}} updated with x's rows */
static int l_moments(lua_State *L)
{
    jl_tensor *x = jl_lua_check(L, 1);
    jl_moments m = {0};
    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        m.count = field_integer(L, 2, "moments", "count", 0);
        seven_numbers(L, 2, "moments", "mean", m.mean);
        seven_numbers(L, 2, "moments", "m2", m.m2);
    }
    if (jl_moments_add(&m, x) != JL_OK) return jl_lua_raise(L);
    lua_createtable(L, 0, 3);
    lua_pushinteger(L, (lua_Integer)m.count);
    lua_setfield(L, -2, "count");
    push_numbers(L, m.mean, "mean");
    push_numbers(L, m.m2, "m2");
    return 1;
}

/* jl.data.standardize_from(acc) → {mean={7}, std={7}, count=} (sample std, floored at 1e-6) */
static int l_standardize_from(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    jl_moments m;
    m.count = field_integer(L, 1, "standardize_from", "count", 0);
    seven_numbers(L, 1, "standardize_from", "mean", m.mean);
    seven_numbers(L, 1, "standardize_from", "m2", m.m2);
    jl_standardize s;
    if (jl_moments_finish(&m, &s) != JL_OK) return jl_lua_raise(L);
    lua_createtable(L, 0, 3);
    push_numbers(L, s.mean, "mean");
    push_numbers(L, s.std, "std");
    lua_pushinteger(L, (lua_Integer)m.count);
    lua_setfield(L, -2, "count");
    return 1;
}

/* --- splits ---------------------------------------------------------------- */

/* jl.data.split(n, {f1, f2, ...}, seed) → {jets1, jets2, ...} i64 1-based, each in permutation order */
static int l_split(lua_State *L)
{
    lua_Integer n = luaL_checkinteger(L, 1);
    luaL_argcheck(L, n >= 0, 1, "n must be >= 0");
    luaL_checktype(L, 2, LUA_TTABLE);
    int parts = (int)luaL_len(L, 2);
    luaL_argcheck(L, parts >= 1 && parts <= 64, 2, "1 to 64 fractions expected");
    uint64_t seed = (uint64_t)luaL_optinteger(L, 3, 0);
    double *f = jl_lua_scratch(L, (size_t)parts * sizeof *f);
    jl_tensor **out = jl_lua_scratch(L, (size_t)parts * sizeof *out);
    for (int k = 0; k < parts; k++) {
        if (lua_rawgeti(L, 2, k + 1) != LUA_TNUMBER) luaL_argerror(L, 2, "fractions must be numbers");
        f[k] = lua_tonumber(L, -1);
        lua_pop(L, 1);
    }
    if (jl_split((int64_t)n, parts, f, seed, out) != JL_OK) return jl_lua_raise(L);
    for (int k = 0; k < parts; k++) {
        jl_tensor *one_based = jl_affine(out[k], 1, 1);
        jl_release(out[k]);
        out[k] = one_based;
    }
    lua_createtable(L, parts, 0);
    for (int k = 0; k < parts; k++) {
        if (!out[k]) {
            for (int q = k + 1; q < parts; q++) jl_release(out[q]);
            return jl_lua_raise(L);
        }
        jl_lua_push(L, out[k]);
        lua_rawseti(L, -2, k + 1);
    }
    return 1;
}

/* --- the loader -------------------------------------------------------------- */

static lloader *check_loader(lua_State *L) { return jl_lua_check_handle(L, 1, LOADER_MT, "loader"); }

static const char *const loader_keys[] = {
    "jets",    "max_constituents", "teacher_max_constituents", "chunk_size", "block_size",
    "shuffle", "seed",             "epoch",                    "degrade",    "standardize",
    "teacher_standardize", "teacher", "teacher_x", "strict", "drop_last", "prefetch", "format", "cache", NULL,
};

/* jl.data.loader(path, opts) → Loader | nil, message */
static int l_loader(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    jl_loader_opts o = {.path = path};
    jl_degrade d;
    jl_standardize st, tst;
    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        check_keys(L, 2, "loader", loader_keys);
        if (lua_getfield(L, 2, "jets") != LUA_TNIL) o.jets = check_jets(L, lua_gettop(L), "loader", &o.n_jets);
        /* the scratch of check_jets stays on the stack, under the jets value */
        o.max_constituents = field_integer(L, 2, "loader", "max_constituents", 0);
        o.teacher_max_constituents = field_integer(L, 2, "loader", "teacher_max_constituents", 0);
        o.chunk_jets = field_integer(L, 2, "loader", "chunk_size", 0);
        o.block_jets = field_integer(L, 2, "loader", "block_size", 0);
        o.shuffle = field_bool(L, 2, "loader", "shuffle", false);
        o.seed = (uint64_t)field_integer(L, 2, "loader", "seed", 0);
        o.epoch = (uint64_t)field_integer(L, 2, "loader", "epoch", 0);
        if (lua_getfield(L, 2, "degrade") != LUA_TNIL) {
            check_degrade(L, lua_gettop(L), &d);
            o.degrade = &d;
        }
        lua_pop(L, 1);
        if (field_standardize(L, 2, "standardize", &st)) o.standardize = &st;
        if (field_standardize(L, 2, "teacher_standardize", &tst)) o.teacher_standardize = &tst;
        o.teacher = field_bool(L, 2, "loader", "teacher", false);
        o.no_teacher_x = !field_bool(L, 2, "loader", "teacher_x", true);
        o.strict = field_bool(L, 2, "loader", "strict", false);
        o.drop_last = field_bool(L, 2, "loader", "drop_last", false);
        o.prefetch = (int)field_integer(L, 2, "loader", "prefetch", 1);
        if (o.prefetch == 0) o.prefetch = -1;
        o.layout = field_choice(L, 2, "loader", "format", (const char *const[]){"padded", "ragged", NULL}, 0)
                       ? JL_LAYOUT_RAGGED : JL_LAYOUT_PADDED;
    }
    lcache *cache = NULL;
    if (!lua_isnoneornil(L, 2) && lua_getfield(L, 2, "cache") != LUA_TNIL) {
        cache = jl_lua_check_handle(L, lua_gettop(L), CACHE_MT, "row cache");
        o.cache = cache->c;
    }
    int cache_idx = lua_gettop(L);
    lloader *u = lua_newuserdatauv(L, sizeof *u, 1);
    u->l = NULL;
    luaL_setmetatable(L, LOADER_MT);
    u->l = jl_loader_new(&o);
    if (u->l && cache) {
        lua_pushvalue(L, cache_idx); /* the cache lives while the loader does */
        lua_setiuservalue(L, -2, 1);
        cache->users++;
    }
    if (!u->l) {
        if (jl_last_error_code() != JL_EIO) return jl_lua_raise(L);
        lua_pushnil(L);
        lua_pushstring(L, jl_last_error());
        return 2;
    }
    return 1;
}

static int batch_gc(lua_State *L)
{
    jl_batch_free(luaL_checkudata(L, 1, BATCH_MT));
    return 0;
}

/* Moves *slot into field `key` of the table on top (nothing when NULL). */
static void set_tensor(lua_State *L, jl_tensor **slot, const char *key, bool one_based)
{
    jl_tensor *t = *slot;
    if (!t) return;
    if (one_based) {
        t = jl_affine(*slot, 1, 1);
        if (!t) jl_lua_raise(L);
        jl_release(*slot);
    }
    *slot = NULL;
    jl_lua_push(L, t);
    lua_setfield(L, -2, key);
}

/* loader:next(batch_size[, rank, size]) → {n=, x=, y=, w=, jets=, offsets=, coords=, x_teacher=, ...} | nil
 * at the end. With rank (0-based) and size: that rank's jets of the global batch
 * (jl_loader_next_rows), with n_global = and w_global = (n_global) too. */
static int loader_next(lua_State *L)
{
    jl_loader *l = check_loader(L)->l;
    lua_Integer bs = luaL_checkinteger(L, 2);
    luaL_argcheck(L, bs >= 1, 2, "batch_size must be >= 1");
    lua_Integer rank = luaL_optinteger(L, 3, 0), size = luaL_optinteger(L, 4, 1);
    luaL_argcheck(L, size >= 1, 4, "size must be >= 1");
    luaL_argcheck(L, rank >= 0 && rank < size, 3, "rank must be in [0, size)");
    jl_batch *b = lua_newuserdatauv(L, sizeof *b, 0);
    memset(b, 0, sizeof *b);
    luaL_setmetatable(L, BATCH_MT);
    int rc = jl_loader_next_rows(l, (int64_t)bs, (int64_t)rank, (int64_t)size, b);
    if (rc < 0) return jl_lua_raise(L);
    if (rc == 0) {
        lua_pushnil(L);
        return 1;
    }
    lua_createtable(L, 0, 10);
    lua_pushinteger(L, (lua_Integer)b->n);
    lua_setfield(L, -2, "n");
    set_tensor(L, &b->x, "x", false);
    set_tensor(L, &b->offsets, "offsets", false);
    set_tensor(L, &b->coords, "coords", false);
    set_tensor(L, &b->x_teacher, "x_teacher", false);
    set_tensor(L, &b->offsets_teacher, "offsets_teacher", false);
    set_tensor(L, &b->coords_teacher, "coords_teacher", false);
    set_tensor(L, &b->y, "y", true);
    set_tensor(L, &b->w, "w", false);
    set_tensor(L, &b->jets, "jets", true);
    if (size > 1) {
        lua_pushinteger(L, (lua_Integer)b->n_global);
        lua_setfield(L, -2, "n_global");
        set_tensor(L, &b->w_global, "w_global", false);
    }
    return 1;
}

/* loader:counts() → {jets=, invalid=, empty=} */
static int loader_counts(lua_State *L)
{
    jl_loader_counts c = jl_loader_counts_of(check_loader(L)->l);
    lua_createtable(L, 0, 3);
    lua_pushinteger(L, (lua_Integer)c.jets);
    lua_setfield(L, -2, "jets");
    lua_pushinteger(L, (lua_Integer)c.invalid);
    lua_setfield(L, -2, "invalid");
    lua_pushinteger(L, (lua_Integer)c.empty);
    lua_setfield(L, -2, "empty");
    return 1;
}

static int loader_size(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)jl_loader_size(check_loader(L)->l));
    return 1;
}

static int loader_prefetching(lua_State *L)
{
    lua_pushboolean(L, jl_loader_prefetching(check_loader(L)->l));
    return 1;
}

/* loader:close(), __gc, __close: stops the prefetch thread; idempotent. */
static int loader_close(lua_State *L)
{
    jl_loader *l = jl_lua_take_handle(L, 1, LOADER_MT);
    if (l && lua_getiuservalue(L, 1, 1) == LUA_TUSERDATA) {
        lcache *cache = luaL_checkudata(L, -1, CACHE_MT);
        cache->users--;
    }
    jl_loader_free(l);
    return 0;
}

/* --- the row cache ----------------------------------------------------------- */

/* jl.data.row_cache{jets =, max_rows =, budget_bytes =, teacher = false, dir = nil} → RowCache */
static int l_row_cache(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    check_keys(L, 1, "row_cache", (const char *const[]){"jets", "max_rows", "budget_bytes", "teacher", "dir", NULL});
    jl_row_cache_opts o = {
        .jets = field_integer(L, 1, "row_cache", "jets", -1),
        .max_rows = field_integer(L, 1, "row_cache", "max_rows", 0),
        .budget_bytes = field_integer(L, 1, "row_cache", "budget_bytes", -1),
        .teacher = field_bool(L, 1, "row_cache", "teacher", false),
    };
    if (lua_getfield(L, 1, "dir") != LUA_TNIL) o.spill_dir = luaL_checkstring(L, -1);
    lcache *u = lua_newuserdatauv(L, sizeof *u, 0);
    u->c = NULL;
    u->users = 0;
    luaL_setmetatable(L, CACHE_MT);
    u->c = jl_row_cache_new(&o);
    if (!u->c) return jl_lua_raise(L);
    return 1;
}

/* cache:stats() → {jets=, memory_bytes=, spill_bytes=, budget_bytes=}, nil once closed */
static int cache_stats(lua_State *L)
{
    lcache *u = luaL_checkudata(L, 1, CACHE_MT);
    if (!u->c) {
        lua_pushnil(L);
        return 1;
    }
    jl_row_cache_stats s = jl_row_cache_stats_of(u->c);
    lua_createtable(L, 0, 4);
    lua_pushinteger(L, (lua_Integer)s.jets);
    lua_setfield(L, -2, "jets");
    lua_pushinteger(L, (lua_Integer)s.memory_bytes);
    lua_setfield(L, -2, "memory_bytes");
    lua_pushinteger(L, (lua_Integer)s.spill_bytes);
    lua_setfield(L, -2, "spill_bytes");
    lua_pushinteger(L, (lua_Integer)s.budget_bytes);
    lua_setfield(L, -2, "budget_bytes");
    return 1;
}

/* cache:close(), __close: frees it (an error while a loader reads it); __gc: frees it. */
static int cache_close(lua_State *L)
{
    lcache *u = luaL_checkudata(L, 1, CACHE_MT);
    if (u->c && u->users > 0) luaL_error(L, "row cache: %d loader(s) still read it; close them first", u->users);
    jl_row_cache_free(jl_lua_take_handle(L, 1, CACHE_MT));
    return 0;
}

static int cache_gc(lua_State *L)
{
    jl_row_cache_free(jl_lua_take_handle(L, 1, CACHE_MT));
    return 0;
}

static int cache_tostring(lua_State *L)
{
    lcache *u = luaL_checkudata(L, 1, CACHE_MT);
    if (u->c) lua_pushfstring(L, "RowCache(%I jets stored)", (lua_Integer)jl_row_cache_stats_of(u->c).jets);
    else lua_pushliteral(L, "RowCache(closed)");
    return 1;
}

static const luaL_Reg cache_methods[] = {
    {"stats", cache_stats}, {"close", cache_close}, {NULL, NULL},
};

static int loader_tostring(lua_State *L)
{
    lloader *u = luaL_checkudata(L, 1, LOADER_MT);
    if (u->l) lua_pushfstring(L, "Loader(%I jets)", (lua_Integer)jl_loader_size(u->l));
    else lua_pushliteral(L, "Loader(closed)");
    return 1;
}

static const luaL_Reg loader_methods[] = {
    {"next", loader_next},   {"counts", loader_counts}, {"size", loader_size},
    {"prefetching", loader_prefetching}, {"close", loader_close}, {NULL, NULL},
};

static const luaL_Reg data_functions[] = {
    {"features", l_features}, {"degrade", l_degrade}, {"moments", l_moments},
    {"standardize_from", l_standardize_from}, {"split", l_split}, {"loader", l_loader},
    {"row_cache", l_row_cache}, {NULL, NULL},
};

void jl_lua_open_data(lua_State *L, int module, int methods)
{
    jl_lua_new_class(L, LOADER_MT, loader_methods, loader_close, loader_close, loader_tostring);
    jl_lua_new_class(L, CACHE_MT, cache_methods, cache_gc, cache_close, cache_tostring);
    luaL_newmetatable(L, BATCH_MT);
    lua_pushcfunction(L, batch_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);

    lua_newtable(L);
    jl_lua_setfuncs(L, lua_gettop(L), data_functions);
    lua_setfield(L, module, "data");
}
