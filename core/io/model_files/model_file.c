/* model_file.c — the public entry points of jl_model_files.h (format sniffing,
 * reading a path or a buffer, freeing) and the pieces every format shares:
 * dtype table, messages that name the file, the result grown tensor by tensor. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_files_internal.h"

static const struct {
    const char *name;
    size_t size;
} dtype_table[JL_MODEL_DTYPE_COUNT] = {
    [JL_MODEL_F32] = {"f32", 4}, [JL_MODEL_F64] = {"f64", 8}, [JL_MODEL_F16] = {"f16", 2},
    [JL_MODEL_BF16] = {"bf16", 2}, [JL_MODEL_I64] = {"i64", 8}, [JL_MODEL_I32] = {"i32", 4},
    [JL_MODEL_I16] = {"i16", 2}, [JL_MODEL_I8] = {"i8", 1}, [JL_MODEL_U8] = {"u8", 1},
    [JL_MODEL_BOOL] = {"bool", 1},
};

size_t jl_model_dtype_size(jl_model_dtype dtype)
{
    return (unsigned)dtype < JL_MODEL_DTYPE_COUNT ? dtype_table[dtype].size : 0;
}

const char *jl_model_dtype_name(jl_model_dtype dtype)
{
    return (unsigned)dtype < JL_MODEL_DTYPE_COUNT ? dtype_table[dtype].name : "?";
}

int mf_fail(int code, const char *src, int line, const char *name, const char *fmt, ...)
{
    char message[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    return jl_error_set(code, src, line, "%s: %s", name, message);
}

bool mf_numel(int ndim, const int64_t *shape, int64_t *numel)
{
    int64_t n = 1;
    for (int d = 0; d < ndim; d++)
        if (shape[d] < 0 || !mf_mul(n, shape[d], &n)) return false;
    *numel = n;
    return true;
}

const char *mf_shape_str(int ndim, const int64_t *shape, char *buf, size_t cap)
{
    size_t used = (size_t)snprintf(buf, cap, "(");
    for (int d = 0; d < ndim && used < cap; d++)
        used += (size_t)snprintf(buf + used, cap - used, d ? ", %lld" : "%lld", (long long)shape[d]);
    if (used < cap) snprintf(buf + used, cap - used, ")");
    return buf;
}

/* --- format sniffing and the entry points ---------------------------------- */

jl_model_format jl_model_file_sniff(const void *data, size_t size)
{
    const uint8_t *p = data;
    if (size >= 4 && memcmp(p, "PK\3\4", 4) == 0) return JL_MODEL_FORMAT_TORCH_ZIP;
    if (size >= 4 && p[0] == 0x80 && p[1] >= 2 && p[1] <= 5 && p[2] == 0x8a && p[3] == 0x0a)
        return JL_MODEL_FORMAT_TORCH_LEGACY;
    if (size >= 9 && p[8] == '{') return JL_MODEL_FORMAT_SAFETENSORS;
    return JL_MODEL_FORMAT_UNKNOWN;
}

int jl_model_file_read_buffer(const void *data, size_t size, const char *display_name, jl_model_file **out)
{
    if (!out) return JL_FAIL("jl_model_file_read_buffer: out is NULL");
    *out = NULL;
    const char *name = display_name ? display_name : "(buffer)";
    if (!data && size) return JL_FAIL("%s: data is NULL", name);
    jl_model_format format = jl_model_file_sniff(data, size);
    if (format == JL_MODEL_FORMAT_UNKNOWN)
        return MF_FAIL(name, "not a PyTorch (zip or legacy) or safetensors file (%zu bytes, first bytes do not match)",
                       size);
    mf_result r;
    int rc = mf_result_init(&r, name, format, size);
    if (rc != JL_OK) return rc;
    switch (format) {
    case JL_MODEL_FORMAT_TORCH_ZIP: rc = mf_read_torch_zip(data, size, &r); break;
    case JL_MODEL_FORMAT_TORCH_LEGACY: rc = mf_read_torch_legacy(data, size, &r); break;
    default: rc = mf_read_safetensors(data, size, &r); break;
    }
    if (rc == JL_OK) rc = mf_result_check_unique_names(&r);
    if (rc != JL_OK) {
        mf_result_discard(&r);
        return rc;
    }
    *out = mf_result_take(&r);
    return JL_OK;
}

int jl_model_file_read(const char *path, jl_model_file **out)
{
    if (!out) return JL_FAIL("jl_model_file_read: out is NULL");
    *out = NULL;
    if (!path) return JL_FAIL("jl_model_file_read: path is NULL");
    FILE *f = fopen(path, "rb");
    if (!f) return JL_FAIL_CODE(JL_EIO, "%s: cannot open: %s", path, strerror(errno));
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0) size = ftell(f);
    if (size < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return JL_FAIL_CODE(JL_EIO, "%s: cannot find its size (not a regular file?)", path);
    }
    uint8_t *bytes = malloc(size ? (size_t)size : 1);
    if (!bytes) {
        fclose(f);
        return JL_FAIL_CODE(JL_ENOMEM, "%s: out of memory reading %ld bytes", path, size);
    }
    size_t got = fread(bytes, 1, (size_t)size, f);
    fclose(f);
    int rc = got == (size_t)size ? jl_model_file_read_buffer(bytes, got, path, out)
                                 : JL_FAIL_CODE(JL_EIO, "%s: read %zu of %ld bytes", path, got, size);
    free(bytes);
    return rc;
}

