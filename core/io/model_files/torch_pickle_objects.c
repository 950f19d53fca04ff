/* torch_pickle_objects.c — the only objects the restricted pickle machine
 * can make: the whitelisted globals of a torch.save state_dict, what calling
 * them makes (an OrderedDict, a tensor over a storage), the storages named by
 * persistent ids, and BUILD of an OrderedDict's _metadata (ignored). The
 * argument layouts follow torch/_utils.py and torch/serialization.py. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pickle_machine.h"

static const struct {
    const char *module, *name;
    pk_global_kind which;
    jl_model_dtype dtype;
} whitelist[] = {
    {"collections", "OrderedDict", PK_GLOBAL_ORDERED_DICT, JL_MODEL_F32},
    {"torch._utils", "_rebuild_tensor_v2", PK_GLOBAL_REBUILD_TENSOR_V2, JL_MODEL_F32},
    {"torch._utils", "_rebuild_tensor", PK_GLOBAL_REBUILD_TENSOR, JL_MODEL_F32},
    {"torch._utils", "_rebuild_parameter", PK_GLOBAL_REBUILD_PARAMETER, JL_MODEL_F32},
    {"torch", "FloatStorage", PK_GLOBAL_STORAGE_TYPE, JL_MODEL_F32},
    {"torch", "DoubleStorage", PK_GLOBAL_STORAGE_TYPE, JL_MODEL_F64},
    {"torch", "HalfStorage", PK_GLOBAL_STORAGE_TYPE, JL_MODEL_F16},
    {"torch", "BFloat16Storage", PK_GLOBAL_STORAGE_TYPE, JL_MODEL_BF16},
    {"torch", "LongStorage", PK_GLOBAL_STORAGE_TYPE, JL_MODEL_I64},
    {"torch", "IntStorage", PK_GLOBAL_STORAGE_TYPE, JL_MODEL_I32},
    {"torch", "ShortStorage", PK_GLOBAL_STORAGE_TYPE, JL_MODEL_I16},
    {"torch", "CharStorage", PK_GLOBAL_STORAGE_TYPE, JL_MODEL_I8},
    {"torch", "ByteStorage", PK_GLOBAL_STORAGE_TYPE, JL_MODEL_U8},
    {"torch", "BoolStorage", PK_GLOBAL_STORAGE_TYPE, JL_MODEL_BOOL},
};

int pk_torch_global(pk_machine *m, const char *module, const char *name, size_t at, pk_value **out)
{
    for (size_t i = 0; i < sizeof whitelist / sizeof *whitelist; i++) {
        if (strcmp(whitelist[i].module, module) != 0 || strcmp(whitelist[i].name, name) != 0) continue;
        pk_value *g = pk_new(m, PK_GLOBAL);
        size_t len = strlen(module) + 1 + strlen(name);
        char *full = mf_arena_alloc(&m->arena, len + 1);
        if (!g || !full) return MF_NOMEM(m->file);
        snprintf(full, len + 1, "%s.%s", module, name);
        g->as.global.which = whitelist[i].which;
        g->as.global.dtype = whitelist[i].dtype;
        g->as.global.name = full;
        *out = g;
        return JL_OK;
    }
    return MF_FAIL(m->file,
                   "%sGLOBAL %.100s.%.100s at offset %zu is not allowed: a state_dict holds only "
                   "collections.OrderedDict, torch._utils._rebuild_tensor_v2/_rebuild_tensor/_rebuild_parameter "
                   "and torch.<Type>Storage, and no other code is run",
                   m->stream, module, name, at);
}

static int fail_call(pk_machine *m, const pk_value *callable, size_t at, const char *what)
{
    return MF_FAIL(m->file, "%s%s called at offset %zu: %s", m->stream, callable->as.global.name, at, what);
}

static bool is_int(const pk_value *v, int64_t min) { return v->kind == PK_INT && v->as.integer >= min; }

/* A tuple of ndim ints >= 0 into dims; false otherwise. */
static bool read_dims(const pk_value *v, int *ndim, int64_t *dims)
{
    if (v->kind != PK_TUPLE || v->as.seq.n > JL_MODEL_MAX_DIMS) return false;
    for (size_t i = 0; i < v->as.seq.n; i++) {
        if (!is_int(v->as.seq.items[i], 0)) return false;
        dims[i] = v->as.seq.items[i]->as.integer;
    }
    *ndim = (int)v->as.seq.n;
    return true;
}

/* _rebuild_tensor(storage, storage_offset, size, stride) and _v2's
 * (..., requires_grad, backward_hooks[, metadata]). */
