/* infer_plan.c — inference plans (core/jl_plan.h) on the CPU.
 *
 * A plan is a list of steps over rows of features: linear (OpenBLAS sgemv for
 * one row, sgemm for a block), per-feature affine, activation. jl_plan_run
 * splits the rows over the pool; each range goes through every step in blocks
 * of PLAN_BLOCK rows between two scratch buffers from the host cache, and the
 * last step's block is copied into the output. */
#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_kernels.h"
#include "jl_ops.h"
#include "jl_plan.h"

#define PLAN_BLOCK 32
#define PLAN_GRAIN_MACS 262144 /* rows per pool range: at least this many multiply-adds */

typedef enum { STEP_LINEAR, STEP_AFFINE, STEP_ACTIVATION } step_kind;

typedef struct plan_step {
    step_kind kind;
    jl_plan_activation activation;
    int64_t in, out;
    float *w; /* linear: (out, in); affine: scale (in) */
    float *b; /* linear: (out) or NULL; affine: shift (in) */
} plan_step;

struct jl_plan {
    int64_t inputs, width, max_width, macs_per_row;
    int n, cap;
    plan_step *steps;
};

jl_plan *jl_plan_new(int64_t inputs)
{
    if (inputs < 1 || inputs > INT_MAX) {
        JL_FAIL("plan: inputs must be in 1..%d, got %lld", INT_MAX, (long long)inputs);
        return NULL;
    }
    jl_plan *p = calloc(1, sizeof *p);
    if (!p) {
        JL_FAIL_CODE(JL_ENOMEM, "plan: out of host memory");
        return NULL;
    }
    p->inputs = p->width = p->max_width = inputs;
    return p;
}

void jl_plan_free(jl_plan *p)
{
    if (!p) return;
    for (int i = 0; i < p->n; i++) {
        free(p->steps[i].w);
        free(p->steps[i].b);
    }
    free(p->steps);
    free(p);
}

int64_t jl_plan_inputs(const jl_plan *p) { return p->inputs; }
int64_t jl_plan_outputs(const jl_plan *p) { return p->width; }
int jl_plan_steps(const jl_plan *p) { return p->n; }

static plan_step *push_step(jl_plan *p)
{
    if (p->n == p->cap) {
        int cap = p->cap ? 2 * p->cap : 8;
        plan_step *s = realloc(p->steps, sizeof *s * (size_t)cap);
        if (!s) {
            JL_FAIL_CODE(JL_ENOMEM, "plan: out of host memory");
            return NULL;
        }
        p->steps = s;
        p->cap = cap;
    }
    plan_step *s = &p->steps[p->n];
    memset(s, 0, sizeof *s);
    return s;
}

/* A malloc'd contiguous copy of t's f32 values, checked to have `want` elements in `ndim` dims. */
static float *copy_values(const jl_tensor *t, const char *what, int ndim, const int64_t *want)
{
    if (jl_device_of(t) != JL_CPU || t->dtype != JL_F32) {
        JL_FAIL("plan: %s must be an f32 cpu tensor, got %s on %s", what, jl_dtype_name(t->dtype),
                jl_device_name(jl_device_of(t)));
        return NULL;
    }
    bool same = t->ndim == ndim;
    for (int d = 0; same && d < ndim; d++) same = t->shape[d] == want[d];
    if (!same) {
        if (ndim == 2)
            JL_FAIL("plan: %s must be (%lld, %lld), got %s", what, (long long)want[0], (long long)want[1],
                    jl_shape_str(t));
        else
            JL_FAIL("plan: %s must be (%lld), got %s", what, (long long)want[0], jl_shape_str(t));
        return NULL;
    }
    jl_tensor *c = jl_contiguous((jl_tensor *)t);
    if (!c) return NULL;
    size_t bytes = sizeof(float) * (size_t)jl_numel(c);
    float *v = malloc(bytes ? bytes : 1);
    if (v) memcpy(v, jl_data(c), bytes);
    else JL_FAIL_CODE(JL_ENOMEM, "plan: out of host memory copying %s", what);
    jl_release(c);
    return v;
}

int jl_plan_add_linear(jl_plan *p, const jl_tensor *weight, const jl_tensor *bias)
{
    int64_t out = weight->ndim == 2 ? weight->shape[0] : -1;
    if (out < 1 || out > INT_MAX)
        return JL_FAIL("plan: a linear weight must be (out, %lld) with out >= 1, got %s", (long long)p->width,
                       jl_shape_str(weight));
    plan_step *s = push_step(p);
    if (!s) return JL_ENOMEM;
    s->w = copy_values(weight, "the linear weight", 2, (int64_t[]){out, p->width});
    if (!s->w) return jl_last_error_code();
    if (bias && !(s->b = copy_values(bias, "the linear bias", 1, (int64_t[]){out}))) {
        free(s->w);
        return jl_last_error_code();
    }
    s->kind = STEP_LINEAR;
    s->in = p->width;
    s->out = out;
    p->n++;
    p->macs_per_row += s->in * s->out;
    p->width = out;
    if (out > p->max_width) p->max_width = out;
    return JL_OK;
}

int jl_plan_add_affine(jl_plan *p, const jl_tensor *scale, const jl_tensor *shift)
{
    plan_step *s = push_step(p);
    if (!s) return JL_ENOMEM;
    s->w = copy_values(scale, "the affine scale", 1, (int64_t[]){p->width});
    if (!s->w) return jl_last_error_code();
    s->b = copy_values(shift, "the affine shift", 1, (int64_t[]){p->width});
    if (!s->b) {
        free(s->w);
        return jl_last_error_code();
    }
    s->kind = STEP_AFFINE;
    s->in = s->out = p->width;
    p->n++;
    return JL_OK;
}

