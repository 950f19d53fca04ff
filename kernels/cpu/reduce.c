/* reduce.c — CPU reductions over one dim, softmax and their backward helpers.
 *
 * Every op here sees a contiguous a (outer, n, inner) (k->i[0..2]) and writes
 * either out (outer, inner) (sum, mean, max, min, var) or out (outer, n, inner)
 * (softmax, log_softmax and their backward). Core never passes n == 0.
 *
 * Work is split across the pool in tasks of one outer index and a block of at
 * most BLOCK inner positions. With inner == 1 (reducing the last dim) a task is
 * one contiguous row, reduced with LANES independent accumulators so the
 * compiler vectorises the loop; with inner > 1 the block of inner positions is
 * the vector and the n rows are walked in memory order.
 *
 * Dtypes: sum reads f32 (out f32, accumulated in double) or i32/i64/u8 (out i64);
 * max/min read f32, i32, i64, u8 (out same dtype, b i64 argument, first on
 * ties, NaN wins); the rest are f32 only.
 */
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "cpu_kernels.h"

#define BLOCK 256
#define LANES 8

typedef struct reduce_task {
    const jl_kargs *k;
    int64_t outer, n, inner, nblocks;
    /* processes outer index o, inner positions [i0, i1) */
    void (*body)(const struct reduce_task *t, int64_t o, int64_t i0, int64_t i1);
} reduce_task;

static void task_range(void *ctx, int64_t begin, int64_t end)
{
    const reduce_task *t = ctx;
    if (t->nblocks == 1) {
        for (int64_t o = begin; o < end; o++) t->body(t, o, 0, t->inner);
        return;
    }
    for (int64_t r = begin; r < end; r++) {
        int64_t o = r / t->nblocks, i0 = (r % t->nblocks) * BLOCK;
        int64_t i1 = i0 + BLOCK < t->inner ? i0 + BLOCK : t->inner;
        t->body(t, o, i0, i1);
    }
}

static int run_tasks(const jl_kargs *k, void (*body)(const reduce_task *, int64_t, int64_t, int64_t))
{
    reduce_task t = {.k = k, .outer = k->i[0], .n = k->i[1], .inner = k->i[2], .body = body};
    t.nblocks = (t.inner + BLOCK - 1) / BLOCK;
    int64_t tasks = t.outer * t.nblocks;
    if (tasks == 0 || t.n == 0) return JL_OK;
    int64_t per_task = t.n * (t.inner < BLOCK ? t.inner : BLOCK);
    jl_parallel_for(tasks, JL_GRAIN_ELEMENTS / per_task + 1, task_range, &t);
    return JL_OK;
}

static int f32_only(const jl_kargs *k)
{
    if (k->a.dtype == JL_F32) return JL_OK;
    return JL_FAIL_CODE(JL_EDEVICE, "%s: the cpu kernel supports f32 only, got %s",
                        jl_op_name(k->op), jl_dtype_name(k->a.dtype));
}

/* --- row helpers (inner == 1) -------------------------------------------- */

/* sum of x (n) in double */
static double row_sum(const float *x, int64_t n)
{
    double acc[LANES] = {0};
    int64_t j = 0;
    for (; j + LANES <= n; j += LANES)
        for (int l = 0; l < LANES; l++) acc[l] += x[j + l];
    double s = 0;
    for (; j < n; j++) s += x[j];
    for (int l = 0; l < LANES; l++) s += acc[l];
    return s;
}

/* sum of (x - m)^2 over x (n) in double */
static double row_sqdev(const float *x, int64_t n, double m)
{
    double acc[LANES] = {0};
    int64_t j = 0;
    for (; j + LANES <= n; j += LANES)
        for (int l = 0; l < LANES; l++) {
            double d = x[j + l] - m;
            acc[l] += d * d;
        }
    double s = 0;
    for (; j < n; j++) s += (x[j] - m) * (x[j] - m);
    for (int l = 0; l < LANES; l++) s += acc[l];
    return s;
}

