/* lua_tensor.c — the Tensor userdata: push/check, lifetime (__gc, __close),
 * fields and element access (__index, __newindex, __len), reading values out
 * (tolist, item) and in-place writes (fill_, copy_, zero_).
 *
 *   local t = jl.zeros(3, 4)
 *   t[1] = 5            -- fills row 1
 *   t[2][3] = 7         -- row 2 is a view; element 3 of it is written
 *   print(t.shape[2], #t, t[2][3])   --> 4  3  7.0
 */
#include <string.h>

#include "lua_args.h"
#include "lua_module.h"

typedef struct jl_lua_tensor {
    jl_tensor *t; /* one owned reference; NULL once closed */
} jl_lua_tensor;

/* Weak so that a host defining the flag itself links without a clash. */
__attribute__((weak)) volatile int jl_lua_interrupted = 0;

/* ------------------------------------------------------------- push/check */

/* Tensors live outside the Lua heap, so the collector cannot see their
 * weight. Two measures: every pushed tensor advances the incremental collector
 * as if its header and a sixteenth of its new values had been allocated in Lua
 * (a steady pace: without it a loop of small ops kept 100,000s of dead tensors
 * alive between cycles), and a full collection runs whenever live tensor memory
 * has doubled since the last one (amortised, like torch7's heap tracking).
 * A sixteenth: with whole values the collector ran about one cycle for each
 * Lua heap's worth of tensors, seven a step for an FCNN 5x400 step at batch 256
 * (6 MB of activations, a 400 KB heap), 10-15% of the step; at a sixteenth it
 * runs about one, and the memory freed is still reused by the next step while
 * it is in cache (one cycle in several steps, or the generational collector,
 * which keeps activations that outlive two minor cycles until a major one, made
 * the step's ops 20% slower on memory that had left the cache). */
#define TENSOR_OVERHEAD_BYTES 320 /* header, storage record, userdata, block header */
#define TENSOR_VALUES_SHIFT 4     /* a pushed tensor's new values count bytes >> this */
#define GC_STEP_BYTES ((size_t)64 << 10)

static int64_t gc_threshold = (int64_t)256 << 20;
static size_t gc_debt;

static int64_t live_bytes(void)
{
    jl_stats s = jl_stats_get();
    int64_t n = 0;
    for (int d = 0; d < JL_DEVICE_COUNT; d++) n += s.bytes[d];
    return n;
}

static void maybe_collect(lua_State *L, const jl_tensor *t)
{
    gc_debt += TENSOR_OVERHEAD_BYTES;
    if (atomic_load(&t->storage->refcount) == 1) gc_debt += t->storage->bytes >> TENSOR_VALUES_SHIFT; /* new values, not a view */
    if (gc_debt >= GC_STEP_BYTES) {
        lua_gc(L, LUA_GCSTEP, (int)(gc_debt >> 10));
        gc_debt = 0;
    }
    if (live_bytes() <= gc_threshold) return;
    lua_gc(L, LUA_GCCOLLECT);
    int64_t live = live_bytes(), floor = (int64_t)256 << 20;
    gc_threshold = 2 * live > live + floor ? 2 * live : live + floor;
}

int jl_lua_raise(lua_State *L)
{
    const char *msg = jl_last_error();
    return luaL_error(L, "%s", msg[0] ? msg : "jetlab: operation failed without a message");
}

int jl_lua_push(lua_State *L, jl_tensor *t)
{
    if (!t) return jl_lua_raise(L);
    jl_lua_tensor *u = lua_newuserdatauv(L, sizeof *u, 0);
    u->t = t;
    luaL_setmetatable(L, JL_TENSOR_MT);
    maybe_collect(L, t);
    return 1;
}

jl_tensor *jl_lua_test(lua_State *L, int idx)
{
    jl_lua_tensor *u = luaL_testudata(L, idx, JL_TENSOR_MT);
    if (!u) return NULL;
    if (!u->t) luaL_argerror(L, idx, "attempt to use a closed tensor");
    return u->t;
}

jl_tensor *jl_lua_check(lua_State *L, int idx)
{
    jl_tensor *t = jl_lua_test(L, idx);
    if (!t) luaL_typeerror(L, idx, "tensor");
    return t;
}

/* __gc and __close: release once, whichever comes first. */
static int l_release(lua_State *L)
{
    jl_lua_tensor *u = luaL_checkudata(L, 1, JL_TENSOR_MT);
    jl_release(u->t);
    u->t = NULL;
    return 0;
}

/* --------------------------------------------------------- element access */

static lua_Integer check_key(lua_State *L, int idx)
{
    int isint = 0;
    lua_Integer i = lua_tointegerx(L, idx, &isint);
    if (!isint) {
        if (lua_type(L, idx) == LUA_TNUMBER) luaL_error(L, "tensor index must be an integer, got %f", lua_tonumber(L, idx));
        luaL_error(L, "tensor index must be an integer or a field name, got %s", luaL_typename(L, idx));
    }
    return i;
}

