/* jl_tensor.h — refcounted tensors over refcounted storage.
 *
 * A tensor is a header (dtype, shape, strides, offset, autograd links) over a
 * storage block that views share. Lifetimes: every function named _new, and
 * every op returning jl_tensor*, returns a +1 reference the caller owns;
 * jl_retain / jl_release are the only lifetime calls. Functions taking a
 * tensor borrow it unless the comment says otherwise.
 *
 *   jl_tensor *t = jl_tensor_new(JL_F32, 2, (int64_t[]){3, 4}, JL_CPU);
 *   jl_tensor *v = jl_transpose(t, 0, 1);   // view, shares t's storage
 *   jl_release(v); jl_release(t);
 */
#ifndef JL_TENSOR_H
#define JL_TENSOR_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "jl_kernel.h"

struct jl_node;

typedef struct jl_storage {
    atomic_int refcount;
    void *data;
    size_t bytes;
    jl_device device;
    uint64_t version; /* bumped by every in-place write; autograd checks it */
} jl_storage;

typedef struct jl_tensor {
    atomic_int refcount;
    jl_storage *storage;
    int64_t offset; /* in elements */
    int ndim;
    int64_t shape[JL_MAX_DIMS];
    int64_t strides[JL_MAX_DIMS]; /* in elements */
    jl_dtype dtype;
    bool requires_grad;      /* leaf flag set by the user, or set on op outputs */
    struct jl_tensor *grad;  /* owned; NULL until a backward reaches this leaf */
    struct jl_node *grad_fn; /* owned; NULL for leaves and under no_grad */
} jl_tensor;

/* --- lifetime ------------------------------------------------------------ */
/* +1 on t (NULL allowed); returns t. */
jl_tensor *jl_retain(jl_tensor *t);
/* -1 on t (NULL allowed); frees header, grad, grad_fn and storage at zero. */
void jl_release(jl_tensor *t);

/* Live counts for jl.stats(): tensors headers, storage blocks, bytes per device;
 * gemm_flops: 2 M N K summed over every matrix product run since the start (any
 * device; jl_matmul, jl_linear and their backward), for GFLOP/s figures. */
typedef struct jl_stats {
    int64_t tensors, storages, bytes[JL_DEVICE_COUNT], peak_bytes[JL_DEVICE_COUNT], nodes;
    int64_t gemm_flops;
} jl_stats;
jl_stats jl_stats_get(void);
/* Counts autograd nodes (called by autograd.c only). */
void jl_stats_node_delta(int delta);
/* Adds a finished matrix product's floating-point operations (ops_matmul.c only). */
void jl_stats_count_gemm(int64_t flops);

/* --- construction -------------------------------------------------------- */
/* New contiguous tensor, uninitialised; +1. shape may have ndim == 0 (a scalar). */
jl_tensor *jl_tensor_new(jl_dtype dtype, int ndim, const int64_t *shape, jl_device device);
/* New contiguous tensor filled with value; +1. */
jl_tensor *jl_full(jl_dtype dtype, int ndim, const int64_t *shape, double value, jl_device device);
jl_tensor *jl_zeros(jl_dtype dtype, int ndim, const int64_t *shape, jl_device device);
/* Same dtype/shape/device as t, contiguous: uninitialised, zeros, filled; +1. */
jl_tensor *jl_empty_like(const jl_tensor *t);
jl_tensor *jl_zeros_like(const jl_tensor *t);
jl_tensor *jl_full_like(const jl_tensor *t, double value);
/* 1-D [start, stop) with step (may be negative); +1. */
jl_tensor *jl_arange(jl_dtype dtype, double start, double stop, double step, jl_device device);
/* New CPU tensor copying n host values of `dtype` from data; +1. */
jl_tensor *jl_from_host(jl_dtype dtype, int ndim, const int64_t *shape, const void *data);
/* New header sharing t's storage with the given geometry; +1. Core-internal for views. */
jl_tensor *jl_tensor_alias(const jl_tensor *t, int ndim, const int64_t *shape, const int64_t *strides,
                           int64_t offset);

/* --- inspection ---------------------------------------------------------- */
int64_t jl_numel(const jl_tensor *t);
bool jl_is_contiguous(const jl_tensor *t);
/* True when t has exactly the ndim dims of shape. */
bool jl_has_shape(const jl_tensor *t, int ndim, const int64_t *shape);
jl_device jl_device_of(const jl_tensor *t);
/* Pointer to element [0,...] on the tensor's device. */
void *jl_data(const jl_tensor *t);
/* The kernel descriptor of t. */
jl_view jl_view_of(const jl_tensor *t);
/* "(3, 4)" into a thread-local ring of buffers; valid for the next 8 calls. */
const char *jl_shape_str(const jl_tensor *t);
/* Normalises a dimension that may be negative (Python-style, 0-based) against
 * ndim; returns the 0-based dim or -1 with an error naming op and argument. */
int jl_norm_dim(const char *op, int dim, int ndim);
/* Flat element read/write at a multi-index (CPU only), as double. */
int jl_get_item(const jl_tensor *t, const int64_t *index, double *value);
int jl_set_item(jl_tensor *t, const int64_t *index, double value);
/* Copy the whole tensor to a host buffer of numel doubles (any device). */
int jl_to_doubles(const jl_tensor *t, double *out);

/* --- devices ------------------------------------------------------------- */
/* The backend of a device, or NULL with an error when it is not built/present. */
const jl_backend *jl_backend_for(jl_device device);
/* Runs op on t's backend with error on an empty slot. */
int jl_run(jl_device device, const jl_kargs *k);
/* New tensor on another device (copy; +1). Returns a +1 on t itself when already there. */
jl_tensor *jl_to_device(jl_tensor *t, jl_device device);
/* Hook called when a device allocation fails, before one retry (the Lua host
 * runs a full GC there). NULL by default. */
void jl_set_alloc_failure_hook(void (*hook)(void *ctx), void *ctx);

#endif
