/* nn.cu — CUDA batch normalisation over node tables x (N, C).
 *
 * Same formulas as kernels/cpu/nn.c. Per-channel sums over the N rows are the
 * line reductions of cuda_lines.cuh with x seen as (1, N, C): one line per
 * channel, in double. Elementwise passes apply per-channel coefficients
 * prepared once in a scratch block:
 *
 *   out (N, C) <- alpha[c] * (a - mu[c]) + beta[c] (+ gamma[c] * b)
 *
 * (subtracting mu first keeps values far from zero exact).
 * Views (core/tensor/backend/jl_ops.def): k->i[0] = N, k->i[1] = C; all contiguous f32;
 * the channel table has rows mean, var, weight, bias, grad bias, grad weight.
 */
#include <math.h>

#include "cuda_lines.cuh"
#include "jl_formulas.h"

/* per-channel coefficients of the elementwise pass, each (C) */
typedef struct jl_cuda_bn_affine {
    const float *alpha, *mu, *beta, *gamma; /* gamma NULL: no b term */
} jl_cuda_bn_affine;

/* out (N, C) <- alpha * (a - mu) + beta (+ gamma * b); a, b (N, C) */
__global__ void jl_cuda_bn_affine_kernel(jl_cuda_bn_affine f, const float *a, const float *b, float *out, int64_t C,
                                         int64_t n)
{
    JL_CUDA_FOR(e, n)
    {
        int64_t j = e % C;
        float v = f.alpha[j] * (a[e] - f.mu[j]) + f.beta[j];
        out[e] = f.gamma ? v + f.gamma[j] * b[e] : v;
    }
}

static int affine(const char *op, jl_cuda_bn_affine f, const float *a, const float *b, float *out, int64_t N, int64_t C)
{
    int64_t n = N * C;
    if (n == 0) return JL_OK;
    jl_cuda_bn_affine_kernel<<<jl_cuda_grid(n), JL_CUDA_THREADS, 0, jl_cuda_stream()>>>(f, a, b, out, C, n);
    return JL_CUDA_LAUNCHED(op);
}

/* A scratch block of n floats; freed right after the kernels using it are
 * queued (the allocator hands it out again only to later work on the stream). */
static float *scratch(const char *op, int64_t n)
{
    float *p = (float *)jl_cuda_alloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    if (!p) JL_FAIL_CODE(JL_ENOMEM, "%s: out of cuda memory for %lld per-channel coefficients", op, (long long)n);
    return p;
}

/* --- batchnorm_stats: out (2, C) <- mean, biased variance of a (N, C), or of relu(a)
 * when i[2] = 1 (from a relu'd copy) ------------------------------------------------ */

__global__ void jl_cuda_relu_copy_kernel(const float *x, float *out, int64_t n)
{
    JL_CUDA_FOR(e, n) out[e] = jl_f32_relu(x[e], 0, 0);
}

static int cuda_batchnorm_stats(const jl_kargs *k)
{
    int64_t N = k->i[0], C = k->i[1];
    float *out = (float *)k->out.data;
    if (k->i[2] == 0) return jl_cuda_moments("batchnorm_stats", 1, N, C, (const float *)k->a.data, out, out + C, 0.0);
    float *r = (float *)jl_cuda_alloc((size_t)(N * C > 0 ? N * C : 1) * sizeof(float));
    if (!r)
        return JL_FAIL_CODE(JL_ENOMEM, "batchnorm_stats: out of cuda memory for relu of the (%lld, %lld) rows",
                            (long long)N, (long long)C);
    int rc = JL_OK;
    if (N * C > 0) {
        jl_cuda_relu_copy_kernel<<<jl_cuda_grid(N * C), JL_CUDA_THREADS, 0, jl_cuda_stream()>>>(
            (const float *)k->a.data, r, N * C);
        rc = JL_CUDA_LAUNCHED("batchnorm_stats");
    }
    if (!rc) rc = jl_cuda_moments("batchnorm_stats", 1, N, C, r, out, out + C, 0.0);
    jl_cuda_free(r);
    return rc;
}

/* --- batchnorm_forward: out <- (a - mean) / sqrt(var + eps) * weight + bias ---------- */

/* scale (C) <- weight / sqrt(var + eps) from the table rows; one thread per channel */
__global__ void jl_cuda_bn_scale_kernel(const float *tab, double eps, float *scale, int64_t C)
{
    JL_CUDA_FOR(j, C) scale[j] = (float)(tab[2 * C + j] / sqrt((double)tab[C + j] + eps));
}

