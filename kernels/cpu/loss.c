/* loss.c — CPU fused softmax cross-entropy, forward and backward.
 *
 * Both kernels see contiguous logits a (B, K) f32 and labels b (B) i64 that
 * core has already checked to lie in 0..K-1. Rows are independent, so the
 * pool splits the batch into blocks of rows; each row is reduced in double.
 *
 *   forward:  out (B)    <- logsumexp(a[r]) - a[r, b[r]]
 *   backward: out (B, K) <- (softmax(a[r]) - onehot(b[r])) * c[r], c (B) f32
 */
#include <math.h>

#include "cpu_kernels.h"

typedef struct ce_ctx {
    const jl_kargs *k;
    int64_t K;
} ce_ctx;

/* max of x (n), n >= 1 */
static float row_max(const float *x, int64_t n)
{
    float m = x[0];
    for (int64_t j = 1; j < n; j++) m = x[j] > m ? x[j] : m;
    return m;
}

/* log sum exp(x - m) over x (n), in double */
static double row_log_sum_exp(const float *x, int64_t n, float m)
{
    double s = 0;
    for (int64_t j = 0; j < n; j++) s += exp((double)x[j] - m);
    return log(s);
}

static void ce_forward_rows(void *p, int64_t begin, int64_t end)
{
    const ce_ctx *ctx = p;
    const float *a = ctx->k->a.data;
    const int64_t *labels = ctx->k->b.data;
    float *out = ctx->k->out.data;
    for (int64_t r = begin; r < end; r++) {
        const float *x = a + r * ctx->K;
        float m = row_max(x, ctx->K);
        out[r] = (float)(row_log_sum_exp(x, ctx->K, m) + m - x[labels[r]]);
    }
}

static void ce_backward_rows(void *p, int64_t begin, int64_t end)
{
    const ce_ctx *ctx = p;
    const float *a = ctx->k->a.data, *scale = ctx->k->c.data;
    const int64_t *labels = ctx->k->b.data;
    float *out = ctx->k->out.data;
    int64_t K = ctx->K;
    for (int64_t r = begin; r < end; r++) {
        const float *x = a + r * K;
        float *g = out + r * K;
        float m = row_max(x, K);
        double lse = row_log_sum_exp(x, K, m), c = scale[r];
        for (int64_t j = 0; j < K; j++) g[j] = (float)(exp((double)x[j] - m - lse) * c);
        g[labels[r]] = (float)((exp((double)x[labels[r]] - m - lse) - 1.0) * c);
    }
}

static int run_rows(const jl_kargs *k, jl_range_fn fn)
{
    ce_ctx ctx = {.k = k, .K = k->a.shape[1]};
    int64_t B = k->a.shape[0];
    if (B == 0 || ctx.K == 0) return JL_OK;
    jl_parallel_for(B, JL_GRAIN_ELEMENTS / ctx.K + 1, fn, &ctx);
    return JL_OK;
}

static int cpu_cross_entropy(const jl_kargs *k) { return run_rows(k, ce_forward_rows); }
static int cpu_cross_entropy_backward(const jl_kargs *k) { return run_rows(k, ce_backward_rows); }

void jl_cpu_register_loss(jl_backend *b)
{
    b->fn[JL_OP_cross_entropy] = cpu_cross_entropy;
    b->fn[JL_OP_cross_entropy_backward] = cpu_cross_entropy_backward;
}
