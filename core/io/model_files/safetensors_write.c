/* safetensors_write.c — jl_model_file_write_safetensors: the header
 * {"__metadata__": {...}, name: {"dtype", "shape", "data_offsets"}, ...} with
 * the tensors in the caller's order, padded with spaces to a multiple of 8
 * bytes as the format's own writer does, then the data; written to a
 * temporary file beside the target and renamed over it when complete. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "safetensors_format.h"

#define ARG_FAIL(path, ...) mf_fail(JL_EARG, __FILE__, __LINE__, (path), __VA_ARGS__)

typedef struct {
    char *bytes;
    size_t len, cap;
    bool failed;
} text;

static void append(text *t, const char *s, size_t n)
{
    if (t->failed) return;
    if (t->cap - t->len < n + 1) {
        size_t cap = t->cap ? t->cap : 256;
        while (cap - t->len < n + 1) cap *= 2;
        char *grown = realloc(t->bytes, cap);
        if (!grown) {
            t->failed = true;
            return;
        }
        t->bytes = grown;
        t->cap = cap;
    }
    memcpy(t->bytes + t->len, s, n);
    t->len += n;
}

static void append_str(text *t, const char *s) { append(t, s, strlen(s)); }

static void append_int(text *t, long long v)
{
    char buf[24];
    append(t, buf, (size_t)snprintf(buf, sizeof buf, "%lld", v));
}

static void append_json_string(text *t, const char *s)
{
    append_str(t, "\"");
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        char buf[8];
        if (*c == '"' || *c == '\\') snprintf(buf, sizeof buf, "\\%c", *c);
        else if (*c < 0x20) snprintf(buf, sizeof buf, "\\u%04x", *c);
        else buf[0] = (char)*c, buf[1] = '\0';
        append_str(t, buf);
    }
    append_str(t, "\"");
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Refuses a NULL, empty or non-UTF-8 string and two equal ones. */
static int check_names(const char *path, const char *what, const char **names, int n)
{
    for (int i = 0; i < n; i++)
        if (!names[i] || !names[i][0] || !mf_utf8_valid(names[i], strlen(names[i])))
            return ARG_FAIL(path, "%s %d is NULL, empty or not UTF-8", what, i);
    if (n > 1) qsort(names, (size_t)n, sizeof *names, compare_strings);
    for (int i = 1; i < n; i++)
        if (strcmp(names[i - 1], names[i]) == 0) return ARG_FAIL(path, "two %ss are '%s'", what, names[i]);
    return JL_OK;
}

static int check_arguments(const char *path, const jl_model_tensor *tensors, int n_tensors,
                           const jl_model_metadata *metadata, int n_metadata)
{
    if (n_tensors < 0 || (n_tensors && !tensors) || n_metadata < 0 || (n_metadata && !metadata))
        return ARG_FAIL(path, "bad tensor or metadata arrays (%d tensors, %d metadata)", n_tensors, n_metadata);
    int n_names = n_tensors > n_metadata ? n_tensors : n_metadata;
    const char **names = malloc((size_t)(n_names ? n_names : 1) * sizeof *names);
    if (!names) return mf_fail(JL_ENOMEM, __FILE__, __LINE__, path, "out of memory");
    for (int i = 0; i < n_tensors; i++) names[i] = tensors[i].name;
    int rc = check_names(path, "tensor name", names, n_tensors);
    for (int i = 0; i < n_metadata && rc == JL_OK; i++) {
        names[i] = metadata[i].key;
        if (!metadata[i].value || !mf_utf8_valid(metadata[i].value, strlen(metadata[i].value)))
            rc = ARG_FAIL(path, "metadata value %d is NULL or not UTF-8", i);
    }
    if (rc == JL_OK) rc = check_names(path, "metadata key", names, n_metadata);
    free(names);
    for (int i = 0; i < n_tensors && rc == JL_OK; i++) {
        const jl_model_tensor *t = &tensors[i];
        int64_t numel;
        if (strcmp(t->name, SAFETENSORS_METADATA_KEY) == 0)
            rc = ARG_FAIL(path, "a tensor cannot be named %s", SAFETENSORS_METADATA_KEY);
        else if (!safetensors_dtype_name(t->dtype))
            rc = ARG_FAIL(path, "tensor '%s' has an invalid dtype %d", t->name, (int)t->dtype);
        else if (t->ndim < 0 || t->ndim > JL_MODEL_MAX_DIMS || !mf_numel(t->ndim, t->shape, &numel))
            rc = ARG_FAIL(path, "tensor '%s' has an invalid shape", t->name);
        else if (numel && !t->data)
            rc = ARG_FAIL(path, "tensor '%s' has %lld elements but no data", t->name, (long long)numel);
    }
    return rc;
}

