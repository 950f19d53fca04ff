/* h5_atlas.c — the ATLAS Top Tagging layout: reader (either release, any
 * numeric dtype, MeV on disk → GeV) and writer (float32 constituents (N, 200)
 * sorted by decreasing pT, int32 labels, training_weights; chunked, gzip).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "h5_internal.h"
#include "jl_ops.h"

/* Datasets in reader->dset[] and writer->dset[] order. */
enum { D_PT, D_ETA, D_PHI, D_E, D_JPT, D_JETA, D_JPHI, D_JM, D_LABELS, D_WEIGHTS, D_COUNT };

static const char *const names[D_COUNT] = {
    "fjet_clus_pt", "fjet_clus_eta", "fjet_clus_phi", "fjet_clus_E", "fjet_pt",
    "fjet_eta",     "fjet_phi",      "fjet_m",        "labels",      "training_weights",
};
/* Weight dataset names, newest release first; the writer uses the first. */
static const char *const weight_names[] = {"training_weights", "weights"};

/* Energies and momenta are stored in MeV. */
static const int in_mev[D_COUNT] = {[D_PT] = 1, [D_E] = 1, [D_JPT] = 1, [D_JM] = 1};

#define MEV_PER_GEV 1000.0f
#define WRITE_CHUNK 1024
#define WRITE_BLOCK 4096 /* rows converted at a time by the writer */

/* ---------------------------------------------------------------- reading */

int jl_h5_atlas_sniff(hid_t file)
{
    for (int k = 0; k < D_WEIGHTS; k++)
        if (jl_h5_is_dataset(file, names[k])) return 1;
    return 0;
}

/* Bytes of dataset k in one raw row: c floats for constituents, one float
 * for jet-level values, an int64 label; nothing for absent weights. */
static size_t raw_bytes(const jl_h5_reader *r, int k)
{
    if (r->dset[k] < 0) return 0;
    if (k == D_LABELS) return sizeof(int64_t);
    return (size_t)(k < D_JPT ? r->c : 1) * sizeof(float);
}

/* raw: for each dataset in order, its `count` rows (see raw_bytes). */
static int atlas_read_raw(jl_h5_reader *r, int64_t start, int64_t count, void *raw)
{
    unsigned char *p = raw;
    for (int k = 0; k < D_COUNT; k++) {
        if (r->dset[k] < 0) continue;
        const char *name = k == D_WEIGHTS ? r->weights_name : names[k];
        jl_h5_guard_step("reading dataset \"%s\" jets [%lld, %lld)", name, (long long)start,
                         (long long)(start + count));
        hid_t mem = k == D_LABELS ? H5T_NATIVE_INT64 : H5T_NATIVE_FLOAT;
        if (jl_h5_read_rows(r->dset[k], k < D_JPT ? 2 : 1, start, count, r->c, mem, p) < 0)
            return JL_FAIL_CODE(JL_EIO, "%s: reading dataset %s jets [%lld, %lld): %s", r->path, name,
                                (long long)start, (long long)(start + count), jl_h5_reason());
        p += (size_t)count * raw_bytes(r, k);
    }
    return JL_OK;
}

static int atlas_decode(jl_h5_reader *r, const void *raw, int64_t count, int64_t at, jl_h5_jets *out)
{
    jl_tensor *dst[D_COUNT] = {out->pt,      out->eta,     out->phi,   out->E,      out->jet_pt,
                               out->jet_eta, out->jet_phi, out->jet_m, out->labels, out->weights};
    const unsigned char *p = raw;
    for (int k = 0; k < D_COUNT; k++) {
        size_t bytes = (size_t)count * raw_bytes(r, k);
        unsigned char *d = (unsigned char *)jl_data(dst[k]) + (size_t)at * raw_bytes(r, k);
        memcpy(d, p, bytes);
        p += bytes;
        if (in_mev[k]) {
            float *v = (float *)d;
            for (size_t i = 0, m = bytes / sizeof(float); i < m; i++) v[i] /= MEV_PER_GEV;
        }
    }
    return JL_OK;
}

