/* h5_internal.h — what h5_common.c shares with the two layouts' files
 * (h5_atlas.c, h5_pytables.c); not part of core's API (see jl_h5.h).
 *
 * A layout's open function (jl_h5_*_open_file) gets a reader from
 * jl_h5_reader_new (file open, path kept), fills dset[], n, c_disk, c,
 * chunk_rows, weights_name, raw_row_bytes and the two read callbacks; the
 * public openers (h5_common.c) run it first as a trial in a guarded child
 * (jl_h5_guard.h), then in-process. jl_h5_read checks the range, allocates
 * the batch, and per slab of rows runs read_raw (HDF5 only, into memory
 * shared with a guarded child at isolation level 2) and decode, then
 * sorts each jet's constituents; jl_h5_close closes every id that is set.
 */
#ifndef JL_H5_INTERNAL_H
#define JL_H5_INTERNAL_H

#include <hdf5.h>

#include "jl_h5.h"
#include "jl_h5_guard.h"

#define JL_H5_MAX_DSETS 10

struct jl_h5_reader {
    jl_h5_format format;
    char *path;
    hid_t file;
    hid_t dset[JL_H5_MAX_DSETS]; /* layout-specific; H5I_INVALID_HID when unused */
    hid_t mtype;                 /* memory row type (PyTables); H5I_INVALID_HID when unused */
    int64_t n, c_disk, c;
    int64_t chunk_rows; /* rows per HDF5 chunk of dset[0]; 0 when not chunked */
    const char *weights_name;
    size_t raw_row_bytes; /* bytes read_raw writes per row */
    /* Reads rows [start, start + count) into raw (count * raw_row_bytes
     * bytes) with HDF5 calls only: it runs in a guarded child. */
    int (*read_raw)(jl_h5_reader *r, int64_t start, int64_t count, void *raw);
    /* Turns what read_raw wrote for `count` rows into rows [at, at + count)
     * of out (allocated by the caller; weights already 1 when the file has
     * none). No HDF5 calls. */
    int (*decode)(jl_h5_reader *r, const void *raw, int64_t count, int64_t at, jl_h5_jets *out);
    void *shared; /* the raw slab, shared with the children (jl_h5_shared_alloc) */
    size_t shared_bytes;
};

/* Silences HDF5's error printing on this thread, clears its error stack, and
 * (once per process) makes sure Debian's filter plugin folder is searched. */
void jl_h5_init(void);
/* The most specific message on HDF5's error stack of this thread ("" when
 * none). Thread-local buffer, valid until the next call. */
const char *jl_h5_reason(void);

/* The layouts' openers, unguarded: the file is read in-process. */
jl_h5_reader *jl_h5_atlas_open_file(const char *path, int64_t max_constituents);
jl_h5_reader *jl_h5_pytables_open_file(const char *path, int64_t max_constituents);
/* Rows per HDF5 chunk of dset (its first dimension), 0 when not chunked. */
int64_t jl_h5_dataset_chunk_rows(hid_t dset);

/* Opens path read-only into a new reader of format f (dset[] all unset), or
 * NULL with an error saying why (no such file, not HDF5, HDF5's reason). */
jl_h5_reader *jl_h5_reader_new(const char *path, jl_h5_format f);
/* The layout of an open file (see jl_h5_sniff). */
jl_h5_format jl_h5_sniff_file(const char *path, hid_t file);
/* 1 when any ATLAS dataset name is at the file's root (h5_atlas.c). */
int jl_h5_atlas_sniff(hid_t file);
/* 1 when /table/table holds compound rows with both PyTables fields, 0 when
 * there is no /table/table, -1 (error set, naming what is missing) otherwise
 * (h5_pytables.c). */
int jl_h5_pytables_sniff(const char *path, hid_t file);
/* 1 when the link `name` under loc exists and is a dataset (never an error). */
int jl_h5_is_dataset(hid_t loc, const char *name);

/* Opens dataset `name` under loc and checks it: present, of rank `rank`,
 * every filter it needs available, and of an integer or float type when
 * `numeric`. Writes its dims (rank entries) and returns the id, or
 * H5I_INVALID_HID with a JL_EIO error naming path and name. */
hid_t jl_h5_dataset(const char *path, hid_t loc, const char *name, int rank, int numeric, int64_t *dims);
/* Fails (JL_EIO) naming the filter and how to install it when a filter of
 * dataset `name` cannot be loaded. */
int jl_h5_check_filters(const char *path, const char *name, hid_t dset);

/* Selects rows [start, start + count) and the first `cols` columns (rank 2;
 * cols ignored for rank 1) of dset and reads them as mem_type into buf. */
int jl_h5_read_rows(hid_t dset, int rank, int64_t start, int64_t count, int64_t cols, hid_t mem_type,
                    void *buf);

/* Sorts one jet's constituents by decreasing pt (stable; padding last),
 * permuting the other three arrays alike; a no-op on sorted rows; NaN pt
 * sorts last. Fails only when out of memory. pt, eta, phi, E (c) */
int jl_h5_sort_row(float *pt, float *eta, float *phi, float *E, int64_t c);

#endif
