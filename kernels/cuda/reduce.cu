/* reduce.cu — CUDA reductions over one dim, softmax and their backward helpers.
 *
 * Every op here sees a contiguous a (outer, n, inner) (k->i[0..2]) and writes
 * out (outer, inner) (sum, mean, max, min, var) or out (outer, n, inner)
 * (softmax, log_softmax and their backward). Core never passes n == 0.
 *
 * The work is split as described in cuda_lines.cuh. Reducing the last dim
 * (inner == 1) gives up to 256 threads per line; otherwise 32 neighbouring
 * lines (8 to 32 when there are few) read neighbouring addresses. A line is
 * never split across blocks, so a reduction of very few, very long lines
 * (e.g. the sum of a whole large tensor) runs on few SMs.
 *
 * Formulas and dtypes follow kernels/cpu/reduce.c: f32 sums, means, variances
 * and softmax normalisers accumulate in double; integer sums give i64 (wrapping);
 * max/min take the first position on ties and a NaN wins.
 */
#include <math.h>

#include "cuda_lines.cuh"

/* max that lets a NaN win, as the CPU softmax does */
struct jl_cuda_nanmax {
    __device__ double operator()(double p, double q) const { return p > q || p != p ? p : q; }
};

/* --- sum, mean, var ------------------------------------------------------------- */

/* The stored result of a sum: f32 scaled (mean), or the wrapped i64 sum. */
static __device__ __forceinline__ float sum_result(double acc, double scale) { return (float)(acc * scale); }
static __device__ __forceinline__ int64_t sum_result(uint64_t acc, double) { return (int64_t)acc; }

/* out (outer, inner) <- scale * sum over n of a (outer, n, inner); Acc double
 * (f32 in, f32 out) or uint64_t (integers in, i64 out) */
template <typename T, typename Acc, typename Out>
__global__ void jl_cuda_sum_kernel(jl_cuda_lines L, const T *a, Out *out, double scale)
{
    __shared__ Acc smem[JL_CUDA_THREADS];
    for (int64_t group = blockIdx.x; group * blockDim.x < L.count; group += gridDim.x) {
        int64_t line = group * blockDim.x + threadIdx.x;
        bool valid = line < L.count;
        int64_t start = valid ? jl_cuda_line_start(L, line) : 0;
        Acc acc = jl_cuda_line_sum<Acc>(L, a, start, valid, jl_cuda_widen<Acc>());
        acc = jl_cuda_reduce_y(acc, smem, jl_cuda_add());
        if (valid && threadIdx.y == 0) out[line] = sum_result(acc, scale);
    }
}

/* (x - mean)^2 in double */
struct jl_cuda_sqdev {
    double mean;
    __device__ double operator()(float x, int64_t) const { return ((double)x - mean) * ((double)x - mean); }
};

/* var (outer, inner) <- sum (a - mean)^2 / max(n - correction, 0) over n, and
 * mean (outer, inner) <- the mean unless NULL; two passes, in double */
__global__ void jl_cuda_moments_kernel(jl_cuda_lines L, const float *a, float *mean, float *var, double correction)
{
    __shared__ double smem[JL_CUDA_THREADS];
    double dof = (double)L.n - correction;
    if (dof < 0) dof = 0;
    for (int64_t group = blockIdx.x; group * blockDim.x < L.count; group += gridDim.x) {
        int64_t line = group * blockDim.x + threadIdx.x;
        bool valid = line < L.count;
        int64_t start = valid ? jl_cuda_line_start(L, line) : 0;
        double s = jl_cuda_line_sum<double>(L, a, start, valid, jl_cuda_widen<double>());
        jl_cuda_sqdev dev = {jl_cuda_reduce_y(s, smem, jl_cuda_add()) / (double)L.n};
        double ss = jl_cuda_reduce_y(jl_cuda_line_sum<double>(L, a, start, valid, dev), smem, jl_cuda_add());
        if (valid && threadIdx.y == 0) {
            var[line] = (float)(ss / dof);
            if (mean) mean[line] = (float)dev.mean;
        }
    }
}

int jl_cuda_moments(const char *op, int64_t outer, int64_t n, int64_t inner, const float *a, float *mean, float *var,
                    double correction)
{
    jl_cuda_line_launch p = jl_cuda_plan_lines(outer, n, inner);
    if (p.L.count == 0) return JL_OK;
    jl_cuda_moments_kernel<<<p.grid, p.block, 0, jl_cuda_stream()>>>(p.L, a, mean, var, correction);
    return JL_CUDA_LAUNCHED(op);
}

/* --- max / min with the argument ---------------------------------------------------- */

template <typename T>
struct jl_cuda_arg {
    T v;
    int64_t i; /* position along n; -1 for none */
};

