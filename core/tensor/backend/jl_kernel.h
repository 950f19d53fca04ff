/* jl_kernel.h — the descriptors core hands to a backend, and the backend table.
 *
 * This is the only core header kernels/ include. A kernel sees raw views
 * (data pointer already offset, shape and strides in elements) and plain
 * parameters; it never sees refcounts, autograd or Lua. Core has already
 * checked shapes, dtypes, index ranges and devices, so a kernel only fails on
 * device errors (e.g. a CUDA launch), returning JL_EDEVICE with a message.
 *
 *   jl_kargs k = {.op = JL_OP_add, .out = vo, .a = va, .b = vb};
 *   int rc = jl_backend_for(JL_CPU)->fn[JL_OP_add](&k);
 */
#ifndef JL_KERNEL_H
#define JL_KERNEL_H

#include <stddef.h>
#include <stdint.h>

#include "jl_error.h"

#define JL_MAX_DIMS 6

typedef enum { JL_F32 = 0, JL_I32, JL_I64, JL_U8, JL_DTYPE_COUNT } jl_dtype;
typedef enum { JL_CPU = 0, JL_CUDA, JL_DEVICE_COUNT } jl_device;

typedef enum {
#define JL_OP(name, ...) JL_OP_##name,
#include "jl_ops.def"
#undef JL_OP
    JL_OP_COUNT
} jl_op;

/* A strided window on device memory. data points at element [0,...,0]. */
typedef struct jl_view {
    void *data;
    jl_dtype dtype;
    int ndim;
    int64_t shape[JL_MAX_DIMS];
    int64_t strides[JL_MAX_DIMS]; /* in elements; 0 on broadcast dims */
} jl_view;

/* Arguments of one kernel call; which fields an op reads is in jl_ops.def. */
typedef struct jl_kargs {
    jl_op op;
    jl_view out, a, b, c;
    jl_view d; /* a fourth input, where an op needs one (jl_ops.def); data NULL otherwise */
    double s[4];
    int64_t i[4];
    uint64_t seed, counter; /* random ops: element e uses counter + e */
} jl_kargs;

typedef int (*jl_kernel_fn)(const jl_kargs *k);

struct jl_plan_program; /* jl_plan_program.h */
struct jl_graph_program; /* jl_graph_program.h */

/* One table per device. Memory functions return NULL / nonzero on failure. */
typedef struct jl_backend {
    const char *name;             /* "cpu", "cuda" */
    void *(*alloc)(size_t bytes); /* uninitialised device memory */
    void (*free)(void *ptr);
    int (*to_host)(void *dst, const void *src, size_t bytes);   /* device -> host */
    int (*from_host)(void *dst, const void *src, size_t bytes); /* host -> device */
    int (*available)(void);                                     /* 1 when a device is present */
    /* y (rows, p->outputs) <- the inference plan p on x (rows, p->inputs), dense host f32;
     * NULL when the backend runs no plans */
    int (*run_plan)(const struct jl_plan_program *p, const float *x, float *y, int64_t rows);
    /* y (jets, head outputs) <- the graph plan g on x (N, g->features) with offsets (jets+1),
     * edge_offsets (N+1), nbr (E) 0-based, all dense host memory; NULL when the backend
     * runs no graph plans */
    int (*run_graph_plan)(const struct jl_graph_program *g, const float *x, const int64_t *offsets,
                          int64_t jets, const int64_t *edge_offsets, const int64_t *nbr, float *y);
    jl_kernel_fn fn[JL_OP_COUNT];
} jl_backend;

/* Provided by each backend folder; the CUDA one exists only when built. */
const jl_backend *jl_cpu_backend(void);
const jl_backend *jl_cuda_backend(void);

/* Name of an op ("add"), of a dtype ("f32"), of a device ("cpu"). */
const char *jl_op_name(jl_op op);
const char *jl_dtype_name(jl_dtype dtype);
const char *jl_device_name(jl_device device);
size_t jl_dtype_size(jl_dtype dtype);

/* Element count and row-major contiguity of a geometry (shared by views and tensors). */
int64_t jl_shape_numel(int ndim, const int64_t *shape);
int jl_layout_is_contiguous(int ndim, const int64_t *shape, const int64_t *strides);
/* The same for a view. */
int64_t jl_view_numel(const jl_view *v);
int jl_view_is_contiguous(const jl_view *v);

#endif
