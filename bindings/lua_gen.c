/* lua_gen.c — jl.gen: the built-in jet generator (core/gen/jl_gen.h).
 *
 *   local jets, s = jl.gen.jets{signal = "top", pt = {500, 600}, n = 2000, seed = 1}
 *   print(jets.pt.shape, jets.labels:sum():item())   --> {2000, 200}  1000
 *   print(s.signal.mass_peak, s.qcd.mult_median, s.auc, s.jets_per_second)
 *   local s2 = assert(jl.gen.write{signal = "w", pt = {500, 600}, n = 100000, path = "w500.h5"})
 *   local ref = assert(jl.gen.reference{pt = {900, 1500}})  -- fastjet-examples' Pythia jets
 *   for _, c in ipairs(jl.gen.checks({signal = "top", pt = {500, 600}}, s)) do
 *     print(c.name, c.value, c.lo, c.hi, c.pass)
 *   end
 *
 * Options (all optional but n, and path for write): signal = "top" (default)
 * | "w" | "none"; pt = {min, max} GeV (default {500, 600}); n = jets; seed = 1;
 * r = 1.0 (anti-kt radius); eta = 2.0 (|η| of the jet below); detector = true
 * (false: particle-level constituents); batch = 4096 (jets per batch). Unknown
 * keys are errors. Threads: jl.set_num_threads (the output does not depend on it).
 *
 * jets: the layout jl.io reads: pt, eta, phi, E (n, 200) f32 GeV sorted by
 * decreasing pT, zero-padded; jet_pt, jet_eta, jet_phi, jet_m (n) f32;
 * labels (n) i64 (1 signal, 0 QCD); weights (n) f32 ones; weights_name
 * "training_weights".
 * summary: {qcd = class, signal = class, auc =, window =, jets_per_second =,
 * seconds =, write_seconds =}, class = {n, mass_median, mass_peak,
 * mult_median, attempts}; NaN where a class is empty. jl.gen.summary(jets)
 * summarises any jets table of that layout (no attempts or timings there).
 * Bad options and generator errors are Lua errors; write's and reference's
 * file problems return nil, message.
 */
#include <math.h>
#include <string.h>

#include "jl_gen.h"
#include "lua_args.h"
#include "lua_module.h"

/* --- options ------------------------------------------------------------- */

typedef struct gen_opts {
    jl_gen_config cfg;
    int64_t n;
    const char *path;
    int leading;
} gen_opts;

enum { OPT_N = 1, OPT_PATH = 2, OPT_LEADING = 4 };

static double opt_number(lua_State *L, int arg, const char *key, double def)
{
    lua_getfield(L, arg, key);
    double v = def;
    if (!lua_isnil(L, -1)) {
        if (lua_type(L, -1) != LUA_TNUMBER)
            luaL_argerror(L, arg, lua_pushfstring(L, "option '%s' must be a number, got %s", key,
                                                  luaL_typename(L, -1)));
        v = lua_tonumber(L, -1);
    }
    lua_pop(L, 1);
    return v;
}

static lua_Integer opt_integer(lua_State *L, int arg, const char *key, lua_Integer def)
{
    lua_getfield(L, arg, key);
    lua_Integer v = def;
    if (!lua_isnil(L, -1)) {
        int ok = 0;
        v = lua_tointegerx(L, -1, &ok);
        if (!ok)
            luaL_argerror(L, arg, lua_pushfstring(L, "option '%s' must be an integer, got %s", key,
                                                  luaL_tolstring(L, -1, NULL)));
    }
    lua_pop(L, 1);
    return v;
}

/* Reads the options table at arg; `allowed` adds n, path or leading to the
 * generator's keys, `required` says which of them must be there. */
