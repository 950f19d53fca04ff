/* lua_h5_tensors.c — jl.h5tensors: named tensors and scalar attributes in an
 * HDF5 file (core/io/jl_h5_tensors.h), the layer under stdlib/jetlab/ckpt.lua.
 *
 *   assert(jl.h5tensors.save("w.h5", {{"/model/fc.weight", w}, {"/extra/mean", m}},
 *                            {{"/", "epoch", 3}, {"/", "config", "{lr=0.001}"}}))
 *   local f = assert(jl.h5tensors.load("w.h5"))
 *   for _, d in ipairs(f.datasets) do print(d[1], d[2].shape) end   -- name, tensor
 *   for _, a in ipairs(f.attrs) do print(a[1], a[2], a[3]) end      -- object, key, value
 *
 * save writes path.tmp and renames it over path (fsync'ed) only when every
 * write succeeded. Both return nil, message on I/O failures (DESIGN rule 4);
 * malformed arguments are Lua errors. Number attributes come back as integers
 * when they hold an integral value, as floats otherwise. load's optional second
 * argument names what the file should be, for messages ("checkpoint").
 */
#include <math.h>

#include "jl_h5_tensors.h"
#include "lua_args.h"
#include "lua_module.h"

#define JL_H5T_BOX_MT "jetlab.h5tensors.file"

typedef struct ds_arg {
    const char *name;
    jl_tensor *t;
} ds_arg;

typedef struct attr_arg {
    const char *object, *key, *string;
    double number;
} attr_arg;

/* Pushes t[i][j] and returns its type; the caller pops. */
static int get_item(lua_State *L, int table, lua_Integer i, int j)
{
    lua_geti(L, table, i);
    if (!lua_istable(L, -1)) luaL_error(L, "entry %d of argument #%d must be a table", (int)i, table);
    int type = lua_geti(L, -1, j);
    lua_remove(L, -2);
    return type;
}

/* Reads the array of {name, tensor} at arg 2 into scratch; anchored by the table. */
static ds_arg *check_datasets(lua_State *L, lua_Integer *n)
{
    luaL_checktype(L, 2, LUA_TTABLE);
    *n = luaL_len(L, 2);
    ds_arg *ds = jl_lua_scratch(L, (size_t)*n * sizeof *ds);
    for (lua_Integer i = 1; i <= *n; i++) {
        if (get_item(L, 2, i, 1) != LUA_TSTRING) luaL_error(L, "save: dataset %d: name (string) expected", (int)i);
        ds[i - 1].name = lua_tostring(L, -1);
        lua_pop(L, 1);
        get_item(L, 2, i, 2);
        ds[i - 1].t = jl_lua_test(L, -1);
        if (!ds[i - 1].t) luaL_error(L, "save: dataset %s: tensor expected, got %s", ds[i - 1].name, luaL_typename(L, -1));
        lua_pop(L, 1);
    }
    return ds;
}

/* Reads the array of {object, key, value} at arg 3 (optional) into scratch. */
static attr_arg *check_attrs(lua_State *L, lua_Integer *n)
{
    *n = 0;
    if (lua_isnoneornil(L, 3)) return NULL;
    luaL_checktype(L, 3, LUA_TTABLE);
    *n = luaL_len(L, 3);
    attr_arg *as = jl_lua_scratch(L, (size_t)*n * sizeof *as);
    for (lua_Integer i = 1; i <= *n; i++) {
        attr_arg *a = &as[i - 1];
        if (get_item(L, 3, i, 1) != LUA_TSTRING) luaL_error(L, "save: attribute %d: object path (string) expected", (int)i);
        a->object = lua_tostring(L, -1);
        if (get_item(L, 3, i, 2) != LUA_TSTRING) luaL_error(L, "save: attribute %d: key (string) expected", (int)i);
        a->key = lua_tostring(L, -1);
        int type = get_item(L, 3, i, 3);
        if (type == LUA_TSTRING) a->string = lua_tostring(L, -1);
        else if (type == LUA_TNUMBER) a->string = NULL, a->number = lua_tonumber(L, -1);
        else luaL_error(L, "save: attribute %s of %s: string or number expected, got %s", a->key, a->object, luaL_typename(L, -1));
        lua_pop(L, 3);
    }
    return as;
}