jl_h5_reader *jl_h5_atlas_open_file(const char *path, int64_t max_constituents)
{
    if (max_constituents < 1) {
        JL_FAIL("%s: max_constituents must be >= 1, got %lld", path, (long long)max_constituents);
        return NULL;
    }
    jl_h5_reader *r = jl_h5_reader_new(path, JL_H5_ATLAS);
    if (!r) return NULL;
    for (size_t w = 0; w < sizeof weight_names / sizeof weight_names[0]; w++) {
        if (H5Lexists(r->file, weight_names[w], H5P_DEFAULT) > 0) {
            r->weights_name = weight_names[w];
            break;
        }
    }
    H5Eclear2(H5E_DEFAULT);
    int64_t first[2] = {0, 0};
    for (int k = 0; k < D_COUNT; k++) {
        const char *name = k == D_WEIGHTS ? r->weights_name : names[k];
        if (!name) continue;
        int rank = k < D_JPT ? 2 : 1;
        int64_t dims[2] = {0, 0};
        r->dset[k] = jl_h5_dataset(path, r->file, name, rank, 1, dims);
        if (r->dset[k] < 0) goto fail;
        if (k == 0) {
            memcpy(first, dims, sizeof first);
        } else if (dims[0] != first[0]) {
            JL_FAIL_CODE(JL_EIO, "%s: inconsistent lengths: %s has %lld jets, %s has %lld", path, names[0],
                         (long long)first[0], name, (long long)dims[0]);
            goto fail;
        } else if (rank == 2 && dims[1] != first[1]) {
            JL_FAIL_CODE(JL_EIO, "%s: inconsistent lengths: %s has %lld constituents per jet, %s has %lld",
                         path, names[0], (long long)first[1], name, (long long)dims[1]);
            goto fail;
        }
    }
    r->n = first[0];
    r->c_disk = first[1];
    r->c = max_constituents < r->c_disk ? max_constituents : r->c_disk;
    r->chunk_rows = jl_h5_dataset_chunk_rows(r->dset[D_PT]);
    for (int k = 0; k < D_COUNT; k++) r->raw_row_bytes += raw_bytes(r, k);
    r->read_raw = atlas_read_raw;
    r->decode = atlas_decode;
    return r;
fail:
    jl_h5_close(r);
    return NULL;
}

/* ---------------------------------------------------------------- writing */

struct jl_h5_writer {
    char *path, *tmp;
    hid_t file;
    hid_t dset[D_COUNT];
    int64_t n;
};

static void writer_free(jl_h5_writer *w)
{
    for (int k = 0; k < D_COUNT; k++)
        if (w->dset[k] >= 0) H5Dclose(w->dset[k]);
    if (w->file >= 0) H5Fclose(w->file);
    free(w->path);
    free(w->tmp);
    free(w);
}

static hid_t create_dataset(hid_t file, const char *name, int rank, hid_t type)
{
    hsize_t dims[2] = {0, JL_H5_ATLAS_COLUMNS}, maxdims[2] = {H5S_UNLIMITED, JL_H5_ATLAS_COLUMNS};
    hsize_t chunk[2] = {WRITE_CHUNK, JL_H5_ATLAS_COLUMNS};
    hid_t space = H5Screate_simple(rank, dims, maxdims);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    hid_t dapl = H5Pcreate(H5P_DATASET_ACCESS);
    hid_t d = H5I_INVALID_HID;
    /* level 1: zlib dominates writing, and higher levels barely shrink jets;
     * a cache of a few chunks keeps small batches from recompressing chunks */
    if (space >= 0 && dcpl >= 0 && dapl >= 0 && H5Pset_chunk(dcpl, rank, chunk) >= 0 &&
        H5Pset_shuffle(dcpl) >= 0 && H5Pset_deflate(dcpl, 1) >= 0 &&
        H5Pset_chunk_cache(dapl, 521, (size_t)4 << 20, 1.0) >= 0)
        d = H5Dcreate2(file, name, type, space, H5P_DEFAULT, dcpl, dapl);
    if (dapl >= 0) H5Pclose(dapl);
    if (dcpl >= 0) H5Pclose(dcpl);
    if (space >= 0) H5Sclose(space);
    return d;
}