static gen_opts check_opts(lua_State *L, int arg, int allowed, int required)
{
    luaL_checktype(L, arg, LUA_TTABLE);
    static const char *const keys[] = {"signal", "pt", "seed", "r", "eta", "detector", "batch",
                                       "n", "path", "leading", NULL};
    static const int extra[] = {0, 0, 0, 0, 0, 0, 0, OPT_N, OPT_PATH, OPT_LEADING};
    lua_pushnil(L);
    while (lua_next(L, arg)) {
        lua_pop(L, 1);
        int known = 0;
        for (int i = 0; keys[i]; i++)
            known |= lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), keys[i]) == 0 &&
                     (!extra[i] || (allowed & extra[i]));
        if (!known)
            luaL_argerror(L, arg, lua_pushfstring(L, "unknown option '%s'", luaL_tolstring(L, -1, NULL)));
    }

    gen_opts o = {.n = 0, .path = NULL, .leading = 2};
    jl_gen_config_init(&o.cfg);
    lua_getfield(L, arg, "signal");
    if (!lua_isnil(L, -1)) {
        const char *name = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
        if (!name || !jl_gen_parse_signal(name, &o.cfg.signal))
            luaL_argerror(L, arg, lua_pushfstring(L, "option 'signal' must be \"top\", \"w\" or \"none\", got %s",
                                                  luaL_tolstring(L, -1, NULL)));
    }
    lua_pop(L, 1);
    lua_getfield(L, arg, "pt");
    if (!lua_isnil(L, -1)) {
        if (!lua_istable(L, -1) || luaL_len(L, -1) != 2)
            luaL_argerror(L, arg, "option 'pt' must be {min, max}");
        lua_rawgeti(L, -1, 1);
        lua_rawgeti(L, -2, 2);
        if (!lua_isnumber(L, -2) || !lua_isnumber(L, -1))
            luaL_argerror(L, arg, "option 'pt' must be {min, max} numbers");
        o.cfg.pt_min = lua_tonumber(L, -2);
        o.cfg.pt_max = lua_tonumber(L, -1);
        lua_pop(L, 2);
    }
    lua_pop(L, 1);
    o.cfg.seed = (uint64_t)opt_integer(L, arg, "seed", (lua_Integer)o.cfg.seed);
    o.cfg.r = opt_number(L, arg, "r", o.cfg.r);
    o.cfg.eta_max = opt_number(L, arg, "eta", o.cfg.eta_max);
    o.cfg.batch = (int64_t)opt_integer(L, arg, "batch", (lua_Integer)o.cfg.batch);
    lua_getfield(L, arg, "detector");
    if (!lua_isnil(L, -1)) {
        if (!lua_isboolean(L, -1)) luaL_argerror(L, arg, "option 'detector' must be a boolean");
        o.cfg.detector = lua_toboolean(L, -1);
    }
    lua_pop(L, 1);
    o.cfg.interrupt = &jl_lua_interrupted;
    if (jl_gen_config_check(&o.cfg)) luaL_argerror(L, arg, jl_last_error());

    if (allowed & OPT_N) {
        lua_getfield(L, arg, "n");
        int missing = lua_isnil(L, -1);
        lua_pop(L, 1);
        if (missing && (required & OPT_N)) luaL_argerror(L, arg, "option 'n' (number of jets) is required");
        o.n = (int64_t)opt_integer(L, arg, "n", 0);
        if (o.n < ((required & OPT_PATH) ? 1 : 0))
            luaL_argerror(L, arg, lua_pushfstring(L, "option 'n' must be >= %d, got %I",
                                                  (required & OPT_PATH) ? 1 : 0, (lua_Integer)o.n));
    }
    if (allowed & OPT_PATH) {
        lua_getfield(L, arg, "path");
        if (lua_type(L, -1) != LUA_TSTRING && !lua_isnil(L, -1))
            luaL_argerror(L, arg, "option 'path' must be a file name");
        if (lua_isnil(L, -1) && (required & OPT_PATH))
            luaL_argerror(L, arg, "option 'path' (a file name) is required");
        o.path = lua_tostring(L, -1);
        lua_pop(L, 1); /* the string stays alive in the options table */
    }
    if (allowed & OPT_LEADING) {
        o.leading = (int)opt_integer(L, arg, "leading", 2);
        if (o.leading < 1) luaL_argerror(L, arg, "option 'leading' must be >= 1");
    }
    return o;
}

/* --- results ------------------------------------------------------------- */

static void push_class(lua_State *L, const jl_gen_class *c, int with_attempts)
{
    lua_createtable(L, 0, 5);
    lua_pushinteger(L, (lua_Integer)c->n);
    lua_setfield(L, -2, "n");
    jl_lua_set_number(L, "mass_median", c->mass_median);
    jl_lua_set_number(L, "mass_peak", c->mass_peak);
    jl_lua_set_number(L, "mult_median", c->mult_median);
    if (with_attempts) jl_lua_set_number(L, "attempts", c->attempts);
}