/* jl.h5tensors.save(path, datasets, attrs) → true | nil, message */
static int l_save(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    lua_settop(L, 3); /* scratch goes above the arguments */
    lua_Integer nd, na;
    ds_arg *ds = check_datasets(L, &nd);
    attr_arg *as = check_attrs(L, &na);

    jl_h5t_writer *w = jl_h5t_create(path);
    int rc = w ? JL_OK : -1;
    for (lua_Integer i = 0; rc == JL_OK && i < nd; i++) rc = jl_h5t_write(w, ds[i].name, ds[i].t);
    for (lua_Integer i = 0; rc == JL_OK && i < na; i++)
        rc = as[i].string ? jl_h5t_attr_string(w, as[i].object, as[i].key, as[i].string)
                          : jl_h5t_attr_number(w, as[i].object, as[i].key, as[i].number);
    if (rc == JL_OK) rc = jl_h5t_commit(w);
    else jl_h5t_abort(w);
    if (rc < 0) {
        if (jl_last_error_code() != JL_EIO) return jl_lua_raise(L);
        lua_pushnil(L);
        lua_pushstring(L, jl_last_error());
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

static int box_gc(lua_State *L)
{
    jl_h5t_file **b = luaL_checkudata(L, 1, JL_H5T_BOX_MT);
    jl_h5t_file_free(*b);
    *b = NULL;
    return 0;
}

static void push_number(lua_State *L, double v)
{
    lua_Integer i;
    if (v == floor(v) && lua_numbertointeger(v, &i)) lua_pushinteger(L, i);
    else lua_pushnumber(L, v);
}

/* jl.h5tensors.load(path[, kind]) → {datasets = {{name, tensor}...}, attrs = {{object, key, value}...}} | nil, message */
static int l_load(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    const char *kind = luaL_optstring(L, 2, "file");
    jl_h5t_file **b = lua_newuserdatauv(L, sizeof *b, 0);
    *b = NULL;
    luaL_setmetatable(L, JL_H5T_BOX_MT);
    jl_h5t_file *f = *b = jl_h5t_read_all(path, kind);
    if (!f) {
        if (jl_last_error_code() != JL_EIO) return jl_lua_raise(L);
        lua_pushnil(L);
        lua_pushstring(L, jl_last_error());
        return 2;
    }
    lua_createtable(L, 0, 2);
    lua_createtable(L, f->n_datasets, 0);
    for (int i = 0; i < f->n_datasets; i++) {
        lua_createtable(L, 2, 0);
        lua_pushstring(L, f->datasets[i].name);
        lua_seti(L, -2, 1);
        jl_lua_push(L, jl_retain(f->datasets[i].tensor));
        lua_seti(L, -2, 2);
        lua_seti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "datasets");
    lua_createtable(L, f->n_attrs, 0);
    for (int i = 0; i < f->n_attrs; i++) {
        lua_createtable(L, 3, 0);
        lua_pushstring(L, f->attrs[i].object);
        lua_seti(L, -2, 1);
        lua_pushstring(L, f->attrs[i].key);
        lua_seti(L, -2, 2);
        if (f->attrs[i].string) lua_pushstring(L, f->attrs[i].string);
        else push_number(L, f->attrs[i].number);
        lua_seti(L, -2, 3);
        lua_seti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "attrs");
    jl_h5t_file_free(f);
    *b = NULL;
    return 1;
}

static const luaL_Reg h5t_functions[] = {
    {"save", l_save},
    {"load", l_load},
    {NULL, NULL},
};

void jl_lua_open_h5_tensors(lua_State *L, int module, int methods)
{
    if (luaL_newmetatable(L, JL_H5T_BOX_MT)) {
        lua_pushcfunction(L, box_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_pop(L, 1);
    lua_newtable(L);
    jl_lua_setfuncs(L, lua_gettop(L), h5t_functions);
    lua_setfield(L, module, "h5tensors");
}