static int cuda_batchnorm_forward(const jl_kargs *k)
{
    int64_t N = k->i[0], C = k->i[1];
    if (N * C == 0) return JL_OK;
    const float *tab = (const float *)k->b.data;
    float *scale = scratch("batchnorm_forward", C);
    if (!scale) return JL_ENOMEM;
    jl_cuda_bn_scale_kernel<<<jl_cuda_grid(C), JL_CUDA_THREADS, 0, jl_cuda_stream()>>>(tab, k->s[0], scale, C);
    int rc = JL_CUDA_LAUNCHED("batchnorm_forward");
    jl_cuda_bn_affine f = {scale, tab, tab + 3 * C, NULL};
    if (!rc) rc = affine("batchnorm_forward", f, (const float *)k->a.data, NULL, (float *)k->out.data, N, C);
    jl_cuda_free(scale);
    return rc;
}

/* --- batchnorm_backward ----------------------------------------------------------------
 * With xhat = (x - mean) * invstd, invstd = 1/sqrt(var + eps), sums over N:
 *   grad bias   = sum g
 *   grad weight = sum g*xhat
 *   grad x      = w*invstd * (g - sum g / N - xhat * sum g*xhat / N)   batch statistics
 *   grad x      = w*invstd * g                                         constant statistics
 */

/* g * (x - mean) for one channel, in double */
struct jl_cuda_g_xmu {
    const float *x;
    double mean;
    int64_t start, inner;
    __device__ double operator()(float g, int64_t r) const { return g * ((double)x[start + r * inner] - mean); }
};

/* tab (6, C) rows 4, 5 <- sum g, sum g*xhat; coef (3, C) <- the grad-x coefficients
 * (x - mean, constant, g); g, x (N, C) seen as C lines of N */
__global__ void jl_cuda_bn_backward_sums_kernel(jl_cuda_lines L, const float *g, const float *x, float *tab,
                                                float *coef, double eps, bool batch_stats)
{
    __shared__ double smem[JL_CUDA_THREADS];
    int64_t C = L.count;
    for (int64_t group = blockIdx.x; group * blockDim.x < L.count; group += gridDim.x) {
        int64_t j = group * blockDim.x + threadIdx.x;
        bool valid = j < C;
        int64_t start = valid ? jl_cuda_line_start(L, j) : 0;
        jl_cuda_g_xmu term = {x, valid ? (double)tab[j] : 0.0, start, L.inner};
        double sum_g = jl_cuda_line_sum<double>(L, g, start, valid, jl_cuda_widen<double>());
        sum_g = jl_cuda_reduce_y(sum_g, smem, jl_cuda_add());
        double sum_gxmu = jl_cuda_reduce_y(jl_cuda_line_sum<double>(L, g, start, valid, term), smem, jl_cuda_add());
        if (!valid || threadIdx.y != 0) continue;
        double invstd = 1.0 / sqrt((double)tab[C + j] + eps);
        double scale = tab[2 * C + j] * invstd, N = (double)L.n;
        tab[4 * C + j] = (float)sum_g;
        tab[5 * C + j] = (float)(sum_gxmu * invstd);
        coef[j] = batch_stats ? (float)(-scale * invstd * invstd * sum_gxmu / N) : 0.0f;
        coef[C + j] = batch_stats ? (float)(-scale * sum_g / N) : 0.0f;
        coef[2 * C + j] = (float)scale;
    }
}

static int cuda_batchnorm_backward(const jl_kargs *k)
{
    int64_t N = k->i[0], C = k->i[1];
    if (C == 0) return JL_OK;
    float *tab = (float *)k->c.data, *coef = scratch("batchnorm_backward", 3 * C);
    if (!coef) return JL_ENOMEM;
    const float *g = (const float *)k->a.data, *x = (const float *)k->b.data;
    jl_cuda_line_launch p = jl_cuda_plan_lines(1, N, C);
    jl_cuda_bn_backward_sums_kernel<<<p.grid, p.block, 0, jl_cuda_stream()>>>(p.L, g, x, tab, coef, k->s[0],
                                                                               k->s[1] != 0);
    int rc = JL_CUDA_LAUNCHED("batchnorm_backward");
    jl_cuda_bn_affine f = {coef, tab, coef + C, coef + 2 * C};
    if (!rc && k->out.data) rc = affine("batchnorm_backward", f, x, g, (float *)k->out.data, N, C);
    jl_cuda_free(coef);
    return rc;
}

void jl_cuda_register_nn(jl_backend *b)
{
    b->fn[JL_OP_batchnorm_stats] = cuda_batchnorm_stats;
    b->fn[JL_OP_batchnorm_forward] = cuda_batchnorm_forward;
    b->fn[JL_OP_batchnorm_backward] = cuda_batchnorm_backward;
}
