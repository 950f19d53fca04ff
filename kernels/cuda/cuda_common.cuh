/* cuda_common.cuh — what the files of kernels/cuda share (nvcc C++ only):
 * the core contract with C linkage, the backend's one stream, CUDA errors as
 * jetlab error values, launch sizing, dtype helpers, and the strided N-d
 * geometry that copy, elementwise and index kernels walk.
 *
 *   jl_cuda_geom g = jl_cuda_geom_build(2, (jl_view[]){k->out, k->a});
 *   my_kernel<<<jl_cuda_grid(g.numel), JL_CUDA_THREADS, 0, jl_cuda_stream()>>>(g, ...);
 *   return JL_CUDA_LAUNCHED(jl_op_name(k->op));
 *
 * Inside a kernel: JL_CUDA_FOR(e, g.numel) { int64_t off[2]; jl_cuda_offsets<2>(g, e, off); ... }
 * gives the element offset of every view at out's row-major position e.
 */
#ifndef JL_CUDA_COMMON_CUH
#define JL_CUDA_COMMON_CUH

#include <cuda_runtime.h>
#include <stdint.h>

extern "C" {
#include "jl_kernel.h"
}
#include "cuda_backend.h"

/* --- the backend ----------------------------------------------------------- */

/* The stream every kernel, copy and cuBLAS call of this backend runs on
 * (created once by backend.cu when a device is present). */
cudaStream_t jl_cuda_stream(void);

/* Device memory from the caching allocator (allocator.cu); NULL when out of memory. */
void *jl_cuda_alloc(size_t bytes);
void jl_cuda_free(void *ptr);

/* Each file fills its slots of the CUDA table (called once by backend.cu). */
void jl_cuda_register_memory(jl_backend *b);      /* memory.cu: copy, fill, arange */
void jl_cuda_register_elementwise(jl_backend *b); /* elementwise.cu: unary, binary, compare, where */
void jl_cuda_register_reduce(jl_backend *b);      /* reduce.cu: sum..var, softmax and backward */
void jl_cuda_register_gemm(jl_backend *b);        /* gemm.cu: cuBLAS sgemm */
void jl_cuda_register_index(jl_backend *b);       /* index.cu: index_select/add, gather, scatter_add */
void jl_cuda_register_random(jl_backend *b);      /* random.cu: Philox rand, randn, randint, bernoulli */
void jl_cuda_register_loss(jl_backend *b);        /* loss.cu: cross_entropy and backward */
void jl_cuda_register_optim(jl_backend *b);       /* optim.cu: sgd_update, adam_update */
void jl_cuda_register_nn(jl_backend *b);          /* nn.cu: batchnorm stats, forward, backward */
void jl_cuda_register_graph(jl_backend *b);       /* graph.cu: knn, segment_ids, segment_reduce */
void jl_cuda_register_edgeconv(jl_backend *b);    /* edgeconv.cu: edge_gather, bn_relu and backward */

/* --- errors ------------------------------------------------------------------ */

/* Sets "<what>: CUDA error <name>: <string> (file:line)"; returns JL_EDEVICE. */
int jl_cuda_fail(const char *what, cudaError_t err, const char *file, int line);

/* Returns the error value from the enclosing function when expr is not cudaSuccess. */
#define JL_CUDA_TRY(what, expr)                                                    \
    do {                                                                           \
        cudaError_t jl_cuda_err_ = (expr);                                         \
        if (jl_cuda_err_ != cudaSuccess)                                           \
            return jl_cuda_fail((what), jl_cuda_err_, __FILE__, __LINE__);         \
    } while (0)

/* After a <<<...>>> launch: JL_OK, or JL_EDEVICE for a bad launch (or an
 * earlier asynchronous failure). Use as `return JL_CUDA_LAUNCHED(name);`. */
#define JL_CUDA_LAUNCHED(what) jl_cuda_launched((what), __FILE__, __LINE__)
static inline int jl_cuda_launched(const char *what, const char *file, int line)
{
    cudaError_t err = cudaGetLastError();
    return err == cudaSuccess ? JL_OK : jl_cuda_fail(what, err, file, line);
}

