/* fuzz_h5.c — libFuzzer harness for the jets readers (core/io/jl_h5.h): the
 * ATLAS layout and the PyTables table, on mutated HDF5 files.
 *
 * The input is written to a temporary file, sniffed, opened with jl_h5_open
 * (and with the other layout's opener, which must refuse it or read it) and
 * read in chunks of 7 jets, at most 2048 jets (a corrupt header may claim
 * billions of rows; those are legal HDF5 and need not be read whole). Odd-sized
 * inputs keep 5 constituent columns instead of 200. A failure must leave a
 * message; afterwards no tensor and no HDF5 object may be left open.
 *
 * Seeds: tests/fuzz/corpus/h5 (the fixtures of tests/fixtures).
 */
#include <hdf5.h>

#include "fuzz_common.h"
#include "jl_h5.h"

#define CHUNK 7
#define MAX_JETS 2048

static void read_all(jl_h5_reader *r)
{
    int64_t n = jl_h5_count(r);
    if (n < 0) fuzz_fail("negative jet count %lld", (long long)n);
    if (n > MAX_JETS) n = MAX_JETS;
    for (int64_t s = 0; s < n; s += CHUNK) {
        int64_t count = n - s < CHUNK ? n - s : CHUNK;
        jl_h5_jets j;
        if (jl_h5_read(r, s, count, &j) != JL_OK) {
            fuzz_check_message("jl_h5_read");
            if (j.pt || j.labels) fuzz_fail("jl_h5_read failed but left tensors behind");
            return;
        }
        if (j.n != count || j.c != jl_h5_columns(r)) fuzz_fail("jl_h5_read returned a batch of the wrong size");
        jl_h5_jets_free(&j);
    }
    /* a range outside the file is the caller's error, never a crash */
    jl_h5_jets j;
    if (jl_h5_read(r, jl_h5_count(r), 1, &j) == JL_OK) fuzz_fail("read past the end succeeded");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    /* HDF5 unloads its filter plugins at exit, and Debian's blosc plugin
     * leaves two blocks (blosc_init's) behind, reported by LeakSanitizer
     * from an unknown module: keep HDF5 and the plugin loaded to the end. */
    H5dont_atexit();
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    fuzz_heap_guard();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_temp_path(".h5");
    fuzz_write_file(path, data, size);
    fuzz_heap_start();
    int64_t maxc = (size & 1) ? 5 : JL_H5_ATLAS_COLUMNS;

    jl_h5_format f = jl_h5_sniff(path);
    if (f == JL_H5_UNKNOWN) fuzz_check_message("jl_h5_sniff");

    jl_h5_reader *r = jl_h5_open(path, maxc);
    if (r) {
        read_all(r);
        jl_h5_close(r);
    } else {
        fuzz_check_message("jl_h5_open");
    }
    /* the opener of the layout the sniffer did not pick */
    r = f == JL_H5_PYTABLES ? jl_h5_atlas_open(path, maxc) : jl_h5_pytables_open(path, maxc);
    if (r) {
        read_all(r);
        jl_h5_close(r);
    }
    jl_error_clear();

    fuzz_check_no_tensors("the jets reader");
    ssize_t open = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
    if (open != 0) fuzz_fail("%zd HDF5 objects left open after closing the reader", open);
    return 0;
}
