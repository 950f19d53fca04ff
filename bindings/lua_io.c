/* lua_io.c — jl.io: jets files in HDF5 (core/io/jl_h5.h), the ATLAS layout
 * (read, write) and the PyTables Top Quark Tagging Reference Dataset (read).
 *
 *   local f = assert(jl.io.open_jets("train.h5", {max_constituents = 80}))
 *   print(f:count(), f:columns(), f:format(), f:weights_name())
 *   local b = assert(f:read(1, 1024))   -- jets 1..1024 (1-based start, count)
 *   print(b.pt.shape, b.labels.dtype, b.weights_name)   --> {1024, 80}  i64  training_weights
 *   f:close()
 *
 *   assert(jl.io.write_jets("out.h5", b))               -- one batch
 *   local w <close> = assert(jl.io.jets_writer("big.h5")) -- many batches
 *   w:write(b); w:write(b2)                                -- committed when w closes
 *
 * A batch is {pt=, eta=, phi=, E= (n, C) f32 GeV, jet_pt=, jet_eta=, jet_phi=,
 * jet_m= (n) f32 GeV, labels= (n) i64, weights= (n) f32, weights_name=
 * "training_weights" | "weights" | nil}; constituents sorted by decreasing pT,
 * padding pt == 0. To write, weights may be absent (all 1) and any dtype goes.
 * I/O failures (missing file or dataset, not HDF5, unavailable filter) return
 * nil, message; bad arguments (a range outside the file, a wrong shape) are
 * Lua errors. A writer collected or closed by an error without :close()
 * leaves no file behind; readers close at collection or with <close>.
 */
#include <string.h>

#include "jl_h5.h"
#include "lua_args.h"
#include "lua_module.h"

#define READER_MT "jetlab.io.JetsReader"
#define WRITER_MT "jetlab.io.JetsWriter"
#define BATCH_MT "jetlab.io.batch"

typedef struct {
    jl_h5_reader *r; /* NULL once closed */
} lreader;

typedef struct {
    jl_h5_writer *w; /* NULL once closed or discarded */
} lwriter;

static const char *const batch_fields[] = {"pt",     "eta",     "phi",   "E",      "jet_pt",
                                           "jet_eta", "jet_phi", "jet_m", "labels", "weights"};
#define N_FIELDS 10

static jl_tensor **batch_slot(jl_h5_jets *j, int k)
{
    jl_tensor **slots[N_FIELDS] = {&j->pt,     &j->eta,     &j->phi,   &j->E,      &j->jet_pt,
                                   &j->jet_eta, &j->jet_phi, &j->jet_m, &j->labels, &j->weights};
    return slots[k];
}

/* A core status after an I/O call: JL_EIO pushes nil, message (returns 2);
 * anything else is raised as a Lua error. */
static int io_fail(lua_State *L)
{
    if (jl_last_error_code() != JL_EIO) return jl_lua_raise(L);
    lua_pushnil(L);
    lua_pushstring(L, jl_last_error());
    return 2;
}

/* ------------------------------------------------------------------ reader */

static lreader *check_reader(lua_State *L) { return jl_lua_check_handle(L, 1, READER_MT, "jets reader"); }

/* jl.io.open_jets(path[, {max_constituents = 200}]) → reader | nil, message */
static int l_open_jets(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    lua_Integer maxc = JL_H5_ATLAS_COLUMNS;
    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        lua_pushnil(L);
        while (lua_next(L, 2)) {
            lua_pop(L, 1);
            if (lua_type(L, -1) != LUA_TSTRING || strcmp(lua_tostring(L, -1), "max_constituents") != 0)
                luaL_argerror(L, 2, lua_pushfstring(L, "unknown option '%s' (expected max_constituents)",
                                                    luaL_tolstring(L, -1, NULL)));
        }
        lua_getfield(L, 2, "max_constituents");
        if (!lua_isnil(L, -1)) {
            if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1)
                luaL_argerror(L, 2, "max_constituents must be an integer >= 1");
            maxc = lua_tointeger(L, -1);
        }
        lua_pop(L, 1);
    }
    lreader *u = lua_newuserdatauv(L, sizeof *u, 0);
    u->r = NULL;
    luaL_setmetatable(L, READER_MT);
    u->r = jl_h5_open(path, (int64_t)maxc);
    if (!u->r) return io_fail(L);
    return 1;
}

