/* tensor.c — tensor headers, storage, lifetime, construction and inspection. */
#include "jl_tensor.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jl_autograd.h"

/* --- live counts ---------------------------------------------------------- */
static atomic_llong live_tensors, live_storages, live_nodes, gemm_flops;
static atomic_llong live_bytes[JL_DEVICE_COUNT], peak_bytes[JL_DEVICE_COUNT];

jl_stats jl_stats_get(void)
{
    jl_stats s = {
        .tensors = live_tensors, .storages = live_storages, .nodes = live_nodes, .gemm_flops = gemm_flops};
    for (int d = 0; d < JL_DEVICE_COUNT; d++) {
        s.bytes[d] = live_bytes[d];
        s.peak_bytes[d] = peak_bytes[d];
    }
    return s;
}

void jl_stats_node_delta(int delta) { live_nodes += delta; }

void jl_stats_count_gemm(int64_t flops) { gemm_flops += flops; }

static void count_bytes(jl_device device, int64_t delta)
{
    long long now = atomic_fetch_add(&live_bytes[device], delta) + delta;
    long long peak = peak_bytes[device];
    while (now > peak && !atomic_compare_exchange_weak(&peak_bytes[device], &peak, now)) {
    }
}

/* --- storage -------------------------------------------------------------- */
static void (*alloc_failure_hook)(void *ctx);
static void *alloc_failure_ctx;

void jl_set_alloc_failure_hook(void (*hook)(void *ctx), void *ctx)
{
    alloc_failure_hook = hook;
    alloc_failure_ctx = ctx;
}

static jl_storage *storage_new(size_t bytes, jl_device device)
{
    const jl_backend *be = jl_backend_for(device);
    if (!be) return NULL;
    jl_storage *s = calloc(1, sizeof *s);
    if (!s) {
        JL_FAIL_CODE(JL_ENOMEM, "out of host memory for a storage header");
        return NULL;
    }
    size_t asked = bytes ? bytes : 1;
    s->data = be->alloc(asked);
    if (!s->data && alloc_failure_hook) {
        alloc_failure_hook(alloc_failure_ctx);
        s->data = be->alloc(asked);
    }
    if (!s->data) {
        free(s);
        JL_FAIL_CODE(JL_ENOMEM, "out of %s memory allocating %zu bytes", be->name, bytes);
        return NULL;
    }
    atomic_init(&s->refcount, 1);
    s->bytes = bytes;
    s->device = device;
    live_storages++;
    count_bytes(device, (int64_t)bytes);
    return s;
}

static void storage_release(jl_storage *s)
{
    if (!s || atomic_fetch_sub(&s->refcount, 1) != 1) return;
    jl_backend_for(s->device)->free(s->data);
    live_storages--;
    count_bytes(s->device, -(int64_t)s->bytes);
    free(s);
}

/* --- lifetime ------------------------------------------------------------- */
jl_tensor *jl_retain(jl_tensor *t)
{
    if (t) atomic_fetch_add(&t->refcount, 1);
    return t;
}

void jl_release(jl_tensor *t)
{
    if (!t || atomic_fetch_sub(&t->refcount, 1) != 1) return;
    jl_release(t->grad);
    jl_node_release(t->grad_fn);
    storage_release(t->storage);
    live_tensors--;
    free(t);
}

/* --- construction --------------------------------------------------------- */
static int check_shape(int ndim, const int64_t *shape, int64_t *numel)
{
    if (ndim < 0 || ndim > JL_MAX_DIMS) return JL_FAIL("tensor: rank %d is outside 0..%d", ndim, JL_MAX_DIMS);
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 0)
            return JL_FAIL("tensor: size %lld of dim %d is negative", (long long)shape[d], d + 1);
        if (shape[d] && n > INT64_MAX / 16 / shape[d])
            return JL_FAIL("tensor: shape too large (overflow at dim %d)", d + 1);
        n *= shape[d];
    }
    *numel = n;
    return JL_OK;
}

static void contiguous_strides(int ndim, const int64_t *shape, int64_t *strides)
{
    int64_t s = 1;
    for (int d = ndim - 1; d >= 0; d--) {
        strides[d] = s;
        s *= shape[d] ? shape[d] : 1;
    }
}

