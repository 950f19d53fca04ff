/* safetensors_read.c — .safetensors files: an 8-byte little-endian header
 * length N, N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]},
 * "__metadata__": {str: str}}, then the data. Checked as the format's own
 * reader does: the header lies inside the file, every tensor's byte range
 * lies inside the data and has the size its dtype and shape give, and the
 * ranges, in order of their offsets, tile the data with no overlap and no
 * hole. Tensors come out in the header's order. */
#include <stdlib.h>
#include <string.h>

#include "json_tree.h"
#include "safetensors_format.h"

typedef struct {
    const char *name;
    jl_model_dtype dtype;
    int ndim;
    int64_t shape[JL_MODEL_MAX_DIMS];
    uint64_t begin, end;
} tensor_entry;

static int read_metadata(const js_value *meta, mf_result *r)
{
    if (meta->kind != JS_OBJECT)
        return MF_FAIL(r->name, "safetensors header: __metadata__ is %s, not an object", js_kind_name(meta->kind));
    for (size_t i = 0; i < meta->n; i++) {
        const js_member *m = &meta->members[i];
        if (m->value->kind != JS_STRING)
            return MF_FAIL(r->name, "safetensors header: __metadata__ '%s' is %s, not a string", m->key,
                           js_kind_name(m->value->kind));
        int rc = mf_result_add_metadata(r, m->key, m->key_len, m->value->str, m->value->len);
        if (rc != JL_OK) return rc;
    }
    return JL_OK;
}

static bool read_uint_array(const js_value *v, size_t max, size_t *n, int64_t *out)
{
    if (!v || v->kind != JS_ARRAY || v->n > max) return false;
    for (size_t i = 0; i < v->n; i++) {
        if (v->items[i]->kind != JS_NUMBER || !v->items[i]->is_int64 || v->items[i]->integer < 0) return false;
        out[i] = v->items[i]->integer;
    }
    *n = v->n;
    return true;
}

/* One tensor's entry of the header, its sizes checked against the data. */
static int read_entry(const js_member *m, uint64_t data_size, tensor_entry *e, const char *file)
{
    const js_value *v = m->value;
    e->name = m->key;
    if (v->kind != JS_OBJECT)
        return MF_FAIL(file, "safetensors header: tensor '%s' is %s, not an object", m->key, js_kind_name(v->kind));
    const js_value *dtype = js_get(v, "dtype");
    if (!dtype || dtype->kind != JS_STRING)
        return MF_FAIL(file, "safetensors header: tensor '%s' has no dtype string", m->key);
    if (!safetensors_dtype_of(dtype->str, &e->dtype))
        return MF_FAIL(file, "safetensors header: tensor '%s' has dtype '%.32s', not one of F32 F64 F16 BF16 I64 "
                       "I32 I16 I8 U8 BOOL", m->key, dtype->str);
    size_t ndim, n_offsets;
    int64_t offsets[2];
    if (!read_uint_array(js_get(v, "shape"), JL_MODEL_MAX_DIMS, &ndim, e->shape))
        return MF_FAIL(file, "safetensors header: tensor '%s' has no shape of at most %d ints >= 0", m->key,
                       JL_MODEL_MAX_DIMS);
    e->ndim = (int)ndim;
    if (!read_uint_array(js_get(v, "data_offsets"), 2, &n_offsets, offsets) || n_offsets != 2)
        return MF_FAIL(file, "safetensors header: tensor '%s' has no data_offsets [begin, end]", m->key);
    e->begin = (uint64_t)offsets[0];
    e->end = (uint64_t)offsets[1];
    if (e->begin > e->end || e->end > data_size)
        return MF_FAIL(file, "safetensors: tensor '%s' data_offsets [%llu, %llu] lie outside the data (%llu bytes)",
                       m->key, (unsigned long long)e->begin, (unsigned long long)e->end,
                       (unsigned long long)data_size);
    int64_t numel, nbytes;
    char shape[192];
    if (!mf_numel(e->ndim, e->shape, &numel) || !mf_mul(numel, (int64_t)jl_model_dtype_size(e->dtype), &nbytes) ||
        (uint64_t)nbytes != e->end - e->begin)
        return MF_FAIL(file, "safetensors: tensor '%s' %s of %s does not fit data_offsets [%llu, %llu] (%llu bytes)",
                       m->key, mf_shape_str(e->ndim, e->shape, shape, sizeof shape), dtype->str,
                       (unsigned long long)e->begin, (unsigned long long)e->end,
                       (unsigned long long)(e->end - e->begin));
    return JL_OK;
}

