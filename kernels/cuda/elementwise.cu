/* elementwise.cu — CUDA unary, binary, comparison, where and masked_fill
 * kernels, plus the elementwise backward helpers.
 *
 * Two paths, both with the formulas of jl_formulas.h (as the CPU backend),
 * their switches and slots generated from jl_ops.def:
 *   f32 — UNARY and BINARY ops on f32 in float, one kernel per op
 *         (template on the op), with a flat kernel for contiguous views and a
 *         strided one for the rest (broadcast, transposed);
 *   any — every other dtype combination (integers, comparisons into u8,
 *         masked_fill, where): values read and written as double, one kernel
 *         for all ops, exact for |values| < 2^53.
 * Inputs are already expanded to out's shape by core (stride 0 on broadcast dims).
 */
#include <math.h>

#include "cuda_common.cuh"
#include "jl_formulas.h"
extern "C" {
#include "jl_op_info.h"
}

/* f(x) or f(x, y) in float for the UNARY or BINARY op OP (y unused by unary ops) */
template <int OP>
static __device__ __forceinline__ float jl_cuda_f32_op(float x, float y, float s0, float s1)
{
    switch (OP) {
#define JL_OP(name, kind, ...)                                                                     \
    JL_EW_##kind(case JL_OP_##name: return jl_f32_##name(x, s0, s1);,                              \
                 case JL_OP_##name: return jl_f32_##name(x, y, s0, s1);, )
#include "jl_ops.def"
#undef JL_OP
    default: return NAN;
    }
}

/* Every elementwise formula but where's in double, for the any-dtype path. */
static __device__ double jl_cuda_double_op(jl_op op, double x, double y, double s0, double s1)
{
    switch (op) {
#define F64_CASE2(name) case JL_OP_##name: return jl_f64_##name(x, y, s0, s1);
#define JL_OP(name, kind, ...)                                                                     \
    JL_EW_##kind(case JL_OP_##name: return jl_f64_##name(x, s0, s1);, F64_CASE2(name), F64_CASE2(name))
#include "jl_ops.def"
#undef JL_OP
#undef F64_CASE2
    default: return NAN;
    }
}

/* --- f32 path ------------------------------------------------------------------ */

/* out (n) <- f(a (n)[, b (n)]), all contiguous */
template <int OP, int NIN>
__global__ void jl_cuda_f32_flat(float *out, const float *a, const float *b, int64_t n, float s0, float s1)
{
    JL_CUDA_FOR(e, n) out[e] = jl_cuda_f32_op<OP>(a[e], NIN > 1 ? b[e] : 0.0f, s0, s1);
}

/* out[g] <- f(a[g][, b[g]]): views 0, 1, 2 of g */
template <int OP, int NIN>
__global__ void jl_cuda_f32_strided(jl_cuda_geom g, float *out, const float *a, const float *b, float s0, float s1)
{
    JL_CUDA_FOR(e, g.numel)
    {
        int64_t off[NIN + 1];
        jl_cuda_offsets<NIN + 1>(g, e, off);
        out[off[0]] = jl_cuda_f32_op<OP>(a[off[1]], NIN > 1 ? b[off[NIN]] : 0.0f, s0, s1);
    }
}

template <int OP, int NIN>
static int launch_f32(const jl_kargs *k)
{
    const jl_view views[3] = {k->out, k->a, k->b};
    int64_t n = jl_view_numel(&k->out);
    float s0 = (float)k->s[0], s1 = (float)k->s[1];
    bool flat = true;
    for (int v = 0; v <= NIN; v++) flat = flat && jl_view_is_contiguous(&views[v]);
    if (flat) {
        jl_cuda_f32_flat<OP, NIN><<<jl_cuda_grid(n), JL_CUDA_THREADS, 0, jl_cuda_stream()>>>(
            (float *)k->out.data, (const float *)k->a.data, (const float *)k->b.data, n, s0, s1);
    } else {
        jl_cuda_f32_strided<OP, NIN><<<jl_cuda_grid(n), JL_CUDA_THREADS, 0, jl_cuda_stream()>>>(
            jl_cuda_geom_build(NIN + 1, views), (float *)k->out.data, (const float *)k->a.data,
            (const float *)k->b.data, s0, s1);
    }
    return JL_CUDA_LAUNCHED(jl_op_name(k->op));
}