/* The preferred of two candidates: a NaN, else the larger (smaller), else the first. */
template <typename T, bool MAX>
struct jl_cuda_better {
    __device__ jl_cuda_arg<T> operator()(jl_cuda_arg<T> p, jl_cuda_arg<T> q) const
    {
        if (p.i < 0) return q;
        if (q.i < 0) return p;
        bool pn = p.v != p.v, qn = q.v != q.v;
        if (pn != qn) return pn ? p : q;
        if (!pn) {
            if (MAX ? p.v > q.v : p.v < q.v) return p;
            if (MAX ? q.v > p.v : q.v < p.v) return q;
        }
        return p.i < q.i ? p : q;
    }
};

/* out (outer, inner) <- max (min) over n of a (outer, n, inner); arg (outer, inner) i64 */
template <typename T, bool MAX>
__global__ void jl_cuda_arg_kernel(jl_cuda_lines L, const T *a, T *out, int64_t *arg)
{
    __shared__ jl_cuda_arg<T> smem[JL_CUDA_THREADS];
    jl_cuda_better<T, MAX> better;
    for (int64_t group = blockIdx.x; group * blockDim.x < L.count; group += gridDim.x) {
        int64_t line = group * blockDim.x + threadIdx.x;
        bool valid = line < L.count;
        jl_cuda_arg<T> best = {T(), -1};
        if (valid) {
            int64_t start = jl_cuda_line_start(L, line);
            for (int64_t j = threadIdx.y; j < L.n; j += blockDim.y) {
                jl_cuda_arg<T> cand = {a[start + j * L.inner], j};
                best = better(best, cand);
            }
        }
        best = jl_cuda_reduce_y(best, smem, better);
        if (valid && threadIdx.y == 0) {
            out[line] = best.v;
            arg[line] = best.i;
        }
    }
}

/* --- softmax, log_softmax and their backward -------------------------------------- */

struct jl_cuda_exp_shifted {
    float m;
    __device__ double operator()(float x, int64_t) const { return expf(x - m); }
};

/* out (outer, n, inner) <- softmax (LOG: log_softmax) over n of a (outer, n, inner) */
template <bool LOG>
__global__ void jl_cuda_softmax_kernel(jl_cuda_lines L, const float *a, float *out)
{
    __shared__ double smem[JL_CUDA_THREADS];
    for (int64_t group = blockIdx.x; group * blockDim.x < L.count; group += gridDim.x) {
        int64_t line = group * blockDim.x + threadIdx.x;
        bool valid = line < L.count;
        int64_t start = valid ? jl_cuda_line_start(L, line) : 0;
        jl_cuda_nanmax nanmax;
        double m = -INFINITY;
        if (valid)
            for (int64_t j = threadIdx.y; j < L.n; j += blockDim.y) m = nanmax(a[start + j * L.inner], m);
        jl_cuda_exp_shifted shifted = {(float)jl_cuda_reduce_y(m, smem, nanmax)};
        double s = jl_cuda_reduce_y(jl_cuda_line_sum<double>(L, a, start, valid, shifted), smem, jl_cuda_add());
        float f = LOG ? (float)log(s) : (float)(1.0 / s);
        if (valid)
            for (int64_t j = threadIdx.y; j < L.n; j += blockDim.y) {
                int64_t p = start + j * L.inner;
                out[p] = LOG ? (a[p] - shifted.m) - f : expf(a[p] - shifted.m) * f;
            }
    }
}

/* g*y, or g alone for the log_softmax rule */
template <bool LOG>
struct jl_cuda_grad_term {
    const float *y;
    int64_t start, inner;
    __device__ double operator()(float g, int64_t j) const
    {
        return LOG ? (double)g : (double)g * y[start + j * inner];
    }
};

/* out <- y*(g - sum(g*y)) (softmax) or g - exp(y)*sum(g) (LOG), over n;
 * g, y, out (outer, n, inner) */
template <bool LOG>
__global__ void jl_cuda_softmax_backward_kernel(jl_cuda_lines L, const float *g, const float *y, float *out)
{
    __shared__ double smem[JL_CUDA_THREADS];
    for (int64_t group = blockIdx.x; group * blockDim.x < L.count; group += gridDim.x) {
        int64_t line = group * blockDim.x + threadIdx.x;
        bool valid = line < L.count;
        int64_t start = valid ? jl_cuda_line_start(L, line) : 0;
        jl_cuda_grad_term<LOG> term = {y, start, L.inner};
        float f = (float)jl_cuda_reduce_y(jl_cuda_line_sum<double>(L, g, start, valid, term), smem, jl_cuda_add());
        if (valid)
            for (int64_t j = threadIdx.y; j < L.n; j += blockDim.y) {
                int64_t p = start + j * L.inner;
                out[p] = LOG ? g[p] - expf(y[p]) * f : y[p] * (g[p] - f);
            }
    }
}

/* --- launching ------------------------------------------------------------------ */

static int f32_only(const jl_kargs *k)
{
    if (k->a.dtype == JL_F32) return JL_OK;
    return JL_FAIL_CODE(JL_EDEVICE, "%s: the cuda kernel supports f32 only, got %s", jl_op_name(k->op),
                        jl_dtype_name(k->a.dtype));
}