/* Pushes the summary of st; timings only when the generator filled them. */
static void push_summary(lua_State *L, const jl_gen_stats *st, int generated)
{
    jl_gen_summary s;
    jl_gen_summarize(st, &s);
    lua_createtable(L, 0, 7);
    push_class(L, &s.cls[0], generated);
    lua_setfield(L, -2, "qcd");
    push_class(L, &s.cls[1], generated);
    lua_setfield(L, -2, "signal");
    jl_lua_set_number(L, "auc", s.auc);
    jl_lua_set_number(L, "window", s.window_centre);
    if (generated) {
        jl_lua_set_number(L, "jets_per_second", s.jets_per_second);
        jl_lua_set_number(L, "seconds", st->gen_seconds);
        jl_lua_set_number(L, "write_seconds", st->write_seconds);
    }
}

/* The stats as a full userdata, so that a Lua error frees them. */
static jl_gen_stats *push_stats(lua_State *L)
{
    jl_gen_stats *st = lua_newuserdatauv(L, sizeof *st, 0);
    memset(st, 0, sizeof *st);
    return st;
}

/* Raises the core error, "interrupted" for JL_EINTR. */
static int raise_gen(lua_State *L)
{
    if (jl_last_error_code() == JL_EINTR) return luaL_error(L, "interrupted");
    return jl_lua_raise(L);
}

static const char *const jets_fields[] = {"pt", "eta", "phi", "E", "jet_pt", "jet_eta",
                                          "jet_phi", "jet_m", "labels", "weights"};

/* Pushes the jets table; takes every tensor of j. */
static void push_jets(lua_State *L, jl_h5_jets *j)
{
    jl_tensor **slot[] = {&j->pt, &j->eta, &j->phi, &j->E, &j->jet_pt, &j->jet_eta,
                          &j->jet_phi, &j->jet_m, &j->labels, &j->weights};
    lua_createtable(L, 0, 11);
    for (int k = 0; k < 10; k++) {
        jl_tensor *t = *slot[k];
        *slot[k] = NULL;
        jl_lua_push(L, t);
        lua_setfield(L, -2, jets_fields[k]);
    }
    lua_pushliteral(L, "training_weights");
    lua_setfield(L, -2, "weights_name");
}

/* --- functions ----------------------------------------------------------- */

/* jl.gen.jets(opts) → jets, summary */
static int l_jets(lua_State *L)
{
    gen_opts o = check_opts(L, 1, OPT_N, OPT_N);
    jl_gen_stats *st = push_stats(L);
    jl_h5_jets j;
    if (jl_gen_jets(&o.cfg, o.n, &j, st) != JL_OK) return raise_gen(L);
    push_jets(L, &j);
    push_summary(L, st, 1);
    return 2;
}

/* jl.gen.write(opts with n, path) → summary, or nil, message */
static int l_write(lua_State *L)
{
    gen_opts o = check_opts(L, 1, OPT_N | OPT_PATH, OPT_N | OPT_PATH);
    jl_gen_stats *st = push_stats(L);
    if (jl_gen_write(&o.cfg, o.n, o.path, st) != JL_OK) {
        if (jl_last_error_code() != JL_EIO) return raise_gen(L);
        lua_pushnil(L);
        lua_pushstring(L, jl_last_error());
        return 2;
    }
    push_summary(L, st, 1);
    return 1;
}

/* The tensor field `key` of the jets table at arg, checked to be (n, ...) . */
static jl_tensor *jets_field(lua_State *L, int arg, const char *key, int ndim, int64_t n)
{
    lua_getfield(L, arg, key);
    jl_tensor *t = jl_lua_test(L, -1);
    if (!t || t->ndim != ndim || (n >= 0 && t->shape[0] != n))
        luaL_argerror(L, arg, lua_pushfstring(L, "jets.%s must be a %d-D tensor%s", key, ndim,
                                              n >= 0 ? " with one row per jet" : ""));
    lua_pop(L, 1); /* the table keeps it alive */
    return t;
}

/* jl.gen.summary(jets) → summary (classes by labels; multiplicity: pt > 0) */
static int l_summary(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    jl_tensor *m = jets_field(L, 1, "jet_m", 1, -1);
    int64_t n = m->shape[0];
    jl_tensor *labels = jets_field(L, 1, "labels", 1, n);
    jl_tensor *pt = jets_field(L, 1, "pt", 2, n);
    int64_t cols = pt->shape[1];
    double *mv = jl_lua_scratch(L, (size_t)(n > 0 ? n : 1) * sizeof *mv);
    double *lv = jl_lua_scratch(L, (size_t)(n > 0 ? n : 1) * sizeof *lv);
    double *pv = jl_lua_scratch(L, (size_t)(n * cols > 0 ? n * cols : 1) * sizeof *pv);
    if (jl_to_doubles(m, mv) || jl_to_doubles(labels, lv) || jl_to_doubles(pt, pv)) return jl_lua_raise(L);
    jl_gen_stats *st = push_stats(L);
    for (int64_t i = 0; i < n; i++) {
        int64_t mult = 0;
        for (int64_t c = 0; c < cols; c++) mult += pv[i * cols + c] > 0.0;
        jl_gen_stats_add(st, lv[i] != 0.0, mv[i], mult, 1);
    }
    push_summary(L, st, 0);
    return 1;
}

