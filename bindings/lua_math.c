/* lua_math.c — arithmetic and the ops that compute values: unary functions,
 * binary ops with numbers on either side (also the metamethods), comparisons,
 * where/masked_fill, reductions over 1-based dims, softmax, matmul, linear.
 * Every function here is both a module function and a method:
 *
 *   local y = (2 - x) / 4 + x:exp()       -- x (N, F)
 *   local s = y:sum(2, true)              -- (N, 1): dim 2, keepdim
 *   local v, i = y:max(-1)                -- values and 1-based indices (N)
 *   local p = jl.softmax(y, 2)
 */
#include <math.h>

#include "lua_args.h"
#include "lua_module.h"

/* ------------------------------------------------------------- unary ops */

#define UNARY(name)                                                    \
    static int l_##name(lua_State *L)                                  \
    {                                                                  \
        return jl_lua_push(L, jl_##name(jl_lua_check(L, 1)));          \
    }
UNARY(neg)
UNARY(exp)
UNARY(log)
UNARY(sqrt)
UNARY(abs)
UNARY(relu)
UNARY(sigmoid)
UNARY(tanh)
#undef UNARY

static int l_sign(lua_State *L)
{
    return jl_lua_push(L, jl_unary(JL_OP_sign, jl_lua_check(L, 1), 0.0, 0.0));
}

/* t:clamp(lo, hi): either bound may be nil. */
static int l_clamp(lua_State *L)
{
    jl_tensor *t = jl_lua_check(L, 1);
    double lo = luaL_optnumber(L, 2, -INFINITY), hi = luaL_optnumber(L, 3, INFINITY);
    luaL_argcheck(L, lo <= hi, 3, "hi must be >= lo");
    return jl_lua_push(L, jl_clamp(t, lo, hi));
}

int jl_lua_unm(lua_State *L) { return l_neg(L); }

/* ------------------------------------------------------------ binary ops */

/* The operands at 1 and 2: tensors, or one number made into a 0-d tensor of
 * the other's dtype (owned by *tmp, NULL otherwise). */
static void operands(lua_State *L, jl_tensor **a, jl_tensor **b, jl_tensor **tmp)
{
    jl_tensor *ta = jl_lua_test(L, 1);
    if (ta) {
        *a = ta;
        *b = jl_lua_check_operand(L, 2, ta, tmp);
    } else {
        jl_tensor *tb = jl_lua_test(L, 2);
        if (!tb) luaL_typeerror(L, lua_type(L, 1) == LUA_TNUMBER ? 2 : 1, "tensor");
        *b = tb;
        *a = jl_lua_check_operand(L, 1, tb, tmp);
    }
}

static int binary(lua_State *L, jl_tensor *(*fn)(jl_tensor *, jl_tensor *))
{
    jl_tensor *a, *b, *tmp;
    operands(L, &a, &b, &tmp);
    jl_tensor *r = fn(a, b);
    jl_release(tmp);
    return jl_lua_push(L, r);
}

/* A number on one side of + - * is an affine map: one kernel, exact. */
static bool number_side(lua_State *L, jl_tensor **t, double *x, bool *left)
{
    int n = lua_type(L, 1) == LUA_TNUMBER ? 1 : lua_type(L, 2) == LUA_TNUMBER ? 2 : 0;
    if (!n) return false;
    *t = jl_lua_check(L, 3 - n);
    *x = lua_tonumber(L, n);
    *left = n == 1;
    return true;
}

int jl_lua_add(lua_State *L)
{
    jl_tensor *t;
    double x;
    bool left;
    if (number_side(L, &t, &x, &left)) return jl_lua_push(L, jl_affine(t, 1.0, x));
    return binary(L, jl_add);
}

int jl_lua_sub(lua_State *L)
{
    jl_tensor *t;
    double x;
    bool left;
    if (number_side(L, &t, &x, &left)) return jl_lua_push(L, left ? jl_affine(t, -1.0, x) : jl_affine(t, 1.0, -x));
    return binary(L, jl_sub);
}

int jl_lua_mul(lua_State *L)
{
    jl_tensor *t;
    double x;
    bool left;
    if (number_side(L, &t, &x, &left)) return jl_lua_push(L, jl_affine(t, x, 0.0));
    return binary(L, jl_mul);
}

int jl_lua_div(lua_State *L) { return binary(L, jl_div); }

/* t ^ p and t:pow(p): p a number (pow_scalar) or a tensor; 2 ^ t too. */
int jl_lua_pow(lua_State *L)
{
    jl_tensor *t = jl_lua_test(L, 1);
    if (t && lua_type(L, 2) == LUA_TNUMBER) return jl_lua_push(L, jl_pow_scalar(t, lua_tonumber(L, 2)));
    return binary(L, jl_pow);
}

static int l_maximum(lua_State *L) { return binary(L, jl_maximum); }
static int l_minimum(lua_State *L) { return binary(L, jl_minimum); }

/* ------------------------------------------------------------ comparisons */

static int compare(lua_State *L, jl_op op)
{
    jl_tensor *a, *b, *tmp;
    operands(L, &a, &b, &tmp);
    jl_tensor *r = jl_compare(op, a, b);
    jl_release(tmp);
    return jl_lua_push(L, r);
}

static int l_eq(lua_State *L) { return compare(L, JL_OP_eq); }
static int l_ne(lua_State *L) { return compare(L, JL_OP_ne); }
static int l_lt(lua_State *L) { return compare(L, JL_OP_lt); }
static int l_le(lua_State *L) { return compare(L, JL_OP_le); }
static int l_gt(lua_State *L) { return compare(L, JL_OP_gt); }
static int l_ge(lua_State *L) { return compare(L, JL_OP_ge); }

/* jl.where(cond, a, b): a and b tensors or numbers (two numbers give f32). */
static int l_where(lua_State *L)
{
    jl_tensor *cond = jl_lua_check(L, 1);
    jl_tensor *ta = jl_lua_test(L, 2), *tb = jl_lua_test(L, 3);
    if (!ta) luaL_checknumber(L, 2);
    if (!tb) luaL_checknumber(L, 3);
    jl_tensor *tmp_a = NULL, *tmp_b = NULL;
    if (!ta && !tb) {
        tmp_a = jl_full(JL_F32, 0, NULL, lua_tonumber(L, 2), jl_device_of(cond));
        tmp_b = tmp_a ? jl_full(JL_F32, 0, NULL, lua_tonumber(L, 3), jl_device_of(cond)) : NULL;
    } else if (!ta) {
        tmp_a = jl_scalar_like(tb, lua_tonumber(L, 2));
    } else if (!tb) {
        tmp_b = jl_scalar_like(ta, lua_tonumber(L, 3));
    }
    jl_tensor *a = ta ? ta : tmp_a, *b = tb ? tb : tmp_b;
    jl_tensor *r = a && b ? jl_where(cond, a, b) : NULL;
    jl_release(tmp_a);
    jl_release(tmp_b);
    return jl_lua_push(L, r);
}

/* t:masked_fill(mask, v): v where mask (u8) is 1, t elsewhere. */
static int l_masked_fill(lua_State *L)
{
    jl_tensor *t = jl_lua_check(L, 1), *mask = jl_lua_check(L, 2);
    double v = luaL_checknumber(L, 3);
    return jl_lua_push(L, jl_masked_fill(t, mask, v));
}

/* ------------------------------------------------------------ reductions */

/* t:sum(dim?, keepdim?): all elements to a 0-d tensor when dim is nil. */
static int reduce(lua_State *L, jl_tensor *(*fn)(jl_tensor *, int, bool))
{
    jl_tensor *t = jl_lua_check(L, 1);
    int dim = jl_lua_opt_dim(L, 2, t->ndim, JL_ALL_DIMS);
    bool keepdim = jl_lua_opt_bool(L, 3, false);
    return jl_lua_push(L, fn(t, dim, keepdim));
}

static int l_sum(lua_State *L) { return reduce(L, jl_sum); }
static int l_mean(lua_State *L) { return reduce(L, jl_mean); }

/* Pushes a +1 i64 tensor of 0-based positions as 1-based. */
static int push_one_based(lua_State *L, jl_tensor *idx)
{
    jl_tensor *r = idx ? jl_affine(idx, 1.0, 1.0) : NULL;
    jl_release(idx);
    return jl_lua_push(L, r);
}

/* t:max() → 0-d tensor; t:max(dim, keepdim?) → values, 1-based indices;
 * t:max(u) → elementwise maximum of two tensors. Same for min. */
static int extremum(lua_State *L, bool is_max)
{
    jl_tensor *t = jl_lua_check(L, 1);
    if (jl_lua_test(L, 2)) return binary(L, is_max ? jl_maximum : jl_minimum);
    jl_tensor *(*fn)(jl_tensor *, int, bool, jl_tensor **) = is_max ? jl_max : jl_min;
    if (lua_isnoneornil(L, 2)) return jl_lua_push(L, fn(t, JL_ALL_DIMS, false, NULL));
    int dim = jl_lua_check_dim(L, 2, t->ndim);
    bool keepdim = jl_lua_opt_bool(L, 3, false);
    jl_tensor *idx = NULL, *values = fn(t, dim, keepdim, &idx);
    if (!values) {
        jl_release(idx);
        return jl_lua_raise(L);
    }
    jl_lua_push(L, values);
    push_one_based(L, idx);
    return 2;
}

static int l_max(lua_State *L) { return extremum(L, true); }
static int l_min(lua_State *L) { return extremum(L, false); }

/* t:argmax(dim?, keepdim?) → 1-based i64 positions (flat position without dim). */
static int arg_extremum(lua_State *L, bool is_max)
{
    jl_tensor *t = jl_lua_check(L, 1);
    int dim = jl_lua_opt_dim(L, 2, t->ndim, JL_ALL_DIMS);
    bool keepdim = jl_lua_opt_bool(L, 3, false);
    if (is_max) return push_one_based(L, jl_argmax(t, dim, keepdim));
    jl_tensor *idx = NULL, *values = jl_min(t, dim, keepdim, &idx);
    jl_release(values);
    if (!values) {
        jl_release(idx);
        return jl_lua_raise(L);
    }
    return push_one_based(L, idx);
}

static int l_argmax(lua_State *L) { return arg_extremum(L, true); }
static int l_argmin(lua_State *L) { return arg_extremum(L, false); }

/* t:var(dim?, keepdim?, {unbiased = true}); the options table may come right
 * after dim or in place of it. */
static jl_tensor *variance(lua_State *L)
{
    jl_tensor *t = jl_lua_check(L, 1);
    int opts = lua_istable(L, 2) ? 2 : lua_istable(L, 3) ? 3 : 4;
    int dim = opts == 2 ? JL_ALL_DIMS : jl_lua_opt_dim(L, 2, t->ndim, JL_ALL_DIMS);
    bool keepdim = opts == 4 ? jl_lua_opt_bool(L, 3, false) : false;
    bool unbiased = true;
    if (!lua_isnoneornil(L, opts)) {
        luaL_checktype(L, opts, LUA_TTABLE);
        int type = lua_getfield(L, opts, "unbiased");
        if (type != LUA_TNIL) {
            luaL_argcheck(L, type == LUA_TBOOLEAN, opts, "unbiased must be a boolean");
            unbiased = lua_toboolean(L, -1);
        }
        lua_pop(L, 1);
        if (lua_getfield(L, opts, "keepdim") != LUA_TNIL) keepdim = lua_toboolean(L, -1);
        lua_pop(L, 1);
    }
    return jl_var(t, dim, keepdim, unbiased ? 1 : 0);
}

static int l_var(lua_State *L) { return jl_lua_push(L, variance(L)); }

static int l_std(lua_State *L)
{
    jl_tensor *v = variance(L);
    jl_tensor *s = v ? jl_sqrt(v) : NULL;
    jl_release(v);
    return jl_lua_push(L, s);
}

/* t:softmax(dim), t:log_softmax(dim) */
static int l_softmax(lua_State *L)
{
    jl_tensor *t = jl_lua_check(L, 1);
    return jl_lua_push(L, jl_softmax(t, jl_lua_check_dim(L, 2, t->ndim)));
}

static int l_log_softmax(lua_State *L)
{
    jl_tensor *t = jl_lua_check(L, 1);
    return jl_lua_push(L, jl_log_softmax(t, jl_lua_check_dim(L, 2, t->ndim)));
}

/* ----------------------------------------------------------- linear algebra */

/* jl.matmul(a, b), a:matmul(b): numpy rules, batch dims broadcast. */
static int l_matmul(lua_State *L)
{
    jl_tensor *a = jl_lua_check(L, 1), *b = jl_lua_check(L, 2);
    return jl_lua_push(L, jl_matmul(a, b));
}

/* jl.linear(x, w, b?): x (..., F_in), w (F_out, F_in), b (F_out) or nil. */
static int l_linear(lua_State *L)
{
    jl_tensor *x = jl_lua_check(L, 1), *w = jl_lua_check(L, 2);
    jl_tensor *b = lua_isnoneornil(L, 3) ? NULL : jl_lua_check(L, 3);
    return jl_lua_push(L, jl_linear(x, w, b));
}

static const luaL_Reg math_functions[] = {
    {"neg", l_neg},         {"exp", l_exp},           {"log", l_log},
    {"sqrt", l_sqrt},       {"abs", l_abs},           {"relu", l_relu},
    {"sigmoid", l_sigmoid}, {"tanh", l_tanh},         {"sign", l_sign},
    {"clamp", l_clamp},     {"pow", jl_lua_pow},      {"add", jl_lua_add},
    {"sub", jl_lua_sub},    {"mul", jl_lua_mul},      {"div", jl_lua_div},
    {"maximum", l_maximum}, {"minimum", l_minimum},   {"eq", l_eq},
    {"ne", l_ne},           {"lt", l_lt},             {"le", l_le},
    {"gt", l_gt},           {"ge", l_ge},             {"where", l_where},
    {"masked_fill", l_masked_fill},                   {"sum", l_sum},
    {"mean", l_mean},       {"max", l_max},           {"min", l_min},
    {"argmax", l_argmax},   {"argmin", l_argmin},     {"var", l_var},
    {"std", l_std},         {"softmax", l_softmax},   {"log_softmax", l_log_softmax},
    {"matmul", l_matmul},   {"linear", l_linear},     {NULL, NULL},
};

void jl_lua_open_math(lua_State *L, int module, int methods)
{
    jl_lua_setfuncs(L, module, math_functions);
    jl_lua_setfuncs(L, methods, math_functions);
}