/* t[i]: row i (a view) of a >= 2-D tensor, the number at i of a 1-D one. */
static int get_element(lua_State *L, jl_tensor *t)
{
    lua_Integer i = check_key(L, 2);
    if (t->ndim == 0) return luaL_error(L, "cannot index a 0-d tensor (use t:item())");
    int64_t pos = jl_lua_check_position(L, i, 0, t->shape[0]);
    if (t->ndim >= 2) return jl_lua_push(L, jl_select(t, 0, pos));

    double v;
    if (jl_device_of(t) == JL_CPU) {
        if (jl_get_item(t, &pos, &v) < 0) return jl_lua_raise(L);
    } else {
        jl_tensor *one;
        JL_LUA_NO_GRAD(one = jl_select(t, 0, pos));
        int rc = one ? jl_to_doubles(one, &v) : -1;
        jl_release(one);
        if (rc < 0) return jl_lua_raise(L);
    }
    jl_lua_push_value(L, t->dtype, v);
    return 1;
}

/* t[i] = number (fills row i) or tensor (copied into row i, broadcast). */
static int set_element(lua_State *L, jl_tensor *t)
{
    lua_Integer i = check_key(L, 2);
    if (t->ndim == 0) return luaL_error(L, "cannot index a 0-d tensor (use t:fill_(v))");
    int64_t pos = jl_lua_check_position(L, i, 0, t->shape[0]);
    jl_tensor *src = jl_lua_test(L, 3);
    int vt = lua_type(L, 3);
    if (!src && vt != LUA_TNUMBER && vt != LUA_TBOOLEAN)
        return luaL_error(L, "cannot assign a %s to a tensor element (number or tensor expected)", luaL_typename(L, 3));
    if (t->requires_grad && jl_grad_enabled())
        return luaL_error(L, "cannot assign into a tensor that requires grad (wrap the write in jl.no_grad)");

    int rc = -1;
    jl_tensor *row;
    JL_LUA_NO_GRAD(row = jl_select(t, 0, pos));
    if (row) {
        double v = vt == LUA_TBOOLEAN ? lua_toboolean(L, 3) : lua_tonumber(L, 3);
        rc = src ? jl_copy_(row, src) : jl_fill_(row, v);
        jl_release(row);
    }
    return rc < 0 ? jl_lua_raise(L) : 0;
}

/* ----------------------------------------------------------- __index etc. */

static int l_index(lua_State *L)
{
    jl_tensor *t = jl_lua_check(L, 1);
    if (lua_type(L, 2) != LUA_TSTRING) return get_element(L, t);

    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL) return 1; /* a method */
    lua_pop(L, 1);

    const char *k = lua_tostring(L, 2);
    if (strcmp(k, "shape") == 0) jl_lua_push_shape(L, t->ndim, t->shape);
    else if (strcmp(k, "dtype") == 0) lua_pushstring(L, jl_dtype_name(t->dtype));
    else if (strcmp(k, "device") == 0) lua_pushstring(L, jl_device_name(jl_device_of(t)));
    else if (strcmp(k, "ndim") == 0) lua_pushinteger(L, t->ndim);
    else if (!jl_lua_get_grad_field(L, t, k)) lua_pushnil(L);
    return 1;
}

static int l_newindex(lua_State *L)
{
    jl_tensor *t = jl_lua_check(L, 1);
    if (lua_type(L, 2) != LUA_TSTRING) return set_element(L, t);
    const char *k = lua_tostring(L, 2);
    if (jl_lua_set_grad_field(L, t, k)) return 0;
    return luaL_error(L, "cannot set field '%s' of a tensor", k);
}

static int l_len(lua_State *L)
{
    jl_tensor *t = jl_lua_check(L, 1);
    if (t->ndim == 0) return luaL_error(L, "attempt to get the length of a 0-d tensor");
    lua_pushinteger(L, (lua_Integer)t->shape[0]);
    return 1;
}

/* ------------------------------------------------------------ inspection */

/* t:size() → {3, 4}; t:size(d) → the size of dim d (1-based). */
static int l_size(lua_State *L)
{
    jl_tensor *t = jl_lua_check(L, 1);
    if (lua_isnoneornil(L, 2)) {
        jl_lua_push_shape(L, t->ndim, t->shape);
    } else {
        int d = jl_lua_check_dim(L, 2, t->ndim);
        lua_pushinteger(L, (lua_Integer)t->shape[d]);
    }
    return 1;
}

/* t:stride() → table of strides in elements; t:stride(d) → one stride. */
static int l_stride(lua_State *L)
{
    jl_tensor *t = jl_lua_check(L, 1);
    if (lua_isnoneornil(L, 2)) {
        jl_lua_push_shape(L, t->ndim, t->strides);
    } else {
        int d = jl_lua_check_dim(L, 2, t->ndim);
        lua_pushinteger(L, (lua_Integer)t->strides[d]);
    }
    return 1;
}