void jl_model_file_free(jl_model_file *f)
{
    if (!f) return;
    for (int i = 0; i < f->n_tensors; i++) {
        free(f->tensors[i].name);
        free(f->tensors[i].data);
    }
    for (int i = 0; i < f->n_metadata; i++) {
        free(f->metadata[i].key);
        free(f->metadata[i].value);
    }
    free(f->tensors);
    free(f->metadata);
    free(f);
}

/* --- the result of a read --------------------------------------------------- */

/* Tensor data may total this many times the file's size (plus a MiB): views
 * sharing one storage are copied apart, a bounded number of times. */
#define MF_DATA_BUDGET_FACTOR 8

int mf_result_init(mf_result *r, const char *display_name, jl_model_format format, size_t file_size)
{
    memset(r, 0, sizeof *r);
    r->name = display_name;
    r->file = calloc(1, sizeof *r->file);
    if (!r->file) return MF_NOMEM(display_name);
    r->file->format = format;
    int64_t budget;
    if (!mf_mul((int64_t)(file_size > (size_t)INT64_MAX / 16 ? INT64_MAX / 16 : file_size), MF_DATA_BUDGET_FACTOR,
                &budget))
        budget = INT64_MAX;
    r->bytes_left = budget + (1 << 20);
    return JL_OK;
}

static char *strndup_owned(const char *s, size_t len)
{
    char *copy = malloc(len + 1);
    if (copy) {
        memcpy(copy, s, len);
        copy[len] = '\0';
    }
    return copy;
}

int mf_result_add_tensor(mf_result *r, const char *name, size_t name_len, jl_model_dtype dtype, int ndim,
                         const int64_t *shape, jl_model_tensor **out)
{
    jl_model_file *f = r->file;
    char shape_buf[192];
    if (memchr(name, '\0', name_len))
        return MF_FAIL(r->name, "tensor name '%s...' contains a NUL byte", name);
    if (ndim < 0 || ndim > JL_MODEL_MAX_DIMS)
        return MF_FAIL(r->name, "tensor '%.*s' has %d dimensions; at most %d are read", (int)name_len, name, ndim,
                       JL_MODEL_MAX_DIMS);
    int64_t numel, nbytes;
    if (!mf_numel(ndim, shape, &numel) || !mf_mul(numel, (int64_t)jl_model_dtype_size(dtype), &nbytes))
        return MF_FAIL(r->name, "tensor '%.*s' has an impossible shape %s", (int)name_len, name,
                       mf_shape_str(ndim, shape, shape_buf, sizeof shape_buf));
    if (nbytes > r->bytes_left)
        return MF_FAIL(r->name,
                       "tensor '%.*s' %s of %s would take the tensors past %d times the file's size "
                       "(views that expand a storage are not read)",
                       (int)name_len, name, mf_shape_str(ndim, shape, shape_buf, sizeof shape_buf),
                       jl_model_dtype_name(dtype), MF_DATA_BUDGET_FACTOR);
    if (f->n_tensors == r->cap_tensors) {
        int cap = r->cap_tensors ? 2 * r->cap_tensors : 16;
        jl_model_tensor *grown = realloc(f->tensors, (size_t)cap * sizeof *grown);
        if (!grown) return MF_NOMEM(r->name);
        f->tensors = grown;
        r->cap_tensors = cap;
    }
    jl_model_tensor *t = &f->tensors[f->n_tensors];
    memset(t, 0, sizeof *t);
    t->name = strndup_owned(name, name_len);
    t->data = nbytes ? calloc(1, (size_t)nbytes) : NULL;
    if (!t->name || (nbytes && !t->data)) {
        free(t->name);
        free(t->data);
        return MF_NOMEM(r->name);
    }
    t->dtype = dtype;
    t->ndim = ndim;
    memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
    t->numel = numel;
    r->bytes_left -= nbytes;
    f->n_tensors++;
    *out = t;
    return JL_OK;
}

int mf_result_add_metadata(mf_result *r, const char *key, size_t key_len, const char *value, size_t value_len)
{
    jl_model_file *f = r->file;
    if (f->n_metadata == r->cap_metadata) {
        int cap = r->cap_metadata ? 2 * r->cap_metadata : 8;
        jl_model_metadata *grown = realloc(f->metadata, (size_t)cap * sizeof *grown);
        if (!grown) return MF_NOMEM(r->name);
        f->metadata = grown;
        r->cap_metadata = cap;
    }
    jl_model_metadata *m = &f->metadata[f->n_metadata];
    m->key = strndup_owned(key, key_len);
    m->value = strndup_owned(value, value_len);
    if (!m->key || !m->value) {
        free(m->key);
        free(m->value);
        return MF_NOMEM(r->name);
    }
    f->n_metadata++;
    return JL_OK;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int mf_result_check_unique_names(mf_result *r)
{
    jl_model_file *f = r->file;
    if (f->n_tensors < 2) return JL_OK;
    char **names = malloc((size_t)f->n_tensors * sizeof *names);
    if (!names) return MF_NOMEM(r->name);
    for (int i = 0; i < f->n_tensors; i++) names[i] = f->tensors[i].name;
    qsort(names, (size_t)f->n_tensors, sizeof *names, compare_names);
    int rc = JL_OK;
    for (int i = 1; i < f->n_tensors && rc == JL_OK; i++)
        if (strcmp(names[i - 1], names[i]) == 0) rc = MF_FAIL(r->name, "two tensors are named '%s'", names[i]);
    free(names);
    return rc;
}

jl_model_file *mf_result_take(mf_result *r)
{
    jl_model_file *f = r->file;
    r->file = NULL;
    return f;
}

void mf_result_discard(mf_result *r)
{
    jl_model_file_free(r->file);
    r->file = NULL;
}
