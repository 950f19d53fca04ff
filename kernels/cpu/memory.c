/* memory.c — CPU copy (strided, any dtype to any dtype), fill and arange. */
#include <math.h>
#include <string.h>

#include "cpu_kernels.h"

/* Element e of a run, read as double / written from double, for any dtype. */
static inline double load(const void *p, jl_dtype t, int64_t i)
{
    switch (t) {
    case JL_F32: return ((const float *)p)[i];
    case JL_I32: return ((const int32_t *)p)[i];
    case JL_I64: return (double)((const int64_t *)p)[i];
    default: return ((const uint8_t *)p)[i];
    }
}

static inline void store(void *p, jl_dtype t, int64_t i, double v)
{
    switch (t) {
    case JL_F32: ((float *)p)[i] = (float)v; break;
    case JL_I32: ((int32_t *)p)[i] = jl_cpu_to_i32(v); break;
    case JL_I64: ((int64_t *)p)[i] = jl_cpu_to_i64(v); break;
    default: ((uint8_t *)p)[i] = v != 0; break;
    }
}

/* --- copy ----------------------------------------------------------------- */
typedef struct {
    char *out;
    const char *in;
    jl_dtype out_t, in_t;
    size_t size;
} copy_ctx;

static void copy_run(void *vctx, const int64_t *offs, const int64_t *steps, int64_t n)
{
    const copy_ctx *c = vctx;
    if (c->out_t == c->in_t) {
        size_t sz = c->size;
        char *o = c->out + offs[0] * (int64_t)sz;
        const char *a = c->in + offs[1] * (int64_t)sz;
        if (steps[0] == 1 && steps[1] == 1) {
            memcpy(o, a, (size_t)n * sz);
        } else if (sz == 4) {
            for (int64_t i = 0; i < n; i++) ((int32_t *)o)[i * steps[0]] = ((const int32_t *)a)[i * steps[1]];
        } else if (sz == 8) {
            for (int64_t i = 0; i < n; i++) ((int64_t *)o)[i * steps[0]] = ((const int64_t *)a)[i * steps[1]];
        } else {
            for (int64_t i = 0; i < n; i++) o[i * steps[0]] = a[i * steps[1]];
        }
        return;
    }
    void *o = c->out + offs[0] * (int64_t)jl_dtype_size(c->out_t);
    const void *a = c->in + offs[1] * (int64_t)jl_dtype_size(c->in_t);
    if (c->out_t == JL_F32 && c->in_t == JL_I64) {
        for (int64_t i = 0; i < n; i++) ((float *)o)[i * steps[0]] = (float)((const int64_t *)a)[i * steps[1]];
        return;
    }
    for (int64_t i = 0; i < n; i++) store(o, c->out_t, i * steps[0], load(a, c->in_t, i * steps[1]));
}

static int cpu_copy(const jl_kargs *k)
{
    jl_view views[2] = {k->out, k->a};
    copy_ctx c = {k->out.data, k->a.data, k->out.dtype, k->a.dtype, jl_dtype_size(k->out.dtype)};
    jl_cpu_strided_runs(2, views, copy_run, &c);
    return JL_OK;
}

/* --- fill ------------------------------------------------------------------ */
typedef struct {
    char *out;
    jl_dtype t;
    double value;
} fill_ctx;

static void fill_run(void *vctx, const int64_t *offs, const int64_t *steps, int64_t n)
{
    const fill_ctx *c = vctx;
    void *o = c->out + offs[0] * (int64_t)jl_dtype_size(c->t);
    if (c->t == JL_F32) {
        float v = (float)c->value, *f = o;
        for (int64_t i = 0; i < n; i++) f[i * steps[0]] = v;
    } else if (c->t == JL_U8 && steps[0] == 1) {
        memset(o, c->value != 0, (size_t)n);
    } else {
        for (int64_t i = 0; i < n; i++) store(o, c->t, i * steps[0], c->value);
    }
}

static int cpu_fill(const jl_kargs *k)
{
    fill_ctx c = {k->out.data, k->out.dtype, k->s[0]};
    jl_cpu_strided_runs(1, &k->out, fill_run, &c);
    return JL_OK;
}

static int cpu_arange(const jl_kargs *k)
{
    int64_t n = jl_view_numel(&k->out);
    for (int64_t i = 0; i < n; i++) store(k->out.data, k->out.dtype, i, k->s[0] + (double)i * k->s[1]);
    return JL_OK;
}

void jl_cpu_register_memory(jl_backend *b)
{
    b->fn[JL_OP_copy] = cpu_copy;
    b->fn[JL_OP_fill] = cpu_fill;
    b->fn[JL_OP_arange] = cpu_arange;
}
