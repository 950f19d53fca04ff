/* nn.c — CPU batch normalisation over node tables x (N, C), N up to millions.
 *
 * Per-channel sums run over a fixed split of the N rows into chunks (chosen
 * from N and C only, so results never depend on the thread count): each task
 * sums its chunk's rows into its own double partials for every channel (the
 * channel loop is contiguous and vectorises), then the partials are added in
 * chunk order. Statistics take one pass over deviations from a shift (the
 * first row: sums of x - K and (x - K)^2 in double, so var = E[(x-K)^2] -
 * E[x-K]^2 does not cancel when |mean| >> std). Elementwise passes split rows across the pool with
 * per-channel coefficients computed once.
 *
 * Views (see core/tensor/backend/jl_ops.def): k->i[0] = N, k->i[1] = C; all contiguous f32;
 * the channel table has rows mean, var, weight, bias, grad bias, grad weight.
 */
/* No code here reads floating-point exception flags; without trapping math GCC may
 * evaluate both sides of the ReLU of relu-first statistics, so that loop vectorises
 * (a branch on the sign of random values mispredicts half the time). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math", "no-math-errno")
#endif

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

#include "cpu_kernels.h"
#include "jl_formulas.h"

#define MAX_CHUNKS 256

/* A fixed split of n rows into chunks of `rows` rows. */
typedef struct chunking {
    int64_t n, c, rows, count;
} chunking;

static chunking split_rows(int64_t n, int64_t c)
{
    chunking s = {.n = n, .c = c};
    s.rows = JL_GRAIN_ELEMENTS / (c > 0 ? c : 1) + 1;
    int64_t min_rows = (n + MAX_CHUNKS - 1) / MAX_CHUNKS;
    if (s.rows < min_rows) s.rows = min_rows;
    s.count = (n + s.rows - 1) / s.rows;
    return s;
}

/* What one pass over the rows of a chunk accumulates into part (2, C) doubles. */
typedef enum { SUM_SHIFTED, SUM_G_GXMU } sum_kind;

typedef struct sums_task {
    chunking s;
    sum_kind kind;
    const float *x, *g;  /* x (N, C); g (N, C) for SUM_G_GXMU */
    const double *mean;  /* (C): the shift K for SUM_SHIFTED, the mean for SUM_G_GXMU */
    double *partials;    /* (chunks, 2, C) */
    bool relu;           /* SUM_SHIFTED of relu(x) */
} sums_task;

/* p0 += x - K, p1 += (x - K)^2 over one row, x through relu when relu (a constant at
 * each call, so both loops vectorise) */
static inline void shifted_sums(const float *restrict x, const double *restrict shift, double *restrict p0,
                                double *restrict p1, int64_t C, const bool relu)
{
    for (int64_t j = 0; j < C; j++) {
        double d = (relu ? jl_f32_relu(x[j], 0, 0) : x[j]) - shift[j];
        p0[j] += d;
        p1[j] += d * d;
    }
}

static void sums_range(void *ctx, int64_t begin, int64_t end)
{
    const sums_task *t = ctx;
    int64_t C = t->s.c;
    for (int64_t chunk = begin; chunk < end; chunk++) {
        double *p0 = t->partials + chunk * 2 * C, *p1 = p0 + C;
        for (int64_t j = 0; j < C; j++) p0[j] = p1[j] = 0;
        int64_t r0 = chunk * t->s.rows, r1 = r0 + t->s.rows < t->s.n ? r0 + t->s.rows : t->s.n;
        for (int64_t r = r0; r < r1; r++) {
            const float *x = t->x + r * C;
            if (t->kind == SUM_SHIFTED && t->relu) {
                shifted_sums(x, t->mean, p0, p1, C, true);
            } else if (t->kind == SUM_SHIFTED) {
                shifted_sums(x, t->mean, p0, p1, C, false);
            } else {
                const float *g = t->g + r * C;
                for (int64_t j = 0; j < C; j++) {
                    p0[j] += g[j];
                    p1[j] += g[j] * (x[j] - t->mean[j]);
                }
            }
        }
    }
}

/* out (2, C) <- the chunk partials of one pass, summed in chunk order. */
static void run_sums(sums_task *t, double *out)
{
    int64_t C = t->s.c;
    jl_parallel_for(t->s.count, 1, sums_range, t);
    for (int64_t j = 0; j < 2 * C; j++) out[j] = 0;
    for (int64_t chunk = 0; chunk < t->s.count; chunk++)
        for (int64_t j = 0; j < 2 * C; j++) out[j] += t->partials[chunk * 2 * C + j];
}

/* Scratch for one kernel call: partials (chunks, 2, C), sums (2, C), mean (C). */
typedef struct scratch {
    double *partials, *sums, *mean;
} scratch;

static int scratch_new(const chunking *s, scratch *m, const char *op)
{
    size_t C = (size_t)s->c;
    m->partials = malloc(((size_t)s->count * 2 + 3) * C * sizeof(double) + sizeof(double));
    if (!m->partials) return JL_FAIL_CODE(JL_ENOMEM, "%s: out of memory for per-channel partial sums", op);
    m->sums = m->partials + (size_t)s->count * 2 * C;
    m->mean = m->sums + 2 * C;
    return JL_OK;
}

/* --- batchnorm_stats: out (2, C) <- mean, biased variance of a (N, C), or of relu(a)
 * when i[2] = 1 ------------------------------------------------------------------------ */
