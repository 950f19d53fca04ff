/* optim.c — CPU fused optimizer updates, in place over contiguous f32 views.
 *
 * One pass per parameter: each element reads its gradient and state, updates
 * the state and the parameter, split over the pool in ranges of elements. The
 * arithmetic is float with float scalars in the order torch.optim's
 * single-tensor CPU path uses, so results agree with PyTorch to rounding.
 *
 *   sgd_update:  out = param, a = grad, b = momentum buffer (data NULL: none)
 *   adam_update: out = param, a = grad, b = exp_avg, c = exp_avg_sq
 */
#include <math.h>
#include <stdbool.h>

#include "cpu_kernels.h"

typedef struct sgd_ctx {
    float *p, *buf;
    const float *g;
    float lr, momentum, one_minus_dampening, weight_decay;
    bool nesterov, fresh;
} sgd_ctx;

static void sgd_range(void *c, int64_t begin, int64_t end)
{
    const sgd_ctx *x = c;
    float *restrict p = x->p, *restrict buf = x->buf;
    const float *restrict g = x->g;
    const float lr = x->lr, momentum = x->momentum, one_minus_dampening = x->one_minus_dampening;
    const float weight_decay = x->weight_decay;
    const bool nesterov = x->nesterov, fresh = x->fresh;
    for (int64_t i = begin; i < end; i++) {
        float gi = g[i];
        if (weight_decay != 0.0f) gi = gi + weight_decay * p[i];
        float d = gi;
        if (buf) {
            float b = fresh ? gi : buf[i] * momentum + one_minus_dampening * gi;
            buf[i] = b;
            d = nesterov ? gi + momentum * b : b;
        }
        p[i] = p[i] - lr * d;
    }
}

static int cpu_sgd_update(const jl_kargs *k)
{
    sgd_ctx x = {
        .p = k->out.data, .buf = k->b.data, .g = k->a.data,
        .lr = (float)k->s[0], .momentum = (float)k->s[1],
        .one_minus_dampening = (float)(1.0 - k->s[2]), .weight_decay = (float)k->s[3],
        .nesterov = k->i[0] != 0, .fresh = k->i[1] != 0,
    };
    jl_parallel_for(jl_view_numel(&k->out), JL_GRAIN_ELEMENTS, sgd_range, &x);
    return JL_OK;
}

typedef struct adam_ctx {
    float *p, *m, *v;
    const float *g;
    float one_minus_beta1, beta2, one_minus_beta2, neg_step_size, bias2_sqrt, eps;
} adam_ctx;

/* The update loops read the constants into locals and the arrays through restrict
 * pointers: through x-> the stores could alias the constants, and GCC would reload
 * them every element instead of vectorising. sqrtf vectorises because the build
 * has -fno-math-errno (CMakeLists.txt). */
static void adam_range(void *c, int64_t begin, int64_t end)
{
    const adam_ctx *x = c;
    float *restrict p = x->p, *restrict m = x->m, *restrict v = x->v;
    const float *restrict g = x->g;
    const float one_minus_beta1 = x->one_minus_beta1, beta2 = x->beta2, one_minus_beta2 = x->one_minus_beta2;
    const float neg_step_size = x->neg_step_size, bias2_sqrt = x->bias2_sqrt, eps = x->eps;
    for (int64_t i = begin; i < end; i++) {
        float gi = g[i];
        float mi = m[i] + one_minus_beta1 * (gi - m[i]);
        float vi = v[i] * beta2 + one_minus_beta2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        float denom = sqrtf(vi) / bias2_sqrt + eps;
        p[i] = p[i] + neg_step_size * (mi / denom);
    }
}

static int cpu_adam_update(const jl_kargs *k)
{
    double beta1 = k->s[1], beta2 = k->s[2], t = (double)k->i[0];
    adam_ctx x = {
        .p = k->out.data, .m = k->b.data, .v = k->c.data, .g = k->a.data,
        .one_minus_beta1 = (float)(1.0 - beta1), .beta2 = (float)beta2,
        .one_minus_beta2 = (float)(1.0 - beta2),
        .neg_step_size = (float)(-k->s[0] / (1.0 - pow(beta1, t))),
        .bias2_sqrt = (float)sqrt(1.0 - pow(beta2, t)), .eps = (float)k->s[3],
    };
    jl_parallel_for(jl_view_numel(&k->out), JL_GRAIN_ELEMENTS, adam_range, &x);
    return JL_OK;
}

void jl_cpu_register_optim(jl_backend *b)
{
    b->fn[JL_OP_sgd_update] = cpu_sgd_update;
    b->fn[JL_OP_adam_update] = cpu_adam_update;
}
