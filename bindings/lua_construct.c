/* lua_construct.c — constructors: filled tensors, ranges, nested tables, the
 * *_like family and random tensors. Every constructor takes an options table
 * last: {dtype = "f32"|"i32"|"i64"|"u8"|"bool", device = "cpu"|"cuda",
 * requires_grad = bool}; the dtype defaults to f32 (i64 for randint/randperm).
 *
 *   jl.zeros(3, 4)                      jl.zeros({3, 4}, {dtype = "i64"})
 *   jl.full({2, 2}, 7)                  jl.arange(5)  --> 0 1 2 3 4
 *   jl.from({{1, 2}, {3, 4}})           jl.randint(0, 10, 3)  --> values in [0, 10)
 *   jl.randperm(4)  --> a permutation of 1..4 (1-based, for indexing)
 */
#include <math.h>
#include <string.h>

#include "lua_args.h"
#include "lua_module.h"

/* ---------------------------------------------------------------- filled */

static int filled(lua_State *L, double value)
{
    int64_t shape[JL_MAX_DIMS];
    int next, ndim = jl_lua_check_shape(L, 1, shape, 0, &next);
    jl_lua_opts o = jl_lua_check_opts(L, next);
    return jl_lua_push_opts(L, jl_full(o.dtype, ndim, shape, value, o.device), &o);
}

/* jl.zeros(3, 4[, opts]) or jl.zeros({3, 4}[, opts]) */
static int l_zeros(lua_State *L) { return filled(L, 0.0); }
static int l_ones(lua_State *L) { return filled(L, 1.0); }

/* jl.empty(3, 4[, opts]): uninitialised values. */
static int l_empty(lua_State *L)
{
    int64_t shape[JL_MAX_DIMS];
    int next, ndim = jl_lua_check_shape(L, 1, shape, 0, &next);
    jl_lua_opts o = jl_lua_check_opts(L, next);
    return jl_lua_push_opts(L, jl_tensor_new(o.dtype, ndim, shape, o.device), &o);
}

/* jl.full({3, 4}, value[, opts]) */
static int l_full(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    int64_t shape[JL_MAX_DIMS];
    int ndim = jl_lua_check_shape(L, 1, shape, 0, NULL);
    double value = lua_isboolean(L, 2) ? lua_toboolean(L, 2) : luaL_checknumber(L, 2);
    jl_lua_opts o = jl_lua_check_opts(L, 3);
    return jl_lua_push_opts(L, jl_full(o.dtype, ndim, shape, value, o.device), &o);
}

/* jl.arange(stop) / jl.arange(start, stop[, step])[, opts]: [start, stop) by step. */
static int l_arange(lua_State *L)
{
    int nnum = 0;
    while (nnum < 3 && lua_type(L, nnum + 1) == LUA_TNUMBER) nnum++;
    if (nnum == 0) luaL_checknumber(L, 1); /* "number expected, got ..." */
    double start = 0, stop, step = 1;
    if (nnum == 1) {
        stop = lua_tonumber(L, 1);
    } else {
        start = lua_tonumber(L, 1);
        stop = lua_tonumber(L, 2);
        if (nnum == 3) step = lua_tonumber(L, 3);
    }
    jl_lua_opts o = jl_lua_check_opts(L, nnum + 1);
    luaL_argcheck(L, isfinite(start) && isfinite(stop) && isfinite(step), 1, "bounds and step must be finite");
    luaL_argcheck(L, step != 0, nnum, "step must be nonzero");
    double count = ceil((stop - start) / step);
    luaL_argcheck(L, count < 1e15, 1, "too many elements");
    return jl_lua_push_opts(L, jl_arange(o.dtype, start, stop, step, o.device), &o);
}

/* ------------------------------------------------------- nested tables */

typedef struct nested {
    int ndim;
    int64_t shape[JL_MAX_DIMS];
    int64_t at[JL_MAX_DIMS]; /* 1-based position being read, for messages */
    jl_dtype dtype;
    void *data;
    int64_t n;
} nested;

