/* edgeconv.cu — CUDA kernels of the EdgeConv building blocks (core/tensor/ops_edgeconv.c;
 * core/tensor/backend/jl_ops.def documents the arguments), with kernels/cpu/edgeconv.c's formulas
 * and summation orders:
 *
 *   edge_gather           out[e] = a[centre(e), :C] + a[nbr[e], C:]; a block row of
 *                         threads per edge (threadIdx.x over features), the centre found
 *                         by binary search in the edge offsets;
 *   edge_gather_backward  left half: per-centre sums of the edge gradients in edge order;
 *                         right half: per-neighbour sums in edge order, over the edge ids
 *                         stably sorted by neighbour (CUB radix sort), so no float atomics
 *                         and the same bits as the CPU;
 *   bn_relu_forward       relu of the normalised rows, or their per-segment mean (one
 *                         thread per (segment, feature), rows in order);
 *   bn_relu_backward      per-channel sums over the N rows in double (a fixed tree, as
 *                         nn.cu), then the gradient of x; the ReLU mask is recomputed
 *                         from x.
 *
 * Products and sums are written with __fmul_rn / __fadd_rn so nvcc does not contract
 * them into FMAs: the gathers and their backward match the CPU bit for bit (adds only,
 * same order); the bn_relu values match a CPU build without FMA contraction (with
 * -march=native GCC may contract alpha * d + beta there: 1 ulp), and the channel sums
 * differ only by the order of double additions.
 *
 * Index arrays (edge offsets, nbr, segments): core reads and checks them on the host
 * and hands the kernels the CPU tensors' views even when the data are on the device,
 * while tests of the table hand device views. device_i64 accepts either: a host array
 * is copied into a scratch block first (one synchronous copy per array and call).
 */
#include <math.h>

#include <cub/device/device_radix_sort.cuh>

#include "cuda_lines.cuh"
#include "jl_formulas.h"

/* threads per block row along features, and block rows (edges, nodes or segments) */
#define FEAT_THREADS 32
#define ROW_THREADS (JL_CUDA_THREADS / FEAT_THREADS)

static inline unsigned row_grid(int64_t rows) { return jl_cuda_grid_of(rows, ROW_THREADS); }

/* for (r = this block row's first row; r < n; r += all block rows of the grid) */
#define ROWS_FOR(r, n)                                                               \
    for (int64_t r = (int64_t)blockIdx.x * blockDim.y + threadIdx.y; r < (n);       \
         r += (int64_t)gridDim.x * blockDim.y)

/* --- scratch and index arrays ------------------------------------------------------- */

/* A scratch block of n elements of `size` bytes; freed right after the kernels using it
 * are queued (the allocator hands it out again only to later work on the stream). */
static void *scratch(const char *op, int64_t n, size_t size, const char *what)
{
    void *p = jl_cuda_alloc((size_t)(n > 0 ? n : 1) * size);
    if (!p) JL_FAIL_CODE(JL_ENOMEM, "%s: out of cuda memory for %lld %s", op, (long long)n, what);
    return p;
}

/* *dev <- the n contiguous i64 values of v readable by kernels: v's data when it is
 * device memory, else a scratch copy returned in *owned too (the caller frees it with
 * jl_cuda_free once the kernels reading it are queued). */
static int device_i64(const char *op, const jl_view *v, int64_t n, const int64_t **dev, int64_t **owned)
{
    *owned = NULL;
    *dev = (const int64_t *)v->data;
    if (n <= 0 || !v->data) return JL_OK;
    cudaPointerAttributes attr;
    JL_CUDA_TRY(op, cudaPointerGetAttributes(&attr, v->data));
    if (attr.type == cudaMemoryTypeDevice || attr.type == cudaMemoryTypeManaged) return JL_OK;
    int64_t *copy = (int64_t *)scratch(op, n, sizeof(int64_t), "index values");
    if (!copy) return JL_ENOMEM;
    size_t bytes = (size_t)n * sizeof(int64_t);
    cudaError_t err = cudaMemcpyAsync(copy, v->data, bytes, cudaMemcpyHostToDevice, jl_cuda_stream());
    if (err == cudaSuccess) err = cudaStreamSynchronize(jl_cuda_stream()); /* the host array may go at once */
    if (err != cudaSuccess) {
        jl_cuda_free(copy);
        return jl_cuda_fail(op, err, __FILE__, __LINE__);
    }
    *dev = copy;
    *owned = copy;
    return JL_OK;
}

