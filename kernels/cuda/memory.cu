/* memory.cu — CUDA copy (strided, broadcast, any dtype to any dtype), fill
 * and arange, with the CPU backend's conversion rules (jl_cuda_cast).
 *
 * A same-dtype copy between contiguous views is one device-to-device
 * memcpy; any other copy or fill walks the collapsed geometry of its views
 * (stride 0 on broadcast dims), one element per thread.
 */
#include "cuda_common.cuh"

/* out[g] <- cast(a[g]); out and a of g's shape (views 0 and 1) */
template <typename O, typename I>
__global__ void jl_cuda_copy_kernel(jl_cuda_geom g, O *out, const I *a)
{
    JL_CUDA_FOR(e, g.numel)
    {
        int64_t off[2];
        jl_cuda_offsets<2>(g, e, off);
        out[off[0]] = jl_cuda_cast<O, I>::from(a[off[1]]);
    }
}

/* out[g] <- value; out of g's shape (view 0) */
template <typename T>
__global__ void jl_cuda_fill_kernel(jl_cuda_geom g, T *out, T value)
{
    JL_CUDA_FOR(e, g.numel)
    {
        int64_t off[1];
        jl_cuda_offsets<1>(g, e, off);
        out[off[0]] = value;
    }
}

/* out (n) contiguous <- start + i*step, computed in double */
template <typename T>
__global__ void jl_cuda_arange_kernel(T *out, int64_t n, double start, double step)
{
    JL_CUDA_FOR(i, n) out[i] = jl_cuda_cast<T, double>::from(start + (double)i * step);
}

/* Same-dtype copies move bits: one kernel per element width. */
template <typename T>
static void copy_bits(const jl_cuda_geom &g, void *out, const void *a)
{
    jl_cuda_copy_kernel<T, T><<<jl_cuda_grid(g.numel), JL_CUDA_THREADS, 0, jl_cuda_stream()>>>(
        g, (T *)out, (const T *)a);
}

/* out (any shape, any dtype) <- a (out's shape, strides 0 where broadcast) */
static int cuda_copy(const jl_kargs *k)
{
    const jl_view views[2] = {k->out, k->a};
    int64_t n = jl_view_numel(&k->out);
    if (n == 0) return JL_OK;
    size_t size = jl_dtype_size(k->out.dtype);
    if (k->out.dtype == k->a.dtype && jl_view_is_contiguous(&k->out) && jl_view_is_contiguous(&k->a)) {
        JL_CUDA_TRY("copy", cudaMemcpyAsync(k->out.data, k->a.data, (size_t)n * size, cudaMemcpyDeviceToDevice,
                                            jl_cuda_stream()));
        return JL_OK;
    }
    jl_cuda_geom g = jl_cuda_geom_build(2, views);
    if (k->out.dtype == k->a.dtype) {
        if (size == 1) copy_bits<uint8_t>(g, k->out.data, k->a.data);
        else if (size == 4) copy_bits<uint32_t>(g, k->out.data, k->a.data);
        else copy_bits<uint64_t>(g, k->out.data, k->a.data);
        return JL_CUDA_LAUNCHED("copy");
    }
    JL_CUDA_DTYPE_SWITCH(k->out.dtype, O, JL_CUDA_DTYPE_SWITCH(k->a.dtype, I,
        jl_cuda_copy_kernel<O, I><<<jl_cuda_grid(n), JL_CUDA_THREADS, 0, jl_cuda_stream()>>>(
            g, (O *)k->out.data, (const I *)k->a.data)))
    return JL_CUDA_LAUNCHED("copy");
}

/* out (any shape, strided) <- s[0] converted to out's dtype */
static int cuda_fill(const jl_kargs *k)
{
    jl_cuda_geom g = jl_cuda_geom_build(1, &k->out);
    if (g.numel == 0) return JL_OK;
    JL_CUDA_DTYPE_SWITCH(k->out.dtype, T,
        jl_cuda_fill_kernel<T><<<jl_cuda_grid(g.numel), JL_CUDA_THREADS, 0, jl_cuda_stream()>>>(
            g, (T *)k->out.data, jl_cuda_cast<T, double>::from(k->s[0])))
    return JL_CUDA_LAUNCHED("fill");
}

/* out (n) contiguous <- s[0] + i*s[1] */
static int cuda_arange(const jl_kargs *k)
{
    int64_t n = jl_view_numel(&k->out);
    if (n == 0) return JL_OK;
    JL_CUDA_DTYPE_SWITCH(k->out.dtype, T,
        jl_cuda_arange_kernel<T><<<jl_cuda_grid(n), JL_CUDA_THREADS, 0, jl_cuda_stream()>>>(
            (T *)k->out.data, n, k->s[0], k->s[1]))
    return JL_CUDA_LAUNCHED("arange");
}

void jl_cuda_register_memory(jl_backend *b)
{
    b->fn[JL_OP_copy] = cuda_copy;
    b->fn[JL_OP_fill] = cuda_fill;
    b->fn[JL_OP_arange] = cuda_arange;
}
