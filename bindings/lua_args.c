/* lua_args.c — the argument helpers of lua_args.h: shapes, 1-based dims and
 * positions, dtype/device names, options tables, operands, index tensors. */
#include "lua_args.h"

#include <limits.h>
#include <math.h>
#include <string.h>

/* ------------------------------------------------------------------ shapes */

void jl_lua_check_numel(lua_State *L, int arg, int ndim, const int64_t *shape, size_t elem_size)
{
    int64_t n = (int64_t)elem_size;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 0) continue; /* -1 placeholders (view/expand) */
        if (__builtin_mul_overflow(n, shape[d], &n)) {
            luaL_Buffer b;
            luaL_buffinit(L, &b);
            luaL_addstring(&b, "shape (");
            for (int k = 0; k < ndim; k++) {
                lua_pushfstring(L, k ? ", %I" : "%I", (lua_Integer)shape[k]);
                luaL_addvalue(&b);
            }
            luaL_addstring(&b, ") is too large");
            luaL_pushresult(&b);
            luaL_argerror(L, arg, lua_tostring(L, -1));
        }
    }
}

static int64_t shape_entry(lua_State *L, int arg, int entry, int flags, int *n_infer)
{
    int isint = 0;
    lua_Integer v = lua_tointegerx(L, -1, &isint);
    if (!isint) {
        if (lua_type(L, -1) == LUA_TNUMBER)
            return luaL_argerror(L, arg, lua_pushfstring(L, "size %d has no integer representation", entry));
        return luaL_argerror(L, arg, lua_pushfstring(L, "size %d must be an integer, got %s", entry,
                                                     luaL_typename(L, -1)));
    }
    if (v == -1 && (flags & (JL_LUA_SHAPE_INFER | JL_LUA_SHAPE_KEEP))) {
        if ((flags & JL_LUA_SHAPE_INFER) && ++*n_infer > 1)
            return luaL_argerror(L, arg, "only one size may be -1");
        return -1;
    }
    if (v < 0)
        return luaL_argerror(L, arg, lua_pushfstring(L, "size must be non-negative, got %I", v));
    return (int64_t)v;
}

int jl_lua_check_shape(lua_State *L, int first, int64_t shape[JL_MAX_DIMS], int flags, int *next)
{
    int ndim = 0, n_infer = 0, arg = first;
    if (lua_type(L, first) == LUA_TTABLE) {
        lua_Unsigned len = lua_rawlen(L, first);
        if (len > JL_MAX_DIMS)
            luaL_argerror(L, first, lua_pushfstring(L, "shape has %d dims, at most %d are supported",
                                                    (int)len, JL_MAX_DIMS));
        /* a shape is a plain list: any other key (dtype=...) is a mistake */
        lua_Unsigned count = 0;
        lua_pushnil(L);
        while (lua_next(L, first)) {
            count++;
            lua_pop(L, 1);
        }
        if (count != len)
            luaL_argerror(L, first, "shape table must be a list of sizes");
        for (ndim = 0; ndim < (int)len; ndim++) {
            lua_rawgeti(L, first, ndim + 1);
            shape[ndim] = shape_entry(L, first, ndim + 1, flags, &n_infer);
            lua_pop(L, 1);
        }
        arg = first + 1;
    } else {
        int type = lua_type(L, first);
        if (type != LUA_TNUMBER && type != LUA_TNONE && type != LUA_TNIL)
            luaL_typeerror(L, first, "number");
        while (lua_type(L, arg) == LUA_TNUMBER) {
            if (ndim == JL_MAX_DIMS)
                luaL_argerror(L, arg, lua_pushfstring(L, "at most %d dims are supported", JL_MAX_DIMS));
            lua_pushvalue(L, arg);
            shape[ndim] = shape_entry(L, arg, ndim + 1, flags, &n_infer);
            lua_pop(L, 1);
            ndim++;
            arg++;
        }
    }
    jl_lua_check_numel(L, first, ndim, shape, 8);
    if (next) *next = arg;
    return ndim;
}

