/* h5_pytables.c — reader of the Top Quark Tagging Reference Dataset, a
 * pandas/PyTables table: /table/table of compound rows, values_block_0 =
 * E,PX,PY,PZ of C constituents then of the truth particle (GeV), values_block_1
 * = [ttv, is_signal_new]. Rows become the ATLAS reader's representation: per
 * constituent pt, eta, phi, E sorted by decreasing pT, jet-level quantities
 * from the summed 4-vector, labels = is_signal_new, weights 1.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "h5_internal.h"
#include "jl_jets.h"
#include "jl_ops.h"

#define TABLE "/table/table"

/* Number of elements of the 1-D array field `name` of compound type t whose
 * base type is integer or float; fails naming the field. */
static int array_field(const char *path, hid_t t, const char *name, int64_t *len)
{
    int idx = H5Tget_member_index(t, name);
    if (idx < 0) return JL_FAIL_CODE(JL_EIO, "%s: dataset " TABLE " has no field %s", path, name);
    hid_t m = H5Tget_member_type(t, (unsigned)idx);
    int rc = JL_OK;
    if (H5Tget_class(m) != H5T_ARRAY || H5Tget_array_ndims(m) != 1) {
        rc = JL_FAIL_CODE(JL_EIO, "%s: dataset " TABLE " field %s is not a 1-D array", path, name);
    } else {
        hsize_t d;
        H5Tget_array_dims2(m, &d);
        hid_t base = H5Tget_super(m);
        H5T_class_t c = H5Tget_class(base);
        size_t size = H5Tget_size(base);
        H5Tclose(base);
        if (c != H5T_INTEGER && c != H5T_FLOAT)
            rc = JL_FAIL_CODE(JL_EIO, "%s: dataset " TABLE " field %s does not hold numbers", path, name);
        else if (size < 1 || size > 8) /* a corrupt type: HDF5 would convert through buffers that large */
            rc = JL_FAIL_CODE(
                JL_EIO, "%s: dataset " TABLE " field %s holds %zu-byte numbers, expected at most 8 bytes",
                path, name, size);
        *len = (int64_t)d;
    }
    H5Tclose(m);
    return rc;
}

/* The memory row: float[nf] then int64[2], both converted by HDF5 from the
 * file's types; nf is a multiple of 4, so the int64 field is aligned. */
static hid_t row_type(int64_t nf)
{
    hsize_t df = (hsize_t)nf, dl = 2;
    hid_t t = H5Tcreate(H5T_COMPOUND, (size_t)nf * sizeof(float) + 2 * sizeof(int64_t));
    hid_t af = H5Tarray_create2(H5T_NATIVE_FLOAT, 1, &df);
    hid_t al = H5Tarray_create2(H5T_NATIVE_INT64, 1, &dl);
    if (t < 0 || af < 0 || al < 0 || H5Tinsert(t, "values_block_0", 0, af) < 0 ||
        H5Tinsert(t, "values_block_1", (size_t)nf * sizeof(float), al) < 0) {
        if (t >= 0) H5Tclose(t);
        t = H5I_INVALID_HID;
    }
    if (af >= 0) H5Tclose(af);
    if (al >= 0) H5Tclose(al);
    return t;
}

/* Azimuth in (-pi, pi], the ATLAS files' convention (jl_p4_phi uses [0, 2pi)). */
static float phi_of(jl_p4 p) { return (float)atan2(p.py, p.px); }

/* One row's constituents (4-vectors in v, cd of them) into pt/eta/phi/E
 * scratch (cd), sorted, then its first c into the batch row i. */
static int decode_row(const float *v, int64_t cd, int64_t c, float *s[4], jl_h5_jets *out, int64_t i)
{
    jl_p4 jet = {0, 0, 0, 0};
    for (int64_t k = 0; k < cd; k++) {
        jl_p4 p = {.E = v[4 * k], .px = v[4 * k + 1], .py = v[4 * k + 2], .pz = v[4 * k + 3]};
        double pt = jl_p4_pt(p);
        jet = jl_p4_add(jet, p);
        s[0][k] = (float)pt;
        s[1][k] = pt > 0 ? (float)jl_p4_eta(p) : 0.0f;
        s[2][k] = pt > 0 ? phi_of(p) : 0.0f;
        s[3][k] = pt > 0 ? (float)p.E : 0.0f;
    }
    int rc = jl_h5_sort_row(s[0], s[1], s[2], s[3], cd);
    if (rc != JL_OK) return rc;
    jl_tensor *cons[4] = {out->pt, out->eta, out->phi, out->E};
    for (int a = 0; a < 4; a++) memcpy((float *)jl_data(cons[a]) + i * c, s[a], (size_t)c * sizeof(float));
    double jpt = jl_p4_pt(jet);
    ((float *)jl_data(out->jet_pt))[i] = (float)jpt;
    ((float *)jl_data(out->jet_eta))[i] = jpt > 0 ? (float)jl_p4_eta(jet) : 0.0f;
    ((float *)jl_data(out->jet_phi))[i] = jpt > 0 ? phi_of(jet) : 0.0f;
    ((float *)jl_data(out->jet_m))[i] = (float)jl_p4_m(jet);
    return JL_OK;
}