static int reader_count(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)jl_h5_count(check_reader(L)->r));
    return 1;
}

static int reader_columns(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)jl_h5_columns(check_reader(L)->r));
    return 1;
}

static int reader_format(lua_State *L)
{
    lua_pushstring(L, jl_h5_format_name(jl_h5_format_of(check_reader(L)->r)));
    return 1;
}

static int reader_weights_name(lua_State *L)
{
    const char *name = jl_h5_weights_name(check_reader(L)->r);
    if (name) lua_pushstring(L, name);
    else lua_pushnil(L);
    return 1;
}

static int reader_path(lua_State *L)
{
    lua_pushstring(L, jl_h5_path(check_reader(L)->r));
    return 1;
}

/* The batch box's __gc: releases what was not handed to Lua yet. */
static int batch_gc(lua_State *L)
{
    jl_h5_jets_free(luaL_checkudata(L, 1, BATCH_MT));
    return 0;
}

/* reader:read([start = 1[, count = the rest]]) → batch | nil, message */
static int reader_read(lua_State *L)
{
    jl_h5_reader *r = check_reader(L)->r;
    int64_t n = jl_h5_count(r);
    lua_Integer start = luaL_optinteger(L, 2, 1);
    luaL_argcheck(L, start >= 1 && start <= n + 1, 2,
                  lua_pushfstring(L, "start %I outside 1..%I", start, (lua_Integer)n + 1));
    lua_Integer count = luaL_optinteger(L, 3, n - start + 1);
    luaL_argcheck(L, count >= 0 && count <= n - start + 1, 3,
                  lua_pushfstring(L, "jets %I..%I outside the file's %I jets", start, start + count - 1,
                                  (lua_Integer)n));
    jl_h5_jets *box = lua_newuserdatauv(L, sizeof *box, 0);
    memset(box, 0, sizeof *box);
    luaL_setmetatable(L, BATCH_MT);
    if (jl_h5_read(r, (int64_t)start - 1, (int64_t)count, box) != JL_OK) return io_fail(L);
    lua_createtable(L, 0, N_FIELDS + 1);
    for (int k = 0; k < N_FIELDS; k++) {
        jl_tensor **slot = batch_slot(box, k);
        jl_tensor *t = *slot;
        *slot = NULL;
        jl_lua_push(L, t);
        lua_setfield(L, -2, batch_fields[k]);
    }
    const char *wname = jl_h5_weights_name(r);
    if (wname) {
        lua_pushstring(L, wname);
        lua_setfield(L, -2, "weights_name");
    }
    return 1;
}

/* reader:close(), __gc, __close: idempotent. */
static int reader_close(lua_State *L)
{
    jl_h5_close(jl_lua_take_handle(L, 1, READER_MT));
    return 0;
}

static int reader_tostring(lua_State *L)
{
    lreader *u = luaL_checkudata(L, 1, READER_MT);
    if (!u->r) {
        lua_pushliteral(L, "JetsReader(closed)");
        return 1;
    }
    lua_pushfstring(L, "JetsReader(%s, %s, %I jets, %I constituents)", jl_h5_path(u->r),
                    jl_h5_format_name(jl_h5_format_of(u->r)), (lua_Integer)jl_h5_count(u->r),
                    (lua_Integer)jl_h5_columns(u->r));
    return 1;
}

/* ------------------------------------------------------------------ writer */

/* The batch table at arg as borrowed tensors (the table keeps them alive). */
static jl_h5_jets check_batch(lua_State *L, int arg)
{
    luaL_checktype(L, arg, LUA_TTABLE);
    jl_h5_jets j;
    memset(&j, 0, sizeof j);
    for (int k = 0; k < N_FIELDS; k++) {
        lua_getfield(L, arg, batch_fields[k]);
        jl_tensor *t = jl_lua_test(L, -1);
        if (!t && !(k == N_FIELDS - 1 && lua_isnil(L, -1)))
            luaL_argerror(L, arg, lua_pushfstring(L, "field '%s' must be a tensor, got %s", batch_fields[k],
                                                  luaL_typename(L, -1)));
        *batch_slot(&j, k) = t;
        lua_pop(L, 1);
    }
    return j;
}

/* A writer status: OK pushes true; JL_EIO nil, message; else a Lua error. */
static int write_status(lua_State *L, int rc)
{
    if (rc != JL_OK) return io_fail(L);
    lua_pushboolean(L, 1);
    return 1;
}

