/* torch_legacy.c — torch.save's format before torch 1.6 (and with
 * _use_new_zipfile_serialization=False): five pickles in a row (the magic
 * number 0x1950a86a20f9469cfc6c, the protocol version 1001, sys_info, the
 * state_dict with persistent ids of storages, the list of storage keys), then
 * for each key in the list's order its storage: an int64 little-endian
 * element count and the raw elements. See torch/serialization.py (_legacy_save). */
#include <stdlib.h>
#include <string.h>

#include "torch_state_dict.h"

static const uint8_t legacy_magic[10] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
#define LEGACY_PROTOCOL 1001

typedef struct {
    const char *key;
    const uint8_t *bytes;
    uint64_t nbytes;
} legacy_record;

typedef struct {
    const char *file;
    legacy_record *records;     /* sorted by key */
    size_t n;
} legacy_storages;

static int compare_records(const void *a, const void *b)
{
    return strcmp(((const legacy_record *)a)->key, ((const legacy_record *)b)->key);
}

static int lookup_record(void *ctx, const pk_storage *s, const uint8_t **bytes, uint64_t *nbytes, const char **label)
{
    legacy_storages *l = ctx;
    legacy_record key = {.key = s->key};
    const legacy_record *found = l->n ? bsearch(&key, l->records, l->n, sizeof key, compare_records) : NULL;
    if (!found) return MF_FAIL(l->file, "storage '%s' is not in the file's list of storages", s->key);
    *bytes = found->bytes;
    *nbytes = found->nbytes;
    *label = found->key;
    return JL_OK;
}

static int compare_storages(const void *a, const void *b)
{
    return strcmp((*(const pk_value *const *)a)->as.storage.key, (*(const pk_value *const *)b)->as.storage.key);
}

/* The storage `key` as a persistent id names it (its element type), from
 * the machine's storages sorted by key. */
static const pk_storage *storage_named(pk_value *const *sorted, size_t n, const char *key)
{
    pk_value probe = {.kind = PK_STORAGE, .as.storage.key = key}, *p = &probe;
    pk_value *const *found = n ? bsearch(&p, sorted, n, sizeof *sorted, compare_storages) : NULL;
    return found ? &(*found)->as.storage : NULL;
}

static int check_header(pk_machine *m, size_t *pos)
{
    pk_value *magic, *protocol, *sys_info;
    int rc = pk_machine_run(m, *pos, pos, &magic);
    if (rc != JL_OK) return rc;
    if (magic->kind != PK_BIGINT || magic->as.str.len != sizeof legacy_magic ||
        memcmp(magic->as.str.bytes, legacy_magic, sizeof legacy_magic) != 0)
        return MF_FAIL(m->file, "not a torch.save file: the first pickle is not the magic number");
    if ((rc = pk_machine_run(m, *pos, pos, &protocol)) != JL_OK) return rc;
    if (protocol->kind != PK_INT || protocol->as.integer != LEGACY_PROTOCOL)
        return MF_FAIL(m->file, "the legacy protocol version is not %d", LEGACY_PROTOCOL);
    if ((rc = pk_machine_run(m, *pos, pos, &sys_info)) != JL_OK) return rc;
    if (sys_info->kind != PK_DICT) return MF_FAIL(m->file, "sys_info is %s, not a dict", pk_kind_name(sys_info->kind));
    for (size_t i = 0; i + 1 < sys_info->as.seq.n; i += 2) {
        const pk_value *k = sys_info->as.seq.items[i], *v = sys_info->as.seq.items[i + 1];
        if (k->kind == PK_STR && strcmp(k->as.str.bytes, "little_endian") == 0 && v->kind == PK_BOOL &&
            !v->as.boolean)
            return MF_FAIL(m->file, "written on a big-endian machine: only little-endian files are read");
    }
    return JL_OK;
}

/* The storages after the pickles, one per key of `keys`, in that order. */
static int read_records(const pk_machine *m, const pk_value *keys, size_t pos, legacy_storages *l)
{
    if (keys->kind != PK_LIST) return MF_FAIL(m->file, "the storage keys are %s, not a list", pk_kind_name(keys->kind));
    size_t n = keys->as.seq.n;
    l->records = malloc((n ? n : 1) * sizeof *l->records);
    if (!l->records) return MF_NOMEM(m->file);
    if (m->n_storages > 1) qsort(m->storages, m->n_storages, sizeof *m->storages, compare_storages);
    for (size_t i = 0; i < n; i++) {
        const pk_value *key = keys->as.seq.items[i];
        if (key->kind != PK_STR) return MF_FAIL(m->file, "storage key %zu is %s, not a str", i, pk_kind_name(key->kind));
        const pk_storage *s = storage_named(m->storages, m->n_storages, key->as.str.bytes);
        if (!s) return MF_FAIL(m->file, "storage '%s' is listed but no tensor names it", key->as.str.bytes);
        if (m->size - pos < 8)
            return MF_FAIL(m->file, "truncated: the size of storage '%s' (record %zu of %zu) at offset %zu is missing",
                           key->as.str.bytes, i + 1, n, pos);
        uint64_t count = mf_le64(m->data + pos), esize = jl_model_dtype_size(s->dtype);
        pos += 8;
        if (count > (m->size - pos) / esize)
            return MF_FAIL(m->file,
                           "truncated: storage '%s' (record %zu of %zu) declares %llu elements of %s; %zu bytes are left",
                           key->as.str.bytes, i + 1, n, (unsigned long long)count, jl_model_dtype_name(s->dtype),
                           m->size - pos);
        l->records[i] = (legacy_record){.key = key->as.str.bytes, .bytes = m->data + pos, .nbytes = count * esize};
        pos += (size_t)(count * esize);
    }
    l->n = n;
    qsort(l->records, n, sizeof *l->records, compare_records);
    for (size_t i = 1; i < n; i++)
        if (strcmp(l->records[i - 1].key, l->records[i].key) == 0)
            return MF_FAIL(m->file, "storage '%s' is listed twice", l->records[i].key);
    return JL_OK;
}

int mf_read_torch_legacy(const uint8_t *data, size_t size, mf_result *r)
{
    pk_machine m;
    pk_machine_init(&m, r->name, "", data, size);
    legacy_storages storages = {.file = r->name};
    pk_value *root = NULL, *keys = NULL;
    size_t pos = 0;
    int rc = check_header(&m, &pos);
    if (rc == JL_OK) rc = pk_machine_run(&m, pos, &pos, &root);
    if (rc == JL_OK) rc = pk_machine_run(&m, pos, &pos, &keys);
    if (rc == JL_OK) rc = read_records(&m, keys, pos, &storages);
    if (rc == JL_OK) rc = mf_state_dict_collect(root, lookup_record, &storages, r);
    free(storages.records);
    pk_machine_free(&m);
    return rc;
}