static const char *position(lua_State *L, const nested *s, int depth)
{
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int d = 0; d < depth; d++) {
        lua_pushfstring(L, "[%I]", (lua_Integer)s->at[d]);
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    return depth ? lua_tostring(L, -1) : "top level";
}

/* Stores the number at the top of the stack as element s->n of s->data. */
static void store(lua_State *L, nested *s, int depth)
{
    int type = lua_type(L, -1);
    if (type != LUA_TNUMBER && type != LUA_TBOOLEAN)
        luaL_error(L, "from: expected a number at %s, got %s", position(L, s, depth), luaL_typename(L, -1));
    int isint = 0;
    lua_Integer iv = type == LUA_TBOOLEAN ? lua_toboolean(L, -1) : lua_tointegerx(L, -1, &isint);
    double v = type == LUA_TBOOLEAN ? (double)iv : lua_tonumber(L, -1);
    if (type == LUA_TBOOLEAN) isint = 1;
    int64_t k = s->n++;
    if (s->dtype == JL_F32) {
        ((float *)s->data)[k] = (float)v;
        return;
    }
    double lo = s->dtype == JL_U8 ? 0 : s->dtype == JL_I32 ? -2147483648.0 : -9223372036854775808.0;
    double hi = s->dtype == JL_U8 ? 255 : s->dtype == JL_I32 ? 2147483647.0 : 9223372036854775807.0;
    if (!isint && !(v >= lo && v < hi + 1))
        luaL_error(L, "from: value %f at %s does not fit in %s", v, position(L, s, depth), jl_dtype_name(s->dtype));
    if (isint && (iv < lo || (s->dtype != JL_I64 && iv > hi)))
        luaL_error(L, "from: value %I at %s does not fit in %s", iv, position(L, s, depth), jl_dtype_name(s->dtype));
    switch (s->dtype) {
    case JL_I64: ((int64_t *)s->data)[k] = isint ? (int64_t)iv : (int64_t)v; break;
    case JL_I32: ((int32_t *)s->data)[k] = isint ? (int32_t)iv : (int32_t)v; break;
    default: ((uint8_t *)s->data)[k] = isint ? (uint8_t)iv : (uint8_t)v; break;
    }
}

/* Reads the table at the top of the stack, which sits at `depth`. */
static void read_nested(lua_State *L, nested *s, int depth)
{
    if (depth == s->ndim) {
        store(L, s, depth);
        return;
    }
    if (lua_type(L, -1) != LUA_TTABLE)
        luaL_error(L, "from: ragged nested table: expected a table of %I elements at %s (depth %d), got %s",
                   (lua_Integer)s->shape[depth], position(L, s, depth), depth + 1, luaL_typename(L, -1));
    lua_Integer len = (lua_Integer)lua_rawlen(L, -1);
    if (len != s->shape[depth])
        luaL_error(L, "from: ragged nested table: expected %I elements at %s (depth %d), got %I",
                   (lua_Integer)s->shape[depth], position(L, s, depth), depth + 1, len);
    luaL_checkstack(L, 4, "from");
    for (lua_Integer i = 1; i <= len; i++) {
        s->at[depth] = i;
        lua_rawgeti(L, -1, i);
        read_nested(L, s, depth + 1);
        lua_pop(L, 1);
    }
}

/* jl.from(nested_table[, opts]) (alias jl.tensor); also a number (0-d) or a
 * tensor (copied, converted to opts.dtype when given). */