/* Runs the f32 kernel of k->op; 1 when the op has none (the any path takes it). */
static int run_f32(const jl_kargs *k, int *rc)
{
    switch (k->op) {
#define F32_CASE(name, nin) case JL_OP_##name: *rc = launch_f32<JL_OP_##name, nin>(k); return 0;
#define JL_OP(name, kind, ...) JL_EW_##kind(F32_CASE(name, 1), F32_CASE(name, 2), )
#include "jl_ops.def"
#undef JL_OP
#undef F32_CASE
    default: return 1;
    }
}

/* --- any-dtype path ------------------------------------------------------------- */

/* One operand of the any-dtype kernel. */
typedef struct jl_cuda_operand {
    void *data;
    jl_dtype dtype;
} jl_cuda_operand;

/* v[0] <- op(v[1][, v[2]]) or, for where, v[3] ? v[1] : v[2] (v[3] u8); views of g */
template <int NIN>
__global__ void jl_cuda_any_kernel(jl_cuda_geom g, jl_op op, jl_cuda_operand o, jl_cuda_operand a,
                                   jl_cuda_operand b, jl_cuda_operand c, double s0, double s1)
{
    JL_CUDA_FOR(e, g.numel)
    {
        int64_t off[NIN + 1];
        jl_cuda_offsets<NIN + 1>(g, e, off);
        double r;
        if (NIN == 3) { /* off[NIN - 1], off[NIN]: b and c, written so for every NIN */
            bool pick_a = ((const uint8_t *)c.data)[off[NIN]] != 0;
            r = pick_a ? jl_cuda_load(a.data, a.dtype, off[1]) : jl_cuda_load(b.data, b.dtype, off[NIN - 1]);
        } else {
            double x = jl_cuda_load(a.data, a.dtype, off[1]);
            double y = NIN == 2 ? jl_cuda_load(b.data, b.dtype, off[NIN]) : 0.0;
            r = jl_cuda_double_op(op, x, y, s0, s1);
        }
        jl_cuda_store(o.data, o.dtype, off[0], r);
    }
}

static int run_any(const jl_kargs *k)
{
    const jl_view views[4] = {k->out, k->a, k->b, k->c};
    int nin = jl_op_elementwise_inputs(k->op);
    jl_cuda_geom g = jl_cuda_geom_build(nin + 1, views);
    jl_cuda_operand o = {k->out.data, k->out.dtype}, a = {k->a.data, k->a.dtype};
    jl_cuda_operand b = {k->b.data, k->b.dtype}, c = {k->c.data, k->c.dtype};
    unsigned grid = jl_cuda_grid(g.numel);
    cudaStream_t s = jl_cuda_stream();
    if (nin == 1) jl_cuda_any_kernel<1><<<grid, JL_CUDA_THREADS, 0, s>>>(g, k->op, o, a, b, c, k->s[0], k->s[1]);
    else if (nin == 2) jl_cuda_any_kernel<2><<<grid, JL_CUDA_THREADS, 0, s>>>(g, k->op, o, a, b, c, k->s[0], k->s[1]);
    else jl_cuda_any_kernel<3><<<grid, JL_CUDA_THREADS, 0, s>>>(g, k->op, o, a, b, c, k->s[0], k->s[1]);
    return JL_CUDA_LAUNCHED(jl_op_name(k->op));
}

/* --- the slot ------------------------------------------------------------------ */

/* out <- op(a[, b[, c]]) (shapes as in jl_ops.def); f32 kernels when every view is f32 */
static int cuda_elementwise(const jl_kargs *k)
{
    if (jl_view_numel(&k->out) == 0) return JL_OK;
    bool all_f32 = k->out.dtype == JL_F32 && k->a.dtype == JL_F32 && (jl_op_elementwise_inputs(k->op) == 1 || k->b.dtype == JL_F32);
    int rc = JL_OK;
    if (all_f32 && run_f32(k, &rc) == 0) return rc;
    return run_any(k);
}

/* One slot for every elementwise op of jl_ops.def. */
void jl_cuda_register_elementwise(jl_backend *b)
{
    for (int op = 0; op < JL_OP_COUNT; op++)
        if (jl_op_elementwise_inputs((jl_op)op)) b->fn[op] = cuda_elementwise;
}