/* out (outer, inner) <- sum (f32 -> f32; i32, i64, u8 -> i64) or mean (f32) */
static int cuda_sum(const jl_kargs *k)
{
    jl_cuda_line_launch p = jl_cuda_plan_lines(k->i[0], k->i[1], k->i[2]);
    int rc = k->op == JL_OP_mean ? f32_only(k) : JL_OK;
    if (rc || p.L.count == 0) return rc;
    if (k->a.dtype == JL_F32) {
        double scale = k->op == JL_OP_mean ? 1.0 / (double)p.L.n : 1.0;
        jl_cuda_sum_kernel<float, double, float><<<p.grid, p.block, 0, jl_cuda_stream()>>>(
            p.L, (const float *)k->a.data, (float *)k->out.data, scale);
    } else {
        JL_CUDA_DTYPE_SWITCH(k->a.dtype, T,
            jl_cuda_sum_kernel<T, uint64_t, int64_t><<<p.grid, p.block, 0, jl_cuda_stream()>>>(
                p.L, (const T *)k->a.data, (int64_t *)k->out.data, 1.0))
    }
    return JL_CUDA_LAUNCHED(jl_op_name(k->op));
}

/* out (outer, inner) <- max or min (any dtype); b (outer, inner) i64 <- its position */
static int cuda_arg_reduce(const jl_kargs *k)
{
    jl_cuda_line_launch p = jl_cuda_plan_lines(k->i[0], k->i[1], k->i[2]);
    if (p.L.count == 0) return JL_OK;
    bool is_max = k->op == JL_OP_max;
    JL_CUDA_DTYPE_SWITCH(k->a.dtype, T,
        if (is_max) jl_cuda_arg_kernel<T, true><<<p.grid, p.block, 0, jl_cuda_stream()>>>(
            p.L, (const T *)k->a.data, (T *)k->out.data, (int64_t *)k->b.data);
        else jl_cuda_arg_kernel<T, false><<<p.grid, p.block, 0, jl_cuda_stream()>>>(
            p.L, (const T *)k->a.data, (T *)k->out.data, (int64_t *)k->b.data))
    return JL_CUDA_LAUNCHED(jl_op_name(k->op));
}

/* out (outer, inner) <- variance with correction s[0] */
static int cuda_var(const jl_kargs *k)
{
    int rc = f32_only(k);
    return rc ? rc
              : jl_cuda_moments("var", k->i[0], k->i[1], k->i[2], (const float *)k->a.data, NULL,
                                (float *)k->out.data, k->s[0]);
}

/* out (outer, n, inner) <- softmax or log_softmax of a */
static int cuda_softmax(const jl_kargs *k)
{
    jl_cuda_line_launch p = jl_cuda_plan_lines(k->i[0], k->i[1], k->i[2]);
    int rc = f32_only(k);
    if (rc || p.L.count == 0) return rc;
    const float *a = (const float *)k->a.data;
    float *out = (float *)k->out.data;
    if (k->op == JL_OP_log_softmax) jl_cuda_softmax_kernel<true><<<p.grid, p.block, 0, jl_cuda_stream()>>>(p.L, a, out);
    else jl_cuda_softmax_kernel<false><<<p.grid, p.block, 0, jl_cuda_stream()>>>(p.L, a, out);
    return JL_CUDA_LAUNCHED(jl_op_name(k->op));
}

/* out (outer, n, inner) <- backward of softmax / log_softmax: a = g, b = y */
static int cuda_softmax_backward(const jl_kargs *k)
{
    jl_cuda_line_launch p = jl_cuda_plan_lines(k->i[0], k->i[1], k->i[2]);
    int rc = f32_only(k);
    if (rc || p.L.count == 0) return rc;
    const float *g = (const float *)k->a.data, *y = (const float *)k->b.data;
    float *out = (float *)k->out.data;
    if (k->op == JL_OP_log_softmax_backward)
        jl_cuda_softmax_backward_kernel<true><<<p.grid, p.block, 0, jl_cuda_stream()>>>(p.L, g, y, out);
    else
        jl_cuda_softmax_backward_kernel<false><<<p.grid, p.block, 0, jl_cuda_stream()>>>(p.L, g, y, out);
    return JL_CUDA_LAUNCHED(jl_op_name(k->op));
}

void jl_cuda_register_reduce(jl_backend *b)
{
    b->fn[JL_OP_sum] = cuda_sum;
    b->fn[JL_OP_mean] = cuda_sum;
    b->fn[JL_OP_max] = cuda_arg_reduce;
    b->fn[JL_OP_min] = cuda_arg_reduce;
    b->fn[JL_OP_var] = cuda_var;
    b->fn[JL_OP_softmax] = cuda_softmax;
    b->fn[JL_OP_log_softmax] = cuda_softmax;
    b->fn[JL_OP_softmax_backward] = cuda_softmax_backward;
    b->fn[JL_OP_log_softmax_backward] = cuda_softmax_backward;
}
