/* loss.cu — CUDA fused softmax cross-entropy, forward and backward.
 *
 * Both kernels see contiguous logits a (B, K) f32 and labels b (B) i64 that
 * core has already checked to lie in 0..K-1, with kernels/cpu/loss.c's
 * formulas: each row's log-sum-exp in double around the row's f32 max.
 * One thread per row (the class count K of a tagger is small).
 *
 *   forward:  out (B)    <- logsumexp(a[r]) - a[r, b[r]]
 *   backward: out (B, K) <- (softmax(a[r]) - onehot(b[r])) * c[r], c (B) f32
 */
#include <math.h>

#include "cuda_common.cuh"

/* one thread per row r of a (B, K): out (B) or, BACKWARD, out (B, K) */
template <bool BACKWARD>
__global__ void jl_cuda_cross_entropy_kernel(const float *a, const int64_t *labels, const float *scale, float *out,
                                             int64_t B, int64_t K)
{
    JL_CUDA_FOR(r, B)
    {
        const float *x = a + r * K;
        float m = x[0];
        for (int64_t j = 1; j < K; j++) m = x[j] > m ? x[j] : m;
        double s = 0;
        for (int64_t j = 0; j < K; j++) s += exp((double)x[j] - m);
        double lse = log(s);
        int64_t label = labels[r];
        if (!BACKWARD) {
            out[r] = (float)(lse + m - x[label]);
            continue;
        }
        double c = scale[r];
        float *g = out + r * K;
        for (int64_t j = 0; j < K; j++) g[j] = (float)(exp((double)x[j] - m - lse) * c);
        g[label] = (float)((exp((double)x[label] - m - lse) - 1.0) * c);
    }
}

static int cross_entropy(const jl_kargs *k, bool backward)
{
    int64_t B = k->a.shape[0], K = k->a.shape[1];
    if (B == 0 || K == 0) return JL_OK;
    const float *a = (const float *)k->a.data, *scale = (const float *)k->c.data;
    const int64_t *labels = (const int64_t *)k->b.data;
    float *out = (float *)k->out.data;
    if (backward)
        jl_cuda_cross_entropy_kernel<true><<<jl_cuda_grid(B), JL_CUDA_THREADS, 0, jl_cuda_stream()>>>(
            a, labels, scale, out, B, K);
    else
        jl_cuda_cross_entropy_kernel<false><<<jl_cuda_grid(B), JL_CUDA_THREADS, 0, jl_cuda_stream()>>>(
            a, labels, scale, out, B, K);
    return JL_CUDA_LAUNCHED(jl_op_name(k->op));
}

static int cuda_cross_entropy(const jl_kargs *k) { return cross_entropy(k, false); }
static int cuda_cross_entropy_backward(const jl_kargs *k) { return cross_entropy(k, true); }

void jl_cuda_register_loss(jl_backend *b)
{
    b->fn[JL_OP_cross_entropy] = cuda_cross_entropy;
    b->fn[JL_OP_cross_entropy_backward] = cuda_cross_entropy_backward;
}