static lwriter *check_writer(lua_State *L) { return jl_lua_check_handle(L, 1, WRITER_MT, "jets writer"); }

/* jl.io.jets_writer(path) → writer | nil, message */
static int l_jets_writer(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    lwriter *u = lua_newuserdatauv(L, sizeof *u, 0);
    u->w = NULL;
    luaL_setmetatable(L, WRITER_MT);
    u->w = jl_h5_writer_open(path);
    if (!u->w) return io_fail(L);
    return 1;
}

/* writer:write(batch) → true | nil, message */
static int writer_write(lua_State *L)
{
    lwriter *u = check_writer(L);
    jl_h5_jets j = check_batch(L, 2);
    return write_status(L, jl_h5_writer_write(u->w, &j));
}

static int writer_count(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)jl_h5_writer_count(check_writer(L)->w));
    return 1;
}

/* writer:close() → true | nil, message: renames the file into place; a
 * second close does nothing and returns true. */
static int writer_close(lua_State *L)
{
    lwriter *u = luaL_checkudata(L, 1, WRITER_MT);
    jl_h5_writer *w = u->w;
    u->w = NULL;
    return write_status(L, w ? jl_h5_writer_close(w) : JL_OK);
}

/* writer:discard() and __gc: drop the temporary file, leave the path alone. */
static int writer_discard(lua_State *L)
{
    lwriter *u = luaL_checkudata(L, 1, WRITER_MT);
    jl_h5_writer_discard(u->w);
    u->w = NULL;
    return 0;
}

/* __close(w, err): commits on a normal exit, discards when leaving by an error. */
static int writer_close_var(lua_State *L)
{
    if (!lua_isnoneornil(L, 2)) return writer_discard(L);
    lwriter *u = luaL_checkudata(L, 1, WRITER_MT);
    jl_h5_writer *w = u->w;
    u->w = NULL;
    if (w && jl_h5_writer_close(w) != JL_OK) return jl_lua_raise(L);
    return 0;
}

static int writer_tostring(lua_State *L)
{
    lwriter *u = luaL_checkudata(L, 1, WRITER_MT);
    if (!u->w) lua_pushliteral(L, "JetsWriter(closed)");
    else lua_pushfstring(L, "JetsWriter(%I jets)", (lua_Integer)jl_h5_writer_count(u->w));
    return 1;
}

/* jl.io.write_jets(path, batch) → true | nil, message */
static int l_write_jets(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    jl_h5_jets j = check_batch(L, 2);
    return write_status(L, jl_h5_atlas_write(path, &j));
}

/* jl.io.sniff(path) → "atlas" | "pytables" | nil, message */
static int l_sniff(lua_State *L)
{
    jl_h5_format f = jl_h5_sniff(luaL_checkstring(L, 1));
    if (f == JL_H5_UNKNOWN) return io_fail(L);
    lua_pushstring(L, jl_h5_format_name(f));
    return 1;
}

/* ------------------------------------------------------------------ module */

static const luaL_Reg reader_methods[] = {
    {"count", reader_count},   {"columns", reader_columns}, {"format", reader_format},
    {"weights_name", reader_weights_name}, {"path", reader_path}, {"read", reader_read},
    {"close", reader_close},   {NULL, NULL},
};

static const luaL_Reg writer_methods[] = {
    {"write", writer_write}, {"count", writer_count}, {"close", writer_close},
    {"discard", writer_discard}, {NULL, NULL},
};

static const luaL_Reg io_functions[] = {
    {"open_jets", l_open_jets}, {"jets_writer", l_jets_writer}, {"write_jets", l_write_jets},
    {"sniff", l_sniff},         {NULL, NULL},
};

/* Creates metatable `name` with __index = methods and the given metamethods. */
void jl_lua_open_io(lua_State *L, int module, int methods)
{
    jl_lua_new_class(L, READER_MT, reader_methods, reader_close, reader_close, reader_tostring);
    jl_lua_new_class(L, WRITER_MT, writer_methods, writer_discard, writer_close_var, writer_tostring);
    luaL_newmetatable(L, BATCH_MT);
    lua_pushcfunction(L, batch_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);

    lua_newtable(L);
    jl_lua_setfuncs(L, lua_gettop(L), io_functions);
    lua_setfield(L, module, "io");
}
