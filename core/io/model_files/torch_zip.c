/* torch_zip.c — torch.save's zip format (torch >= 1.6): <top>/data.pkl, the
 * pickle of the state_dict whose persistent ids name storages stored as
 * <top>/data/<key>; <top>/byteorder, when present, must say "little". The
 * top folder's name is whatever the writer chose ("archive" by default). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "torch_state_dict.h"
#include "zip_stored.h"

typedef struct {
    const mf_zip *zip;
    const char *top;        /* "<top>/" */
    char label[512];
} zip_storages;

static int lookup_entry(void *ctx, const pk_storage *s, const uint8_t **bytes, uint64_t *nbytes, const char **label)
{
    zip_storages *z = ctx;
    snprintf(z->label, sizeof z->label, "%sdata/%s", z->top, s->key);
    *label = z->label;
    const mf_zip_entry *e = mf_zip_find(z->zip, z->label);
    if (!e) return MF_FAIL(z->zip->file, "storage '%s' named in data.pkl is not in the archive", z->label);
    *bytes = e->data;
    *nbytes = e->size;
    return JL_OK;
}

/* The single entry "<top>/data.pkl"; *top_len = strlen("<top>/"). */
static int find_data_pkl(const mf_zip *z, const mf_zip_entry **pkl, size_t *top_len)
{
    *pkl = NULL;
    for (size_t i = 0; i < z->n_entries; i++) {
        const char *name = z->entries[i].name, *slash = strchr(name, '/');
        if (!slash || strcmp(slash + 1, "data.pkl") != 0) continue;
        if (*pkl) return MF_FAIL(z->file, "two pickles in one archive: '%s' and '%s'", (*pkl)->name, name);
        *pkl = &z->entries[i];
        *top_len = (size_t)(slash - name) + 1;
    }
    if (!*pkl) return MF_FAIL(z->file, "a zip without <folder>/data.pkl: not a torch.save file");
    return JL_OK;
}

static int check_byte_order(const mf_zip *z, const char *top)
{
    char name[512];
    snprintf(name, sizeof name, "%sbyteorder", top);
    const mf_zip_entry *e = mf_zip_find(z, name);
    if (!e || (e->size == 6 && memcmp(e->data, "little", 6) == 0)) return JL_OK;
    return MF_FAIL(z->file, "'%s' says '%.*s': only little-endian files are read", name,
                   (int)(e->size < 16 ? e->size : 16), (const char *)e->data);
}

int mf_read_torch_zip(const uint8_t *data, size_t size, mf_result *r)
{
    mf_zip zip;
    pk_machine m;
    const mf_zip_entry *pkl = NULL;
    size_t top_len = 0;
    char top[256] = "", stream[300] = "";
    int rc = mf_zip_open(&zip, data, size, r->name);
    if (rc == JL_OK) rc = find_data_pkl(&zip, &pkl, &top_len);
    if (rc == JL_OK && top_len >= sizeof top)
        rc = MF_FAIL(r->name, "the archive's folder name is longer than %zu bytes", sizeof top - 1);
    if (rc == JL_OK) {
        memcpy(top, pkl->name, top_len);
        top[top_len] = '\0';
        snprintf(stream, sizeof stream, "%s: ", pkl->name);
        rc = check_byte_order(&zip, top);
    }
    pk_machine_init(&m, r->name, stream, pkl ? pkl->data : NULL, pkl ? (size_t)pkl->size : 0);
    pk_value *root = NULL;
    size_t end;
    if (rc == JL_OK) rc = pk_machine_run(&m, 0, &end, &root);
    zip_storages storages = {.zip = &zip, .top = top};
    if (rc == JL_OK) rc = mf_state_dict_collect(root, lookup_entry, &storages, r);
    pk_machine_free(&m);
    mf_zip_close(&zip);
    return rc;
}