static void writer_discard(jl_h5_writer *w);

static jl_h5_writer *writer_open(const char *path)
{
    jl_h5_init();
    jl_h5_writer *w = calloc(1, sizeof *w);
    size_t len = strlen(path) + 32;
    char *tmp = malloc(len);
    char *copy = strdup(path);
    if (!w || !tmp || !copy) {
        free(w);
        free(tmp);
        free(copy);
        JL_FAIL_CODE(JL_ENOMEM, "out of memory creating %s", path);
        return NULL;
    }
    snprintf(tmp, len, "%s.tmp-%ld", path, (long)getpid());
    w->path = copy;
    w->tmp = tmp;
    for (int k = 0; k < D_COUNT; k++) w->dset[k] = H5I_INVALID_HID;
    w->file = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (w->file < 0) {
        JL_FAIL_CODE(JL_EIO, "cannot create %s (temporary for %s): %s", tmp, path, jl_h5_reason());
        writer_free(w);
        return NULL;
    }
    for (int k = 0; k < D_COUNT; k++) {
        hid_t type = k == D_LABELS ? H5T_STD_I32LE : H5T_IEEE_F32LE;
        w->dset[k] = create_dataset(w->file, names[k], k < D_JPT ? 2 : 1, type);
        if (w->dset[k] < 0) {
            JL_FAIL_CODE(JL_EIO, "%s: cannot create dataset %s: %s", tmp, names[k], jl_h5_reason());
            writer_discard(w);
            return NULL;
        }
    }
    return w;
}

int64_t jl_h5_writer_count(const jl_h5_writer *w) { return w->n; }

/* t as a contiguous CPU tensor of dtype, +1 (a copy unless it already is one). */
static jl_tensor *host_as(jl_tensor *t, jl_dtype dtype)
{
    bool prev = jl_set_grad_enabled(false);
    jl_tensor *h = jl_to_device(t, JL_CPU), *out = NULL;
    if (h && h->dtype != dtype) {
        out = jl_to_dtype(h, dtype);
        jl_release(h);
    } else {
        out = h;
    }
    if (out && !jl_is_contiguous(out)) {
        jl_tensor *c = jl_contiguous(out);
        jl_release(out);
        out = c;
    }
    jl_set_grad_enabled(prev);
    return out;
}

static int check_batch(const jl_h5_jets *b, int64_t *n, int64_t *c)
{
    jl_tensor *cons[4] = {b->pt, b->eta, b->phi, b->E};
    jl_tensor *jets[6] = {b->jet_pt, b->jet_eta, b->jet_phi, b->jet_m, b->labels, b->weights};
    static const char *const field[10] = {"pt",      "eta",     "phi",   "E",      "jet_pt",
                                          "jet_eta", "jet_phi", "jet_m", "labels", "weights"};
    if (!b->pt || b->pt->ndim != 2 || b->pt->shape[1] > JL_H5_ATLAS_COLUMNS)
        return JL_FAIL("jets writer: pt must be (n, c) with c <= %d, got %s", JL_H5_ATLAS_COLUMNS,
                       b->pt ? jl_shape_str(b->pt) : "nothing");
    *n = b->pt->shape[0];
    *c = b->pt->shape[1];
    for (int k = 1; k < 4; k++)
        if (!cons[k] || cons[k]->ndim != 2 || cons[k]->shape[0] != *n || cons[k]->shape[1] != *c)
            return JL_FAIL("jets writer: %s must be (%lld, %lld) like pt, got %s", field[k], (long long)*n,
                           (long long)*c, cons[k] ? jl_shape_str(cons[k]) : "nothing");
    for (int k = 0; k < 6; k++) {
        if (!jets[k] && k == 5) continue;
        if (!jets[k] || jets[k]->ndim != 1 || jets[k]->shape[0] != *n)
            return JL_FAIL("jets writer: %s must be (%lld), got %s", field[4 + k], (long long)*n,
                           jets[k] ? jl_shape_str(jets[k]) : "nothing");
    }
    return JL_OK;
}