static int l_from(lua_State *L)
{
    jl_lua_opts o = jl_lua_check_opts(L, 2);
    jl_tensor *src = jl_lua_test(L, 1);
    if (src) {
        if (!o.has_dtype) o.dtype = src->dtype;
        if (!o.has_device) o.device = jl_device_of(src);
        return jl_lua_push_opts(L, jl_clone(src), &o);
    }
    int type = lua_type(L, 1);
    if (type != LUA_TTABLE && type != LUA_TNUMBER && type != LUA_TBOOLEAN)
        return luaL_typeerror(L, 1, "table, number or tensor");

    nested s = {.dtype = o.dtype};
    /* the shape follows first elements down; read_nested then checks every row */
    lua_pushvalue(L, 1);
    while (lua_type(L, -1) == LUA_TTABLE) {
        if (s.ndim == JL_MAX_DIMS)
            return luaL_argerror(L, 1, lua_pushfstring(L, "nested deeper than %d dims", JL_MAX_DIMS));
        lua_Integer len = (lua_Integer)lua_rawlen(L, -1);
        s.shape[s.ndim++] = len;
        if (len == 0) break;
        lua_rawgeti(L, -1, 1);
    }
    lua_settop(L, 2);
    int64_t numel = 1;
    for (int d = 0; d < s.ndim; d++) numel *= s.shape[d];
    s.data = jl_lua_scratch(L, (size_t)numel * jl_dtype_size(o.dtype));
    lua_pushvalue(L, 1);
    read_nested(L, &s, 0);
    /* from_host makes a CPU tensor; push_opts moves it to o.device */
    return jl_lua_push_opts(L, jl_from_host(o.dtype, s.ndim, s.shape, s.data), &o);
}

/* ----------------------------------------------------------- *_like */

static int like(lua_State *L, double value, bool fill)
{
    jl_tensor *t = jl_lua_check(L, 1);
    jl_lua_opts o = jl_lua_check_opts(L, fill ? 3 : 2);
    if (!o.has_dtype) o.dtype = t->dtype;
    if (!o.has_device) o.device = jl_device_of(t);
    return jl_lua_push_opts(L, jl_full(o.dtype, t->ndim, t->shape, value, o.device), &o);
}

/* jl.zeros_like(t[, opts]), ones_like, full_like(t, v[, opts]) */
static int l_zeros_like(lua_State *L) { return like(L, 0.0, false); }
static int l_ones_like(lua_State *L) { return like(L, 1.0, false); }
static int l_full_like(lua_State *L)
{
    double v = lua_isboolean(L, 2) ? lua_toboolean(L, 2) : luaL_checknumber(L, 2);
    return like(L, v, true);
}

/* --------------------------------------------------------------- random */

/* rand and randn draw f32 numbers (the core ops make f32 only): another
 * dtype would truncate every draw (to 0 for i64 from [0, 1)), so it is refused. */
static void check_float_dtype(lua_State *L, const char *fn, const jl_lua_opts *o, int arg)
{
    if (o->has_dtype && o->dtype != JL_F32)
        luaL_argerror(L, arg, lua_pushfstring(L, "%s draws floating-point numbers: dtype must be f32, got %s "
                                                 "(jl.randint draws integers)", fn, jl_dtype_name(o->dtype)));
}

/* Integers in [lo, hi] must fit the dtype asked for exactly (u8, the boolean
 * dtype: 0..1, as conversion maps nonzero to 1; i32; f32 up to 2^24), else the
 * draws would collapse, wrap or round. */
static void check_int_dtype(lua_State *L, const char *fn, const jl_lua_opts *o, int arg, lua_Integer lo,
                            lua_Integer hi)
{
    lua_Integer min = LUA_MININTEGER, max = LUA_MAXINTEGER;
    switch (o->dtype) {
    case JL_U8: min = 0, max = 1; break;
    case JL_I32: min = INT32_MIN, max = INT32_MAX; break;
    case JL_F32: min = -(1 << 24), max = 1 << 24; break;
    default: break;
    }
    if (lo < min || hi > max)
        luaL_argerror(L, arg, lua_pushfstring(L, "%s: the range reaches %I, which dtype %s cannot hold (%I..%I)", fn,
                                              lo < min ? lo : hi, jl_dtype_name(o->dtype), min, max));
}

/* jl.rand(3, 4[, opts]): uniform [0, 1). */
static int l_rand(lua_State *L)
{
    int64_t shape[JL_MAX_DIMS];
    int next, ndim = jl_lua_check_shape(L, 1, shape, 0, &next);
    jl_lua_opts o = jl_lua_check_opts(L, next);
    check_float_dtype(L, "rand", &o, next);
    return jl_lua_push_opts(L, jl_rand(ndim, shape, 0.0, 1.0, o.device), &o);
}