/* sum of g*y over g (n), y (n) in double */
static double row_dot(const float *g, const float *y, int64_t n)
{
    double acc[LANES] = {0};
    int64_t j = 0;
    for (; j + LANES <= n; j += LANES)
        for (int l = 0; l < LANES; l++) acc[l] += (double)g[j + l] * y[j + l];
    double s = 0;
    for (; j < n; j++) s += (double)g[j] * y[j];
    for (int l = 0; l < LANES; l++) s += acc[l];
    return s;
}

/* --- max / min: one instance per dtype and direction -------------------- */

/* NAME_row: best of x (n, stride 1) and its first position, a NaN winning;
 * NAME_body: the reduce_task body writing out (outer, inner) and b (outer, inner). */
#define DEFINE_ARG_REDUCE(NAME, T, OP, ISNAN)                                            \
    static T NAME##_row(const T *x, int64_t n, int64_t *arg)                             \
    {                                                                                    \
        T m[LANES];                                                                      \
        int nan = 0;                                                                     \
        for (int l = 0; l < LANES; l++) m[l] = x[0];                                     \
        int64_t j = 0;                                                                   \
        for (; j + LANES <= n; j += LANES)                                               \
            for (int l = 0; l < LANES; l++) {                                            \
                T v = x[j + l];                                                          \
                m[l] = v OP m[l] ? v : m[l];                                             \
                nan |= ISNAN(v);                                                         \
            }                                                                            \
        T best = m[0];                                                                   \
        for (int l = 1; l < LANES; l++) best = m[l] OP best ? m[l] : best;               \
        for (; j < n; j++) {                                                             \
            best = x[j] OP best ? x[j] : best;                                           \
            nan |= ISNAN(x[j]);                                                          \
        }                                                                                \
        for (j = 0; j < n; j++)                                                          \
            if (nan ? ISNAN(x[j]) : x[j] == best) break;                                 \
        *arg = j;                                                                        \
        return x[j];                                                                     \
    }                                                                                    \
    static void NAME##_body(const reduce_task *t, int64_t o, int64_t i0, int64_t i1)     \
    {                                                                                    \
        const T *a = (const T *)t->k->a.data + o * t->n * t->inner;                      \
        T *out = (T *)t->k->out.data + o * t->inner;                                     \
        int64_t *arg = (int64_t *)t->k->b.data + o * t->inner;                           \
        if (t->inner == 1) {                                                             \
            out[0] = NAME##_row(a, t->n, arg);                                           \
            return;                                                                      \
        }                                                                                \
        for (int64_t i = i0; i < i1; i++) {                                              \
            out[i] = a[i];                                                               \
            arg[i] = 0;                                                                  \
        }                                                                                \
        for (int64_t j = 1; j < t->n; j++) {                                             \
            const T *row = a + j * t->inner;                                             \
            for (int64_t i = i0; i < i1; i++) {                                          \
                T v = row[i], best = out[i];                                             \
                if (v OP best || (ISNAN(v) && !ISNAN(best))) {                           \
                    out[i] = v;                                                          \
                    arg[i] = j;                                                          \
                }                                                                        \
            }                                                                            \
        }                                                                                \
    }

#define NEVER_NAN(v) 0

DEFINE_ARG_REDUCE(max_f32, float, >, isnan)
DEFINE_ARG_REDUCE(min_f32, float, <, isnan)
DEFINE_ARG_REDUCE(max_i32, int32_t, >, NEVER_NAN)
DEFINE_ARG_REDUCE(min_i32, int32_t, <, NEVER_NAN)
DEFINE_ARG_REDUCE(max_i64, int64_t, >, NEVER_NAN)
DEFINE_ARG_REDUCE(min_i64, int64_t, <, NEVER_NAN)
DEFINE_ARG_REDUCE(max_u8, uint8_t, >, NEVER_NAN)
DEFINE_ARG_REDUCE(min_u8, uint8_t, <, NEVER_NAN)