void jl_lua_push_shape(lua_State *L, int ndim, const int64_t *shape)
{
    lua_createtable(L, ndim, 0);
    for (int d = 0; d < ndim; d++) {
        lua_pushinteger(L, (lua_Integer)shape[d]);
        lua_rawseti(L, -2, d + 1);
    }
}

/* ------------------------------------------------------- dims, positions */

int jl_lua_check_dim(lua_State *L, int arg, int ndim)
{
    lua_Integer d = luaL_checkinteger(L, arg);
    if (d >= 1 && d <= ndim) return (int)d - 1;
    if (d <= -1 && d >= -(lua_Integer)ndim) return ndim + (int)d;
    if (ndim == 0)
        return luaL_argerror(L, arg, lua_pushfstring(L, "dim %I out of range: the tensor has no dims", d));
    return luaL_argerror(L, arg, lua_pushfstring(L, "dim %I out of range (expected 1..%d or -%d..-1; dims are 1-based)",
                                                 d, ndim, ndim));
}

int jl_lua_opt_dim(lua_State *L, int arg, int ndim, int def)
{
    return lua_isnoneornil(L, arg) ? def : jl_lua_check_dim(L, arg, ndim);
}

int64_t jl_lua_check_position(lua_State *L, lua_Integer i, int dim0, int64_t size)
{
    if (i >= 1 && i <= size) return (int64_t)i - 1;
    if (i <= -1 && i >= -size) return size + (int64_t)i;
    return luaL_error(L, "index %I out of range for dim %d of size %I%s", i, dim0 + 1, (lua_Integer)size,
                      i == 0 ? " (indices are 1-based)" : "");
}

int jl_lua_check_int(lua_State *L, int arg)
{
    lua_Integer v = luaL_checkinteger(L, arg);
    luaL_argcheck(L, v >= INT_MIN && v <= INT_MAX, arg, "integer out of range");
    return (int)v;
}

bool jl_lua_opt_bool(lua_State *L, int arg, bool def)
{
    if (lua_isnoneornil(L, arg)) return def;
    luaL_checktype(L, arg, LUA_TBOOLEAN);
    return lua_toboolean(L, arg);
}

/* ------------------------------------------------- dtypes, devices, options */

static const struct {
    const char *name;
    jl_dtype dtype;
} dtype_names[] = {
    {"f32", JL_F32},   {"float", JL_F32}, {"float32", JL_F32}, {"i32", JL_I32}, {"int", JL_I32},
    {"int32", JL_I32}, {"i64", JL_I64},   {"long", JL_I64},    {"int64", JL_I64}, {"u8", JL_U8},
    {"bool", JL_U8},   {"uint8", JL_U8},
};

bool jl_lua_parse_dtype(const char *name, jl_dtype *out)
{
    for (size_t k = 0; k < sizeof dtype_names / sizeof dtype_names[0]; k++)
        if (strcmp(name, dtype_names[k].name) == 0) {
            *out = dtype_names[k].dtype;
            return true;
        }
    return false;
}

bool jl_lua_parse_device(const char *name, jl_device *out)
{
    if (strcmp(name, "cpu") == 0) *out = JL_CPU;
    else if (strcmp(name, "cuda") == 0 || strcmp(name, "cuda:0") == 0) *out = JL_CUDA;
    else return false;
    return true;
}

jl_dtype jl_lua_check_dtype(lua_State *L, int arg)
{
    const char *name = luaL_checkstring(L, arg);
    jl_dtype d;
    if (!jl_lua_parse_dtype(name, &d))
        luaL_argerror(L, arg, lua_pushfstring(L, "unknown dtype '%s' (expected f32, i32, i64, u8 or bool)", name));
    return d;
}