static int rebuild_tensor(pk_machine *m, pk_value *callable, const pk_seq *args, size_t at, pk_value **out)
{
    bool v2 = callable->as.global.which == PK_GLOBAL_REBUILD_TENSOR_V2;
    if (v2 ? args->n != 6 && args->n != 7 : args->n != 4)
        return fail_call(m, callable, at,
                         v2 ? "expected (storage, offset, size, stride, requires_grad, hooks[, metadata])"
                            : "expected (storage, offset, size, stride)");
    pk_value **a = args->items;
    if (a[0]->kind != PK_STORAGE) return fail_call(m, callable, at, "the first argument is not a storage");
    if (!is_int(a[1], 0)) return fail_call(m, callable, at, "the storage offset is not an int >= 0");
    pk_value *t = pk_new(m, PK_TENSOR);
    if (!t) return MF_NOMEM(m->file);
    int stride_ndim = -1;
    if (!read_dims(a[2], &t->as.tensor.ndim, t->as.tensor.shape))
        return fail_call(m, callable, at, "the size is not a tuple of at most 8 ints >= 0");
    if (!read_dims(a[3], &stride_ndim, t->as.tensor.stride) || stride_ndim != t->as.tensor.ndim)
        return fail_call(m, callable, at, "the stride is not a tuple of ints >= 0, one per dimension");
    if (v2 && a[4]->kind != PK_BOOL) return fail_call(m, callable, at, "requires_grad is not a bool");
    t->as.tensor.storage = &a[0]->as.storage;
    t->as.tensor.offset = a[1]->as.integer;
    *out = t;
    return JL_OK;
}

int pk_torch_call(pk_machine *m, pk_value *callable, pk_value *args, size_t at, pk_value **out)
{
    if (callable->kind != PK_GLOBAL)
        return MF_FAIL(m->file, "%sREDUCE at offset %zu: %s is not callable", m->stream, at,
                       pk_kind_name(callable->kind));
    if (args->kind != PK_TUPLE) return fail_call(m, callable, at, "the arguments are not a tuple");
    switch (callable->as.global.which) {
    case PK_GLOBAL_ORDERED_DICT:
        if (args->as.seq.n != 0) return fail_call(m, callable, at, "only OrderedDict() is read");
        *out = pk_new(m, PK_DICT);
        return *out ? JL_OK : MF_NOMEM(m->file);
    case PK_GLOBAL_REBUILD_TENSOR_V2:
    case PK_GLOBAL_REBUILD_TENSOR: return rebuild_tensor(m, callable, &args->as.seq, at, out);
    case PK_GLOBAL_REBUILD_PARAMETER:
        if (args->as.seq.n != 3 || args->as.seq.items[0]->kind != PK_TENSOR)
            return fail_call(m, callable, at, "expected (tensor, requires_grad, hooks)");
        *out = args->as.seq.items[0];
        return JL_OK;
    default: return fail_call(m, callable, at, "a storage type is only read inside a persistent id");
    }
}

int pk_torch_build(pk_machine *m, pk_value *obj, pk_value *state, size_t at)
{
    if (obj->kind == PK_DICT && (state->kind == PK_DICT || state->kind == PK_NONE)) return JL_OK;
    return MF_FAIL(m->file, "%sBUILD at offset %zu: setting the state of %s from %s is not supported", m->stream, at,
                   pk_kind_name(obj->kind), pk_kind_name(state->kind));
}

static int remember_storage(pk_machine *m, pk_value *storage)
{
    if (m->n_storages == m->cap_storages) {
        size_t cap = m->cap_storages ? 2 * m->cap_storages : 64;
        pk_value **grown = realloc(m->storages, cap * sizeof *grown);
        if (!grown) return MF_NOMEM(m->file);
        m->storages = grown;
        m->cap_storages = cap;
    }
    m->storages[m->n_storages++] = storage;
    return JL_OK;
}

/* ('storage', storage_type, key, location, numel) in the zip format;
 * the legacy format adds view_metadata: None or (view_key, offset, numel). */
int pk_torch_persistent_load(pk_machine *m, pk_value *pid, size_t at, pk_value **out)
{
    const pk_seq *p = &pid->as.seq;
    bool shape_ok = pid->kind == PK_TUPLE && (p->n == 5 || p->n == 6) && p->items[0]->kind == PK_STR &&
                    strcmp(p->items[0]->as.str.bytes, "storage") == 0 && p->items[1]->kind == PK_GLOBAL &&
                    p->items[1]->as.global.which == PK_GLOBAL_STORAGE_TYPE && p->items[2]->kind == PK_STR &&
                    is_int(p->items[4], 0);
    if (!shape_ok)
        return MF_FAIL(m->file,
                       "%spersistent id at offset %zu is not ('storage', torch.<Type>Storage, key, location, numel)",
                       m->stream, at);
    pk_value *s = pk_new(m, PK_STORAGE);
    if (!s) return MF_NOMEM(m->file);
    pk_storage *st = &s->as.storage;
    st->key = p->items[2]->as.str.bytes;
    st->dtype = p->items[1]->as.global.dtype;
    st->numel = p->items[4]->as.integer;
    st->view_numel = st->numel;
    const pk_value *view = p->n == 6 ? p->items[5] : NULL;
    if (view && view->kind != PK_NONE) {
        const pk_seq *v = &view->as.seq;
        if (view->kind != PK_TUPLE || v->n != 3 || v->items[0]->kind != PK_STR || !is_int(v->items[1], 0) ||
            !is_int(v->items[2], 0) || v->items[1]->as.integer > st->numel ||
            v->items[2]->as.integer > st->numel - v->items[1]->as.integer)
            return MF_FAIL(m->file, "%spersistent id at offset %zu: the view of storage '%s' is not "
                           "(key, offset, numel) inside its %lld elements", m->stream, at, st->key,
                           (long long)st->numel);
        st->view_offset = v->items[1]->as.integer;
        st->view_numel = v->items[2]->as.integer;
    }
    *out = s;
    return remember_storage(m, s);
}