static int compare_ranges(const void *a, const void *b)
{
    const tensor_entry *x = *(const tensor_entry *const *)a, *y = *(const tensor_entry *const *)b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

/* The ranges, sorted by offset, tile [0, data_size). */
static int check_tiling(tensor_entry *entries, size_t n, uint64_t data_size, const char *file)
{
    tensor_entry **sorted = malloc((n ? n : 1) * sizeof *sorted);
    if (!sorted) return MF_NOMEM(file);
    for (size_t i = 0; i < n; i++) sorted[i] = &entries[i];
    qsort(sorted, n, sizeof *sorted, compare_ranges);
    int rc = JL_OK;
    uint64_t expected = 0;
    for (size_t i = 0; i < n && rc == JL_OK; i++) {
        const tensor_entry *e = sorted[i], *prev = i ? sorted[i - 1] : NULL;
        if (e->begin < expected)
            rc = MF_FAIL(file, "safetensors: tensor '%s' data_offsets [%llu, %llu] overlap tensor '%s' [%llu, %llu]",
                         e->name, (unsigned long long)e->begin, (unsigned long long)e->end, prev->name,
                         (unsigned long long)prev->begin, (unsigned long long)prev->end);
        else if (e->begin > expected)
            rc = MF_FAIL(file, "safetensors: bytes [%llu, %llu) before tensor '%s' belong to no tensor",
                         (unsigned long long)expected, (unsigned long long)e->begin, e->name);
        expected = e->end;
    }
    if (rc == JL_OK && expected != data_size)
        rc = MF_FAIL(file, "safetensors: the last %llu of the %llu data bytes belong to no tensor",
                     (unsigned long long)(data_size - expected), (unsigned long long)data_size);
    free(sorted);
    return rc;
}

static int read_header(const js_value *header, const uint8_t *data, uint64_t data_size, mf_result *r)
{
    if (header->kind != JS_OBJECT)
        return MF_FAIL(r->name, "safetensors header is %s, not an object", js_kind_name(header->kind));
    tensor_entry *entries = malloc((header->n ? header->n : 1) * sizeof *entries);
    if (!entries) return MF_NOMEM(r->name);
    size_t n = 0;
    bool seen_metadata = false;
    int rc = JL_OK;
    for (size_t i = 0; i < header->n && rc == JL_OK; i++) {
        const js_member *m = &header->members[i];
        if (strcmp(m->key, SAFETENSORS_METADATA_KEY) != 0) {
            rc = read_entry(m, data_size, &entries[n++], r->name);
        } else if (seen_metadata) {
            rc = MF_FAIL(r->name, "safetensors header: two __metadata__ objects");
        } else {
            seen_metadata = true;
            rc = read_metadata(m->value, r);
        }
    }
    if (rc == JL_OK) rc = check_tiling(entries, n, data_size, r->name);
    for (size_t i = 0; i < n && rc == JL_OK; i++) {
        jl_model_tensor *t;
        const tensor_entry *e = &entries[i];
        rc = mf_result_add_tensor(r, e->name, strlen(e->name), e->dtype, e->ndim, e->shape, &t);
        if (rc == JL_OK && e->end > e->begin) memcpy(t->data, data + e->begin, (size_t)(e->end - e->begin));
    }
    free(entries);
    return rc;
}

int mf_read_safetensors(const uint8_t *data, size_t size, mf_result *r)
{
    if (size < 8) return MF_FAIL(r->name, "safetensors: %zu bytes cannot hold the header length", size);
    uint64_t header_len = mf_le64(data);
    if (header_len > size - 8)
        return MF_FAIL(r->name, "safetensors: the header length %llu runs past the end of the file (%zu bytes)",
                       (unsigned long long)header_len, size);
    if (header_len > SAFETENSORS_MAX_HEADER)
        return MF_FAIL(r->name, "safetensors: a header of %llu bytes is over the format's 100 MiB",
                       (unsigned long long)header_len);
    mf_arena arena = {0};
    js_value *header;
    int rc = js_parse((const char *)data + 8, (size_t)header_len, &arena, r->name, "safetensors header", &header);
    if (rc == JL_OK) rc = read_header(header, data + 8 + header_len, size - 8 - header_len, r);
    mf_arena_free(&arena);
    return rc;
}
