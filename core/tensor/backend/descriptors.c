/* descriptors.c — names, sizes and geometry of the kernel descriptors of
 * jl_kernel.h: what both core and every backend use to describe an op call
 * (the ops' names and columns are in op_info.c). */
#include "jl_kernel.h"

const char *jl_dtype_name(jl_dtype dtype)
{
    static const char *const names[JL_DTYPE_COUNT] = {"f32", "i32", "i64", "u8"};
    return (unsigned)dtype < JL_DTYPE_COUNT ? names[dtype] : "?";
}

const char *jl_device_name(jl_device device)
{
    static const char *const names[JL_DEVICE_COUNT] = {"cpu", "cuda"};
    return (unsigned)device < JL_DEVICE_COUNT ? names[device] : "?";
}

size_t jl_dtype_size(jl_dtype dtype)
{
    static const size_t sizes[JL_DTYPE_COUNT] = {4, 4, 8, 1};
    return (unsigned)dtype < JL_DTYPE_COUNT ? sizes[dtype] : 1;
}

int64_t jl_shape_numel(int ndim, const int64_t *shape)
{
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) n *= shape[d];
    return n;
}

int jl_layout_is_contiguous(int ndim, const int64_t *shape, const int64_t *strides)
{
    int64_t expected = 1;
    for (int d = ndim - 1; d >= 0; d--) {
        if (shape[d] != 1 && strides[d] != expected) return 0;
        expected *= shape[d];
    }
    return 1;
}

int64_t jl_view_numel(const jl_view *v) { return jl_shape_numel(v->ndim, v->shape); }

int jl_view_is_contiguous(const jl_view *v) { return jl_layout_is_contiguous(v->ndim, v->shape, v->strides); }
