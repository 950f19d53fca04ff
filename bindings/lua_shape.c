/* lua_shape.c — views (O(1), sharing storage), copies and conversions,
 * indexing ops with 1-based index tensors, cat/stack.
 *
 *   local v = t:view(2, -1)          -- shares t's storage
 *   local r = t:narrow(1, 2, 3)      -- rows 2..4
 *   local g = x:index_select(1, jl.from({3, 1}, {dtype = "i64"}))   -- rows 3 and 1
 *   local c = jl.cat({a, b}, 2)
 */
#include "lua_args.h"
#include "lua_module.h"

/* ------------------------------------------------------------------- views */

/* t:view(2, -1) or t:view({2, -1}) */
static int l_view(lua_State *L)
{
    jl_tensor *t = jl_lua_check(L, 1);
    int64_t shape[JL_MAX_DIMS];
    int ndim = jl_lua_check_shape(L, 2, shape, JL_LUA_SHAPE_INFER, NULL);
    return jl_lua_push(L, jl_view_as_shape(t, ndim, shape));
}

/* t:reshape(...): a view when the strides allow it, else a copy. */
static int l_reshape(lua_State *L)
{
    jl_tensor *t = jl_lua_check(L, 1);
    int64_t shape[JL_MAX_DIMS];
    int ndim = jl_lua_check_shape(L, 2, shape, JL_LUA_SHAPE_INFER, NULL);
    return jl_lua_push(L, jl_reshape(t, ndim, shape));
}

/* t:flatten(start_dim = 1, end_dim = -1): dims start..end merged into one. */
static int l_flatten(lua_State *L)
{
    jl_tensor *t = jl_lua_check(L, 1);
    if (t->ndim == 0) return jl_lua_push(L, jl_reshape(t, 1, (int64_t[]){1}));
    int first = jl_lua_opt_dim(L, 2, t->ndim, 0), last = jl_lua_opt_dim(L, 3, t->ndim, t->ndim - 1);
    luaL_argcheck(L, first <= last, 3, "end dim comes before start dim");
    int64_t shape[JL_MAX_DIMS];
    int ndim = 0;
    for (int d = 0; d < t->ndim; d++) {
        if (d > first && d <= last) shape[ndim - 1] *= t->shape[d];
        else shape[ndim++] = t->shape[d];
    }
    return jl_lua_push(L, jl_reshape(t, ndim, shape));
}

/* t:transpose(d1, d2) */
static int l_transpose(lua_State *L)
{
    jl_tensor *t = jl_lua_check(L, 1);
    int d0 = jl_lua_check_dim(L, 2, t->ndim), d1 = jl_lua_check_dim(L, 3, t->ndim);
    return jl_lua_push(L, jl_transpose(t, d0, d1));
}

/* t:t(): transpose of a 2-D tensor (0-D and 1-D come back as they are). */
static int l_t(lua_State *L)
{
    jl_tensor *t = jl_lua_check(L, 1);
    if (t->ndim > 2) return luaL_error(L, "t() expects a tensor with at most 2 dims, got %s", jl_shape_str(t));
    if (t->ndim < 2) return jl_lua_push(L, jl_retain(t));
    return jl_lua_push(L, jl_transpose(t, 0, 1));
}

/* t:permute(3, 1, 2) or t:permute({3, 1, 2}): 1-based dims, one each. */
static int l_permute(lua_State *L)
{
    jl_tensor *t = jl_lua_check(L, 1);
    bool table = lua_istable(L, 2);
    int n = table ? (int)lua_rawlen(L, 2) : lua_gettop(L) - 1;
    if (n != t->ndim)
        return luaL_argerror(L, 2, lua_pushfstring(L, "expected %d dims for a %d-D tensor, got %d", t->ndim,
                                                   t->ndim, n));
    int perm[JL_MAX_DIMS];
    bool seen[JL_MAX_DIMS] = {false};
    for (int k = 0; k < n; k++) {
        int arg = table ? 2 : k + 2;
        if (table) lua_rawgeti(L, 2, k + 1);
        else lua_pushvalue(L, arg);
        int isint = 0;
        lua_Integer d = lua_tointegerx(L, -1, &isint);
        lua_pop(L, 1);
        if (!isint || d == 0 || d > t->ndim || d < -t->ndim)
            return luaL_argerror(L, arg, lua_pushfstring(L, "entry %d is not a dim of a %d-D tensor (dims are 1-based)",
                                                         k + 1, t->ndim));
        perm[k] = d > 0 ? (int)d - 1 : t->ndim + (int)d;
        if (seen[perm[k]])
            return luaL_argerror(L, arg, lua_pushfstring(L, "dim %d appears twice", perm[k] + 1));
        seen[perm[k]] = true;
    }
    return jl_lua_push(L, jl_permute(t, perm));
}

