/* cuda_lines.cuh — reductions along one dim, shared by reduce.cu and nn.cu
 * (nvcc C++ only).
 *
 * A contiguous a (outer, n, inner) is read as outer*inner "lines" of n
 * elements, `inner` apart; line o*inner + i starts at o*n*inner + i and is
 * element (o, i) of a reduced (outer, inner) result. A block of (bx, by) = 256
 * threads takes bx consecutive lines (threadIdx.x) and splits each line's n
 * elements over by threads (threadIdx.y), which then combine through shared
 * memory in a fixed tree: results do not depend on timing.
 *
 *   jl_cuda_line_launch p = jl_cuda_plan_lines(outer, n, inner);
 *   my_kernel<<<p.grid, p.block, 0, jl_cuda_stream()>>>(p.L, ...);
 *
 * and in the kernel, for each group of lines (grid-stride):
 *   for (int64_t group = blockIdx.x; group * blockDim.x < L.count; group += gridDim.x) {
 *       int64_t line = group * blockDim.x + threadIdx.x;
 *       bool valid = line < L.count;   // false past the last line; such threads
 *       ...                            // still take part in every __syncthreads
 *       double s = jl_cuda_reduce_y(jl_cuda_line_sum<double>(L, a, start, valid, f), smem, jl_cuda_add());
 *   }
 */
#ifndef JL_CUDA_LINES_CUH
#define JL_CUDA_LINES_CUH

#include "cuda_common.cuh"

/* a (outer, n, inner) seen as `count` = outer*inner lines of n elements */
typedef struct jl_cuda_lines {
    int64_t count, n, inner;
} jl_cuda_lines;

/* Offset in a of element 0 of line `line`. */
static __device__ __forceinline__ int64_t jl_cuda_line_start(const jl_cuda_lines &L, int64_t line)
{
    return line / L.inner * L.n * L.inner + line % L.inner;
}

/* Combines v over the threadIdx.y of each threadIdx.x (tree order fixed by
 * blockDim.y, a power of two); every thread gets its column's result.
 * smem holds blockDim.x * blockDim.y values. */
template <typename T, typename F>
static __device__ T jl_cuda_reduce_y(T v, T *smem, F combine)
{
    unsigned x = threadIdx.x, y = threadIdx.y, bx = blockDim.x;
    smem[y * bx + x] = v;
    __syncthreads();
    for (unsigned s = blockDim.y / 2; s > 0; s /= 2) {
        if (y < s) smem[y * bx + x] = combine(smem[y * bx + x], smem[(y + s) * bx + x]);
        __syncthreads();
    }
    T r = smem[x];
    __syncthreads();
    return r;
}

struct jl_cuda_add {
    template <typename T> __device__ T operator()(T p, T q) const { return p + q; }
};

/* This thread's sum over its share of a line of a, each element mapped by f. */
template <typename Acc, typename T, typename F>
static __device__ Acc jl_cuda_line_sum(const jl_cuda_lines &L, const T *a, int64_t start, bool valid, F f)
{
    Acc acc = 0;
    if (valid)
        for (int64_t j = threadIdx.y; j < L.n; j += blockDim.y) acc += f(a[start + j * L.inner], j);
    return acc;
}

/* The element itself, widened to the accumulator. */
template <typename Acc>
struct jl_cuda_widen {
    template <typename T> __device__ Acc operator()(T x, int64_t) const { return (Acc)x; }
};

/* The lines, block shape and grid of a launch over (outer, n, inner). */
typedef struct jl_cuda_line_launch {
    jl_cuda_lines L;
    dim3 block;
    unsigned grid;
} jl_cuda_line_launch;

/* Below this many blocks a device (100+ SMs) is mostly idle. */
#define JL_CUDA_FEW_BLOCKS 128

static inline unsigned jl_cuda_pow2_at_least(int64_t v, unsigned cap)
{
    unsigned p = 1;
    while (p < cap && p < v) p *= 2;
    return p;
}

static inline jl_cuda_line_launch jl_cuda_plan_lines(int64_t outer, int64_t n, int64_t inner)
{
    jl_cuda_line_launch p;
    p.L.count = outer * inner;
    p.L.n = n;
    p.L.inner = inner;
    unsigned bx, by;
    if (p.L.inner == 1) { /* lines are rows: as many threads per row as it has elements */
        by = jl_cuda_pow2_at_least(p.L.n, JL_CUDA_THREADS);
        bx = JL_CUDA_THREADS / by;
    } else { /* neighbouring lines are neighbouring addresses; with few lines,
              * fewer per block (down to 8, one 32-byte sector) and more blocks */
        bx = jl_cuda_pow2_at_least(p.L.count, 32);
        while (bx > 8 && (p.L.count + bx - 1) / bx < JL_CUDA_FEW_BLOCKS && JL_CUDA_THREADS / bx < p.L.n) bx /= 2;
        by = JL_CUDA_THREADS / bx;
    }
    p.block = dim3(bx, by);
    int64_t groups = (p.L.count + bx - 1) / bx;
    p.grid = (unsigned)(groups < JL_CUDA_MAX_BLOCKS ? groups : JL_CUDA_MAX_BLOCKS);
    return p;
}

/* var (outer, inner) <- variance over n of a contiguous a (outer, n, inner)
 * with the given correction (1 = unbiased), mean (outer, inner) <- its mean
 * unless NULL; both in double, stored f32 (reduce.cu). */
int jl_cuda_moments(const char *op, int64_t outer, int64_t n, int64_t inner, const float *a, float *mean, float *var,
                    double correction);

#endif