/* The first position p of sorted keys (n) with keys[p] >= v. */
static __device__ __forceinline__ int64_t lower_bound(const int64_t *keys, int64_t n, int64_t v)
{
    int64_t lo = 0, hi = n;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (keys[mid] < v) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* --- edge_gather ---------------------------------------------------------------------- */

/* out (E, C) <- a[centre(e), :C] + a[nbr[e], C:2C]; a (N, 2C) row stride sa */
__global__ void jl_cuda_edge_gather_kernel(const float *a, int64_t sa, const int64_t *eoff, const int64_t *nbr,
                                           float *out, int64_t N, int64_t E, int64_t C)
{
    ROWS_FOR(e, E)
    {
        const float *ai = a + jl_cuda_segment_of(eoff, N, e) * sa, *bj = a + nbr[e] * sa + C;
        float *o = out + e * C;
        for (int64_t f = threadIdx.x; f < C; f += blockDim.x) o[f] = __fadd_rn(ai[f], bj[f]);
    }
}

/* out (E, C); a (N, 2C) unit column stride; b edge offsets (N+1); c nbr (E) */
static int cuda_edge_gather(const jl_kargs *k)
{
    const char *op = jl_op_name(k->op);
    int64_t N = k->a.shape[0], E = k->out.shape[0], C = k->out.shape[1];
    if (E == 0 || C == 0) return JL_OK;
    const int64_t *eoff, *nbr;
    int64_t *own_eoff, *own_nbr = NULL;
    int rc = device_i64(op, &k->b, N + 1, &eoff, &own_eoff);
    if (!rc) rc = device_i64(op, &k->c, E, &nbr, &own_nbr);
    if (!rc) {
        jl_cuda_edge_gather_kernel<<<row_grid(E), dim3(FEAT_THREADS, ROW_THREADS), 0, jl_cuda_stream()>>>(
            (const float *)k->a.data, k->a.strides[0], eoff, nbr, (float *)k->out.data, N, E, C);
        rc = JL_CUDA_LAUNCHED(op);
    }
    jl_cuda_free(own_eoff);
    jl_cuda_free(own_nbr);
    return rc;
}

/* --- edge_gather_backward ----------------------------------------------------------------- */

/* ids (n) <- 0, 1, ..., n - 1 */
__global__ void jl_cuda_iota_kernel(int64_t *ids, int64_t n)
{
    JL_CUDA_FOR(e, n) ids[e] = e;
}

/* start (N+1) <- for each node j, the first position of j in the sorted neighbours (E) */
__global__ void jl_cuda_bucket_starts_kernel(const int64_t *sorted, int64_t E, int64_t *start, int64_t N)
{
    JL_CUDA_FOR(j, N + 1) start[j] = j == N ? E : lower_bound(sorted, E, j);
}

/* out (N, 2C) <- [sum of g's rows over node i's edges | sum of g's rows e with nbr[e] = i],
 * both in edge order (by_nbr: edge ids sorted by neighbour, stably; start (N+1) its buckets) */
__global__ void jl_cuda_edge_gather_back_kernel(const float *g, const int64_t *eoff, const int64_t *by_nbr,
                                                const int64_t *start, float *out, int64_t N, int64_t C)
{
    ROWS_FOR(i, N)
    {
        float *o = out + i * 2 * C;
        int64_t e0 = eoff[i], e1 = eoff[i + 1], p0 = start[i], p1 = start[i + 1];
        for (int64_t f = threadIdx.x; f < C; f += blockDim.x) {
            float left = 0.0f, right = 0.0f;
            for (int64_t e = e0; e < e1; e++) left = __fadd_rn(left, g[e * C + f]);
            for (int64_t p = p0; p < p1; p++) right = __fadd_rn(right, g[by_nbr[p] * C + f]);
            o[f] = left;
            o[C + f] = right;
        }
    }
}

/* out (N, 2C) contiguous; a = g (E, C); b edge offsets (N+1); c nbr (E) */
static int cuda_edge_gather_backward(const jl_kargs *k)
{
    const char *op = jl_op_name(k->op);
    int64_t N = k->out.shape[0], E = k->a.shape[0], C = k->a.shape[1];
    if (N == 0 || C == 0) return JL_OK;
    cudaStream_t s = jl_cuda_stream();
    const int64_t *eoff, *nbr;
    int64_t *own_eoff, *own_nbr = NULL;
    int64_t *keys = NULL, *ids = NULL, *by_nbr = NULL, *start = NULL;
    void *temp = NULL;
    int rc = device_i64(op, &k->b, N + 1, &eoff, &own_eoff);
    if (!rc) rc = device_i64(op, &k->c, E, &nbr, &own_nbr);
    if (!rc && !(keys = (int64_t *)scratch(op, E, sizeof(int64_t), "sorted neighbours"))) rc = JL_ENOMEM;
    if (!rc && !(ids = (int64_t *)scratch(op, E, sizeof(int64_t), "edge ids"))) rc = JL_ENOMEM;
    if (!rc && !(by_nbr = (int64_t *)scratch(op, E, sizeof(int64_t), "edge ids"))) rc = JL_ENOMEM;
    if (!rc && !(start = (int64_t *)scratch(op, N + 1, sizeof(int64_t), "bucket starts"))) rc = JL_ENOMEM;
    if (!rc && E > 0) { /* edge ids grouped by neighbour, in edge order inside each group */
        int bits = 1;
        while (bits < 63 && ((int64_t)1 << bits) < N) bits++;
        size_t temp_bytes = 0;
        cudaError_t err = cub::DeviceRadixSort::SortPairs(NULL, temp_bytes, nbr, keys, ids, by_nbr, E, 0, bits, s);
        if (err != cudaSuccess) rc = jl_cuda_fail(op, err, __FILE__, __LINE__);
        else if (!(temp = scratch(op, (int64_t)temp_bytes, 1, "bytes of sort space"))) rc = JL_ENOMEM;
        if (!rc) {
            jl_cuda_iota_kernel<<<jl_cuda_grid(E), JL_CUDA_THREADS, 0, s>>>(ids, E);
            rc = JL_CUDA_LAUNCHED(op);
        }
        if (!rc && (err = cub::DeviceRadixSort::SortPairs(temp, temp_bytes, nbr, keys, ids, by_nbr, E, 0, bits, s)))
            rc = jl_cuda_fail(op, err, __FILE__, __LINE__);
    }
    if (!rc) {
        jl_cuda_bucket_starts_kernel<<<jl_cuda_grid(N + 1), JL_CUDA_THREADS, 0, s>>>(keys, E, start, N);
        rc = JL_CUDA_LAUNCHED(op);
    }
    if (!rc) {
        jl_cuda_edge_gather_back_kernel<<<row_grid(N), dim3(FEAT_THREADS, ROW_THREADS), 0, s>>>(
            (const float *)k->a.data, eoff, by_nbr, start, (float *)k->out.data, N, C);
        rc = JL_CUDA_LAUNCHED(op);
    }
    void *blocks[] = {own_eoff, own_nbr, keys, ids, by_nbr, start, temp};
    for (size_t b = 0; b < sizeof blocks / sizeof *blocks; b++) jl_cuda_free(blocks[b]);
    return rc;
}

/* --- bn_relu: per-channel coefficients ----------------------------------------------------- */

/* The kernels' per-channel coefficients, each (C): u = alpha (x - mean) + beta; backward
 * gx = k3 gu + k2 (x - mean) + k1 (k1, k2 unused forward). */
typedef struct bnr_coef {
    float *alpha, *beta, *k1, *k2, *k3;
} bnr_coef;

static bnr_coef coef_in(float *p, int64_t C)
{
    bnr_coef c = {p, p + C, p + 2 * C, p + 3 * C, p + 4 * C};
    return c;
}

/* alpha as the CPU: weight / sqrt(var + eps) in double, stored f32 */
static __device__ __forceinline__ float bnr_alpha(const float *tab, int64_t C, int64_t j, double eps)
{
    return (float)(tab[2 * C + j] / sqrt((double)tab[C + j] + eps));
}

/* alpha, beta (C) from the table rows mean, var, weight, bias */
__global__ void jl_cuda_bnr_coef_kernel(const float *tab, int64_t C, double eps, bnr_coef c)
{
    JL_CUDA_FOR(j, C)
    {
        c.alpha[j] = bnr_alpha(tab, C, j, eps);
        c.beta[j] = tab[3 * C + j];
    }
}

/* u = alpha (v - mean) + beta, v = x (relu(x) when relu_first), rounded as the CPU does
 * (no FMA); d <- v - mean */
static __device__ __forceinline__ float bnr_u(float x, float mean, float alpha, float beta, float *d,
                                              bool relu_first)
{
    *d = __fsub_rn(relu_first ? jl_f32_relu(x, 0, 0) : x, mean);
    return __fadd_rn(__fmul_rn(alpha, *d), beta);
}

/* --- bn_relu_forward ------------------------------------------------------------------------- */

/* out (N, C) <- relu(u) of x (N, C), or u itself when relu_first */
__global__ void jl_cuda_bnr_forward_kernel(const float *x, const float *mean, bnr_coef c, float *out, int64_t C,
                                           int64_t n, bool relu_first)
{
    JL_CUDA_FOR(e, n)
    {
        int64_t j = e % C;
        float d, u = bnr_u(x[e], mean[j], c.alpha[j], c.beta[j], &d, relu_first);
        out[e] = relu_first ? u : jl_f32_relu(u, 0, 0);
    }
}

/* out (S, C) <- the mean of relu(u) (u when relu_first) over the rows of each segment (0
 * when empty), rows added in order */
__global__ void jl_cuda_bnr_forward_segments_kernel(const float *x, const float *mean, bnr_coef c,
                                                    const int64_t *off, float *out, int64_t S, int64_t C,
                                                    bool relu_first)
{
    ROWS_FOR(s, S)
    {
        int64_t r0 = off[s], r1 = off[s + 1];
        float inv = r1 > r0 ? __fdiv_rn(1.0f, (float)(r1 - r0)) : 0.0f;
        for (int64_t f = threadIdx.x; f < C; f += blockDim.x) {
            float acc = 0.0f, m = mean[f], alpha = c.alpha[f], beta = c.beta[f], d;
            for (int64_t r = r0; r < r1; r++) {
                float u = bnr_u(x[r * C + f], m, alpha, beta, &d, relu_first);
                acc = __fadd_rn(acc, relu_first ? u : jl_f32_relu(u, 0, 0));
            }
            out[s * C + f] = r1 > r0 ? __fmul_rn(acc, inv) : acc;
        }
    }
}

/* out <- relu(bn(a)) (N, C) (bn(relu(a)) when i[2] = 1), or its segment means (S, C) with
 * c = offsets (S+1); b = table rows 0..3 (4, C); s[0] = eps; i[0] = N, i[1] = C */
static int cuda_bn_relu_forward(const jl_kargs *k)
{
    const char *op = jl_op_name(k->op);
    int64_t N = k->i[0], C = k->i[1], S = k->c.data ? k->c.shape[0] - 1 : N;
    if (S * C == 0) return JL_OK;
    cudaStream_t s = jl_cuda_stream();
    const float *tab = (const float *)k->b.data;
    float *p = (float *)scratch(op, 2 * C, sizeof(float), "per-channel coefficients");
    if (!p) return JL_ENOMEM;
    bnr_coef c = coef_in(p, C);
    const int64_t *off = NULL;
    int64_t *own_off = NULL;
    jl_cuda_bnr_coef_kernel<<<jl_cuda_grid(C), JL_CUDA_THREADS, 0, s>>>(tab, C, k->s[0], c);
    int rc = JL_CUDA_LAUNCHED(op);
    if (!rc && k->c.data) {
        rc = device_i64(op, &k->c, S + 1, &off, &own_off);
        if (!rc) {
            jl_cuda_bnr_forward_segments_kernel<<<row_grid(S), dim3(FEAT_THREADS, ROW_THREADS), 0, s>>>(
                (const float *)k->a.data, tab, c, off, (float *)k->out.data, S, C, k->i[2] != 0);
            rc = JL_CUDA_LAUNCHED(op);
        }
    } else if (!rc) {
        jl_cuda_bnr_forward_kernel<<<jl_cuda_grid(N * C), JL_CUDA_THREADS, 0, s>>>(
            (const float *)k->a.data, tab, c, (float *)k->out.data, C, N * C, k->i[2] != 0);
        rc = JL_CUDA_LAUNCHED(op);
    }
    jl_cuda_free(own_off);
    jl_cuda_free(p);
    return rc;
}

/* --- bn_relu_backward ------------------------------------------------------------------------ */

/* Where row r's upstream gradient comes from: g (N, C) itself, or with segments (seg
 * (N) the segment of each row, off (S+1)) row seg[r] of g (S, C) times 1/count; and
 * whether the ReLU came first (no mask on u then: x > 0 masks the gradient of x). */
typedef struct bnr_grad {
    const float *g;
    const int64_t *seg, *off; /* NULL without segments */
    bool relu_first;
} bnr_grad;

/* gu = g * scale * (u > 0), as the CPU's product (a mask of 0 or 1, not a branch);
 * g * scale when relu_first */
static __device__ __forceinline__ float bnr_gu(const bnr_grad &G, int64_t r, int64_t j, int64_t C, float u)
{
    float g, scale = 1.0f;
    if (G.seg) {
        int64_t s = G.seg[r];
        scale = __fdiv_rn(1.0f, (float)(G.off[s + 1] - G.off[s]));
        g = G.g[s * C + j];
    } else {
        g = G.g[r * C + j];
    }
    float gs = __fmul_rn(g, scale);
    return G.relu_first ? gs : __fmul_rn(gs, (float)(u > 0.0f));
}

/* seg (N) <- s for the rows of segment s of off (S+1); one thread per segment */
__global__ void jl_cuda_bnr_segment_rows_kernel(const int64_t *off, int64_t S, int64_t *seg)
{
    JL_CUDA_FOR(s, S)
    {
        for (int64_t r = off[s]; r < off[s + 1]; r++) seg[r] = s;
    }
}

/* Per channel j (a line of N rows, x seen as (1, N, C)): sum gu and sum gu * (x - mean)
 * in double over a fixed tree; tab rows 4, 5 <- sum gu, sum gu*xhat; c <- the channel's
 * coefficients (the CPU's formulas, in its order of operations). */
__global__ void jl_cuda_bnr_sums_kernel(jl_cuda_lines L, const float *x, bnr_grad G, float *tab, bnr_coef c,
                                        double eps, bool batch_stats)
{
    __shared__ double smem[JL_CUDA_THREADS];
    int64_t C = L.count, N = L.n;
    for (int64_t group = blockIdx.x; group * blockDim.x < L.count; group += gridDim.x) {
        int64_t j = group * blockDim.x + threadIdx.x;
        bool valid = j < C;
        double p0 = 0, p1 = 0;
        float mean = 0.0f, alpha = 0.0f, beta = 0.0f;
        if (valid) {
            mean = tab[j];
            alpha = bnr_alpha(tab, C, j, eps);
            beta = tab[3 * C + j];
            for (int64_t r = threadIdx.y; r < N; r += blockDim.y) {
                float d, u = bnr_u(x[r * C + j], mean, alpha, beta, &d, G.relu_first);
                float gu = bnr_gu(G, r, j, C, u);
                p0 += (double)gu;
                p1 += (double)__fmul_rn(gu, d);
            }
        }
        double sum_g = jl_cuda_reduce_y(p0, smem, jl_cuda_add());
        double sum_gxmu = jl_cuda_reduce_y(p1, smem, jl_cuda_add());
        if (!valid || threadIdx.y != 0) continue;
        double invstd = 1.0 / sqrt((double)tab[C + j] + eps);
        double scale = tab[2 * C + j] * invstd;
        tab[4 * C + j] = (float)sum_g;
        tab[5 * C + j] = (float)(sum_gxmu * invstd);
        c.alpha[j] = alpha;
        c.beta[j] = beta;
        c.k1[j] = batch_stats ? (float)(-scale * sum_g / (double)N) : 0.0f;
        c.k2[j] = batch_stats ? (float)(-scale * invstd * invstd * sum_gxmu / (double)N) : 0.0f;
        c.k3[j] = (float)scale;
    }
}

/* out (N, C) <- k3 gu + k2 (v - mean) + k1, times x > 0 when relu_first */
__global__ void jl_cuda_bnr_grad_x_kernel(const float *x, bnr_grad G, const float *mean, bnr_coef c, float *out,
                                          int64_t C, int64_t n)
{
    JL_CUDA_FOR(e, n)
    {
        int64_t r = e / C, j = e % C;
        float d, u = bnr_u(x[e], mean[j], c.alpha[j], c.beta[j], &d, G.relu_first);
        float gu = bnr_gu(G, r, j, C, u);
        float gx = __fadd_rn(__fadd_rn(__fmul_rn(c.k3[j], gu), __fmul_rn(c.k2[j], d)), c.k1[j]);
        out[e] = G.relu_first ? __fmul_rn(gx, (float)(x[e] > 0.0f)) : gx;
    }
}

/* b = x (N, C); without segments a = g (N, C), c = table (6, C); with segments a = g (S, C),
 * c = offsets (S+1) i64, d = table (6, C); out (N, C) or NULL; s[0] = eps, s[1] = 1 for
 * batch statistics; i[0] = N, i[1] = C, i[2] = 1 for the relu-first form */
static int cuda_bn_relu_backward(const jl_kargs *k)
{
    const char *op = jl_op_name(k->op);
    int64_t N = k->i[0], C = k->i[1];
    if (C == 0) return JL_OK;
    bool segmented = k->c.dtype == JL_I64;
    int64_t S = segmented ? k->c.shape[0] - 1 : N;
    float *tab = segmented ? (float *)k->d.data : (float *)k->c.data;
    cudaStream_t s = jl_cuda_stream();
    bnr_grad G = {(const float *)k->a.data, NULL, NULL, k->i[2] != 0};
    int64_t *own_off = NULL, *seg = NULL;
    float *p = (float *)scratch(op, 5 * C, sizeof(float), "per-channel coefficients");
    int rc = p ? JL_OK : JL_ENOMEM;
    if (!rc && segmented && N > 0) {
        rc = device_i64(op, &k->c, S + 1, &G.off, &own_off);
        if (!rc && !(seg = (int64_t *)scratch(op, N, sizeof(int64_t), "row segments"))) rc = JL_ENOMEM;
        if (!rc && S > 0) {
            jl_cuda_bnr_segment_rows_kernel<<<jl_cuda_grid(S), JL_CUDA_THREADS, 0, s>>>(G.off, S, seg);
            rc = JL_CUDA_LAUNCHED(op);
        }
        G.seg = seg;
    }
    bnr_coef c = coef_in(p, C);
    const float *x = (const float *)k->b.data;
    if (!rc) {
        jl_cuda_line_launch plan = jl_cuda_plan_lines(1, N, C);
        jl_cuda_bnr_sums_kernel<<<plan.grid, plan.block, 0, s>>>(plan.L, x, G, tab, c, k->s[0], k->s[1] != 0);
        rc = JL_CUDA_LAUNCHED(op);
    }
    if (!rc && k->out.data && N > 0) {
        jl_cuda_bnr_grad_x_kernel<<<jl_cuda_grid(N * C), JL_CUDA_THREADS, 0, s>>>(x, G, tab, c,
                                                                                 (float *)k->out.data, C, N * C);
        rc = JL_CUDA_LAUNCHED(op);
    }
    jl_cuda_free(own_off);
    jl_cuda_free(seg);
    jl_cuda_free(p);
    return rc;
}

void jl_cuda_register_edgeconv(jl_backend *b)
{
    b->fn[JL_OP_edge_gather] = cuda_edge_gather;
    b->fn[JL_OP_edge_gather_backward] = cuda_edge_gather_backward;
    b->fn[JL_OP_bn_relu_forward] = cuda_bn_relu_forward;
    b->fn[JL_OP_bn_relu_backward] = cuda_bn_relu_backward;
}
