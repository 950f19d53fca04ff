/* h5_common.c — what both jet layouts share: opening files with clear
 * errors, checking datasets (presence, rank, dtype, filters), sniffing the
 * layout, the reader object and its range-checked read, sorting constituents.
 * Every public entry that reads the file runs its HDF5 calls guarded
 * (jl_h5_guard.h): opening and sniffing (with a read of every dataset's
 * first chunk) as a trial in a child and then in-process; data reads in a
 * child writing into shared memory at isolation level 2, else in-process.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "h5_internal.h"
#include "jl_ops.h"

/* Where Debian's hdf5-filter-plugin-*-serial packages install their plugins. */
#define JL_H5_DEBIAN_PLUGINS "/usr/lib/x86_64-linux-gnu/hdf5/serial/plugins"
/* Raw bytes one guarded child reads at most: bounds the shared memory and
 * the work lost to one crash; a loader's piece (4096 rows) is one slab. */
#define SLAB_BYTES ((size_t)64 << 20)
/* Rows of the first chunk the open trial reads at most. */
#define PROBE_ROWS 4096

/* ------------------------------------------------------------- HDF5 setup */

static pthread_once_t plugin_once = PTHREAD_ONCE_INIT;

/* When HDF5_PLUGIN_PATH is unset, an HDF5 built elsewhere than Debian would
 * not look in Debian's plugin folder; add it so blosc files open anyway. */
static void add_debian_plugins(void)
{
    struct stat st;
    if (getenv("HDF5_PLUGIN_PATH") || stat(JL_H5_DEBIAN_PLUGINS, &st) != 0) return;
    unsigned n = 0;
    if (H5PLsize(&n) < 0) return;
    for (unsigned i = 0; i < n; i++) {
        char dir[1024];
        if (H5PLget(i, dir, sizeof dir) > 0 && strcmp(dir, JL_H5_DEBIAN_PLUGINS) == 0) return;
    }
    H5PLappend(JL_H5_DEBIAN_PLUGINS);
}

void jl_h5_init(void)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    pthread_once(&plugin_once, add_debian_plugins);
    H5Eclear2(H5E_DEFAULT);
}

static _Thread_local char reason_buf[512];

static herr_t take_first(unsigned n, const H5E_error2_t *e, void *data)
{
    if (n == 0 && e->desc) snprintf(reason_buf, sizeof reason_buf, "%s", e->desc);
    return 0;
}

const char *jl_h5_reason(void)
{
    reason_buf[0] = '\0';
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, take_first, NULL);
    if (!reason_buf[0]) snprintf(reason_buf, sizeof reason_buf, "HDF5 gave no reason");
    return reason_buf;
}

/* ------------------------------------------------------------ the reader */