typedef void (*body_fn)(const reduce_task *, int64_t, int64_t, int64_t);

static int arg_reduce(const jl_kargs *k, const body_fn bodies[JL_DTYPE_COUNT])
{
    return run_tasks(k, bodies[k->a.dtype]);
}

static int cpu_max(const jl_kargs *k)
{
    static const body_fn bodies[JL_DTYPE_COUNT] = {
        [JL_F32] = max_f32_body, [JL_I32] = max_i32_body,
        [JL_I64] = max_i64_body, [JL_U8] = max_u8_body};
    return arg_reduce(k, bodies);
}

static int cpu_min(const jl_kargs *k)
{
    static const body_fn bodies[JL_DTYPE_COUNT] = {
        [JL_F32] = min_f32_body, [JL_I32] = min_i32_body,
        [JL_I64] = min_i64_body, [JL_U8] = min_u8_body};
    return arg_reduce(k, bodies);
}

/* --- sum, mean, var ------------------------------------------------------ */

/* acc (i1 - i0) <- sum over n of a (n, inner) at inner positions [i0, i1) */
static void column_sums(const float *a, int64_t n, int64_t inner, int64_t i0, int64_t i1, double *acc)
{
    int64_t w = i1 - i0;
    for (int64_t i = 0; i < w; i++) acc[i] = 0;
    for (int64_t j = 0; j < n; j++) {
        const float *row = a + j * inner + i0;
        for (int64_t i = 0; i < w; i++) acc[i] += row[i];
    }
}

/* out (outer, inner) <- sum of a (outer, n, inner) times scale */
static void scaled_sum_body(const reduce_task *t, int64_t o, int64_t i0, int64_t i1, double scale)
{
    const float *a = (const float *)t->k->a.data + o * t->n * t->inner;
    float *out = (float *)t->k->out.data + o * t->inner;
    if (t->inner == 1) {
        out[0] = (float)(row_sum(a, t->n) * scale);
        return;
    }
    double acc[BLOCK];
    column_sums(a, t->n, t->inner, i0, i1, acc);
    for (int64_t i = i0; i < i1; i++) out[i] = (float)(acc[i - i0] * scale);
}

static void sum_f32_body(const reduce_task *t, int64_t o, int64_t i0, int64_t i1)
{
    scaled_sum_body(t, o, i0, i1, 1.0);
}

static void mean_body(const reduce_task *t, int64_t o, int64_t i0, int64_t i1)
{
    scaled_sum_body(t, o, i0, i1, 1.0 / (double)t->n);
}

/* Integer sums: out (outer, inner) i64 <- sum of a (outer, n, inner) of T;
 * added as uint64 so an overflow wraps (as torch and numpy) instead of being
 * undefined behaviour. */
#define DEFINE_INT_SUM(NAME, T)                                                      \
    static void NAME(const reduce_task *t, int64_t o, int64_t i0, int64_t i1)        \
    {                                                                                \
        const T *a = (const T *)t->k->a.data + o * t->n * t->inner;                  \
        int64_t *out = (int64_t *)t->k->out.data + o * t->inner;                     \
        for (int64_t i = i0; i < i1; i++) out[i] = 0;                                \
        for (int64_t j = 0; j < t->n; j++) {                                         \
            const T *row = a + j * t->inner;                                         \
            for (int64_t i = i0; i < i1; i++)                                        \
                out[i] = (int64_t)((uint64_t)out[i] + (uint64_t)(int64_t)row[i]);    \
        }                                                                            \
    }

DEFINE_INT_SUM(sum_i32_body, int32_t)
DEFINE_INT_SUM(sum_i64_body, int64_t)
DEFINE_INT_SUM(sum_u8_body, uint8_t)

static int cpu_sum(const jl_kargs *k)
{
    static const body_fn bodies[JL_DTYPE_COUNT] = {
        [JL_F32] = sum_f32_body, [JL_I32] = sum_i32_body,
        [JL_I64] = sum_i64_body, [JL_U8] = sum_u8_body};
    return run_tasks(k, bodies[k->a.dtype]);
}