/* --- launch sizing -------------------------------------------------------------- */

#define JL_CUDA_THREADS 256
/* Grid-stride kernels never need more blocks than this to fill a device. */
#define JL_CUDA_MAX_BLOCKS 65536

/* Blocks for `work` items at `per_block` items a block, at least 1, capped. */
static inline unsigned jl_cuda_grid_of(int64_t work, int64_t per_block)
{
    int64_t blocks = (work + per_block - 1) / per_block;
    if (blocks < 1) blocks = 1;
    return (unsigned)(blocks < JL_CUDA_MAX_BLOCKS ? blocks : JL_CUDA_MAX_BLOCKS);
}

static inline unsigned jl_cuda_grid(int64_t work) { return jl_cuda_grid_of(work, JL_CUDA_THREADS); }

/* for (e = this thread's first item; e < n; e += all threads of the grid) */
#define JL_CUDA_FOR(e, n)                                                          \
    for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < (n);      \
         e += (int64_t)gridDim.x * blockDim.x)

/* The segment of row r among S segments with offsets off (S + 1): the largest
 * s < S with off[s] <= r (so off[s + 1] > r for a row inside). */
static __device__ __forceinline__ int64_t jl_cuda_segment_of(const int64_t *off, int64_t S, int64_t r)
{
    int64_t lo = 0, hi = S - 1;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo + 1) / 2;
        if (off[mid] <= r) lo = mid;
        else hi = mid - 1;
    }
    return lo;
}

/* --- dtypes ----------------------------------------------------------------------- */

/* The C type of each dtype, for kernels templated on it. */
template <jl_dtype D> struct jl_cuda_type;
template <> struct jl_cuda_type<JL_F32> { typedef float type; };
template <> struct jl_cuda_type<JL_I32> { typedef int32_t type; };
template <> struct jl_cuda_type<JL_I64> { typedef int64_t type; };
template <> struct jl_cuda_type<JL_U8> { typedef uint8_t type; };

/* Runs the statements after T with the type name T bound to the C type of
 * dtype DT (variadic so that the statements may contain commas). */
#define JL_CUDA_DTYPE_CASE(D, T, ...)                                              \
    case D: {                                                                      \
        typedef jl_cuda_type<D>::type T;                                           \
        __VA_ARGS__;                                                               \
    } break;
#define JL_CUDA_DTYPE_SWITCH(DT, T, ...)                                           \
    switch (DT) {                                                                  \
        JL_CUDA_DTYPE_CASE(JL_F32, T, __VA_ARGS__)                                 \
        JL_CUDA_DTYPE_CASE(JL_I32, T, __VA_ARGS__)                                 \
        JL_CUDA_DTYPE_CASE(JL_I64, T, __VA_ARGS__)                                 \
        JL_CUDA_DTYPE_CASE(JL_U8, T, __VA_ARGS__)                                  \
    default: break;                                                                \
    }

/* Conversion between dtypes with the CPU backend's rules: through double,
 * except i64 -> f32 (direct, one rounding) and anything -> u8 (x != 0). */
template <typename O, typename I> struct jl_cuda_cast {
    static __host__ __device__ __forceinline__ O from(I x) { return (O)(double)x; }
};
template <typename I> struct jl_cuda_cast<uint8_t, I> {
    static __host__ __device__ __forceinline__ uint8_t from(I x) { return x != 0; }
};
template <> struct jl_cuda_cast<float, int64_t> {
    static __host__ __device__ __forceinline__ float from(int64_t x) { return (float)x; }
};

/* Element i of a view's data of any dtype, read as / written from double. */
static __device__ __forceinline__ double jl_cuda_load(const void *p, jl_dtype t, int64_t i)
{
    switch (t) {
    case JL_F32: return ((const float *)p)[i];
    case JL_I32: return ((const int32_t *)p)[i];
    case JL_I64: return (double)((const int64_t *)p)[i];
    default: return ((const uint8_t *)p)[i];
    }
}