jl_h5_reader *jl_h5_reader_new(const char *path, jl_h5_format f)
{
    jl_h5_init();
    FILE *probe = fopen(path, "rb");
    if (!probe) {
        JL_FAIL_CODE(JL_EIO, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    fclose(probe);
    if (H5Fis_hdf5(path) <= 0) {
        JL_FAIL_CODE(JL_EIO, "%s is not an HDF5 file", path);
        return NULL;
    }
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0) {
        JL_FAIL_CODE(JL_EIO, "cannot open %s as HDF5: %s", path, jl_h5_reason());
        return NULL;
    }
    jl_h5_reader *r = calloc(1, sizeof *r);
    char *copy = strdup(path);
    if (!r || !copy) {
        free(r);
        free(copy);
        H5Fclose(file);
        JL_FAIL_CODE(JL_ENOMEM, "out of memory opening %s", path);
        return NULL;
    }
    r->format = f;
    r->path = copy;
    r->file = file;
    for (int k = 0; k < JL_H5_MAX_DSETS; k++) r->dset[k] = H5I_INVALID_HID;
    r->mtype = H5I_INVALID_HID;
    return r;
}

void jl_h5_close(jl_h5_reader *r)
{
    if (!r) return;
    jl_h5_lock();
    jl_h5_init();
    for (int k = 0; k < JL_H5_MAX_DSETS; k++)
        if (r->dset[k] >= 0) H5Dclose(r->dset[k]);
    if (r->mtype >= 0) H5Tclose(r->mtype);
    if (r->file >= 0) H5Fclose(r->file);
    jl_h5_unlock();
    jl_h5_shared_free(r->shared, r->shared_bytes);
    free(r->path);
    free(r);
}

int64_t jl_h5_count(const jl_h5_reader *r) { return r->n; }
int64_t jl_h5_columns(const jl_h5_reader *r) { return r->c; }
int64_t jl_h5_columns_on_disk(const jl_h5_reader *r) { return r->c_disk; }
jl_h5_format jl_h5_format_of(const jl_h5_reader *r) { return r->format; }
const char *jl_h5_weights_name(const jl_h5_reader *r) { return r->weights_name; }
const char *jl_h5_path(const jl_h5_reader *r) { return r->path; }
int64_t jl_h5_chunk_rows(const jl_h5_reader *r) { return r->chunk_rows; }

const char *jl_h5_format_name(jl_h5_format f)
{
    switch (f) {
    case JL_H5_ATLAS: return "atlas";
    case JL_H5_PYTABLES: return "pytables";
    default: return "unknown";
    }
}

void jl_h5_jets_free(jl_h5_jets *j)
{
    jl_tensor **all[] = {&j->pt,      &j->eta,     &j->phi,   &j->E,      &j->jet_pt,
                         &j->jet_eta, &j->jet_phi, &j->jet_m, &j->labels, &j->weights};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) {
        jl_release(*all[k]);
        *all[k] = NULL;
    }
}

static int jets_alloc(jl_h5_jets *j, int64_t n, int64_t c)
{
    memset(j, 0, sizeof *j);
    j->n = n;
    j->c = c;
    int64_t nc[2] = {n, c};
    jl_tensor **cons[] = {&j->pt, &j->eta, &j->phi, &j->E};
    jl_tensor **jets[] = {&j->jet_pt, &j->jet_eta, &j->jet_phi, &j->jet_m, &j->weights};
    for (int k = 0; k < 4; k++) *cons[k] = jl_tensor_new(JL_F32, 2, nc, JL_CPU);
    for (int k = 0; k < 5; k++) *jets[k] = jl_tensor_new(JL_F32, 1, &n, JL_CPU);
    j->labels = jl_tensor_new(JL_I64, 1, &n, JL_CPU);
    jl_tensor *all[] = {j->pt,      j->eta,     j->phi,   j->E,      j->jet_pt,
                        j->jet_eta, j->jet_phi, j->jet_m, j->labels, j->weights};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) {
        if (!all[k]) {
            jl_h5_jets_free(j);
            return jl_last_error_code() ? jl_last_error_code() : JL_ENOMEM;
        }
    }
    return JL_OK;
}

typedef struct slab {
    jl_h5_reader *r;
    int64_t start, count;
} slab;

static int read_slab(void *ctx)
{
    slab *s = ctx;
    jl_h5_lock();
    jl_h5_init();
    int rc = s->r->read_raw(s->r, s->start, s->count, s->r->shared);
    jl_h5_unlock();
    return rc;
}

/* Rows [start, start + count) into rows [at, at + count) of out: HDF5
 * writing r->shared (in a guarded child at isolation level 2), then decoded
 * here. */
static int read_rows_guarded(jl_h5_reader *r, int64_t start, int64_t count, int64_t at, jl_h5_jets *out)
{
    size_t bytes = (size_t)count * r->raw_row_bytes;
    if (bytes > r->shared_bytes) {
        jl_h5_shared_free(r->shared, r->shared_bytes);
        r->shared_bytes = 0;
        r->shared = jl_h5_shared_alloc(bytes);
        if (!r->shared) return jl_last_error_code();
        r->shared_bytes = bytes;
    }
    char what[96];
    snprintf(what, sizeof what, "reading jets [%lld, %lld)", (long long)start, (long long)(start + count));
    slab s = {r, start, count};
    int rc = jl_h5_isolation() >= JL_H5_ISOLATE_ALL ? jl_h5_guarded(r->path, what, bytes, read_slab, &s)
                                                    : read_slab(&s);
    return rc == JL_OK ? r->decode(r, r->shared, count, at, out) : rc;
}