static int cpu_mean(const jl_kargs *k)
{
    int rc = f32_only(k);
    return rc ? rc : run_tasks(k, mean_body);
}

/* out (outer, inner) <- sum (a - mean)^2 / max(n - s[0], 0) over n */
static void var_body(const reduce_task *t, int64_t o, int64_t i0, int64_t i1)
{
    const float *a = (const float *)t->k->a.data + o * t->n * t->inner;
    float *out = (float *)t->k->out.data + o * t->inner;
    double dof = (double)t->n - t->k->s[0];
    if (dof < 0) dof = 0;
    if (t->inner == 1) {
        double m = row_sum(a, t->n) / (double)t->n;
        out[0] = (float)(row_sqdev(a, t->n, m) / dof);
        return;
    }
    double mean[BLOCK], ss[BLOCK];
    int64_t w = i1 - i0;
    column_sums(a, t->n, t->inner, i0, i1, mean);
    for (int64_t i = 0; i < w; i++) {
        mean[i] /= (double)t->n;
        ss[i] = 0;
    }
    for (int64_t j = 0; j < t->n; j++) {
        const float *row = a + j * t->inner + i0;
        for (int64_t i = 0; i < w; i++) {
            double d = row[i] - mean[i];
            ss[i] += d * d;
        }
    }
    for (int64_t i = 0; i < w; i++) out[i0 + i] = (float)(ss[i] / dof);
}

static int cpu_var(const jl_kargs *k)
{
    int rc = f32_only(k);
    return rc ? rc : run_tasks(k, var_body);
}

/* --- softmax, log_softmax -------------------------------------------------- */

/* y (n) <- softmax or log_softmax of x (n) */
static void softmax_row(const float *x, float *y, int64_t n, bool log_out)
{
    int64_t arg;
    float m = max_f32_row(x, n, &arg);
    double s = 0;
    for (int64_t j = 0; j < n; j++) {
        float e = expf(x[j] - m);
        y[j] = e;
        s += e;
    }
    if (log_out) {
        float ls = (float)log(s);
        for (int64_t j = 0; j < n; j++) y[j] = (x[j] - m) - ls;
    } else {
        float inv = (float)(1.0 / s);
        for (int64_t j = 0; j < n; j++) y[j] *= inv;
    }
}

/* out (n, inner) <- softmax or log_softmax over n of a (n, inner) at [i0, i1) */
static void softmax_columns(const float *a, float *out, int64_t n, int64_t inner,
                            int64_t i0, int64_t i1, bool log_out)
{
    float m[BLOCK];
    double s[BLOCK];
    int64_t w = i1 - i0;
    for (int64_t i = 0; i < w; i++) {
        m[i] = a[i0 + i];
        s[i] = 0;
    }
    for (int64_t j = 1; j < n; j++) {
        const float *row = a + j * inner + i0;
        for (int64_t i = 0; i < w; i++) m[i] = row[i] > m[i] ? row[i] : m[i];
    }
    for (int64_t j = 0; j < n; j++) {
        const float *row = a + j * inner + i0;
        float *dst = out + j * inner + i0;
        for (int64_t i = 0; i < w; i++) {
            dst[i] = expf(row[i] - m[i]);
            s[i] += dst[i];
        }
    }
    float f[BLOCK];
    for (int64_t i = 0; i < w; i++) f[i] = log_out ? (float)log(s[i]) : (float)(1.0 / s[i]);
    for (int64_t j = 0; j < n; j++) {
        const float *row = a + j * inner + i0;
        float *dst = out + j * inner + i0;
        for (int64_t i = 0; i < w; i++) dst[i] = log_out ? (row[i] - m[i]) - f[i] : dst[i] * f[i];
    }
}

