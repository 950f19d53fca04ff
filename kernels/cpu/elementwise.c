/* elementwise.c — CPU unary, binary, comparison, where and masked_fill
 * kernels, plus the elementwise backward helpers. f32 has tight loops the
 * compiler vectorises (contiguous runs are specialised); integer dtypes go
 * through double, exact for |values| < 2^53. */
#include <math.h>

#include "cpu_kernels.h"

typedef struct {
    jl_op op;
    jl_view v[4]; /* out, a, b, c */
    double s0, s1;
} ew_ctx;

#define PTR(ctx, i, type, off) ((type *)(ctx)->v[i].data + (off))

/* Runs EXPR over a run; contiguous runs get their own loop so they vectorise. */
#define LOOP1(EXPR)                                                                                  \
    do {                                                                                             \
        if (so == 1 && sa == 1)                                                                      \
            for (int64_t i = 0; i < n; i++) { float x = a[i]; o[i] = (EXPR); }                       \
        else                                                                                         \
            for (int64_t i = 0; i < n; i++) { float x = a[i * sa]; o[i * so] = (EXPR); }             \
    } while (0)

#define LOOP2(EXPR)                                                                                  \
    do {                                                                                             \
        if (so == 1 && sa == 1 && sb == 1)                                                           \
            for (int64_t i = 0; i < n; i++) { float x = a[i], y = b[i]; o[i] = (EXPR); }             \
        else if (so == 1 && sa == 1 && sb == 0)                                                      \
            for (int64_t i = 0; i < n; i++) { float x = a[i], y = b[0]; o[i] = (EXPR); }             \
        else                                                                                         \
            for (int64_t i = 0; i < n; i++) { float x = a[i * sa], y = b[i * sb]; o[i * so] = (EXPR); } \
    } while (0)

/* --- reading and writing any dtype as double ------------------------------------- */
static inline double load(const jl_view *v, int64_t i)
{
    switch (v->dtype) {
    case JL_F32: return ((const float *)v->data)[i];
    case JL_I32: return ((const int32_t *)v->data)[i];
    case JL_I64: return (double)((const int64_t *)v->data)[i];
    default: return ((const uint8_t *)v->data)[i];
    }
}

static inline void store(const jl_view *v, int64_t i, double x)
{
    switch (v->dtype) {
    case JL_F32: ((float *)v->data)[i] = (float)x; break;
    case JL_I32: ((int32_t *)v->data)[i] = jl_cpu_to_i32(x); break;
    case JL_I64: ((int64_t *)v->data)[i] = jl_cpu_to_i64(x); break;
    default: ((uint8_t *)v->data)[i] = x != 0; break;
    }
}

static double unary_scalar(jl_op op, double x, double s0, double s1)
{
    switch (op) {
    case JL_OP_neg: return -x;
    case JL_OP_exp: return exp(x);
    case JL_OP_log: return log(x);
    case JL_OP_sqrt: return sqrt(x);
    case JL_OP_abs: return fabs(x);
    case JL_OP_relu: return x > 0 ? x : 0;
    case JL_OP_sigmoid: return 1 / (1 + exp(-x));
    case JL_OP_tanh: return tanh(x);
    case JL_OP_pow_scalar: return pow(x, s0);
    case JL_OP_clamp: return x < s0 ? s0 : (x > s1 ? s1 : x);
    case JL_OP_affine: return x * s0 + s1;
    case JL_OP_rsub_scalar: return s0 - x;
    case JL_OP_rdiv_scalar: return s0 / x;
    case JL_OP_sign: return (x > 0) - (x < 0);
    default: return NAN;
    }
}