/* t:narrow(dim, start, length): elements start..start+length-1 (1-based). */
static int l_narrow(lua_State *L)
{
    jl_tensor *t = jl_lua_check(L, 1);
    int dim = jl_lua_check_dim(L, 2, t->ndim);
    lua_Integer start = luaL_checkinteger(L, 3), length = luaL_checkinteger(L, 4);
    int64_t size = t->shape[dim];
    int64_t start0 = start < 0 ? size + start : start - 1;
    if (start == 0 || start0 < 0 || start0 > size)
        return luaL_argerror(L, 3, lua_pushfstring(L, "start %I out of range for dim %d of size %I (1-based)", start,
                                                   dim + 1, (lua_Integer)size));
    if (length < 0 || length > size - start0)
        return luaL_argerror(L, 4, lua_pushfstring(L, "length %I from start %I exceeds dim %d of size %I", length,
                                                   start, dim + 1, (lua_Integer)size));
    return jl_lua_push(L, jl_narrow(t, dim, start0, length));
}

/* t:select(dim, i): position i (1-based, negative from the end), dim removed. */
static int l_select(lua_State *L)
{
    jl_tensor *t = jl_lua_check(L, 1);
    int dim = jl_lua_check_dim(L, 2, t->ndim);
    int64_t i = jl_lua_check_position(L, luaL_checkinteger(L, 3), dim, t->shape[dim]);
    return jl_lua_push(L, jl_select(t, dim, i));
}

/* t:expand(4, -1, 3): size-1 dims broadcast; -1 keeps a size. */
static int l_expand(lua_State *L)
{
    jl_tensor *t = jl_lua_check(L, 1);
    int64_t shape[JL_MAX_DIMS];
    int ndim = jl_lua_check_shape(L, 2, shape, JL_LUA_SHAPE_KEEP, NULL);
    return jl_lua_push(L, jl_expand(t, ndim, shape));
}

/* t:expand_as(u) */
static int l_expand_as(lua_State *L)
{
    jl_tensor *t = jl_lua_check(L, 1), *u = jl_lua_check(L, 2);
    return jl_lua_push(L, jl_expand(t, u->ndim, u->shape));
}

/* t:unsqueeze(d): a size-1 dim inserted at position d (1..ndim+1, -1 = last). */
static int l_unsqueeze(lua_State *L)
{
    jl_tensor *t = jl_lua_check(L, 1);
    return jl_lua_push(L, jl_unsqueeze(t, jl_lua_check_dim(L, 2, t->ndim + 1)));
}

/* t:squeeze(d?): removes dim d (size 1), or every size-1 dim. */
static int l_squeeze(lua_State *L)
{
    jl_tensor *t = jl_lua_check(L, 1);
    return jl_lua_push(L, jl_squeeze(t, jl_lua_opt_dim(L, 2, t->ndim, JL_ALL_DIMS)));
}

/* ---------------------------------------------------- copies, conversions */

static int l_contiguous(lua_State *L) { return jl_lua_push(L, jl_contiguous(jl_lua_check(L, 1))); }
static int l_clone(lua_State *L) { return jl_lua_push(L, jl_clone(jl_lua_check(L, 1))); }

/* t:to("i64") / t:to("cuda") / t:to(other): dtype, device, or both of other's. */
static int l_to(lua_State *L)
{
    jl_tensor *t = jl_lua_check(L, 1);
    jl_tensor *other = jl_lua_test(L, 2);
    jl_dtype dtype = t->dtype;
    jl_device device = jl_device_of(t);
    if (other) {
        dtype = other->dtype;
        device = jl_device_of(other);
    } else {
        const char *name = luaL_checkstring(L, 2);
        if (!jl_lua_parse_dtype(name, &dtype) && !jl_lua_parse_device(name, &device))
            return luaL_argerror(L, 2, lua_pushfstring(L, "unknown dtype or device '%s'", name));
    }
    jl_tensor *r = jl_to_device(t, device);
    if (r && r->dtype != dtype) {
        jl_tensor *c = jl_to_dtype(r, dtype);
        jl_release(r);
        r = c;
    }
    return jl_lua_push(L, r);
}

static int convert(lua_State *L, jl_dtype dtype) { return jl_lua_push(L, jl_to_dtype(jl_lua_check(L, 1), dtype)); }
static int l_float(lua_State *L) { return convert(L, JL_F32); }
static int l_long(lua_State *L) { return convert(L, JL_I64); }
static int l_int(lua_State *L) { return convert(L, JL_I32); }
static int l_bool(lua_State *L) { return convert(L, JL_U8); }
static int l_cpu(lua_State *L) { return jl_lua_push(L, jl_to_device(jl_lua_check(L, 1), JL_CPU)); }
static int l_cuda(lua_State *L) { return jl_lua_push(L, jl_to_device(jl_lua_check(L, 1), JL_CUDA)); }

/* ---------------------------------------------------------------- indexing */

