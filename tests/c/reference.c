/* reference.c — test helpers of reference.h: literal tensors, comparisons and
 * the central-difference gradient check. */
#include "reference.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* A small deterministic normal generator independent of the engine's RNG. */
static double ref_normal(uint64_t *state)
{
    double u[2];
    for (int i = 0; i < 2; i++) {
        *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
        u[i] = ((double)(*state >> 11) + 0.5) / 9007199254740992.0;
    }
    return sqrt(-2 * log(u[0])) * cos(6.283185307179586 * u[1]);
}

jl_tensor *ref_randn(int ndim, const int64_t *shape, uint64_t seed, bool requires_grad)
{
    jl_tensor *t = jl_tensor_new(JL_F32, ndim, shape, JL_CPU);
    float *p = jl_data(t);
    uint64_t state = seed * 2654435761ULL + 1;
    for (int64_t i = 0; i < jl_numel(t); i++) p[i] = (float)ref_normal(&state);
    t->requires_grad = requires_grad;
    return t;
}

jl_tensor *ref_tensor(int ndim, const int64_t *shape, const float *values, bool requires_grad)
{
    jl_tensor *t = jl_from_host(JL_F32, ndim, shape, values);
    t->requires_grad = requires_grad;
    return t;
}

double ref_at(const jl_tensor *t, int64_t i)
{
    int64_t off = t->offset;
    for (int d = t->ndim - 1; d >= 0; d--) {
        off += (i % t->shape[d]) * t->strides[d];
        i /= t->shape[d];
    }
    double v;
    switch (t->dtype) {
    case JL_F32: v = ((float *)t->storage->data)[off]; break;
    case JL_I32: v = ((int32_t *)t->storage->data)[off]; break;
    case JL_I64: v = (double)((int64_t *)t->storage->data)[off]; break;
    default: v = ((uint8_t *)t->storage->data)[off]; break;
    }
    return v;
}

double ref_max_rel_diff_array(const jl_tensor *a, const double *expected)
{
    double worst = 0;
    for (int64_t i = 0; i < jl_numel(a); i++) {
        double d = fabs(ref_at(a, i) - expected[i]) / (1 + fabs(expected[i]));
        if (d > worst || d != d) worst = d != d ? 1e30 : d;
    }
    return worst;
}

double ref_max_rel_diff(const jl_tensor *a, const jl_tensor *b)
{
    if (a->ndim != b->ndim) return 1e30;
    for (int d = 0; d < a->ndim; d++)
        if (a->shape[d] != b->shape[d]) return 1e30;
    double *expected = malloc(sizeof(double) * (size_t)(jl_numel(b) + 1));
    for (int64_t i = 0; i < jl_numel(b); i++) expected[i] = ref_at(b, i);
    double worst = ref_max_rel_diff_array(a, expected);
    free(expected);
    return worst;
}

/* sum(f(inputs) * projection) in double, with a fixed projection so every
 * output element matters; NAN when f fails. */
static double projected(ref_fn f, jl_tensor **inputs, void *ctx, jl_tensor **projection)
{
    jl_tensor *y = f(inputs, ctx);
    if (!y) {
        printf("gradcheck: f failed: %s\n", jl_last_error());
        return NAN;
    }
    if (!*projection) *projection = ref_randn(y->ndim, y->shape, 99, false);
    double s = 0;
    for (int64_t i = 0; i < jl_numel(y); i++) s += ref_at(y, i) * ref_at(*projection, i);
    jl_release(y);
    return s;
}

double ref_gradcheck(ref_fn f, int n, jl_tensor **inputs, void *ctx)
{
    jl_tensor *projection = NULL;
    for (int i = 0; i < n; i++) {
        jl_release(inputs[i]->grad);
        inputs[i]->grad = NULL;
    }
    /* analytic: backward of sum(y * projection) */
    jl_tensor *y = f(inputs, ctx);
    if (!y) {
        printf("gradcheck: f failed: %s\n", jl_last_error());
        return 1e30;
    }
    projection = ref_randn(y->ndim, y->shape, 99, false);
    jl_tensor *weighted = jl_mul(y, projection), *loss = weighted ? jl_sum(weighted, JL_ALL_DIMS, false) : NULL;
    int rc = loss ? jl_backward(loss, NULL) : -1;
    jl_release(loss);
    jl_release(weighted);
    jl_release(y);
    if (rc) {
        printf("gradcheck: backward failed: %s\n", jl_last_error());
        jl_release(projection);
        return 1e30;
    }
    double worst = 0;
    bool was = jl_set_grad_enabled(false);
    for (int i = 0; i < n; i++) {
        jl_tensor *x = inputs[i];
        if (!x->requires_grad || x->dtype != JL_F32) continue;
        if (!x->grad) {
            printf("gradcheck: input %d got no gradient\n", i + 1);
            worst = 1e30;
            continue;
        }
        float *p = jl_data(x); /* inputs are contiguous leaves */
        int64_t count = jl_numel(x);
        double *numeric = malloc(sizeof(double) * (size_t)count), scale = 1;
        for (int64_t e = 0; e < count; e++) {
            float keep = p[e];
            double h = 1e-2 * fmax(1.0, fabs(keep));
            p[e] = (float)(keep + h);
            double hi = projected(f, inputs, ctx, &projection);
            p[e] = (float)(keep - h);
            double lo = projected(f, inputs, ctx, &projection);
            p[e] = keep;
            double used = (double)(float)(keep + h) - (double)(float)(keep - h);
            numeric[e] = (hi - lo) / used;
            if (fabs(numeric[e]) > scale) scale = fabs(numeric[e]);
        }
        for (int64_t e = 0; e < count; e++) {
            double err = fabs(ref_at(x->grad, e) - numeric[e]) / scale;
            if (err > worst || err != err) {
                worst = err != err ? 1e30 : err;
                if (err > 1e-2) printf("gradcheck: input %d element %lld: autograd %g, numeric %g\n", i + 1,
                                       (long long)e, ref_at(x->grad, e), numeric[e]);
            }
        }
        free(numeric);
    }
    jl_set_grad_enabled(was);
    jl_release(projection);
    return worst;
}

int64_t ref_live(void) { return jl_stats_get().tensors; }