/* jl.gen.reference{path=, pt=, r=, eta=, leading=} → {n, mass_median, mult_median, path}, or nil,
 * message. path defaults to the Pythia events of fastjet-examples, leading to 2. */
static int l_reference(lua_State *L)
{
    if (lua_isnoneornil(L, 1)) {
        lua_settop(L, 0);
        lua_newtable(L);
    }
    gen_opts o = check_opts(L, 1, OPT_PATH | OPT_LEADING, 0);
    if (!o.path) o.path = JL_GEN_REFERENCE_FILE;
    jl_gen_class ref;
    if (jl_gen_reference(o.path, &o.cfg, o.leading, &ref) != JL_OK) {
        if (jl_last_error_code() != JL_EIO) return jl_lua_raise(L);
        lua_pushnil(L);
        lua_pushstring(L, jl_last_error());
        return 2;
    }
    push_class(L, &ref, 0);
    lua_pushnil(L);
    lua_setfield(L, -2, "mass_peak");
    lua_pushstring(L, o.path);
    lua_setfield(L, -2, "path");
    return 1;
}

/* A class table at arg (absent: returns 0). */
static int read_class(lua_State *L, int arg, jl_gen_class *c)
{
    if (lua_isnoneornil(L, arg)) return 0;
    luaL_checktype(L, arg, LUA_TTABLE);
    *c = (jl_gen_class){.n = (int64_t)opt_integer(L, arg, "n", 0),
                        .mass_median = opt_number(L, arg, "mass_median", NAN),
                        .mass_peak = opt_number(L, arg, "mass_peak", NAN),
                        .mult_median = opt_number(L, arg, "mult_median", NAN),
                        .attempts = opt_number(L, arg, "attempts", NAN)};
    return 1;
}

/* jl.gen.checks(opts, summary[, qcd_class, reference_class]) → {{name, value, lo, hi, pass}, ...} */
static int l_checks(lua_State *L)
{
    gen_opts o = check_opts(L, 1, OPT_N | OPT_PATH, 0);
    luaL_checktype(L, 2, LUA_TTABLE);
    jl_gen_summary s;
    lua_getfield(L, 2, "qcd");
    read_class(L, lua_gettop(L), &s.cls[0]);
    lua_getfield(L, 2, "signal");
    read_class(L, lua_gettop(L), &s.cls[1]);
    lua_pop(L, 2);
    s.auc = opt_number(L, 2, "auc", NAN);
    s.window_centre = opt_number(L, 2, "window", NAN);
    s.jets_per_second = NAN;
    jl_gen_class qcd, ref;
    int has_qcd = read_class(L, 3, &qcd), has_ref = read_class(L, 4, &ref);
    jl_gen_check c[8];
    int n = jl_gen_checks(&o.cfg, &s, has_qcd ? &qcd : NULL, has_ref ? &ref : NULL, c, 8);
    lua_createtable(L, n, 0);
    for (int k = 0; k < n; k++) {
        lua_createtable(L, 0, 5);
        lua_pushstring(L, c[k].name);
        lua_setfield(L, -2, "name");
        jl_lua_set_number(L, "value", c[k].value);
        jl_lua_set_number(L, "lo", c[k].lo);
        jl_lua_set_number(L, "hi", c[k].hi);
        lua_pushboolean(L, c[k].pass);
        lua_setfield(L, -2, "pass");
        lua_rawseti(L, -2, k + 1);
    }
    return 1;
}

static const luaL_Reg gen_functions[] = {
    {"jets", l_jets},
    {"write", l_write},
    {"summary", l_summary},
    {"reference", l_reference},
    {"checks", l_checks},
    {NULL, NULL},
};

void jl_lua_open_gen(lua_State *L, int module, int methods)
{
    (void)methods;
    lua_newtable(L);
    jl_lua_setfuncs(L, lua_gettop(L), gen_functions);
    lua_pushnumber(L, JL_GEN_CONTAINMENT);
    lua_setfield(L, -2, "containment");
    lua_setfield(L, module, "gen");
}