/* Appends `rows` rows from buf (rows × 200 or rows, of mem_type) to dataset k. */
static int append(jl_h5_writer *w, int k, int64_t at, int64_t rows, hid_t mem_type, const void *buf)
{
    int rank = k < D_JPT ? 2 : 1;
    hsize_t dims[2] = {(hsize_t)(at + rows), JL_H5_ATLAS_COLUMNS};
    hsize_t off[2] = {(hsize_t)at, 0}, cnt[2] = {(hsize_t)rows, JL_H5_ATLAS_COLUMNS};
    herr_t st = H5Dset_extent(w->dset[k], dims);
    hid_t fs = st >= 0 ? H5Dget_space(w->dset[k]) : H5I_INVALID_HID;
    hid_t ms = H5Screate_simple(rank, cnt, NULL);
    st = -1;
    if (fs >= 0 && ms >= 0 && H5Sselect_hyperslab(fs, H5S_SELECT_SET, off, NULL, cnt, NULL) >= 0)
        st = H5Dwrite(w->dset[k], mem_type, ms, fs, H5P_DEFAULT, buf);
    if (ms >= 0) H5Sclose(ms);
    if (fs >= 0) H5Sclose(fs);
    if (st < 0) return JL_FAIL_CODE(JL_EIO, "%s: writing dataset %s: %s", w->tmp, names[k], jl_h5_reason());
    return JL_OK;
}

/* Writes rows [r0, r0 + rows) of the host batch h (10 tensors in dset order;
 * h[D_WEIGHTS] may be NULL) using scratch cons (4 × rows × 200) and jet
 * (rows floats). */
static int write_block(jl_h5_writer *w, jl_tensor *const *h, int64_t c, int64_t r0, int64_t rows, float *cons,
                       float *jet)
{
    const int64_t C = JL_H5_ATLAS_COLUMNS;
    float *q[4];
    for (int a = 0; a < 4; a++) {
        q[a] = cons + (size_t)a * rows * C;
        memset(q[a], 0, (size_t)(rows * C) * sizeof(float));
        const float *src = jl_data(h[a]);
        for (int64_t i = 0; i < rows; i++)
            memcpy(q[a] + i * C, src + (r0 + i) * c, (size_t)c * sizeof(float));
    }
    int rc = JL_OK;
    for (int64_t i = 0; i < rows && rc == JL_OK; i++)
        rc = jl_h5_sort_row(q[0] + i * C, q[1] + i * C, q[2] + i * C, q[3] + i * C, C);
    for (int a = 0; a < 4 && rc == JL_OK; a++) {
        if (in_mev[a])
            for (int64_t i = 0; i < rows * C; i++) q[a][i] *= MEV_PER_GEV;
        rc = append(w, a, w->n + r0, rows, H5T_NATIVE_FLOAT, q[a]);
    }
    for (int k = D_JPT; k < D_COUNT && rc == JL_OK; k++) {
        if (k == D_LABELS) {
            rc = append(w, k, w->n + r0, rows, H5T_NATIVE_INT32, (const int32_t *)jl_data(h[k]) + r0);
            continue;
        }
        for (int64_t i = 0; i < rows; i++)
            jet[i] = h[k] ? ((const float *)jl_data(h[k]))[r0 + i] * (in_mev[k] ? MEV_PER_GEV : 1.0f) : 1.0f;
        rc = append(w, k, w->n + r0, rows, H5T_NATIVE_FLOAT, jet);
    }
    return rc;
}