static __device__ __forceinline__ void jl_cuda_store(void *p, jl_dtype t, int64_t i, double x)
{
    switch (t) {
    case JL_F32: ((float *)p)[i] = jl_cuda_cast<float, double>::from(x); break;
    case JL_I32: ((int32_t *)p)[i] = jl_cuda_cast<int32_t, double>::from(x); break;
    case JL_I64: ((int64_t *)p)[i] = jl_cuda_cast<int64_t, double>::from(x); break;
    default: ((uint8_t *)p)[i] = jl_cuda_cast<uint8_t, double>::from(x); break;
    }
}

/* --- strided geometry ----------------------------------------------------------- */

#define JL_CUDA_MAX_VIEWS 4

/* Up to four same-shaped views iterated together, after dropping size-1 dims
 * and merging dims that are contiguous for every view (as kernels/cpu does).
 * Passed to kernels by value. */
typedef struct jl_cuda_geom {
    int ndim;
    int small; /* numel < 2^32: coordinates in 32-bit arithmetic */
    int64_t numel;
    int64_t shape[JL_MAX_DIMS];
    int64_t strides[JL_CUDA_MAX_VIEWS][JL_MAX_DIMS]; /* in elements, per view */
} jl_cuda_geom;

/* The geometry of views[0..nviews) (all of views[0]'s shape; stride 0 on
 * broadcast dims). Host only. */
static inline jl_cuda_geom jl_cuda_geom_build(int nviews, const jl_view *views)
{
    const jl_view *ref = &views[0];
    jl_cuda_geom g = {0, 1, jl_view_numel(ref), {0}, {{0}}};
    g.small = g.numel < ((int64_t)1 << 32);
    for (int d = 0; d < ref->ndim; d++) {
        if (ref->shape[d] == 1) continue;
        int n = g.ndim;
        bool merge = n > 0;
        for (int v = 0; v < nviews && merge; v++)
            merge = g.strides[v][n - 1] == views[v].strides[d] * ref->shape[d];
        if (merge) {
            g.shape[n - 1] *= ref->shape[d];
            for (int v = 0; v < nviews; v++) g.strides[v][n - 1] = views[v].strides[d];
        } else {
            g.shape[n] = ref->shape[d];
            for (int v = 0; v < nviews; v++) g.strides[v][n] = views[v].strides[d];
            g.ndim++;
        }
    }
    if (g.ndim == 0) { /* a single element */
        g.ndim = 1;
        g.shape[0] = 1;
    }
    return g;
}

/* off[v] += coordinate * stride over the dims of g, coordinates in type I. */
template <int NV, typename I>
static __device__ __forceinline__ void jl_cuda_offsets_as(const jl_cuda_geom &g, int64_t e, int64_t *off)
{
    I rest = (I)e;
#pragma unroll
    for (int d = JL_MAX_DIMS - 1; d >= 0; d--) {
        if (d >= g.ndim) continue;
        I size = (I)g.shape[d];
        I c = rest % size;
        rest /= size;
#pragma unroll
        for (int v = 0; v < NV; v++) off[v] += (int64_t)c * g.strides[v][d];
    }
}

/* off (NV) <- element offsets of the first NV views at row-major position e. */
template <int NV>
static __device__ __forceinline__ void jl_cuda_offsets(const jl_cuda_geom &g, int64_t e, int64_t *off)
{
#pragma unroll
    for (int v = 0; v < NV; v++) off[v] = 0;
    if (g.ndim == 1) { /* contiguous or a single broadcast run: no division */
#pragma unroll
        for (int v = 0; v < NV; v++) off[v] = e * g.strides[v][0];
    } else if (g.small) {
        jl_cuda_offsets_as<NV, uint32_t>(g, e, off);
    } else {
        jl_cuda_offsets_as<NV, int64_t>(g, e, off);
    }
}

#endif