static jl_tensor *header_new(jl_storage *storage, jl_dtype dtype, int ndim, const int64_t *shape,
                             const int64_t *strides, int64_t offset)
{
    jl_tensor *t = calloc(1, sizeof *t);
    if (!t) {
        JL_FAIL_CODE(JL_ENOMEM, "out of host memory for a tensor header");
        return NULL;
    }
    atomic_init(&t->refcount, 1);
    t->storage = storage;
    t->dtype = dtype;
    t->ndim = ndim;
    t->offset = offset;
    for (int d = 0; d < ndim; d++) {
        t->shape[d] = shape[d];
        t->strides[d] = strides[d];
    }
    live_tensors++;
    return t;
}

jl_tensor *jl_tensor_new(jl_dtype dtype, int ndim, const int64_t *shape, jl_device device)
{
    int64_t numel = 0;
    if ((unsigned)dtype >= JL_DTYPE_COUNT) {
        JL_FAIL("tensor: unknown dtype %d", (int)dtype);
        return NULL;
    }
    if (check_shape(ndim, shape, &numel)) return NULL;
    jl_storage *s = storage_new((size_t)numel * jl_dtype_size(dtype), device);
    if (!s) return NULL;
    int64_t strides[JL_MAX_DIMS];
    contiguous_strides(ndim, shape, strides);
    jl_tensor *t = header_new(s, dtype, ndim, shape, strides, 0);
    if (!t) storage_release(s);
    return t;
}

jl_tensor *jl_full(jl_dtype dtype, int ndim, const int64_t *shape, double value, jl_device device)
{
    jl_tensor *t = jl_tensor_new(dtype, ndim, shape, device);
    if (!t) return NULL;
    jl_kargs k = {.op = JL_OP_fill, .out = jl_view_of(t), .s = {value}};
    if (jl_run(device, &k)) {
        jl_release(t);
        return NULL;
    }
    return t;
}

jl_tensor *jl_zeros(jl_dtype dtype, int ndim, const int64_t *shape, jl_device device)
{
    return jl_full(dtype, ndim, shape, 0.0, device);
}

jl_tensor *jl_empty_like(const jl_tensor *t)
{
    return jl_tensor_new(t->dtype, t->ndim, t->shape, t->storage->device);
}

jl_tensor *jl_zeros_like(const jl_tensor *t) { return jl_full_like(t, 0.0); }

jl_tensor *jl_full_like(const jl_tensor *t, double value)
{
    return jl_full(t->dtype, t->ndim, t->shape, value, t->storage->device);
}

jl_tensor *jl_arange(jl_dtype dtype, double start, double stop, double step, jl_device device)
{
    if (step == 0 || step != step || start != start || stop != stop) {
        JL_FAIL(
            "arange: step must be a nonzero number and bounds must not be NaN (start %g, stop %g, step %g)",
            start, stop, step);
        return NULL;
    }
    double count = (stop - start) / step;
    if (count > 1e15) {
        JL_FAIL("arange: %g elements are too many", count);
        return NULL;
    }
    int64_t n = count > 0 ? (int64_t)ceil(count) : 0;
    jl_tensor *t = jl_tensor_new(dtype, 1, &n, device);
    if (!t) return NULL;
    jl_kargs k = {.op = JL_OP_arange, .out = jl_view_of(t), .s = {start, step}};
    if (jl_run(device, &k)) {
        jl_release(t);
        return NULL;
    }
    return t;
}

jl_tensor *jl_from_host(jl_dtype dtype, int ndim, const int64_t *shape, const void *data)
{
    jl_tensor *t = jl_tensor_new(dtype, ndim, shape, JL_CPU);
    if (t && t->storage->bytes) memcpy(t->storage->data, data, t->storage->bytes);
    return t;
}

jl_tensor *jl_tensor_alias(const jl_tensor *t, int ndim, const int64_t *shape, const int64_t *strides,
                           int64_t offset)
{
    atomic_fetch_add(&t->storage->refcount, 1);
    jl_tensor *v = header_new(t->storage, t->dtype, ndim, shape, strides, offset);
    if (!v) storage_release(t->storage);
    return v;
}

/* --- inspection ----------------------------------------------------------- */
int64_t jl_numel(const jl_tensor *t) { return jl_shape_numel(t->ndim, t->shape); }

bool jl_is_contiguous(const jl_tensor *t) { return jl_layout_is_contiguous(t->ndim, t->shape, t->strides); }

