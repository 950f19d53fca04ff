/* plan.c — inference plans (jl_plan.h): the steps built from checked copies of
 * a model's weights, run on the CPU backend's run_plan slot (kernels/cpu/plan.c). */
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "jl_ops.h"
#include "jl_plan.h"

struct jl_plan {
    jl_plan_program prog;
    int cap; /* steps allocated */
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
    p->prog.inputs = p->prog.outputs = p->prog.max_width = inputs;
    return p;
}

void jl_plan_free(jl_plan *p)
{
    if (!p) return;
    for (int i = 0; i < p->prog.n; i++) {
        free(p->prog.steps[i].w);
        free(p->prog.steps[i].b);
    }
    free(p->prog.steps);
    free(p);
}

int64_t jl_plan_inputs(const jl_plan *p) { return p->prog.inputs; }
int64_t jl_plan_outputs(const jl_plan *p) { return p->prog.outputs; }
int jl_plan_steps(const jl_plan *p) { return p->prog.n; }
const jl_plan_program *jl_plan_program_of(const jl_plan *p) { return &p->prog; }

static jl_plan_step *push_step(jl_plan *p)
{
    if (p->prog.n == p->cap) {
        int cap = p->cap ? 2 * p->cap : 8;
        jl_plan_step *s = realloc(p->prog.steps, sizeof *s * (size_t)cap);
        if (!s) {
            JL_FAIL_CODE(JL_ENOMEM, "plan: out of host memory");
            return NULL;
        }
        p->prog.steps = s;
        p->cap = cap;
    }
    jl_plan_step *s = &p->prog.steps[p->prog.n];
    memset(s, 0, sizeof *s);
    return s;
}

float *jl_plan_copy_values(const jl_tensor *t, const char *what, int ndim, const int64_t *want)
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
        else JL_FAIL("plan: %s must be (%lld), got %s", what, (long long)want[0], jl_shape_str(t));
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

float *jl_plan_copy_packed(const jl_tensor *w, const char *what, int64_t out, int64_t in)
{
    float *plain = jl_plan_copy_values(w, what, 2, (int64_t[]){out, in});
    float *packed = plain ? malloc(sizeof(float) * (size_t)jl_plan_packed_floats(out, in)) : NULL;
    if (packed) jl_plan_pack(plain, out, in, packed);
    else if (plain) JL_FAIL_CODE(JL_ENOMEM, "plan: out of host memory packing %s", what);
    free(plain);
    return packed;
}

int jl_plan_add_linear(jl_plan *p, const jl_tensor *weight, const jl_tensor *bias)
{
    int64_t out = weight->ndim == 2 ? weight->shape[0] : -1;
    if (out < 1 || out > INT_MAX)
        return JL_FAIL("plan: a linear weight must be (out, %lld) with out >= 1, got %s",
                       (long long)p->prog.outputs, jl_shape_str(weight));
    jl_plan_step *s = push_step(p);
    if (!s) return JL_ENOMEM;
    s->w = jl_plan_copy_packed(weight, "the linear weight", out, p->prog.outputs);
    if (!s->w) return jl_last_error_code();
    if (bias && !(s->b = jl_plan_copy_values(bias, "the linear bias", 1, (int64_t[]){out}))) {
        free(s->w);
        return jl_last_error_code();
    }
    s->kind = JL_PLAN_STEP_LINEAR;
    s->in = p->prog.outputs;
    s->out = out;
    p->prog.n++;
    p->prog.macs_per_row += s->in * s->out;
    p->prog.outputs = out;
    if (out > p->prog.max_width) p->prog.max_width = out;
    return JL_OK;
}

int jl_plan_add_affine(jl_plan *p, const jl_tensor *scale, const jl_tensor *shift)
{
    jl_plan_step *s = push_step(p);
    if (!s) return JL_ENOMEM;
    s->w = jl_plan_copy_values(scale, "the affine scale", 1, (int64_t[]){p->prog.outputs});
    if (!s->w) return jl_last_error_code();
    s->b = jl_plan_copy_values(shift, "the affine shift", 1, (int64_t[]){p->prog.outputs});
    if (!s->b) {
        free(s->w);
        return jl_last_error_code();
    }
    s->kind = JL_PLAN_STEP_AFFINE;
    s->in = s->out = p->prog.outputs;
    p->prog.n++;
    return JL_OK;
}

int jl_plan_add_activation(jl_plan *p, jl_plan_activation a)
{
    if (a < JL_PLAN_RELU || a > JL_PLAN_SOFTMAX) return JL_FAIL("plan: unknown activation %d", (int)a);
    jl_plan_step *s = push_step(p);
    if (!s) return JL_ENOMEM;
    s->kind = JL_PLAN_STEP_ACTIVATION;
    s->activation = a;
    s->in = s->out = p->prog.outputs;
    p->prog.n++;
    return JL_OK;
}

jl_tensor *jl_plan_run(jl_plan *p, const jl_tensor *x)
{
    if (jl_device_of(x) != JL_CPU || x->dtype != JL_F32) {
        JL_FAIL("plan: the input must be an f32 cpu tensor, got %s on %s", jl_dtype_name(x->dtype),
                jl_device_name(jl_device_of(x)));
        return NULL;
    }
    if (x->ndim != 2 || x->shape[1] != p->prog.inputs) {
        JL_FAIL("plan: the input must be (rows, %lld), got %s", (long long)p->prog.inputs, jl_shape_str(x));
        return NULL;
    }
    jl_tensor *dense = jl_contiguous((jl_tensor *)x);
    if (!dense) return NULL;
    jl_tensor *y = jl_tensor_new(JL_F32, 2, (int64_t[]){x->shape[0], p->prog.outputs}, JL_CPU);
    if (y) {
        const jl_backend *cpu = jl_backend_for(JL_CPU);
        if (cpu->run_plan(&p->prog, jl_data(dense), jl_data(y), x->shape[0]) != JL_OK) {
            jl_release(y);
            y = NULL;
        }
    }
    jl_release(dense);
    return y;
}
