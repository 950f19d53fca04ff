/* torch_state_dict.c — see torch_state_dict.h. */
#include <string.h>

#include "torch_state_dict.h"

static bool is_row_major(const pk_tensor *t)
{
    int64_t expected = 1;
    for (int d = t->ndim - 1; d >= 0; d--) {
        if (t->shape[d] != 1 && t->stride[d] != expected) return false;
        expected *= t->shape[d];
    }
    return true;
}

/* Copies the numel elements of t (strided over src) to dst, row-major. */
static void copy_strided(uint8_t *dst, const uint8_t *src, size_t esize, const pk_tensor *t, int64_t numel)
{
    if (numel == 0) return;
    if (is_row_major(t)) {
        memcpy(dst, src, (size_t)numel * esize);
        return;
    }
    int64_t index[JL_MODEL_MAX_DIMS] = {0}, offset = 0;
    for (int64_t i = 0; i < numel; i++) {
        memcpy(dst + (size_t)i * esize, src + (size_t)offset * esize, esize);
        for (int d = t->ndim - 1; d >= 0; d--) {
            offset += t->stride[d];
            if (++index[d] < t->shape[d]) break;
            offset -= t->stride[d] * t->shape[d];
            index[d] = 0;
        }
    }
}

/* Elements from the tensor's offset to its last element, inclusive (0 when empty). */
static bool extent_of(const pk_tensor *t, int64_t numel, int64_t *extent)
{
    if (numel == 0) {
        *extent = 0;
        return true;
    }
    int64_t last = t->offset, step;
    for (int d = 0; d < t->ndim; d++)
        if (!mf_mul(t->shape[d] - 1, t->stride[d], &step) || !mf_add(last, step, &last)) return false;
    return mf_add(last, 1, extent);
}

static int collect_one(const pk_value *key, const pk_value *value, mf_storage_lookup lookup,
                       void *ctx, mf_result *r)
{
    if (key->kind != PK_STR)
        return MF_FAIL(r->name, "the state_dict has a key that is %s, not a str", pk_kind_name(key->kind));
    const char *name = key->as.str.bytes;
    if (value->kind != PK_TENSOR)
        return MF_FAIL(r->name, "entry '%s' is %s, not a tensor: only a state_dict (names to tensors) is read", name,
                       pk_kind_name(value->kind));
    const pk_tensor *t = &value->as.tensor;
    const pk_storage *s = t->storage;
    const uint8_t *bytes;
    uint64_t nbytes;
    const char *label;
    int rc = lookup(ctx, s, &bytes, &nbytes, &label);
    if (rc != JL_OK) return rc;
    size_t esize = jl_model_dtype_size(s->dtype);
    if (nbytes / esize < (uint64_t)s->numel)
        return MF_FAIL(r->name, "storage '%s' holds %llu bytes, fewer than its %lld elements of %s", label,
                       (unsigned long long)nbytes, (long long)s->numel, jl_model_dtype_name(s->dtype));
    int64_t numel, extent;
    char shape[192];
    mf_shape_str(t->ndim, t->shape, shape, sizeof shape);
    if (!mf_numel(t->ndim, t->shape, &numel) || !extent_of(t, numel, &extent))
        return MF_FAIL(r->name, "tensor '%s' %s at offset %lld overflows any storage", name, shape,
                       (long long)t->offset);
    if (extent > s->view_numel)
        return MF_FAIL(r->name, "storage '%s' has %lld elements; tensor '%s' %s at offset %lld needs %lld", label,
                       (long long)s->view_numel, name, shape, (long long)t->offset, (long long)extent);
    jl_model_tensor *out;
    rc = mf_result_add_tensor(r, name, key->as.str.len, s->dtype, t->ndim, t->shape, &out);
    if (rc != JL_OK) return rc;
    if (numel) copy_strided(out->data, bytes + (size_t)(s->view_offset + t->offset) * esize, esize, t, numel);
    return JL_OK;
}

int mf_state_dict_collect(const pk_value *root, mf_storage_lookup lookup, void *ctx,
                          mf_result *r)
{
    if (root->kind != PK_DICT)
        return MF_FAIL(r->name, "the pickled object is %s, not a state_dict (a dict of names to tensors)",
                       pk_kind_name(root->kind));
    for (size_t i = 0; i + 1 < root->as.seq.n; i += 2) {
        int rc = collect_one(root->as.seq.items[i], root->as.seq.items[i + 1], lookup, ctx, r);
        if (rc != JL_OK) return rc;
    }
    return JL_OK;
}