static int writer_write(jl_h5_writer *w, const jl_h5_jets *batch)
{
    int64_t n = 0, c = 0;
    int rc = check_batch(batch, &n, &c);
    if (rc != JL_OK || n == 0) return rc;
    jl_h5_init();
    jl_tensor *src[D_COUNT] = {batch->pt,      batch->eta,     batch->phi,   batch->E,      batch->jet_pt,
                               batch->jet_eta, batch->jet_phi, batch->jet_m, batch->labels, batch->weights};
    jl_tensor *h[D_COUNT] = {0};
    for (int k = 0; k < D_COUNT && rc == JL_OK; k++) {
        if (!src[k]) continue;
        h[k] = host_as(src[k], k == D_LABELS ? JL_I32 : JL_F32);
        if (!h[k]) rc = jl_last_error_code() ? jl_last_error_code() : JL_ENOMEM;
    }
    int64_t block = n < WRITE_BLOCK ? n : WRITE_BLOCK;
    float *cons = NULL, *jet = NULL;
    if (rc == JL_OK) {
        cons = malloc((size_t)(4 * block * JL_H5_ATLAS_COLUMNS) * sizeof(float));
        jet = malloc((size_t)block * sizeof(float));
        if (!cons || !jet) rc = JL_FAIL_CODE(JL_ENOMEM, "out of memory writing %s", w->path);
    }
    for (int64_t r0 = 0; r0 < n && rc == JL_OK; r0 += block)
        rc = write_block(w, h, c, r0, n - r0 < block ? n - r0 : block, cons, jet);
    if (rc == JL_OK) w->n += n;
    free(cons);
    free(jet);
    for (int k = 0; k < D_COUNT; k++) jl_release(h[k]);
    return rc;
}

static void writer_discard(jl_h5_writer *w)
{
    if (!w) return;
    jl_h5_init();
    char *tmp = w->tmp;
    w->tmp = NULL;
    writer_free(w);
    if (tmp) remove(tmp);
    free(tmp);
}

/* fsync of the finished temporary file, so the rename publishes whole data. */
static int sync_file(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

static int writer_close(jl_h5_writer *w)
{
    jl_h5_init();
    int rc = JL_OK;
    for (int k = 0; k < D_COUNT; k++) {
        if (H5Dclose(w->dset[k]) < 0 && rc == JL_OK)
            rc = JL_FAIL_CODE(JL_EIO, "%s: closing dataset %s: %s", w->tmp, names[k], jl_h5_reason());
        w->dset[k] = H5I_INVALID_HID;
    }
    if (H5Fclose(w->file) < 0 && rc == JL_OK)
        rc = JL_FAIL_CODE(JL_EIO, "%s: closing: %s", w->tmp, jl_h5_reason());
    w->file = H5I_INVALID_HID;
    if (rc == JL_OK && sync_file(w->tmp) != 0)
        rc = JL_FAIL_CODE(JL_EIO, "%s: fsync: %s", w->tmp, strerror(errno));
    if (rc == JL_OK && rename(w->tmp, w->path) != 0)
        rc = JL_FAIL_CODE(JL_EIO, "cannot rename %s to %s: %s", w->tmp, w->path, strerror(errno));
    if (rc != JL_OK) remove(w->tmp);
    writer_free(w);
    return rc;
}

/* The public writer calls: each under jl_h5_lock (no fork meets them inside HDF5). */
jl_h5_writer *jl_h5_writer_open(const char *path)
{
    jl_h5_lock();
    jl_h5_writer *w = writer_open(path);
    jl_h5_unlock();
    return w;
}

int jl_h5_writer_write(jl_h5_writer *w, const jl_h5_jets *batch)
{
    jl_h5_lock();
    int rc = writer_write(w, batch);
    jl_h5_unlock();
    return rc;
}

void jl_h5_writer_discard(jl_h5_writer *w)
{
    jl_h5_lock();
    writer_discard(w);
    jl_h5_unlock();
}

int jl_h5_writer_close(jl_h5_writer *w)
{
    jl_h5_lock();
    int rc = writer_close(w);
    jl_h5_unlock();
    return rc;
}

int jl_h5_atlas_write(const char *path, const jl_h5_jets *jets)
{
    jl_h5_writer *w = jl_h5_writer_open(path);
    if (!w) return jl_last_error_code();
    int rc = jl_h5_writer_write(w, jets);
    if (rc != JL_OK) {
        jl_h5_writer_discard(w);
        return rc;
    }
    return jl_h5_writer_close(w);
}