int jl_h5_read(jl_h5_reader *r, int64_t start, int64_t count, jl_h5_jets *out)
{
    memset(out, 0, sizeof *out);
    if (start < 0 || count < 0 || start > r->n - count)
        return JL_FAIL("%s: jets [%lld, %lld) outside the file's %lld jets", r->path, (long long)start,
                       (long long)(start + count), (long long)r->n);
    int rc = jets_alloc(out, count, r->c);
    if (rc != JL_OK) return rc;
    if (!r->weights_name) jl_fill_(out->weights, 1.0);
    int64_t per_slab = (int64_t)(SLAB_BYTES / (r->raw_row_bytes ? r->raw_row_bytes : 1));
    if (per_slab < 1) per_slab = 1;
    for (int64_t done = 0; done < count && rc == JL_OK; done += per_slab)
        rc = read_rows_guarded(r, start + done, count - done < per_slab ? count - done : per_slab, done, out);
    if (rc != JL_OK) {
        jl_h5_jets_free(out);
        return rc;
    }
    float *pt = jl_data(out->pt), *eta = jl_data(out->eta), *phi = jl_data(out->phi), *E = jl_data(out->E);
    for (int64_t i = 0; i < count && rc == JL_OK; i++) {
        int64_t o = i * r->c;
        rc = jl_h5_sort_row(pt + o, eta + o, phi + o, E + o, r->c);
    }
    if (rc != JL_OK) jl_h5_jets_free(out);
    return rc;
}

/* -------------------------------------------------------------- datasets */

/* Names and Debian packages of the filters jet files are known to use. */
static const char *filter_package(H5Z_filter_t id)
{
    switch (id) {
    case 32001: return "hdf5-filter-plugin-blosc-serial";
    case 32004: return "hdf5-filter-plugin-lz4-serial";
    case 32015: return "hdf5-filter-plugin-zstd-serial";
    default: return NULL;
    }
}

int jl_h5_check_filters(const char *path, const char *name, hid_t dset)
{
    hid_t dcpl = H5Dget_create_plist(dset);
    if (dcpl < 0) return JL_FAIL_CODE(JL_EIO, "%s: dataset %s: %s", path, name, jl_h5_reason());
    int nf = H5Pget_nfilters(dcpl), rc = JL_OK;
    for (int k = 0; k < nf && rc == JL_OK; k++) {
        unsigned flags, cd[16];
        size_t ncd = 16;
        char fname[128] = "";
        H5Z_filter_t id = H5Pget_filter2(dcpl, (unsigned)k, &flags, &ncd, cd, sizeof fname, fname, NULL);
        if (id < 0 || H5Zfilter_avail(id) > 0) continue;
        const char *pkg = filter_package(id);
        rc = JL_FAIL_CODE(JL_EIO,
                          "%s: dataset %s needs the HDF5 filter '%s' (id %d), which is not available: "
                          "install %s and/or set HDF5_PLUGIN_PATH to the folder holding the plugin "
                          "(Debian: " JL_H5_DEBIAN_PLUGINS ")",
                          path, name, fname[0] ? fname : "unnamed", (int)id,
                          pkg ? pkg : "the filter's HDF5 plugin");
    }
    H5Pclose(dcpl);
    H5Eclear2(H5E_DEFAULT);
    return rc;
}

static const char *class_name(H5T_class_t c)
{
    switch (c) {
    case H5T_INTEGER: return "integer";
    case H5T_FLOAT: return "float";
    case H5T_STRING: return "string";
    case H5T_COMPOUND: return "compound";
    case H5T_ARRAY: return "array";
    case H5T_ENUM: return "enum";
    case H5T_VLEN: return "variable-length";
    case H5T_OPAQUE: return "opaque";
    case H5T_BITFIELD: return "bitfield";
    case H5T_REFERENCE: return "reference";
    default: return "unknown";
    }
}

