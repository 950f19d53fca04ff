/* index.cu — CUDA kernels for index_select, index_add, gather and scatter_add.
 *
 * As in kernels/cpu/index.c, all four walk an iteration shape shared by a
 * dense view x and an i64 index view idx, with a third view y that follows x
 * except along `dim`, where it is addressed by the index value:
 *
 *   copy (index_select, gather):    x[p] <- y[p with p_dim = idx[p]]
 *   add  (index_add, scatter_add):  y[p with p_dim = idx[p]] += x[p]
 *
 * One thread per element of x. The geometry holds x, idx and y with y's
 * stride along dim set to 0; the index value times that stride is added per
 * element. Adds are atomic, so with repeated indices f32 sums depend on the
 * order threads arrive in (integer sums do not). index_select and index_add
 * are the 3-D case (outer, m, inner) with the 1-D index broadcast (stride 0)
 * over outer and inner. Indices were range-checked by core.
 */
#include "cuda_common.cuh"

/* *p += v atomically, wrapping for integers as the CPU kernel does. */
static __device__ __forceinline__ void atomic_add(float *p, float v) { atomicAdd(p, v); }
static __device__ __forceinline__ void atomic_add(int32_t *p, int32_t v)
{
    atomicAdd((unsigned *)p, (unsigned)v);
}
static __device__ __forceinline__ void atomic_add(int64_t *p, int64_t v)
{
    atomicAdd((unsigned long long *)p, (unsigned long long)v);
}
/* u8: compare-and-swap on the aligned 32-bit word holding the byte (device
 * allocations are 256-byte aligned, so the word lies inside the allocation) */
static __device__ __forceinline__ void atomic_add(uint8_t *p, uint8_t v)
{
    unsigned *word = (unsigned *)((uintptr_t)p & ~(uintptr_t)3);
    unsigned shift = ((unsigned)(uintptr_t)p & 3u) * 8u;
    unsigned old = *word, assumed;
    do {
        assumed = old;
        unsigned byte = ((assumed >> shift) + v) & 0xffu;
        old = atomicCAS(word, assumed, (assumed & ~(0xffu << shift)) | (byte << shift));
    } while (old != assumed);
}

/* Views 0, 1, 2 of g: x, idx, y (y's stride along dim zeroed; ystep is it). */
template <typename T, bool ADD>
__global__ void jl_cuda_index_kernel(jl_cuda_geom g, T *x, const int64_t *idx, T *y, int64_t ystep)
{
    JL_CUDA_FOR(e, g.numel)
    {
        int64_t off[3];
        jl_cuda_offsets<3>(g, e, off);
        int64_t yo = off[2] + idx[off[1]] * ystep;
        if constexpr (ADD) atomic_add(&y[yo], x[off[0]]);
        else x[off[0]] = y[yo];
    }
}

/* Runs the walk over x's shape: x and idx have the same shape; y has x's ndim
 * and dtype and matches x outside dim. */
static int index_run(jl_op op, const jl_view *x, const jl_view *y, const jl_view *idx, int dim, bool add)
{
    jl_view y_off_dim = *y;
    y_off_dim.strides[dim] = 0;
    const jl_view views[3] = {*x, *idx, y_off_dim};
    jl_cuda_geom g = jl_cuda_geom_build(3, views);
    if (g.numel == 0) return JL_OK;
    unsigned grid = jl_cuda_grid(g.numel);
    cudaStream_t s = jl_cuda_stream();
    const int64_t *ix = (const int64_t *)idx->data;
    int64_t ystep = y->strides[dim];
    if (add) {
        JL_CUDA_DTYPE_SWITCH(x->dtype, T,
            jl_cuda_index_kernel<T, true><<<grid, JL_CUDA_THREADS, 0, s>>>(g, (T *)x->data, ix, (T *)y->data, ystep))
    } else { /* copies move bits: one kernel per element width */
        switch (jl_dtype_size(x->dtype)) {
        case 1:
            jl_cuda_index_kernel<uint8_t, false><<<grid, JL_CUDA_THREADS, 0, s>>>(
                g, (uint8_t *)x->data, ix, (uint8_t *)y->data, ystep);
            break;
        case 4:
            jl_cuda_index_kernel<uint32_t, false><<<grid, JL_CUDA_THREADS, 0, s>>>(
                g, (uint32_t *)x->data, ix, (uint32_t *)y->data, ystep);
            break;
        default:
            jl_cuda_index_kernel<uint64_t, false><<<grid, JL_CUDA_THREADS, 0, s>>>(
                g, (uint64_t *)x->data, ix, (uint64_t *)y->data, ystep);
            break;
        }
    }
    return JL_CUDA_LAUNCHED(jl_op_name(op));
}

/* The 1-D index b (m) broadcast over a 3-D (outer, m, inner) iteration shape. */
static jl_view index_as_3d(const jl_view *b, const jl_view *shape_of)
{
    jl_view v = {b->data, b->dtype, 3, {0}, {0}};
    for (int d = 0; d < 3; d++) v.shape[d] = shape_of->shape[d];
    v.strides[1] = b->strides[0];
    return v;
}

/* out (outer, m, inner) <- a (outer, n, inner) at b (m) */
static int cuda_index_select(const jl_kargs *k)
{
    jl_view idx = index_as_3d(&k->b, &k->out);
    return index_run(k->op, &k->out, &k->a, &idx, 1, false);
}

/* out (outer, n, inner) += a (outer, m, inner) at b (m) */
static int cuda_index_add(const jl_kargs *k)
{
    jl_view idx = index_as_3d(&k->b, &k->a);
    return index_run(k->op, &k->a, &k->out, &idx, 1, true);
}

/* out (shape of b) <- a (b's shape, any size along i[0]) at b along dim i[0] */
static int cuda_gather(const jl_kargs *k)
{
    return index_run(k->op, &k->out, &k->a, &k->b, (int)k->i[0], false);
}

/* out (b's shape, any size along i[0]) += a (shape of b) at b along dim i[0] */
static int cuda_scatter_add(const jl_kargs *k)
{
    return index_run(k->op, &k->a, &k->out, &k->b, (int)k->i[0], true);
}

void jl_cuda_register_index(jl_backend *b)
{
    b->fn[JL_OP_index_select] = cuda_index_select;
    b->fn[JL_OP_index_add] = cuda_index_add;
    b->fn[JL_OP_gather] = cuda_gather;
    b->fn[JL_OP_scatter_add] = cuda_scatter_add;
}
