/* h5_internal.h — what h5_common.c shares with the two layouts' files
 * (h5_atlas.c, h5_pytables.c); not part of core's API (see jl_h5.h).
 *
 * A layout's open function gets a reader from jl_h5_reader_new (file open,
 * path kept), fills dset[], n, c_disk, c, weights_name and the read callback;
 * jl_h5_read checks the range, allocates the batch, calls the callback and
 * sorts each jet's constituents; jl_h5_close closes every id that is set.
 */
#ifndef JL_H5_INTERNAL_H
#define JL_H5_INTERNAL_H

#include <hdf5.h>

#include "jl_h5.h"

#define JL_H5_MAX_DSETS 10

struct jl_h5_reader {
    jl_h5_format format;
    char *path;
    hid_t file;
    hid_t dset[JL_H5_MAX_DSETS]; /* layout-specific; H5I_INVALID_HID when unused */
    hid_t mtype;                 /* memory row type (PyTables); H5I_INVALID_HID when unused */
    int64_t n, c_disk, c;
    const char *weights_name;
    /* Fills out (allocated (count, c) by the caller) from rows [start, start + count). */
    int (*read)(jl_h5_reader *r, int64_t start, int64_t count, jl_h5_jets *out);
};

/* Silences HDF5's error printing on this thread, clears its error stack, and
 * (once per process) makes sure Debian's filter plugin folder is searched. */
void jl_h5_init(void);
/* The most specific message on HDF5's error stack of this thread ("" when
 * none). Thread-local buffer, valid until the next call. */
const char *jl_h5_reason(void);

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
hid_t jl_h5_dataset(const char *path, hid_t loc, const char *name, int rank, int numeric,
                    int64_t *dims);
/* Fails (JL_EIO) naming the filter and how to install it when a filter of
 * dataset `name` cannot be loaded. */
int jl_h5_check_filters(const char *path, const char *name, hid_t dset);

/* Selects rows [start, start + count) and the first `cols` columns (rank 2;
 * cols ignored for rank 1) of dset and reads them as mem_type into buf. */
int jl_h5_read_rows(hid_t dset, int rank, int64_t start, int64_t count, int64_t cols,
                    hid_t mem_type, void *buf);

/* Sorts one jet's constituents by decreasing pt (stable; padding last),
 * permuting the other three arrays alike; a no-op on sorted rows; NaN pt
 * sorts last. Fails only when out of memory. pt, eta, phi, E (c) */
int jl_h5_sort_row(float *pt, float *eta, float *phi, float *E, int64_t c);

#endif