int jl_h5_is_dataset(hid_t loc, const char *name)
{
    jl_h5_guard_step("looking up \"%s\"", name);
    H5O_info_t info;
    int yes = H5Lexists(loc, name, H5P_DEFAULT) > 0 &&
              H5Oget_info_by_name2(loc, name, &info, H5O_INFO_BASIC, H5P_DEFAULT) >= 0 &&
              info.type == H5O_TYPE_DATASET;
    H5Eclear2(H5E_DEFAULT);
    return yes;
}

hid_t jl_h5_dataset(const char *path, hid_t loc, const char *name, int rank, int numeric, int64_t *dims)
{
    if (!jl_h5_is_dataset(loc, name)) {
        JL_FAIL_CODE(JL_EIO, "%s: missing dataset %s", path, name);
        return H5I_INVALID_HID;
    }
    jl_h5_guard_step("opening dataset \"%s\"", name);
    /* HDF5's default chunk cache (1 MiB, one 1024-jet chunk of 200 columns):
     * a larger one grew without bound under HDF5 1.10 on partial-chunk reads
     * (1 GB after one pass over 1M jets), the default stays flat. */
    hid_t d = H5Dopen2(loc, name, H5P_DEFAULT);
    if (d < 0) {
        JL_FAIL_CODE(JL_EIO, "%s: cannot open dataset %s: %s", path, name, jl_h5_reason());
        return H5I_INVALID_HID;
    }
    hid_t space = H5Dget_space(d);
    int found = H5Sget_simple_extent_ndims(space);
    hsize_t hd[H5S_MAX_RANK];
    if (found == rank) H5Sget_simple_extent_dims(space, hd, NULL);
    H5Sclose(space);
    if (found != rank) {
        H5Dclose(d);
        JL_FAIL_CODE(JL_EIO, "%s: dataset %s has rank %d, expected %d", path, name, found, rank);
        return H5I_INVALID_HID;
    }
    for (int k = 0; k < rank; k++) dims[k] = (int64_t)hd[k];
    if (numeric) {
        hid_t t = H5Dget_type(d);
        H5T_class_t c = H5Tget_class(t);
        size_t size = H5Tget_size(t);
        H5Tclose(t);
        if (c != H5T_INTEGER && c != H5T_FLOAT) {
            H5Dclose(d);
            JL_FAIL_CODE(JL_EIO, "%s: dataset %s holds %s values, expected integers or floats", path, name,
                         class_name(c));
            return H5I_INVALID_HID;
        }
        /* a corrupt type of megabytes per number makes HDF5's conversion
         * buffers that large */
        if (size < 1 || size > 8) {
            H5Dclose(d);
            JL_FAIL_CODE(JL_EIO, "%s: dataset %s holds %zu-byte %s values, expected at most 8 bytes", path,
                         name, size, class_name(c));
            return H5I_INVALID_HID;
        }
    }
    if (jl_h5_check_filters(path, name, d) != JL_OK) {
        H5Dclose(d);
        return H5I_INVALID_HID;
    }
    /* an unchunked dataset stores exactly its shape's bytes; a corrupt type
     * or shape (a 4 GB compound row over 12960 stored bytes) would make HDF5
     * allocate that much to read a few rows */
    hid_t plist = H5Dget_create_plist(d), ftype = H5Dget_type(d), fspace = H5Dget_space(d);
    H5D_layout_t layout = plist >= 0 ? H5Pget_layout(plist) : H5D_LAYOUT_ERROR;
    double want = (double)H5Sget_simple_extent_npoints(fspace) * (double)H5Tget_size(ftype);
    double stored = (double)H5Dget_storage_size(d);
    if (plist >= 0) H5Pclose(plist);
    if (ftype >= 0) H5Tclose(ftype);
    if (fspace >= 0) H5Sclose(fspace);
    H5Eclear2(H5E_DEFAULT);
    if ((layout == H5D_CONTIGUOUS || layout == H5D_COMPACT) && stored > 0 && stored != want) {
        H5Dclose(d);
        JL_FAIL_CODE(
            JL_EIO,
            "%s: dataset %s stores %.0f bytes but its shape and type need %.0f (truncated or corrupt?)", path,
            name, stored, want);
        return H5I_INVALID_HID;
    }
    return d;
}