bool jl_has_shape(const jl_tensor *t, int ndim, const int64_t *shape)
{
    if (t->ndim != ndim) return false;
    for (int d = 0; d < ndim; d++)
        if (t->shape[d] != shape[d]) return false;
    return true;
}

jl_device jl_device_of(const jl_tensor *t) { return t->storage->device; }

void *jl_data(const jl_tensor *t)
{
    return (char *)t->storage->data + t->offset * (int64_t)jl_dtype_size(t->dtype);
}

jl_view jl_view_of(const jl_tensor *t)
{
    jl_view v = {.data = jl_data(t), .dtype = t->dtype, .ndim = t->ndim};
    for (int d = 0; d < t->ndim; d++) {
        v.shape[d] = t->shape[d];
        v.strides[d] = t->strides[d];
    }
    return v;
}

const char *jl_shape_str(const jl_tensor *t)
{
    static _Thread_local char ring[8][96];
    static _Thread_local int next;
    char *buf = ring[next++ & 7];
    int n = snprintf(buf, 96, "(");
    for (int d = 0; d < t->ndim && n < 90; d++)
        n += snprintf(buf + n, 96 - (size_t)n, d ? ", %lld" : "%lld", (long long)t->shape[d]);
    snprintf(buf + n, 96 - (size_t)n, ")");
    return buf;
}

int jl_norm_dim(const char *op, int dim, int ndim)
{
    int span = ndim > 0 ? ndim : 1;
    if (dim < -span || dim >= span) {
        JL_FAIL("%s: dim %d out of range for a tensor of rank %d", op, dim, ndim);
        return -1;
    }
    return dim < 0 ? dim + span : dim;
}

static int item_offset(const jl_tensor *t, const int64_t *index, int64_t *offset)
{
    if (t->storage->device != JL_CPU) return JL_FAIL_CODE(JL_EDEVICE, "element access needs a cpu tensor");
    int64_t off = t->offset;
    for (int d = 0; d < t->ndim; d++) {
        if (index[d] < 0 || index[d] >= t->shape[d])
            return JL_FAIL("index %lld out of range for dim %d of size %lld", (long long)index[d] + 1, d + 1,
                           (long long)t->shape[d]);
        off += index[d] * t->strides[d];
    }
    *offset = off;
    return JL_OK;
}

static double load_as_double(const void *base, jl_dtype dtype, int64_t i)
{
    switch (dtype) {
    case JL_F32: return ((const float *)base)[i];
    case JL_I32: return ((const int32_t *)base)[i];
    case JL_I64: return (double)((const int64_t *)base)[i];
    case JL_U8: return ((const uint8_t *)base)[i];
    default: return 0;
    }
}

int jl_get_item(const jl_tensor *t, const int64_t *index, double *value)
{
    int64_t off = 0;
    if (item_offset(t, index, &off)) return JL_EARG;
    *value = load_as_double(t->storage->data, t->dtype, off);
    return JL_OK;
}

int jl_set_item(jl_tensor *t, const int64_t *index, double value)
{
    int64_t off = 0;
    if (item_offset(t, index, &off)) return JL_EARG;
    void *base = t->storage->data;
    switch (t->dtype) {
    case JL_F32: ((float *)base)[off] = (float)value; break;
    case JL_I32: ((int32_t *)base)[off] = (int32_t)value; break;
    case JL_I64: ((int64_t *)base)[off] = (int64_t)value; break;
    case JL_U8: ((uint8_t *)base)[off] = (uint8_t)value; break;
    default: break;
    }
    t->storage->version++;
    return JL_OK;
}

int jl_to_doubles(const jl_tensor *t, double *out)
{
    jl_tensor *host = jl_to_device((jl_tensor *)t, JL_CPU);
    if (!host) return jl_last_error_code();
    int64_t n = jl_numel(host), index[JL_MAX_DIMS] = {0};
    for (int64_t i = 0; i < n; i++) {
        int64_t off = host->offset;
        for (int d = 0; d < host->ndim; d++) off += index[d] * host->strides[d];
        out[i] = load_as_double(host->storage->data, host->dtype, off);
        for (int d = host->ndim - 1; d >= 0; d--) {
            if (++index[d] < host->shape[d]) break;
            index[d] = 0;
        }
    }
    jl_release(host);
    return JL_OK;
}