/* jl.randn(3, 4[, opts]): standard normal. */
static int l_randn(lua_State *L)
{
    int64_t shape[JL_MAX_DIMS];
    int next, ndim = jl_lua_check_shape(L, 1, shape, 0, &next);
    jl_lua_opts o = jl_lua_check_opts(L, next);
    check_float_dtype(L, "randn", &o, next);
    return jl_lua_push_opts(L, jl_randn(ndim, shape, 0.0, 1.0, o.device), &o);
}

/* jl.randint(lo, hi, shape...[, opts]): integers in [lo, hi), i64 by default. */
static int l_randint(lua_State *L)
{
    lua_Integer lo = luaL_checkinteger(L, 1), hi = luaL_checkinteger(L, 2);
    luaL_argcheck(L, hi > lo, 2, "hi must be greater than lo (the range is [lo, hi))");
    int64_t shape[JL_MAX_DIMS];
    int next, ndim = jl_lua_check_shape(L, 3, shape, 0, &next);
    jl_lua_opts o = jl_lua_check_opts(L, next);
    if (!o.has_dtype) o.dtype = JL_I64;
    check_int_dtype(L, "randint", &o, next, lo, hi - 1);
    return jl_lua_push_opts(L, jl_randint(ndim, shape, lo, hi, o.device), &o);
}

/* jl.bernoulli(p, shape...[, opts]): 1 with probability p, else 0 (f32);
 * jl.bernoulli(probs) draws each element with its own probability. */
static int l_bernoulli(lua_State *L)
{
    jl_tensor *probs = jl_lua_test(L, 1);
    if (probs) {
        jl_lua_opts o = jl_lua_check_opts(L, 2);
        if (!o.has_dtype) o.dtype = probs->dtype;
        if (!o.has_device) o.device = jl_device_of(probs);
        jl_tensor *u = jl_rand(probs->ndim, probs->shape, 0.0, 1.0, jl_device_of(probs));
        jl_tensor *hit = u ? jl_compare(JL_OP_lt, u, probs) : NULL;
        jl_release(u);
        return jl_lua_push_opts(L, hit, &o);
    }
    lua_Number p = luaL_checknumber(L, 1);
    luaL_argcheck(L, p >= 0 && p <= 1, 1, "probability must be in [0, 1]");
    int64_t shape[JL_MAX_DIMS];
    int next, ndim = jl_lua_check_shape(L, 2, shape, 0, &next);
    jl_lua_opts o = jl_lua_check_opts(L, next);
    return jl_lua_push_opts(L, jl_bernoulli(ndim, shape, p, o.device), &o);
}

/* jl.randperm(n[, opts]): a random permutation of 1..n (1-based), i64. */
static int l_randperm(lua_State *L)
{
    lua_Integer n = luaL_checkinteger(L, 1);
    luaL_argcheck(L, n >= 0, 1, "n must be non-negative");
    jl_lua_check_numel(L, 1, 1, (int64_t[]){n}, 8);
    jl_lua_opts o = jl_lua_check_opts(L, 2);
    if (!o.has_dtype) o.dtype = JL_I64;
    check_int_dtype(L, "randperm", &o, 2, n > 0 ? 1 : 0, n);
    jl_tensor *p = jl_randperm(n, o.device);
    jl_tensor *p1 = p ? jl_affine(p, 1.0, 1.0) : NULL;
    jl_release(p);
    return jl_lua_push_opts(L, p1, &o);
}

static const luaL_Reg construct_functions[] = {
    {"zeros", l_zeros},         {"ones", l_ones},           {"empty", l_empty},
    {"full", l_full},           {"arange", l_arange},       {"from", l_from},
    {"tensor", l_from},         {"zeros_like", l_zeros_like}, {"ones_like", l_ones_like},
    {"full_like", l_full_like}, {"rand", l_rand},           {"randn", l_randn},
    {"randint", l_randint},     {"bernoulli", l_bernoulli}, {"randperm", l_randperm},
    {NULL, NULL},
};

void jl_lua_open_construct(lua_State *L, int module, int methods)
{
    (void)methods;
    jl_lua_setfuncs(L, module, construct_functions);
}