int64_t jl_h5_dataset_chunk_rows(hid_t dset)
{
    hid_t dcpl = H5Dget_create_plist(dset);
    hsize_t dims[H5S_MAX_RANK] = {0};
    int64_t rows = 0;
    if (dcpl >= 0 && H5Pget_layout(dcpl) == H5D_CHUNKED && H5Pget_chunk(dcpl, H5S_MAX_RANK, dims) >= 1)
        rows = (int64_t)dims[0];
    if (dcpl >= 0) H5Pclose(dcpl);
    H5Eclear2(H5E_DEFAULT);
    return rows;
}

int jl_h5_read_rows(hid_t dset, int rank, int64_t start, int64_t count, int64_t cols, hid_t mem_type,
                    void *buf)
{
    if (count == 0) return 0;
    hsize_t off[2] = {(hsize_t)start, 0}, cnt[2] = {(hsize_t)count, (hsize_t)cols};
    hid_t fs = H5Dget_space(dset);
    hid_t ms = H5Screate_simple(rank, cnt, NULL);
    herr_t st = -1;
    if (fs >= 0 && ms >= 0 && H5Sselect_hyperslab(fs, H5S_SELECT_SET, off, NULL, cnt, NULL) >= 0)
        st = H5Dread(dset, mem_type, ms, fs, H5P_DEFAULT, buf);
    if (ms >= 0) H5Sclose(ms);
    if (fs >= 0) H5Sclose(fs);
    return st < 0 ? -1 : 0;
}

/* ------------------------------------------------------------- sniffing */

jl_h5_format jl_h5_sniff_file(const char *path, hid_t file)
{
    int pytables = jl_h5_pytables_sniff(path, file);
    if (pytables != 0) return pytables > 0 ? JL_H5_PYTABLES : JL_H5_UNKNOWN;
    if (jl_h5_atlas_sniff(file)) return JL_H5_ATLAS;
    JL_FAIL_CODE(JL_EIO,
                 "%s: unknown layout: none of the ATLAS datasets (fjet_clus_pt, "
                 "fjet_pt, labels, ...) and no PyTables dataset /table/table",
                 path);
    return JL_H5_UNKNOWN;
}

static jl_h5_format sniff_in_process(const char *path)
{
    jl_h5_reader *r = jl_h5_reader_new(path, JL_H5_UNKNOWN);
    if (!r) return JL_H5_UNKNOWN;
    jl_h5_format f = jl_h5_sniff_file(path, r->file);
    jl_h5_close(r);
    return f;
}

/* What to open: the layout (JL_H5_UNKNOWN: sniffed), or only sniff. */
typedef struct opening {
    const char *path;
    int64_t max_constituents;
    jl_h5_format format;
    bool sniff_only;
    jl_h5_format sniffed;
} opening;

/* Reads the first chunk of every dataset of r (its first chunk_rows rows,
 * at most PROBE_ROWS), twice: the filters, the type conversion and the
 * chunk's decoding get exercised in the guarded trial. Twice, because HDF5
 * 1.10 sets a compound conversion up on the first read and, on a corrupt
 * type, uses memory it freed on the next one
 * (tests/fuzz/hdf5_crashes/conv_struct_use_after_free.h5). */
static int probe_first_chunk(jl_h5_reader *r)
{
    int64_t rows = r->chunk_rows > 0 ? r->chunk_rows : 1;
    if (rows > PROBE_ROWS) rows = PROBE_ROWS;
    if (rows > r->n) rows = r->n;
    if (rows == 0) return JL_OK;
    void *buf = malloc((size_t)rows * r->raw_row_bytes);
    int rc = buf ? JL_OK : JL_FAIL_CODE(JL_ENOMEM, "out of memory opening %s", r->path);
    for (int k = 0; k < 2 && rc == JL_OK; k++) rc = r->read_raw(r, 0, rows, buf);
    free(buf);
    return rc;
}