static int l_dim(lua_State *L)
{
    lua_pushinteger(L, jl_lua_check(L, 1)->ndim);
    return 1;
}

static int l_numel(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)jl_numel(jl_lua_check(L, 1)));
    return 1;
}

static int l_is_contiguous(lua_State *L)
{
    lua_pushboolean(L, jl_is_contiguous(jl_lua_check(L, 1)));
    return 1;
}

/* --------------------------------------------------------- values out */

static void build_list(lua_State *L, const jl_tensor *t, const double *vals, int dim, int64_t *pos)
{
    if (dim == t->ndim) {
        jl_lua_push_value(L, t->dtype, vals[(*pos)++]);
        return;
    }
    luaL_checkstack(L, 4, "tolist");
    int64_t n = t->shape[dim];
    lua_createtable(L, n < INT32_MAX ? (int)n : 0, 0);
    for (int64_t i = 0; i < n; i++) {
        build_list(L, t, vals, dim + 1, pos);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
}

/* t:tolist() → nested tables (a number for a 0-d tensor). */
static int l_tolist(lua_State *L)
{
    jl_tensor *t = jl_lua_check(L, 1);
    double *vals = jl_lua_scratch(L, (size_t)jl_numel(t) * sizeof(double));
    if (jl_to_doubles(t, vals) < 0) return jl_lua_raise(L);
    int64_t pos = 0;
    build_list(L, t, vals, 0, &pos);
    return 1;
}

/* t:item() → the one element as a number. */
static int l_item(lua_State *L)
{
    jl_tensor *t = jl_lua_check(L, 1);
    int64_t n = jl_numel(t);
    if (n != 1)
        return luaL_error(L, "item: the tensor has %I elements %s, expected exactly 1", (lua_Integer)n,
                          jl_shape_str(t));
    double v;
    if (jl_to_doubles(t, &v) < 0) return jl_lua_raise(L);
    jl_lua_push_value(L, t->dtype, v);
    return 1;
}

/* ------------------------------------------------------- in-place writes */

/* t:fill_(v) → t */
static int l_fill_(lua_State *L)
{
    jl_tensor *t = jl_lua_check(L, 1);
    double v = lua_isboolean(L, 2) ? lua_toboolean(L, 2) : luaL_checknumber(L, 2);
    if (jl_fill_(t, v) < 0) return jl_lua_raise(L);
    lua_settop(L, 1);
    return 1;
}

/* t:zero_() → t */
static int l_zero_(lua_State *L)
{
    jl_tensor *t = jl_lua_check(L, 1);
    if (jl_fill_(t, 0.0) < 0) return jl_lua_raise(L);
    lua_settop(L, 1);
    return 1;
}

/* t:copy_(src) → t (src broadcast to t's shape, converted to t's dtype) */
static int l_copy_(lua_State *L)
{
    jl_tensor *t = jl_lua_check(L, 1);
    jl_tensor *src = jl_lua_check(L, 2);
    if (jl_copy_(t, src) < 0) return jl_lua_raise(L);
    lua_settop(L, 1);
    return 1;
}

static const luaL_Reg tensor_methods[] = {
    {"size", l_size},   {"stride", l_stride}, {"dim", l_dim},     {"numel", l_numel},
    {"is_contiguous", l_is_contiguous},       {"tolist", l_tolist}, {"item", l_item},
    {"fill_", l_fill_}, {"zero_", l_zero_},   {"copy_", l_copy_}, {NULL, NULL},
};

static const luaL_Reg tensor_metamethods[] = {
    {"__gc", l_release},        {"__close", l_release},     {"__newindex", l_newindex},
    {"__len", l_len},           {"__tostring", jl_lua_tostring},
    {"__add", jl_lua_add},      {"__sub", jl_lua_sub},      {"__mul", jl_lua_mul},
    {"__div", jl_lua_div},      {"__pow", jl_lua_pow},      {"__unm", jl_lua_unm},
    {NULL, NULL},
};

/* jl.is_tensor(x) → boolean (closed tensors included). */
static int l_is_tensor(lua_State *L)
{
    lua_pushboolean(L, luaL_testudata(L, 1, JL_TENSOR_MT) != NULL);
    return 1;
}

static const luaL_Reg tensor_functions[] = {
    {"is_tensor", l_is_tensor}, {"numel", l_numel}, {"tolist", l_tolist}, {NULL, NULL},
};

void jl_lua_open_tensor(lua_State *L, int module, int methods)
{
    jl_lua_setfuncs(L, methods, tensor_methods);
    jl_lua_setfuncs(L, module, tensor_functions);

    luaL_newmetatable(L, JL_TENSOR_MT); /* sets __name */
    int mt = lua_gettop(L);
    jl_lua_setfuncs(L, mt, tensor_metamethods);
    lua_pushvalue(L, methods);
    lua_pushcclosure(L, l_index, 1);
    lua_setfield(L, mt, "__index");
    lua_pop(L, 1);
}
