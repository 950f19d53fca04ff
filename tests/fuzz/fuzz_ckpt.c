/* fuzz_ckpt.c — libFuzzer harness for checkpoint loading: the C reader under
 * stdlib/jetlab/ckpt.lua, jl_h5t_read_all (core/io/h5_tensors.c), on mutated
 * HDF5 files.
 *
 * Whatever the file holds, the reader returns every dataset and scalar
 * attribute or NULL with a message naming the file; afterwards no tensor and
 * no HDF5 object may be left open. Every tensor returned is touched (summed)
 * so a wrong size shows up under ASan.
 *
 * Seeds: tests/fuzz/corpus/ckpt (checkpoints written by jetlab and the
 * fixtures of tests/fixtures).
 */
#include <hdf5.h>

#include "fuzz_common.h"
#include "jl_h5_tensors.h"

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

    jl_h5t_file *f = jl_h5t_read_all(path, "checkpoint");
    if (!f) {
        fuzz_check_message("jl_h5t_read_all");
        const char *m = jl_last_error();
        if (!strstr(m, path)) fuzz_fail("the error does not name the file: %s", m);
    } else {
        volatile unsigned sum = 0;
        for (int i = 0; i < f->n_datasets; i++) {
            jl_tensor *t = f->datasets[i].tensor;
            if (!f->datasets[i].name || !t) fuzz_fail("dataset %d without a name or tensor", i);
            const unsigned char *p = jl_data(t);
            size_t bytes = (size_t)jl_numel(t) * jl_dtype_size(t->dtype);
            for (size_t k = 0; k < bytes; k++) sum += p[k];
        }
        for (int i = 0; i < f->n_attrs; i++) {
            if (!f->attrs[i].object || !f->attrs[i].key) fuzz_fail("attribute %d without an object or key", i);
            if (f->attrs[i].string) sum += (unsigned)strlen(f->attrs[i].string);
        }
        (void)sum;
        jl_h5t_file_free(f);
    }
    jl_error_clear();

    fuzz_check_no_tensors("the checkpoint reader");
    ssize_t open = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
    if (open != 0) fuzz_fail("%zd HDF5 objects left open after reading the checkpoint", open);
    return 0;
}