jl_lua_opts jl_lua_check_opts(lua_State *L, int arg)
{
    jl_lua_opts o = {.dtype = JL_F32, .device = JL_CPU, .requires_grad = false};
    if (lua_isnoneornil(L, arg)) return o;
    luaL_checktype(L, arg, LUA_TTABLE);
    lua_pushnil(L);
    while (lua_next(L, arg)) {
        const char *key = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
        if (key && strcmp(key, "dtype") == 0) {
            const char *name = lua_tostring(L, -1);
            if (lua_type(L, -1) != LUA_TSTRING || !jl_lua_parse_dtype(name, &o.dtype))
                luaL_argerror(L, arg, lua_pushfstring(L, "unknown dtype '%s' (expected f32, i32, i64, u8 or bool)",
                                                      luaL_tolstring(L, -1, NULL)));
            o.has_dtype = true;
        } else if (key && strcmp(key, "device") == 0) {
            const char *name = lua_tostring(L, -1);
            if (lua_type(L, -1) != LUA_TSTRING || !jl_lua_parse_device(name, &o.device))
                luaL_argerror(L, arg, lua_pushfstring(L, "unknown device '%s' (expected cpu or cuda)",
                                                      luaL_tolstring(L, -1, NULL)));
            o.has_device = true;
        } else if (key && strcmp(key, "requires_grad") == 0) {
            if (lua_type(L, -1) != LUA_TBOOLEAN)
                luaL_argerror(L, arg, lua_pushfstring(L, "requires_grad must be a boolean, got %s",
                                                      luaL_typename(L, -1)));
            o.requires_grad = lua_toboolean(L, -1);
        } else {
            luaL_argerror(L, arg, lua_pushfstring(L, "unknown option '%s' (expected dtype, device, requires_grad)",
                                                  luaL_tolstring(L, -2, NULL)));
        }
        lua_pop(L, 1);
    }
    return o;
}

bool jl_lua_set_requires_grad(jl_tensor *t, bool on)
{
    if (t->grad_fn) {
        if (on) return true; /* a non-leaf already requires grad */
        JL_FAIL("requires_grad can only be turned off on a leaf tensor (this one comes from '%s'); use t:detach()",
                t->grad_fn->name);
        return false;
    }
    if (on && t->dtype != JL_F32) {
        JL_FAIL("only f32 tensors can require grad, got %s", jl_dtype_name(t->dtype));
        return false;
    }
    t->requires_grad = on;
    return true;
}

int jl_lua_push_opts(lua_State *L, jl_tensor *t, const jl_lua_opts *o)
{
    if (!t) return jl_lua_raise(L);
    if (t->dtype != o->dtype) {
        jl_tensor *c = jl_to_dtype(t, o->dtype);
        jl_release(t);
        if (!c) return jl_lua_raise(L);
        t = c;
    }
    if (jl_device_of(t) != o->device) {
        jl_tensor *c = jl_to_device(t, o->device);
        jl_release(t);
        if (!c) return jl_lua_raise(L);
        t = c;
    }
    if (o->requires_grad && !jl_lua_set_requires_grad(t, true)) {
        jl_release(t);
        return jl_lua_raise(L);
    }
    return jl_lua_push(L, t);
}

/* ---------------------------------------------------------------- operands */

jl_tensor *jl_lua_check_operand(lua_State *L, int arg, const jl_tensor *like, jl_tensor **tmp)
{
    *tmp = NULL;
    jl_tensor *t = jl_lua_test(L, arg);
    if (t) return t;
    double v;
    if (lua_type(L, arg) == LUA_TNUMBER) v = lua_tonumber(L, arg);
    else if (lua_type(L, arg) == LUA_TBOOLEAN) v = lua_toboolean(L, arg);
    else {
        luaL_typeerror(L, arg, "tensor or number");
        return NULL;
    }
    *tmp = jl_scalar_like(like, v);
    if (!*tmp) jl_lua_raise(L);
    return *tmp;
}