int jl_plan_add_activation(jl_plan *p, jl_plan_activation a)
{
    if (a < JL_PLAN_RELU || a > JL_PLAN_SOFTMAX) return JL_FAIL("plan: unknown activation %d", (int)a);
    plan_step *s = push_step(p);
    if (!s) return JL_ENOMEM;
    s->kind = STEP_ACTIVATION;
    s->activation = a;
    s->in = s->out = p->width;
    p->n++;
    return JL_OK;
}

/* ----------------------------------------------------------------- running */

static void activate(jl_plan_activation a, float *v, int64_t rows, int64_t width)
{
    int64_t n = rows * width;
    switch (a) {
    case JL_PLAN_RELU:
        for (int64_t i = 0; i < n; i++) v[i] = v[i] > 0 ? v[i] : 0;
        break;
    case JL_PLAN_SIGMOID:
        for (int64_t i = 0; i < n; i++) v[i] = 1 / (1 + expf(-v[i]));
        break;
    case JL_PLAN_TANH:
        for (int64_t i = 0; i < n; i++) v[i] = tanhf(v[i]);
        break;
    case JL_PLAN_SOFTMAX:
        for (int64_t r = 0; r < rows; r++) {
            float *row = v + r * width, top = row[0];
            for (int64_t j = 1; j < width; j++) top = row[j] > top ? row[j] : top;
            double sum = 0;
            for (int64_t j = 0; j < width; j++) sum += row[j] = expf(row[j] - top);
            for (int64_t j = 0; j < width; j++) row[j] = (float)(row[j] / sum);
        }
        break;
    }
}

/* dst (rows, s->out) <- the step applied to src (rows, s->in), both dense. */
static void run_step(const plan_step *s, const float *src, float *dst, int64_t rows)
{
    if (s->kind == STEP_LINEAR) {
        int in = (int)s->in, out = (int)s->out;
        if (rows == 1)
            cblas_sgemv(CblasRowMajor, CblasNoTrans, out, in, 1.0f, s->w, in, src, 1, 0.0f, dst, 1);
        else
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, out, in, 1.0f, src, in, s->w, in,
                        0.0f, dst, out);
        if (s->b)
            for (int64_t r = 0; r < rows; r++)
                for (int64_t j = 0; j < s->out; j++) dst[r * s->out + j] += s->b[j];
        return;
    }
    if (dst != src) memcpy(dst, src, sizeof(float) * (size_t)(rows * s->in));
    if (s->kind == STEP_AFFINE) {
        for (int64_t r = 0; r < rows; r++)
            for (int64_t j = 0; j < s->in; j++) dst[r * s->in + j] = dst[r * s->in + j] * s->w[j] + s->b[j];
    } else {
        activate(s->activation, dst, rows, s->in);
    }
}

typedef struct run_ctx {
    const jl_plan *p;
    const float *x; /* (B, inputs) dense */
    float *y;       /* (B, outputs) dense */
    atomic_int failed;
} run_ctx;

static void run_rows(void *arg, int64_t begin, int64_t end)
{
    run_ctx *c = arg;
    const jl_plan *p = c->p;
    size_t bytes = sizeof(float) * (size_t)(PLAN_BLOCK * p->max_width);
    float *buf[2] = {jl_cpu_host_alloc(bytes), jl_cpu_host_alloc(bytes)};
    if (!buf[0] || !buf[1]) {
        c->failed = 1;
    } else {
        for (int64_t r0 = begin; r0 < end; r0 += PLAN_BLOCK) {
            int64_t rows = end - r0 < PLAN_BLOCK ? end - r0 : PLAN_BLOCK;
            const float *src = c->x + r0 * p->inputs;
            int which = 0;
            for (int i = 0; i < p->n; i++) {
                /* an activation or affine step works in place on a scratch buffer */
                float *dst = p->steps[i].kind != STEP_LINEAR && src != c->x + r0 * p->inputs ? (float *)src
                                                                                               : buf[which ^= 1];
                run_step(&p->steps[i], src, dst, rows);
                src = dst;
            }
            memcpy(c->y + r0 * p->width, src, sizeof(float) * (size_t)(rows * p->width));
        }
    }
    jl_cpu_host_free(buf[0]);
    jl_cpu_host_free(buf[1]);
}

jl_tensor *jl_plan_run(jl_plan *p, const jl_tensor *x)
{
    if (jl_device_of(x) != JL_CPU || x->dtype != JL_F32) {
        JL_FAIL("plan: the input must be an f32 cpu tensor, got %s on %s", jl_dtype_name(x->dtype),
                jl_device_name(jl_device_of(x)));
        return NULL;
    }
    if (x->ndim != 2 || x->shape[1] != p->inputs) {
        JL_FAIL("plan: the input must be (rows, %lld), got %s", (long long)p->inputs, jl_shape_str(x));
        return NULL;
    }
    jl_tensor *dense = jl_contiguous((jl_tensor *)x);
    if (!dense) return NULL;
    jl_tensor *y = jl_tensor_new(JL_F32, 2, (int64_t[]){x->shape[0], p->width}, JL_CPU);
    if (y) {
        run_ctx c = {.p = p, .x = jl_data(dense), .y = jl_data(y)};
        int64_t grain = p->macs_per_row > 0 ? PLAN_GRAIN_MACS / p->macs_per_row : x->shape[0];
        jl_parallel_for(x->shape[0], grain > PLAN_BLOCK ? grain : PLAN_BLOCK, run_rows, &c);
        if (c.failed) {
            jl_release(y);
            y = NULL;
            JL_FAIL_CODE(JL_ENOMEM, "plan: out of host memory for scratch rows");
        }
    }
    jl_release(dense);
    return y;
}