static int cpu_batchnorm_stats(const jl_kargs *k)
{
    int64_t N = k->i[0], C = k->i[1];
    bool relu = k->i[2] != 0;
    chunking s = split_rows(N, C);
    scratch m = {0};
    if (scratch_new(&s, &m, "batchnorm_stats")) return JL_ENOMEM;
    const float *x = k->a.data;
    for (int64_t j = 0; j < C; j++) m.mean[j] = N > 0 ? (relu ? jl_f32_relu(x[j], 0, 0) : x[j]) : 0; /* the shift K: row 0 */
    sums_task t = {.s = s, .kind = SUM_SHIFTED, .x = x, .mean = m.mean, .partials = m.partials, .relu = relu};
    run_sums(&t, m.sums);
    float *out = k->out.data;
    for (int64_t j = 0; j < C; j++) {
        double d = m.sums[j] / (double)N, var = m.sums[C + j] / (double)N - d * d;
        out[j] = (float)(m.mean[j] + d);
        out[C + j] = (float)(var > 0 ? var : 0);
    }
    free(m.partials);
    return JL_OK;
}

/* --- elementwise passes: out (N, C) <- alpha[c] * (a - mu[c]) + beta[c] + gamma[c] * b ---
 * Subtracting mu first keeps values far from zero (x ~ 1000, spread 0.01) exact. */

typedef struct affine_task {
    int64_t c;
    const float *a, *b; /* a (N, C); b (N, C) or NULL when gamma is unused */
    float *out;
    const float *alpha, *mu, *beta, *gamma; /* (C) each */
} affine_task;

static void affine_range(void *ctx, int64_t begin, int64_t end)
{
    const affine_task *t = ctx;
    int64_t C = t->c;
    for (int64_t r = begin; r < end; r++) {
        const float *a = t->a + r * C;
        float *o = t->out + r * C;
        if (t->b) {
            const float *b = t->b + r * C;
            for (int64_t j = 0; j < C; j++) o[j] = t->alpha[j] * (a[j] - t->mu[j]) + t->beta[j] + t->gamma[j] * b[j];
        } else {
            for (int64_t j = 0; j < C; j++) o[j] = t->alpha[j] * (a[j] - t->mu[j]) + t->beta[j];
        }
    }
}

static void run_affine(affine_task *t, int64_t n)
{
    jl_parallel_for(n, JL_GRAIN_ELEMENTS / (t->c > 0 ? t->c : 1) + 1, affine_range, t);
}

/* --- batchnorm_forward: out <- (a - mean) / sqrt(var + eps) * weight + bias ------ */
static int cpu_batchnorm_forward(const jl_kargs *k)
{
    int64_t N = k->i[0], C = k->i[1];
    const float *tab = k->b.data;
    float *scale = malloc((size_t)C * sizeof(float) + sizeof(float));
    if (!scale) return JL_FAIL_CODE(JL_ENOMEM, "batchnorm_forward: out of memory for %lld channels", (long long)C);
    for (int64_t j = 0; j < C; j++) scale[j] = (float)(tab[2 * C + j] / sqrt((double)tab[C + j] + k->s[0]));
    affine_task t = {.c = C, .a = k->a.data, .out = k->out.data, .alpha = scale, .mu = tab, .beta = tab + 3 * C};
    run_affine(&t, N);
    free(scale);
    return JL_OK;
}

/* --- batchnorm_backward ------------------------------------------------------------
 * With xhat = (x - mean) * invstd, invstd = 1/sqrt(var + eps), sums over N:
 *   grad bias   = sum g
 *   grad weight = sum g*xhat
 *   grad x      = w*invstd * (g - sum g / N - xhat * sum g*xhat / N)   batch statistics
 *   grad x      = w*invstd * g                                         constant statistics
 */
static int cpu_batchnorm_backward(const jl_kargs *k)
{
    int64_t N = k->i[0], C = k->i[1];
    float *tab = k->c.data;
    bool batch_stats = k->s[1] != 0;
    chunking s = split_rows(N, C);
    scratch m = {0};
    if (scratch_new(&s, &m, "batchnorm_backward")) return JL_ENOMEM;
    for (int64_t j = 0; j < C; j++) m.mean[j] = tab[j];
    sums_task t = {.s = s, .kind = SUM_G_GXMU, .x = k->b.data, .g = k->a.data, .mean = m.mean, .partials = m.partials};
    run_sums(&t, m.sums);

    float *coef = malloc(3 * (size_t)C * sizeof(float) + sizeof(float));
    if (!coef) {
        free(m.partials);
        return JL_FAIL_CODE(JL_ENOMEM, "batchnorm_backward: out of memory for %lld channels", (long long)C);
    }
    for (int64_t j = 0; j < C; j++) {
        double invstd = 1.0 / sqrt((double)tab[C + j] + k->s[0]);
        double sum_g = m.sums[j], sum_gxmu = m.sums[C + j];
        double scale = tab[2 * C + j] * invstd;
        tab[4 * C + j] = (float)sum_g;
        tab[5 * C + j] = (float)(sum_gxmu * invstd);
        /* grad x = coef2 * (x - mean) + coef1 + scale * g */
        coef[j] = batch_stats ? (float)(-scale * invstd * invstd * sum_gxmu / (double)N) : 0.0f;
        coef[C + j] = batch_stats ? (float)(-scale * sum_g / (double)N) : 0.0f;
        coef[2 * C + j] = (float)scale;
    }
    if (k->out.data) {
        affine_task e = {.c = C, .a = k->b.data, .b = k->a.data, .out = k->out.data,
                         .alpha = coef, .mu = tab, .beta = coef + C, .gamma = coef + 2 * C};
        run_affine(&e, N);
    }
    free(coef);
    free(m.partials);
    return JL_OK;
}

void jl_cpu_register_nn(jl_backend *b)
{
    b->fn[JL_OP_batchnorm_stats] = cpu_batchnorm_stats;
    b->fn[JL_OP_batchnorm_forward] = cpu_batchnorm_forward;
    b->fn[JL_OP_batchnorm_backward] = cpu_batchnorm_backward;
}