/* The first value of the integer tensor idx outside 1..size and its 0-based
 * position (*pos = -1 when all are inside); raises on failure. */
static int64_t first_outside(lua_State *L, jl_tensor *idx, int64_t size, int64_t *pos)
{
    /* on the host, so the message shows the user's 1-based value */
    jl_tensor *host = jl_to_device(idx, JL_CPU);
    jl_tensor *flat = host ? jl_contiguous(host) : NULL;
    jl_release(host);
    if (!flat) jl_lua_raise(L);
    int64_t n = jl_numel(flat), bad = 0;
    const void *data = jl_data(flat);
    *pos = -1;
    for (int64_t k = 0; k < n; k++) {
        int64_t v = flat->dtype == JL_I64 ? ((const int64_t *)data)[k] : ((const int32_t *)data)[k];
        if (v < 1 || v > size) {
            bad = v;
            *pos = k;
            break;
        }
    }
    jl_release(flat);
    return bad;
}

jl_tensor *jl_lua_check_index_tensor(lua_State *L, int arg, int dim0, int64_t size)
{
    jl_tensor *idx = jl_lua_check(L, arg);
    if (idx->dtype != JL_I64 && idx->dtype != JL_I32)
        luaL_argerror(L, arg, lua_pushfstring(L, "index tensor must be i64 or i32, got %s", jl_dtype_name(idx->dtype)));
    int64_t pos, bad = first_outside(L, idx, size, &pos);
    if (pos >= 0)
        luaL_error(L, "index %I out of range for dim %d of size %I%s", (lua_Integer)bad, dim0 + 1,
                   (lua_Integer)size, bad == 0 ? " (indices are 1-based)" : "");

    jl_tensor *zero_based = jl_affine(idx, 1.0, -1.0);
    if (!zero_based) jl_lua_raise(L);
    return zero_based;
}

jl_tensor *jl_lua_check_rows(lua_State *L, int arg, const char *what, int64_t n)
{
    jl_tensor *rows = jl_lua_check(L, arg);
    if (rows->dtype != JL_I64 || rows->ndim != 1)
        luaL_error(L, "%s must be a 1-D i64 tensor, got %s %s", what, jl_dtype_name(rows->dtype), jl_shape_str(rows));
    int64_t pos, bad = first_outside(L, rows, n, &pos);
    if (pos >= 0)
        luaL_error(L, "%s[%I] = %I is outside 1..%I%s", what, (lua_Integer)pos + 1, (lua_Integer)bad, (lua_Integer)n,
                   bad == 0 ? " (rows are 1-based)" : "");
    jl_tensor *zero_based = jl_affine(rows, 1.0, -1.0);
    if (!zero_based) jl_lua_raise(L);
    return zero_based;
}

/* ------------------------------------------------------------- numbers out */

void jl_lua_push_value(lua_State *L, jl_dtype dtype, double v)
{
    if (dtype == JL_F32) lua_pushnumber(L, v);
    else if (v >= 0x1p63) lua_pushinteger(L, LUA_MAXINTEGER); /* i64 near the top, rounded up in double */
    else lua_pushinteger(L, (lua_Integer)v);
}

void *jl_lua_scratch(lua_State *L, size_t bytes)
{
    return lua_newuserdatauv(L, bytes ? bytes : 1, 0);
}

/* --- result tables -------------------------------------------------------- */

void jl_lua_set_number(lua_State *L, const char *key, double v)
{
    lua_pushnumber(L, v);
    lua_setfield(L, -2, key);
}

void jl_lua_set_integer(lua_State *L, const char *key, int64_t v)
{
    lua_pushinteger(L, (lua_Integer)v);
    lua_setfield(L, -2, key);
}

void jl_lua_set_boolean(lua_State *L, const char *key, bool v)
{
    lua_pushboolean(L, v);
    lua_setfield(L, -2, key);
}
