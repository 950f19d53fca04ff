/* elementwise.c — CPU unary, binary, comparison, where and masked_fill
 * kernels, plus the elementwise backward helpers, with the formulas of
 * jl_formulas.h; the switches and the slots are generated from jl_ops.def.
 * f32 has tight loops the compiler vectorises (contiguous runs are
 * specialised); integer dtypes go through double, exact for |values| < 2^53. */
#include <math.h>

#include "cpu_kernels.h"
#include "jl_formulas.h"
#include "jl_op_info.h"

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

/* The f64 formula of op, for the integer dtypes. */
static double unary_scalar(jl_op op, double x, double s0, double s1)
{
    switch (op) {
#define JL_OP(name, kind, ...) JL_EW_##kind(case JL_OP_##name: return jl_f64_##name(x, s0, s1);, , )
#include "jl_ops.def"
#undef JL_OP
    default: return NAN;
    }
}

static double binary_scalar(jl_op op, double x, double y, double s0, double s1)
{
    switch (op) {
#define F64_CASE(name) case JL_OP_##name: return jl_f64_##name(x, y, s0, s1);
#define JL_OP(name, kind, ...) JL_EW_##kind(, F64_CASE(name), F64_CASE(name))
#include "jl_ops.def"
#undef JL_OP
#undef F64_CASE
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
#define JL_OP(name, kind, ...) JL_EW_##kind(case JL_OP_##name: LOOP1(jl_f32_##name(x, s0, s1)); break;, , )
#include "jl_ops.def"
#undef JL_OP
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
#define JL_OP(name, kind, ...) JL_EW_##kind(, case JL_OP_##name: LOOP2(jl_f32_##name(x, y, s0, s1)); break;, )
#include "jl_ops.def"
#undef JL_OP
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
                            c->s0, c->s1));
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

/* The slot of every elementwise op of jl_ops.def, by its number of inputs. */
void jl_cpu_register_elementwise(jl_backend *b)
{
    static const jl_kernel_fn by_inputs[4] = {NULL, cpu_unary, cpu_binary, cpu_where};
    for (int op = 0; op < JL_OP_COUNT; op++)
        if (jl_op_elementwise_inputs((jl_op)op)) b->fn[op] = by_inputs[jl_op_elementwise_inputs((jl_op)op)];
}