static double binary_scalar(jl_op op, double x, double y, double s0)
{
    switch (op) {
    case JL_OP_add: return x + y;
    case JL_OP_sub: return x - y;
    case JL_OP_mul: return x * y;
    case JL_OP_div: return x / y;
    case JL_OP_pow: return pow(x, y);
    case JL_OP_maximum: return x > y || x != x ? x : y;
    case JL_OP_minimum: return x < y || x != x ? x : y;
    case JL_OP_eq: return x == y;
    case JL_OP_ne: return x != y;
    case JL_OP_lt: return x < y;
    case JL_OP_le: return x <= y;
    case JL_OP_gt: return x > y;
    case JL_OP_ge: return x >= y;
    case JL_OP_masked_fill: return y != 0 ? s0 : x;
    default: return NAN;
    }
}

/* --- unary ------------------------------------------------------------------------ */
static void unary_f32(const ew_ctx *c, const int64_t *offs, const int64_t *steps, int64_t n)
{
    float *o = PTR(c, 0, float, offs[0]);
    const float *a = PTR(c, 1, const float, offs[1]);
    int64_t so = steps[0], sa = steps[1];
    float s0 = (float)c->s0, s1 = (float)c->s1;
    switch (c->op) {
    case JL_OP_neg: LOOP1(-x); break;
    case JL_OP_exp: LOOP1(expf(x)); break;
    case JL_OP_log: LOOP1(logf(x)); break;
    case JL_OP_sqrt: LOOP1(sqrtf(x)); break;
    case JL_OP_abs: LOOP1(fabsf(x)); break;
    case JL_OP_relu: LOOP1(x > 0 ? x : 0.0f); break;
    case JL_OP_sigmoid: LOOP1(1.0f / (1.0f + expf(-x))); break;
    case JL_OP_tanh: LOOP1(tanhf(x)); break;
    case JL_OP_pow_scalar:
        if (s0 == 2.0f) LOOP1(x * x);
        else LOOP1(powf(x, s0));
        break;
    case JL_OP_clamp: LOOP1(x < s0 ? s0 : (x > s1 ? s1 : x)); break;
    case JL_OP_affine: LOOP1(x * s0 + s1); break;
    case JL_OP_rsub_scalar: LOOP1(s0 - x); break;
    case JL_OP_rdiv_scalar: LOOP1(s0 / x); break;
    case JL_OP_sign: LOOP1((float)((x > 0) - (x < 0))); break;
    default: break;
    }
}

static void unary_run(void *vctx, const int64_t *offs, const int64_t *steps, int64_t n)
{
    const ew_ctx *c = vctx;
    if (c->v[0].dtype == JL_F32 && c->v[1].dtype == JL_F32) {
        unary_f32(c, offs, steps, n);
        return;
    }
    for (int64_t i = 0; i < n; i++)
        store(&c->v[0], offs[0] + i * steps[0],
              unary_scalar(c->op, load(&c->v[1], offs[1] + i * steps[1]), c->s0, c->s1));
}

static int cpu_unary(const jl_kargs *k)
{
    ew_ctx c = {.op = k->op, .v = {k->out, k->a}, .s0 = k->s[0], .s1 = k->s[1]};
    jl_cpu_strided_runs(2, c.v, unary_run, &c);
    return JL_OK;
}

/* --- binary, comparisons, masked_fill, backward helpers ------------------------------ */
static void binary_f32(const ew_ctx *c, const int64_t *offs, const int64_t *steps, int64_t n)
{
    float *o = PTR(c, 0, float, offs[0]);
    const float *a = PTR(c, 1, const float, offs[1]);
    const float *b = PTR(c, 2, const float, offs[2]);
    int64_t so = steps[0], sa = steps[1], sb = steps[2];
    float s0 = (float)c->s0, s1 = (float)c->s1;
    switch (c->op) {
    case JL_OP_add: LOOP2(x + y); break;
    case JL_OP_sub: LOOP2(x - y); break;
    case JL_OP_mul: LOOP2(x * y); break;
    case JL_OP_div: LOOP2(x / y); break;
    case JL_OP_pow: LOOP2(powf(x, y)); break;
    case JL_OP_maximum: LOOP2(x > y || x != x ? x : y); break;
    case JL_OP_minimum: LOOP2(x < y || x != x ? x : y); break;
    case JL_OP_relu_backward: LOOP2(y > 0 ? x : 0.0f); break;
    case JL_OP_sigmoid_backward: LOOP2(x * y * (1.0f - y)); break;
    case JL_OP_tanh_backward: LOOP2(x * (1.0f - y * y)); break;
    case JL_OP_clamp_backward: LOOP2(y >= s0 && y <= s1 ? x : 0.0f); break;
    default: break;
    }
}