/* The header JSON, padded to a multiple of 8 bytes; *data_size the bytes after it. */
static int build_header(const char *path, const jl_model_tensor *tensors, int n_tensors,
                        const jl_model_metadata *metadata, int n_metadata, text *t, uint64_t *data_size)
{
    append_str(t, "{");
    if (n_metadata) {
        append_str(t, "\"" SAFETENSORS_METADATA_KEY "\":{");
        for (int i = 0; i < n_metadata; i++) {
            append_str(t, i ? "," : "");
            append_json_string(t, metadata[i].key);
            append_str(t, ":");
            append_json_string(t, metadata[i].value);
        }
        append_str(t, "}");
    }
    int64_t offset = 0;
    for (int i = 0; i < n_tensors; i++) {
        const jl_model_tensor *x = &tensors[i];
        int64_t numel, nbytes;
        if (!mf_numel(x->ndim, x->shape, &numel) || !mf_mul(numel, (int64_t)jl_model_dtype_size(x->dtype), &nbytes) ||
            !mf_add(offset, nbytes, &nbytes))
            return ARG_FAIL(path, "the tensors' bytes overflow at '%s'", x->name);
        append_str(t, i || n_metadata ? "," : "");
        append_json_string(t, x->name);
        append_str(t, ":{\"dtype\":\"");
        append_str(t, safetensors_dtype_name(x->dtype));
        append_str(t, "\",\"shape\":[");
        for (int d = 0; d < x->ndim; d++) {
            append_str(t, d ? "," : "");
            append_int(t, x->shape[d]);
        }
        append_str(t, "],\"data_offsets\":[");
        append_int(t, offset);
        append_str(t, ",");
        append_int(t, nbytes);
        append_str(t, "]}");
        offset = nbytes;
    }
    append_str(t, "}");
    while (!t->failed && t->len % 8) append_str(t, " ");
    if (t->failed) return mf_fail(JL_ENOMEM, __FILE__, __LINE__, path, "out of memory building the header");
    *data_size = (uint64_t)offset;
    return JL_OK;
}

/* A new file "<path>.tmp.<pid>.<n>" (O_EXCL, mode 0666 less the umask, like
 * any file the user writes); its name into temp. -1 with errno set on failure. */
static int create_temporary(const char *path, char *temp, size_t cap)
{
    static _Atomic unsigned counter;
    for (int attempt = 0; attempt < 100; attempt++) {
        snprintf(temp, cap, "%s.tmp.%ld.%u", path, (long)getpid(), counter++);
        int fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST) return fd;
    }
    return -1;
}

static int write_all(FILE *f, const void *bytes, size_t n) { return n == 0 || fwrite(bytes, 1, n, f) == n; }

static int write_file(FILE *f, const text *header, const jl_model_tensor *tensors, int n_tensors)
{
    uint8_t len[8];
    for (int i = 0; i < 8; i++) len[i] = (uint8_t)((uint64_t)header->len >> (8 * i));
    if (!write_all(f, len, 8) || !write_all(f, header->bytes, header->len)) return -1;
    for (int i = 0; i < n_tensors; i++) {
        int64_t numel;
        mf_numel(tensors[i].ndim, tensors[i].shape, &numel);
        if (!write_all(f, tensors[i].data, (size_t)numel * jl_model_dtype_size(tensors[i].dtype))) return -1;
    }
    return fflush(f) == 0 && fsync(fileno(f)) == 0 ? 0 : -1;
}

int jl_model_file_write_safetensors(const char *path, const jl_model_tensor *tensors, int n_tensors,
                                    const jl_model_metadata *metadata, int n_metadata)
{
    if (!path || !*path) return JL_FAIL("jl_model_file_write_safetensors: no path");
    int rc = check_arguments(path, tensors, n_tensors, metadata, n_metadata);
    text header = {0};
    uint64_t data_size;
    if (rc == JL_OK) rc = build_header(path, tensors, n_tensors, metadata, n_metadata, &header, &data_size);
    if (rc != JL_OK) {
        free(header.bytes);
        return rc;
    }
    char *temp = malloc(strlen(path) + 64);
    int fd = temp ? create_temporary(path, temp, strlen(path) + 64) : -1;
    FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (!f) {
        rc = mf_fail(temp ? JL_EIO : JL_ENOMEM, __FILE__, __LINE__, path, "cannot create a temporary file: %s",
                     strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(temp);
        }
    } else {
        bool written = write_file(f, &header, tensors, n_tensors) == 0;
        int saved = errno;
        if (fclose(f) != 0 && written) written = false, saved = errno;
        if (written && rename(temp, path) != 0) written = false, saved = errno;
        if (!written) {
            unlink(temp);
            rc = mf_fail(JL_EIO, __FILE__, __LINE__, path, "cannot write: %s", strerror(saved));
        }
    }
    free(temp);
    free(header.bytes);
    return rc;
}