static jl_h5_reader *open_in_process(opening *o)
{
    o->sniffed = o->format != JL_H5_UNKNOWN ? o->format : sniff_in_process(o->path);
    if (o->sniff_only) return NULL;
    jl_h5_reader *r = NULL;
    if (o->sniffed == JL_H5_ATLAS) r = jl_h5_atlas_open_file(o->path, o->max_constituents);
    else if (o->sniffed == JL_H5_PYTABLES) r = jl_h5_pytables_open_file(o->path, o->max_constituents);
    if (r && probe_first_chunk(r) != JL_OK) {
        jl_h5_close(r);
        return NULL;
    }
    return r;
}

/* The trial in the child: the same steps, closing what they opened. */
static int open_trial(void *ctx)
{
    opening *o = ctx;
    jl_h5_reader *r = open_in_process(o);
    bool ok = o->sniff_only ? o->sniffed != JL_H5_UNKNOWN : r != NULL;
    jl_h5_close(r);
    if (ok) return JL_OK;
    return jl_last_error_code() ? jl_last_error_code() : JL_EIO;
}

static jl_h5_reader *open_guarded(opening *o)
{
    jl_h5_lock();
    jl_h5_reader *r = NULL;
    o->sniffed = JL_H5_UNKNOWN;
    if (jl_h5_trial(o->path, o->sniff_only ? "sniffing the layout" : "opening the file", 0, open_trial, o) ==
        JL_OK)
        r = open_in_process(o);
    jl_h5_unlock();
    return r;
}

jl_h5_format jl_h5_sniff(const char *path)
{
    opening o = {.path = path, .sniff_only = true};
    open_guarded(&o);
    return o.sniffed;
}

jl_h5_reader *jl_h5_open(const char *path, int64_t max_constituents)
{
    return open_guarded(&(opening){.path = path, .max_constituents = max_constituents});
}

jl_h5_reader *jl_h5_atlas_open(const char *path, int64_t max_constituents)
{
    return open_guarded(
        &(opening){.path = path, .max_constituents = max_constituents, .format = JL_H5_ATLAS});
}

jl_h5_reader *jl_h5_pytables_open(const char *path, int64_t max_constituents)
{
    return open_guarded(
        &(opening){.path = path, .max_constituents = max_constituents, .format = JL_H5_PYTABLES});
}

/* ------------------------------------------------------------- sorting */

typedef struct {
    float pt;
    int64_t at;
} pt_index;

/* NaN sorts last, so the order stays a total one. */
static float pt_key(float pt) { return pt != pt ? -INFINITY : pt; }

static int by_pt_desc(const void *a, const void *b)
{
    const pt_index *x = a, *y = b;
    if (x->pt != y->pt) return x->pt > y->pt ? -1 : 1;
    return (x->at > y->at) - (x->at < y->at);
}

int jl_h5_sort_row(float *pt, float *eta, float *phi, float *E, int64_t c)
{
    int64_t k = 1;
    while (k < c && pt_key(pt[k]) <= pt_key(pt[k - 1])) k++;
    if (k >= c) return JL_OK;
    pt_index *order = malloc((size_t)c * sizeof *order);
    float *tmp = malloc((size_t)c * sizeof *tmp);
    if (!order || !tmp) {
        free(order);
        free(tmp);
        return JL_FAIL_CODE(JL_ENOMEM, "out of memory sorting %lld constituents", (long long)c);
    }
    for (int64_t i = 0; i < c; i++) order[i] = (pt_index){pt_key(pt[i]), i};
    qsort(order, (size_t)c, sizeof order[0], by_pt_desc);
    float *rows[4] = {pt, eta, phi, E};
    for (int a = 0; a < 4; a++) {
        for (int64_t i = 0; i < c; i++) tmp[i] = rows[a][order[i].at];
        memcpy(rows[a], tmp, (size_t)c * sizeof(float));
    }
    free(order);
    free(tmp);
    return JL_OK;
}