/* t:index_select(dim, idx): idx (m) holds 1-based positions along dim. */
static int l_index_select(lua_State *L)
{
    jl_tensor *t = jl_lua_check(L, 1);
    int dim = jl_lua_check_dim(L, 2, t->ndim);
    jl_tensor *idx = jl_lua_check_index_tensor(L, 3, dim, t->shape[dim]);
    jl_tensor *r = jl_index_select(t, dim, idx);
    jl_release(idx);
    return jl_lua_push(L, r);
}

/* t:gather(dim, idx): out[i][j] = t[idx[i][j]][j] for dim 1 (1-based idx). */
static int l_gather(lua_State *L)
{
    jl_tensor *t = jl_lua_check(L, 1);
    int dim = jl_lua_check_dim(L, 2, t->ndim);
    jl_tensor *idx = jl_lua_check_index_tensor(L, 3, dim, t->shape[dim]);
    jl_tensor *r = jl_gather(t, dim, idx);
    jl_release(idx);
    return jl_lua_push(L, r);
}

/* t:scatter_add(dim, idx, src) and t:index_add(dim, idx, src): copies of t
 * with src added at the 1-based positions idx along dim. */
static int add_at(lua_State *L, jl_tensor *(*fn)(jl_tensor *, int, jl_tensor *, jl_tensor *))
{
    jl_tensor *t = jl_lua_check(L, 1);
    int dim = jl_lua_check_dim(L, 2, t->ndim);
    jl_tensor *src = jl_lua_check(L, 4);
    jl_tensor *idx = jl_lua_check_index_tensor(L, 3, dim, t->shape[dim]);
    jl_tensor *r = fn(t, dim, idx, src);
    jl_release(idx);
    return jl_lua_push(L, r);
}

static int l_scatter_add(lua_State *L) { return add_at(L, jl_scatter_add); }
static int l_index_add(lua_State *L) { return add_at(L, jl_index_add); }

/* ---------------------------------------------------------------- cat/stack */

/* The tensors of the list at arg 1 (borrowed: the list keeps them alive);
 * the scratch array goes at stack slot 3, after the dim argument. */
static jl_tensor **tensor_list(lua_State *L, int *n)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 2);
    lua_Unsigned len = lua_rawlen(L, 1);
    luaL_argcheck(L, len > 0, 1, "empty list of tensors");
    luaL_argcheck(L, len < (1u << 24), 1, "too many tensors");
    jl_tensor **ts = jl_lua_scratch(L, len * sizeof *ts);
    for (lua_Unsigned k = 0; k < len; k++) {
        lua_rawgeti(L, 1, (lua_Integer)k + 1);
        ts[k] = jl_lua_test(L, -1);
        if (!ts[k])
            luaL_argerror(L, 1, lua_pushfstring(L, "element %d is a %s, expected a tensor", (int)k + 1,
                                                luaL_typename(L, -1)));
        lua_pop(L, 1);
    }
    *n = (int)len;
    return ts;
}

/* jl.cat({a, b, ...}, dim = 1) */
static int l_cat(lua_State *L)
{
    int n;
    jl_tensor **ts = tensor_list(L, &n);
    int dim = jl_lua_opt_dim(L, 2, ts[0]->ndim, 0);
    return jl_lua_push(L, jl_cat(n, ts, dim));
}

/* jl.stack({a, b, ...}, dim = 1): dim may be 1..ndim+1 */
static int l_stack(lua_State *L)
{
    int n;
    jl_tensor **ts = tensor_list(L, &n);
    int dim = jl_lua_opt_dim(L, 2, ts[0]->ndim + 1, 0);
    return jl_lua_push(L, jl_stack(n, ts, dim));
}

static const luaL_Reg shape_methods[] = {
    {"view", l_view},
    {"reshape", l_reshape},
    {"flatten", l_flatten},
    {"transpose", l_transpose},
    {"t", l_t},
    {"permute", l_permute},
    {"narrow", l_narrow},
    {"select", l_select},
    {"expand", l_expand},
    {"expand_as", l_expand_as},
    {"unsqueeze", l_unsqueeze},
    {"squeeze", l_squeeze},
    {"contiguous", l_contiguous},
    {"clone", l_clone},
    {"to", l_to},
    {"float", l_float},
    {"long", l_long},
    {"int", l_int},
    {"bool", l_bool},
    {"cpu", l_cpu},
    {"cuda", l_cuda},
    {"index_select", l_index_select},
    {"gather", l_gather},
    {"scatter_add", l_scatter_add},
    {"index_add", l_index_add},
    {NULL, NULL},
};

static const luaL_Reg shape_functions[] = {
    {"cat", l_cat},
    {"stack", l_stack},
    {NULL, NULL},
};

void jl_lua_open_shape(lua_State *L, int module, int methods)
{
    jl_lua_setfuncs(L, methods, shape_methods);
    jl_lua_setfuncs(L, module, shape_methods);
    jl_lua_setfuncs(L, module, shape_functions);
}
