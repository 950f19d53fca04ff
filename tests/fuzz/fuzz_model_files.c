/* fuzz_model_files.c — libFuzzer harness for the readers of model files made
 * outside jetlab (core/io/model_files): jl_model_file_read_buffer on mutated
 * torch.save zip and legacy files and .safetensors files, straight from
 * memory (the format is chosen by the first bytes, as for a path).
 *
 * Whatever the bytes, the reader returns named tensors whose data holds
 * numel elements (every byte is touched, so a wrong size shows under ASan)
 * or fails with a message naming the file. What it returns is written as
 * safetensors and read back (when small), which must give the same tensors.
 *
 * Seeds: tests/fuzz/corpus/model_files (the small fixtures of
 * tests/fixtures/model_files, a cut-down legacy file and safetensors files).
 */
#include "fuzz_common.h"
#include "jl_model_files.h"

#define DISPLAY_NAME "fuzz-input.pt"
#define ROUND_TRIP_BYTES (1 << 20)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_heap_guard();
    return 0;
}

/* Every tensor well formed; returns the bytes of data in all of them. */
static size_t check_tensors(const jl_model_file *f)
{
    volatile unsigned sum = 0;
    size_t total = 0;
    for (int i = 0; i < f->n_tensors; i++) {
        const jl_model_tensor *t = &f->tensors[i];
        if (!t->name) fuzz_fail("tensor %d has no name", i);
        if (t->ndim < 0 || t->ndim > JL_MODEL_MAX_DIMS) fuzz_fail("tensor '%s' has %d dimensions", t->name, t->ndim);
        int64_t numel = 1;
        for (int d = 0; d < t->ndim; d++) numel *= t->shape[d];
        if (numel != t->numel) fuzz_fail("tensor '%s': numel %lld, shape gives %lld", t->name, (long long)t->numel,
                                         (long long)numel);
        if (numel && !t->data) fuzz_fail("tensor '%s' has no data", t->name);
        size_t bytes = (size_t)numel * jl_model_dtype_size(t->dtype);
        for (size_t k = 0; k < bytes; k++) sum += ((const unsigned char *)t->data)[k];
        total += bytes;
    }
    for (int i = 0; i < f->n_metadata; i++)
        if (!f->metadata[i].key || !f->metadata[i].value) fuzz_fail("metadata %d without a key or value", i);
    (void)sum;
    return total;
}

static void round_trip(const jl_model_file *f)
{
    const char *path = fuzz_temp_path(".safetensors");
    if (jl_model_file_write_safetensors(path, f->tensors, f->n_tensors, f->metadata, f->n_metadata) != JL_OK) {
        /* names that safetensors cannot hold (not UTF-8, empty, "__metadata__") are refused, with a message */
        fuzz_check_message("jl_model_file_write_safetensors");
        return;
    }
    jl_model_file *back = NULL;
    if (jl_model_file_read(path, &back) != JL_OK) fuzz_fail("written safetensors unreadable: %s", jl_last_error());
    if (back->n_tensors != f->n_tensors) fuzz_fail("round trip: %d tensors became %d", f->n_tensors, back->n_tensors);
    for (int i = 0; i < f->n_tensors; i++) {
        const jl_model_tensor *a = &f->tensors[i], *b = &back->tensors[i];
        size_t bytes = (size_t)a->numel * jl_model_dtype_size(a->dtype);
        if (strcmp(a->name, b->name) != 0 || a->dtype != b->dtype || a->numel != b->numel ||
            (bytes && memcmp(a->data, b->data, bytes) != 0))
            fuzz_fail("round trip changed tensor '%s'", a->name);
    }
    jl_model_file_free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_heap_start();
    jl_model_file *f = NULL;
    if (jl_model_file_read_buffer(data, size, DISPLAY_NAME, &f) != JL_OK) {
        fuzz_check_message("jl_model_file_read_buffer");
        if (f) fuzz_fail("a failed read returned a file");
        if (!strstr(jl_last_error(), DISPLAY_NAME)) fuzz_fail("the error does not name the file: %s", jl_last_error());
    } else if (check_tensors(f) <= ROUND_TRIP_BYTES) {
        round_trip(f);
    }
    jl_model_file_free(f);
    jl_error_clear();
    return 0;
}