static void binary_run(void *vctx, const int64_t *offs, const int64_t *steps, int64_t n)
{
    const ew_ctx *c = vctx;
    if (c->v[0].dtype == JL_F32 && c->v[1].dtype == JL_F32 && c->v[2].dtype == JL_F32) {
        binary_f32(c, offs, steps, n);
        return;
    }
    for (int64_t i = 0; i < n; i++)
        store(&c->v[0], offs[0] + i * steps[0],
              binary_scalar(c->op, load(&c->v[1], offs[1] + i * steps[1]), load(&c->v[2], offs[2] + i * steps[2]),
                            c->s0));
}

static int cpu_binary(const jl_kargs *k)
{
    ew_ctx c = {.op = k->op, .v = {k->out, k->a, k->b}, .s0 = k->s[0], .s1 = k->s[1]};
    jl_cpu_strided_runs(3, c.v, binary_run, &c);
    return JL_OK;
}

/* --- where ---------------------------------------------------------------------- */
static void where_run(void *vctx, const int64_t *offs, const int64_t *steps, int64_t n)
{
    const ew_ctx *c = vctx;
    const uint8_t *cond = (const uint8_t *)c->v[3].data + offs[3];
    if (c->v[0].dtype == JL_F32) {
        float *o = PTR(c, 0, float, offs[0]);
        const float *a = PTR(c, 1, const float, offs[1]);
        const float *b = PTR(c, 2, const float, offs[2]);
        for (int64_t i = 0; i < n; i++) o[i * steps[0]] = cond[i * steps[3]] ? a[i * steps[1]] : b[i * steps[2]];
        return;
    }
    for (int64_t i = 0; i < n; i++) {
        const jl_view *src = cond[i * steps[3]] ? &c->v[1] : &c->v[2];
        int64_t off = cond[i * steps[3]] ? offs[1] + i * steps[1] : offs[2] + i * steps[2];
        store(&c->v[0], offs[0] + i * steps[0], load(src, off));
    }
}

static int cpu_where(const jl_kargs *k)
{
    ew_ctx c = {.op = k->op, .v = {k->out, k->a, k->b, k->c}};
    jl_cpu_strided_runs(4, c.v, where_run, &c);
    return JL_OK;
}

void jl_cpu_register_elementwise(jl_backend *b)
{
    static const jl_op unary[] = {JL_OP_neg, JL_OP_exp, JL_OP_log, JL_OP_sqrt, JL_OP_abs,
                                  JL_OP_relu, JL_OP_sigmoid, JL_OP_tanh, JL_OP_pow_scalar, JL_OP_clamp,
                                  JL_OP_affine, JL_OP_rsub_scalar, JL_OP_rdiv_scalar, JL_OP_sign};
    static const jl_op binary[] = {JL_OP_add, JL_OP_sub, JL_OP_mul, JL_OP_div, JL_OP_pow, JL_OP_maximum,
                                   JL_OP_minimum, JL_OP_eq, JL_OP_ne, JL_OP_lt, JL_OP_le, JL_OP_gt,
                                   JL_OP_ge, JL_OP_masked_fill, JL_OP_relu_backward, JL_OP_sigmoid_backward,
                                   JL_OP_tanh_backward, JL_OP_clamp_backward};
    for (size_t i = 0; i < sizeof unary / sizeof *unary; i++) b->fn[unary[i]] = cpu_unary;
    for (size_t i = 0; i < sizeof binary / sizeof *binary; i++) b->fn[binary[i]] = cpu_binary;
    b->fn[JL_OP_where] = cpu_where;
}