static void softmax_any_body(const reduce_task *t, int64_t o, int64_t i0, int64_t i1, bool log_out)
{
    int64_t off = o * t->n * t->inner;
    const float *a = (const float *)t->k->a.data + off;
    float *out = (float *)t->k->out.data + off;
    if (t->inner == 1)
        softmax_row(a, out, t->n, log_out);
    else
        softmax_columns(a, out, t->n, t->inner, i0, i1, log_out);
}

static void softmax_body(const reduce_task *t, int64_t o, int64_t i0, int64_t i1)
{
    softmax_any_body(t, o, i0, i1, false);
}

static void log_softmax_body(const reduce_task *t, int64_t o, int64_t i0, int64_t i1)
{
    softmax_any_body(t, o, i0, i1, true);
}

static int cpu_softmax(const jl_kargs *k)
{
    int rc = f32_only(k);
    return rc ? rc : run_tasks(k, softmax_body);
}

static int cpu_log_softmax(const jl_kargs *k)
{
    int rc = f32_only(k);
    return rc ? rc : run_tasks(k, log_softmax_body);
}

/* --- backward of softmax and log_softmax ----------------------------------- */

/* out (outer, n, inner) from g = a and y = b (both (outer, n, inner)):
 * softmax:     out = y * (g - sum(g*y))
 * log_softmax: out = g - exp(y) * sum(g) */
static void softmax_backward_any(const reduce_task *t, int64_t o, int64_t i0, int64_t i1, bool log_out)
{
    int64_t off = o * t->n * t->inner, n = t->n, inner = t->inner;
    const float *g = (const float *)t->k->a.data + off;
    const float *y = (const float *)t->k->b.data + off;
    float *out = (float *)t->k->out.data + off;
    double s[BLOCK];
    int64_t w = i1 - i0;
    if (inner == 1) {
        s[0] = log_out ? row_sum(g, n) : row_dot(g, y, n);
    } else {
        for (int64_t i = 0; i < w; i++) s[i] = 0;
        for (int64_t j = 0; j < n; j++) {
            const float *gr = g + j * inner + i0, *yr = y + j * inner + i0;
            for (int64_t i = 0; i < w; i++) s[i] += log_out ? (double)gr[i] : (double)gr[i] * yr[i];
        }
    }
    float f[BLOCK];
    for (int64_t i = 0; i < w; i++) f[i] = (float)s[i];
    for (int64_t j = 0; j < n; j++) {
        const float *gr = g + j * inner + i0, *yr = y + j * inner + i0;
        float *dst = out + j * inner + i0;
        for (int64_t i = 0; i < w; i++)
            dst[i] = log_out ? gr[i] - expf(yr[i]) * f[i] : yr[i] * (gr[i] - f[i]);
    }
}

static void softmax_backward_body(const reduce_task *t, int64_t o, int64_t i0, int64_t i1)
{
    softmax_backward_any(t, o, i0, i1, false);
}

static void log_softmax_backward_body(const reduce_task *t, int64_t o, int64_t i0, int64_t i1)
{
    softmax_backward_any(t, o, i0, i1, true);
}

static int cpu_softmax_backward(const jl_kargs *k)
{
    int rc = f32_only(k);
    return rc ? rc : run_tasks(k, softmax_backward_body);
}

static int cpu_log_softmax_backward(const jl_kargs *k)
{
    int rc = f32_only(k);
    return rc ? rc : run_tasks(k, log_softmax_backward_body);
}

void jl_cpu_register_reduce(jl_backend *b)
{
    b->fn[JL_OP_sum] = cpu_sum;
    b->fn[JL_OP_mean] = cpu_mean;
    b->fn[JL_OP_max] = cpu_max;
    b->fn[JL_OP_min] = cpu_min;
    b->fn[JL_OP_var] = cpu_var;
    b->fn[JL_OP_softmax] = cpu_softmax;
    b->fn[JL_OP_log_softmax] = cpu_log_softmax;
    b->fn[JL_OP_softmax_backward] = cpu_softmax_backward;
    b->fn[JL_OP_log_softmax_backward] = cpu_log_softmax_backward;
}
