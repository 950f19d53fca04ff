/* optim.cu — CUDA fused optimizer updates, in place over contiguous f32 views.
 *
 * One thread per element reads its gradient and state, updates the state and
 * the parameter, with kernels/cpu/optim.c's float arithmetic (the order
 * torch.optim's single-tensor path uses) and scalars prepared on the host.
 *
 *   sgd_update:  out = param, a = grad, b = momentum buffer (data NULL: none)
 *   adam_update: out = param, a = grad, b = exp_avg, c = exp_avg_sq
 */
#include <math.h>

#include "cuda_common.cuh"

typedef struct jl_cuda_sgd {
    float lr, momentum, one_minus_dampening, weight_decay;
    bool nesterov, fresh;
} jl_cuda_sgd;

/* p (n) -= lr * step from g (n), updating buf (n) unless NULL */
__global__ void jl_cuda_sgd_kernel(jl_cuda_sgd h, float *p, const float *g, float *buf, int64_t n)
{
    JL_CUDA_FOR(i, n)
    {
        float gi = g[i];
        if (h.weight_decay != 0.0f) gi = gi + h.weight_decay * p[i];
        float d = gi;
        if (buf) {
            float b = h.fresh ? gi : buf[i] * h.momentum + h.one_minus_dampening * gi;
            buf[i] = b;
            d = h.nesterov ? gi + h.momentum * b : b;
        }
        p[i] = p[i] - h.lr * d;
    }
}

typedef struct jl_cuda_adam {
    float one_minus_beta1, beta2, one_minus_beta2, neg_step_size, bias2_sqrt, eps;
} jl_cuda_adam;

/* p (n) updated from g (n) and the moments m (n), v (n), which are updated too */
__global__ void jl_cuda_adam_kernel(jl_cuda_adam h, float *p, const float *g, float *m, float *v, int64_t n)
{
    JL_CUDA_FOR(i, n)
    {
        float gi = g[i];
        float mi = m[i] + h.one_minus_beta1 * (gi - m[i]);
        float vi = v[i] * h.beta2 + h.one_minus_beta2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        float denom = sqrtf(vi) / h.bias2_sqrt + h.eps;
        p[i] = p[i] + h.neg_step_size * (mi / denom);
    }
}

static int cuda_sgd_update(const jl_kargs *k)
{
    int64_t n = jl_view_numel(&k->out);
    if (n == 0) return JL_OK;
    jl_cuda_sgd h = {(float)k->s[0], (float)k->s[1], (float)(1.0 - k->s[2]), (float)k->s[3], k->i[0] != 0,
                     k->i[1] != 0};
    jl_cuda_sgd_kernel<<<jl_cuda_grid(n), JL_CUDA_THREADS, 0, jl_cuda_stream()>>>(
        h, (float *)k->out.data, (const float *)k->a.data, (float *)k->b.data, n);
    return JL_CUDA_LAUNCHED("sgd_update");
}

static int cuda_adam_update(const jl_kargs *k)
{
    int64_t n = jl_view_numel(&k->out);
    if (n == 0) return JL_OK;
    double beta1 = k->s[1], beta2 = k->s[2], t = (double)k->i[0];
    jl_cuda_adam h = {(float)(1.0 - beta1), (float)beta2, (float)(1.0 - beta2),
                      (float)(-k->s[0] / (1.0 - pow(beta1, t))), (float)sqrt(1.0 - pow(beta2, t)), (float)k->s[3]};
    jl_cuda_adam_kernel<<<jl_cuda_grid(n), JL_CUDA_THREADS, 0, jl_cuda_stream()>>>(
        h, (float *)k->out.data, (const float *)k->a.data, (float *)k->b.data, (float *)k->c.data, n);
    return JL_CUDA_LAUNCHED("adam_update");
}

void jl_cuda_register_optim(jl_backend *b)
{
    b->fn[JL_OP_sgd_update] = cuda_sgd_update;
    b->fn[JL_OP_adam_update] = cuda_adam_update;
}