/* raw: `count` rows of the memory row type r->mtype. */
static int pytables_read_raw(jl_h5_reader *r, int64_t start, int64_t count, void *raw)
{
    jl_h5_guard_step("reading dataset \"" TABLE "\" rows [%lld, %lld)", (long long)start,
                     (long long)(start + count));
    if (jl_h5_read_rows(r->dset[0], 1, start, count, 0, r->mtype, raw) < 0)
        return JL_FAIL_CODE(JL_EIO, "%s: reading dataset " TABLE " rows [%lld, %lld): %s", r->path,
                            (long long)start, (long long)(start + count), jl_h5_reason());
    return JL_OK;
}

static int pytables_decode(jl_h5_reader *r, const void *raw, int64_t count, int64_t at, jl_h5_jets *out)
{
    const int64_t nf = 4 * (r->c_disk + 1);
    float *scratch = malloc((size_t)(4 * r->c_disk) * sizeof(float));
    if (!scratch) return JL_FAIL_CODE(JL_ENOMEM, "out of memory reading %s", r->path);
    float *s[4] = {scratch, scratch + r->c_disk, scratch + 2 * r->c_disk, scratch + 3 * r->c_disk};
    int64_t *labels = jl_data(out->labels);
    int rc = JL_OK;
    for (int64_t i = 0; i < count && rc == JL_OK; i++) {
        const unsigned char *row = (const unsigned char *)raw + (size_t)i * r->raw_row_bytes;
        int64_t block1[2];
        memcpy(block1, row + (size_t)nf * sizeof(float), sizeof block1);
        labels[at + i] = block1[1];
        rc = decode_row((const float *)row, r->c_disk, r->c, s, out, at + i);
    }
    free(scratch);
    return rc;
}

int jl_h5_pytables_sniff(const char *path, hid_t file)
{
    if (!jl_h5_is_dataset(file, TABLE)) return 0;
    hid_t d = H5Dopen2(file, TABLE, H5P_DEFAULT);
    hid_t t = d >= 0 ? H5Dget_type(d) : H5I_INVALID_HID;
    const char *missing = NULL;
    if (t < 0 || H5Tget_class(t) != H5T_COMPOUND) missing = "compound rows";
    else if (H5Tget_member_index(t, "values_block_0") < 0) missing = "field values_block_0";
    else if (H5Tget_member_index(t, "values_block_1") < 0) missing = "field values_block_1";
    if (t >= 0) H5Tclose(t);
    if (d >= 0) H5Dclose(d);
    H5Eclear2(H5E_DEFAULT);
    if (!missing) return 1;
    JL_FAIL_CODE(JL_EIO,
                 "%s: dataset " TABLE " has no %s (the PyTables layout needs values_block_0 "
                 "and values_block_1)",
                 path, missing);
    return -1;
}

jl_h5_reader *jl_h5_pytables_open_file(const char *path, int64_t max_constituents)
{
    if (max_constituents < 1) {
        JL_FAIL("%s: max_constituents must be >= 1, got %lld", path, (long long)max_constituents);
        return NULL;
    }
    jl_h5_reader *r = jl_h5_reader_new(path, JL_H5_PYTABLES);
    if (!r) return NULL;
    int64_t n = 0, nf = 0, nl = 0;
    r->dset[0] = jl_h5_dataset(path, r->file, TABLE, 1, 0, &n);
    if (r->dset[0] < 0) goto fail;
    hid_t t = H5Dget_type(r->dset[0]);
    int rc = H5Tget_class(t) == H5T_COMPOUND
                 ? JL_OK
                 : JL_FAIL_CODE(JL_EIO, "%s: dataset " TABLE " does not hold compound rows", path);
    if (rc == JL_OK) rc = array_field(path, t, "values_block_0", &nf);
    if (rc == JL_OK) rc = array_field(path, t, "values_block_1", &nl);
    H5Tclose(t);
    if (rc != JL_OK) goto fail;
    if (nf < 8 || nf % 4 != 0) {
        JL_FAIL_CODE(JL_EIO,
                     "%s: dataset " TABLE " field values_block_0 has %lld values, expected "
                     "4 per constituent plus 4 for the truth particle",
                     path, (long long)nf);
        goto fail;
    }
    if (nl != 2) {
        JL_FAIL_CODE(JL_EIO,
                     "%s: dataset " TABLE " field values_block_1 has %lld values, expected 2 "
                     "(ttv, is_signal_new)",
                     path, (long long)nl);
        goto fail;
    }
    r->mtype = row_type(nf);
    if (r->mtype < 0) {
        JL_FAIL_CODE(JL_EIO, "%s: cannot build the row type: %s", path, jl_h5_reason());
        goto fail;
    }
    r->n = n;
    r->c_disk = nf / 4 - 1;
    r->c = max_constituents < r->c_disk ? max_constituents : r->c_disk;
    r->chunk_rows = jl_h5_dataset_chunk_rows(r->dset[0]);
    r->raw_row_bytes = H5Tget_size(r->mtype);
    r->read_raw = pytables_read_raw;
    r->decode = pytables_decode;
    return r;
fail:
    jl_h5_close(r);
    return NULL;
}
