/* test_model_files.c — core/io/model_files: the published LundNet models in
 * both torch.save formats read with the right names, shapes and values; every
 * dtype, strided views, shared storages, zip64 and pickle protocol 4; each
 * class of bad input refused with a message naming the file and the fault;
 * safetensors written and read back, and its lying headers refused; the
 * writer atomic. Fixtures: tests/fixtures/lundnet (published, GPL-3.0) and
 * tests/fixtures/model_files (make_model_file_fixtures.py). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jl_model_files.h"

static char dir[64];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/jl_model_files_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}
TestSuite(model_files, .init = setup, .fini = teardown);

static const char *fixture(const char *name)
{
    static char path[4][1024];
    static int next;
    char *p = path[next++ % 4];
    const char *slash = strrchr(__FILE__, '/');
    int len = slash ? (int)(slash - __FILE__) : 1;
    snprintf(p, 1024, "%.*s/../fixtures/%s", len, slash ? __FILE__ : ".", name);
    return p;
}

static const char *in_dir(const char *name)
{
    static char buf[4][256];
    static int next;
    char *b = buf[next++ % 4];
    snprintf(b, 256, "%s/%s", dir, name);
    return b;
}

static uint8_t *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *bytes = malloc((size_t)n + 1);
    cr_assert_eq(fread(bytes, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *size = (size_t)n;
    return bytes;
}

static int files_in_dir(void)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static const jl_model_tensor *find(const jl_model_file *f, const char *name)
{
    for (int i = 0; i < f->n_tensors; i++)
        if (strcmp(f->tensors[i].name, name) == 0) return &f->tensors[i];
    cr_assert_fail("no tensor '%s'", name);
    return NULL;
}

static void assert_shape(const jl_model_tensor *t, jl_model_dtype dtype, int ndim, const int64_t *shape)
{
    cr_assert_eq(t->dtype, dtype, "%s: dtype %s", t->name, jl_model_dtype_name(t->dtype));
    cr_assert_eq(t->ndim, ndim, "%s: ndim %d", t->name, t->ndim);
    int64_t numel = 1;
    for (int d = 0; d < ndim; d++) {
        cr_assert_eq(t->shape[d], shape[d], "%s: shape[%d] = %lld", t->name, d, (long long)t->shape[d]);
        numel *= shape[d];
    }
    cr_assert_eq(t->numel, numel);
}

static float f32_at(const jl_model_tensor *t, int64_t i) { return ((const float *)t->data)[i]; }

/* Reads the file and expects failure: the code, *out left NULL, and a
 * message that names `display` and contains `needle`. */
static void assert_refused_buffer(const uint8_t *bytes, size_t size, const char *display, const char *needle)
{
    jl_model_file *f = (jl_model_file *)1;
    int rc = jl_model_file_read_buffer(bytes, size, display, &f);
    cr_assert_neq(rc, JL_OK, "%s was accepted", display);
    cr_assert_null(f);
    const char *m = jl_last_error();
    cr_assert_not_null(strstr(m, display), "message does not name the file: %s", m);
    cr_assert_not_null(strstr(m, needle), "message lacks '%s': %s", needle, m);
}

static void assert_refused(const char *fixture_name, const char *needle)
{
    jl_model_file *f = (jl_model_file *)1;
    cr_assert_eq(jl_model_file_read(fixture(fixture_name), &f), JL_EIO, "%s was accepted", fixture_name);
    cr_assert_null(f);
    cr_assert_not_null(strstr(jl_last_error(), fixture_name), "message does not name the file: %s", jl_last_error());
    cr_assert_not_null(strstr(jl_last_error(), needle), "message lacks '%s': %s", needle, jl_last_error());
}

/* --- the published LundNet models ----------------------------------------- */

/* Expected numbers from the raw bytes, without torch: each tensor's storage
 * key read off `python3 -m pickletools` of the pickle, the storage taken from
 * the zip entry archive/data/<key> (LundNet5) or from the records after the
 * pickles (LundNet3: int64 count + raw bytes, in the order of the key list),
 * then np.frombuffer(bytes, '<f4' or '<i8') indexed row-major; sums in
 * float64. The whole of both files was also compared with torch 2.15's
 * torch.load: all 112 tensors equal. */
typedef struct {
    const char *file;
    jl_model_format format;
    int features;
    float bn_fts_weight[5];
    float theta_3_last, theta_31_0, fc0_100_200;
    double fc0_sum;
    float fc1_bias[2];
    int64_t batches;
} lundnet_reference;

static const lundnet_reference lundnet5 = {
    "lundnet/Top_QCD_500GeV_LundNet5.pt", JL_MODEL_FORMAT_TORCH_ZIP, 5,
    {0.9929711818695068f, 1.0258547067642212f, 0.023039519786834717f, 1.387654185295105f, 1.0210959911346436f},
    0.12449803948402405f, 0.18316753208637238f, -0.009192229248583317f, -325.145975981153,
    {-0.12147966027259827f, 0.17682228982448578f}, 50778,
};

static const lundnet_reference lundnet3 = {
    "lundnet/Top_QCD_500GeV_LundNet3.pt", JL_MODEL_FORMAT_TORCH_LEGACY, 3,
    {0.9603551030158997f, 0.9658966064453125f, 1.0779533386230469f},
    -0.5490099787712097f, -0.238435760140419f, 0.04839164763689041f, -668.8739455697198,
    {-0.15168417990207672f, 0.18354402482509613f}, 42966,
};

static void check_lundnet(const lundnet_reference *ref)
{
    jl_model_file *f = NULL;
    cr_assert_eq(jl_model_file_read(fixture(ref->file), &f), JL_OK, "%s", jl_last_error());
    cr_assert_eq(f->format, ref->format);
    cr_assert_eq(f->n_tensors, 112);
    cr_assert_str_eq(f->tensors[0].name, "bn_fts.weight");
    cr_assert_str_eq(f->tensors[111].name, "fc.1.bias");
    int n = ref->features;

    const jl_model_tensor *bn = find(f, "bn_fts.weight");
    assert_shape(bn, JL_MODEL_F32, 1, (int64_t[]){n});
    for (int i = 0; i < n; i++) cr_assert_eq(f32_at(bn, i), ref->bn_fts_weight[i], "bn_fts.weight[%d]", i);

    const jl_model_tensor *tracked = find(f, "bn_fts.num_batches_tracked");
    assert_shape(tracked, JL_MODEL_I64, 0, NULL);
    cr_assert_eq(*(const int64_t *)tracked->data, ref->batches);

    const jl_model_tensor *theta = find(f, "edge_convs.0.theta.weight");
    assert_shape(theta, JL_MODEL_F32, 2, (int64_t[]){32, n});
    cr_assert_eq(f32_at(theta, 3 * n + n - 1), ref->theta_3_last);
    cr_assert_eq(f32_at(theta, 31 * n), ref->theta_31_0);
    assert_shape(find(f, "edge_convs.4.sc.weight"), JL_MODEL_F32, 2, (int64_t[]){128, 64});
    assert_shape(find(f, "fusion_block.0.weight"), JL_MODEL_F32, 2, (int64_t[]){384, 448});

    const jl_model_tensor *fc0 = find(f, "fc.0.0.weight");
    assert_shape(fc0, JL_MODEL_F32, 2, (int64_t[]){256, 384});
    cr_assert_eq(f32_at(fc0, 100 * 384 + 200), ref->fc0_100_200);
    double sum = 0;
    for (int64_t i = 0; i < fc0->numel; i++) sum += f32_at(fc0, i);
    cr_assert_float_eq(sum, ref->fc0_sum, 1e-9 * 384 * 256);

    const jl_model_tensor *bias = find(f, "fc.1.bias");
    assert_shape(bias, JL_MODEL_F32, 1, (int64_t[]){2});
    cr_assert_eq(f32_at(bias, 0), ref->fc1_bias[0]);
    cr_assert_eq(f32_at(bias, 1), ref->fc1_bias[1]);
    jl_model_file_free(f);
}

Test(model_files, lundnet5_zip_format) { check_lundnet(&lundnet5); }
Test(model_files, lundnet3_legacy_format) { check_lundnet(&lundnet3); }

Test(model_files, a_buffer_reads_like_its_file)
{
    size_t size;
    uint8_t *bytes = slurp(fixture(lundnet5.file), &size);
    jl_model_file *from_buffer = NULL, *from_file = NULL;
    cr_assert_eq(jl_model_file_read_buffer(bytes, size, "in-memory.pt", &from_buffer), JL_OK, "%s", jl_last_error());
    free(bytes);
    cr_assert_eq(jl_model_file_read(fixture(lundnet5.file), &from_file), JL_OK);
    cr_assert_eq(from_buffer->n_tensors, from_file->n_tensors);
    for (int i = 0; i < from_file->n_tensors; i++) {
        const jl_model_tensor *a = &from_buffer->tensors[i], *b = &from_file->tensors[i];
        cr_assert_str_eq(a->name, b->name);
        cr_assert_eq(a->numel, b->numel);
        cr_assert_eq(memcmp(a->data, b->data, (size_t)a->numel * jl_model_dtype_size(a->dtype)), 0, "%s", a->name);
    }
    jl_model_file_free(from_buffer);
    jl_model_file_free(from_file);
}

/* --- every dtype, views, zip64, protocol 4, legacy from torch 2.x ----------- */

static void check_dtypes(const char *name, jl_model_format format)
{
    jl_model_file *f = NULL;
    cr_assert_eq(jl_model_file_read(fixture(name), &f), JL_OK, "%s: %s", name, jl_last_error());
    cr_assert_eq(f->format, format);
    cr_assert_eq(f->n_tensors, 14);

    const jl_model_tensor *t = find(f, "f32_t");  /* arange(12).reshape(3, 4).t(): strides (1, 4) */
    assert_shape(t, JL_MODEL_F32, 2, (int64_t[]){4, 3});
    static const float transposed[12] = {0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11};
    cr_assert_eq(memcmp(t->data, transposed, sizeof transposed), 0);
    t = find(f, "f32_row1");  /* row 1 of the same storage: offset 4 */
    assert_shape(t, JL_MODEL_F32, 1, (int64_t[]){4});
    cr_assert_eq(memcmp(t->data, (float[]){4, 5, 6, 7}, 4 * sizeof(float)), 0);
    assert_shape(find(f, "f32"), JL_MODEL_F32, 2, (int64_t[]){3, 4});
    cr_assert_eq(f32_at(find(f, "f32"), 11), 11.0f);

    t = find(f, "f64");
    assert_shape(t, JL_MODEL_F64, 1, (int64_t[]){1});
    cr_assert_eq(*(const double *)t->data, 3.25);
    t = find(f, "f16");  /* 0.5, -1.0 */
    assert_shape(t, JL_MODEL_F16, 1, (int64_t[]){2});
    cr_assert_eq(((const uint16_t *)t->data)[0], 0x3800);
    cr_assert_eq(((const uint16_t *)t->data)[1], 0xbc00);
    t = find(f, "bf16");  /* 1.5, -2.0 */
    assert_shape(t, JL_MODEL_BF16, 1, (int64_t[]){2});
    cr_assert_eq(((const uint16_t *)t->data)[0], 0x3fc0);
    cr_assert_eq(((const uint16_t *)t->data)[1], 0xc000);
    t = find(f, "i64_scalar");
    assert_shape(t, JL_MODEL_I64, 0, NULL);
    cr_assert_eq(*(const int64_t *)t->data, 42);
    t = find(f, "i32");
    cr_assert_eq(((const int32_t *)t->data)[0], -7);
    t = find(f, "i16");
    assert_shape(t, JL_MODEL_I16, 1, (int64_t[]){2});
    cr_assert_eq(((const int16_t *)t->data)[1], -300);
    t = find(f, "i8");
    assert_shape(t, JL_MODEL_I8, 1, (int64_t[]){3});
    cr_assert_eq(((const int8_t *)t->data)[2], -3);
    t = find(f, "u8");
    cr_assert_eq(((const uint8_t *)t->data)[0], 250);
    t = find(f, "bool");
    assert_shape(t, JL_MODEL_BOOL, 1, (int64_t[]){3});
    cr_assert_eq(memcmp(t->data, (uint8_t[]){1, 0, 1}, 3), 0);
    t = find(f, "empty");
    assert_shape(t, JL_MODEL_F32, 2, (int64_t[]){0, 3});
    cr_assert_null(t->data);
    t = find(f, "param");  /* nn.Parameter: _rebuild_parameter around _rebuild_tensor_v2 */
    assert_shape(t, JL_MODEL_F32, 1, (int64_t[]){2});
    cr_assert_eq(f32_at(t, 1), 1.0f);
    jl_model_file_free(f);
}

Test(model_files, every_dtype_zip) { check_dtypes("model_files/dtypes_zip.pt", JL_MODEL_FORMAT_TORCH_ZIP); }
Test(model_files, every_dtype_pickle_protocol4) { check_dtypes("model_files/dtypes_protocol4.pt", JL_MODEL_FORMAT_TORCH_ZIP); }
Test(model_files, every_dtype_legacy) { check_dtypes("model_files/dtypes_legacy.pt", JL_MODEL_FORMAT_TORCH_LEGACY); }
Test(model_files, every_dtype_zip64_other_folder) { check_dtypes("model_files/dtypes_zip64.pt", JL_MODEL_FORMAT_TORCH_ZIP); }

/* --- refusals --------------------------------------------------------------- */

Test(model_files, compressed_entries_are_refused)
{
    assert_refused("model_files/compressed.pt", "zip entry 'dtypes_zip/data.pkl' is compressed (method 8)");
}

Test(model_files, unknown_global_is_named) { assert_refused("model_files/os_system.pt", "GLOBAL os.system at offset 166"); }

Test(model_files, unknown_opcode_is_named)
{
    assert_refused("model_files/unknown_opcode.pt", "pickle opcode 0x69 at offset 163");
}

Test(model_files, storage_shorter_than_its_tensor)
{
    assert_refused("model_files/short_storage.pt",
                   "storage 'archive/data/3' has 100 elements; tensor 'fc.0.weight' (256, 384) at offset 0 needs 98304");
}

Test(model_files, a_nested_checkpoint_is_not_a_state_dict)
{
    assert_refused("model_files/nested_checkpoint.pt", "entry 'model' is a dict, not a tensor");
}

Test(model_files, truncated_zip_names_the_record)
{
    size_t size;
    uint8_t *bytes = slurp(fixture(lundnet5.file), &size);
    assert_refused_buffer(bytes, size - 1, "cut.pt", "truncated zip: no end-of-central-directory record");
    assert_refused_buffer(bytes, 10, "cut.pt", "truncated zip: 10 bytes");
    /* every cut leaves a file that is refused with a message naming it */
    for (size_t cut = 4; cut < size; cut += 7919) assert_refused_buffer(bytes, cut, "cut.pt", "truncated zip");
    free(bytes);
}

Test(model_files, corrupt_storage_fails_its_crc)
{
    size_t size;
    uint8_t *bytes = slurp(fixture(lundnet5.file), &size);
    bytes[size / 2] ^= 0x40;
    assert_refused_buffer(bytes, size, "flipped.pt", "does not match its data");
    free(bytes);
}

Test(model_files, truncated_legacy_file_names_the_storage)
{
    size_t size;
    uint8_t *bytes = slurp(fixture(lundnet3.file), &size);
    assert_refused_buffer(bytes, size - 1, "cut3.pt", "truncated: storage");
    assert_refused_buffer(bytes, 100, "cut3.pt", "truncated pickle");
    for (size_t cut = 4; cut < size; cut += 7919) assert_refused_buffer(bytes, cut, "cut3.pt", "truncated");
    free(bytes);
}

Test(model_files, unknown_files_are_refused)
{
    assert_refused_buffer((const uint8_t *)"hello, world", 12, "hello.txt", "not a PyTorch");
    jl_model_file *f = (jl_model_file *)1;
    cr_assert_eq(jl_model_file_read(in_dir("missing.pt"), &f), JL_EIO);
    cr_assert_null(f);
    cr_assert_not_null(strstr(jl_last_error(), "missing.pt: cannot open"), "%s", jl_last_error());
}

/* Single-byte changes of small files: never a crash; a failure always has a message. */
Test(model_files, mutated_bytes_fail_cleanly)
{
    static const char *names[] = {"model_files/dtypes_legacy.pt", "model_files/dtypes_zip.pt"};
    uint32_t state = 12345;
    for (int n = 0; n < 2; n++) {
        size_t size;
        uint8_t *bytes = slurp(fixture(names[n]), &size);
        for (int trial = 0; trial < 3000; trial++) {
            state = state * 1664525u + 1013904223u;
            size_t at = (state >> 8) % size;
            uint8_t saved = bytes[at];
            bytes[at] ^= (uint8_t)(1u << (state & 7));
            jl_model_file *f = NULL;
            if (jl_model_file_read_buffer(bytes, size, "mutant.pt", &f) == JL_OK) jl_model_file_free(f);
            else cr_assert_not_null(strstr(jl_last_error(), "mutant.pt"), "%s", jl_last_error());
            bytes[at] = saved;
        }
        free(bytes);
    }
}

/* --- safetensors ------------------------------------------------------------ */

Test(model_files, safetensors_round_trip_keeps_order_data_and_metadata)
{
    float w[6] = {1, -2, 3.5f, 0, 1e-30f, -7};
    int64_t steps = 123456789012LL, idx[3] = {-1, 0, 5};
    jl_model_tensor in[3] = {
        {.name = "layer.weight", .dtype = JL_MODEL_F32, .ndim = 2, .shape = {2, 3}, .data = w},
        {.name = "steps", .dtype = JL_MODEL_I64, .ndim = 0, .data = &steps},
        {.name = "a.index", .dtype = JL_MODEL_I64, .ndim = 1, .shape = {3}, .data = idx},
    };
    jl_model_metadata meta[2] = {{"format", "pt"}, {"note", "a \"quoted\"\nline\t\x01 ψ"}};
    const char *path = in_dir("model.safetensors");
    cr_assert_eq(jl_model_file_write_safetensors(path, in, 3, meta, 2), JL_OK, "%s", jl_last_error());
    cr_assert_eq(files_in_dir(), 1, "a temporary file was left behind");

    jl_model_file *f = NULL;
    cr_assert_eq(jl_model_file_read(path, &f), JL_OK, "%s", jl_last_error());
    cr_assert_eq(f->format, JL_MODEL_FORMAT_SAFETENSORS);
    cr_assert_eq(f->n_tensors, 3);
    for (int i = 0; i < 3; i++) {
        cr_assert_str_eq(f->tensors[i].name, in[i].name);
        assert_shape(&f->tensors[i], in[i].dtype, in[i].ndim, in[i].shape);
    }
    cr_assert_eq(memcmp(f->tensors[0].data, w, sizeof w), 0);
    cr_assert_eq(*(const int64_t *)f->tensors[1].data, steps);
    cr_assert_eq(memcmp(f->tensors[2].data, idx, sizeof idx), 0);
    cr_assert_eq(f->n_metadata, 2);
    cr_assert_str_eq(f->metadata[0].key, "format");
    cr_assert_str_eq(f->metadata[1].value, meta[1].value);
    jl_model_file_free(f);
}

Test(model_files, safetensors_round_trip_of_a_torch_file)
{
    jl_model_file *f = NULL, *back = NULL;
    cr_assert_eq(jl_model_file_read(fixture("model_files/dtypes_zip.pt"), &f), JL_OK);
    const char *path = in_dir("dtypes.safetensors");
    cr_assert_eq(jl_model_file_write_safetensors(path, f->tensors, f->n_tensors, NULL, 0), JL_OK, "%s",
                 jl_last_error());
    cr_assert_eq(jl_model_file_read(path, &back), JL_OK, "%s", jl_last_error());
    cr_assert_eq(back->n_tensors, f->n_tensors);
    cr_assert_eq(back->n_metadata, 0);
    for (int i = 0; i < f->n_tensors; i++) {
        const jl_model_tensor *a = &f->tensors[i], *b = &back->tensors[i];
        cr_assert_str_eq(a->name, b->name);
        assert_shape(b, a->dtype, a->ndim, a->shape);
        if (a->numel)
            cr_assert_eq(memcmp(a->data, b->data, (size_t)a->numel * jl_model_dtype_size(a->dtype)), 0, "%s", a->name);
    }
    jl_model_file_free(f);
    jl_model_file_free(back);
}

/* A safetensors file: the header text as given (length from strlen unless
 * header_len >= 0), then data_size bytes of 0x11. */
static uint8_t *safetensors_bytes(const char *header, long long header_len, size_t data_size, size_t *size)
{
    size_t n = strlen(header);
    *size = 8 + n + data_size;
    uint8_t *b = malloc(*size);
    uint64_t len = header_len >= 0 ? (uint64_t)header_len : n;
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)(len >> (8 * i));
    memcpy(b + 8, header, n);
    memset(b + 8 + n, 0x11, data_size);
    return b;
}

static void assert_safetensors_refused(const char *header, long long header_len, size_t data_size,
                                       const char *needle)
{
    size_t size;
    uint8_t *b = safetensors_bytes(header, header_len, data_size, &size);
    assert_refused_buffer(b, size, "lying.safetensors", needle);
    free(b);
}

#define F32(name, shape, begin, end) "\"" name "\":{\"dtype\":\"F32\",\"shape\":" shape ",\"data_offsets\":[" #begin "," #end "]}"

Test(model_files, safetensors_that_lie_are_refused)
{
    assert_safetensors_refused("{" F32("a", "[2]", 0, 8) "}", 1000, 8, "header length 1000 runs past the end");
    assert_safetensors_refused("{" F32("a", "[4]", 0, 16) "}", -1, 8,
                               "tensor 'a' data_offsets [0, 16] lie outside the data (8 bytes)");
    assert_safetensors_refused("{" F32("a", "[3]", 0, 8) "}", -1, 8, "tensor 'a' (3) of F32 does not fit");
    assert_safetensors_refused("{" F32("a", "[2]", 0, 8) "," F32("b", "[2]", 4, 12) "}", -1, 12,
                               "tensor 'b' data_offsets [4, 12] overlap tensor 'a' [0, 8]");
    assert_safetensors_refused("{" F32("a", "[1]", 0, 4) "," F32("b", "[1]", 8, 12) "}", -1, 12,
                               "bytes [4, 8) before tensor 'b' belong to no tensor");
    assert_safetensors_refused("{" F32("a", "[2]", 0, 8) "}", -1, 12, "the last 4 of the 12 data bytes");
    assert_safetensors_refused("{" F32("a", "[2]", 8, 0) "}", -1, 8, "lie outside the data");
    assert_safetensors_refused("{" F32("a", "[2]", 0, 8) "," F32("a", "[2]", 8, 16) "}", -1, 16,
                               "two tensors are named 'a'");
    assert_safetensors_refused("{\"a\":{\"dtype\":\"F8_E4M3\",\"shape\":[1],\"data_offsets\":[0,1]}}", -1, 1,
                               "dtype 'F8_E4M3'");
    assert_safetensors_refused("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", -1, 4,
                               "no shape");
    assert_safetensors_refused("{\"__metadata__\":{\"k\":1}}", -1, 0, "__metadata__ 'k' is a number");
    assert_safetensors_refused("{" F32("a", "[2]", 0, 8) ",}", -1, 8, "expected a string key");
    assert_safetensors_refused("{\"a\\x\":1}", -1, 0, "an unknown escape");
    assert_safetensors_refused("{\"\xff\":1}", -1, 0, "not UTF-8");
    assert_safetensors_refused("{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", -1, 0,
                               "nesting deeper than 64");
    assert_safetensors_refused("{\"a\":1}", -1, 0, "tensor 'a' is a number, not an object");
}

Test(model_files, failed_writes_leave_nothing)
{
    const char *path = in_dir("keep.safetensors");
    float x = 1;
    jl_model_tensor good = {.name = "x", .dtype = JL_MODEL_F32, .ndim = 1, .shape = {1}, .data = &x};
    cr_assert_eq(jl_model_file_write_safetensors(path, &good, 1, NULL, 0), JL_OK, "%s", jl_last_error());
    size_t before_size;
    uint8_t *before = slurp(path, &before_size);

    jl_model_tensor twins[2] = {good, good};
    cr_assert_eq(jl_model_file_write_safetensors(path, twins, 2, NULL, 0), JL_EARG);
    cr_assert_not_null(strstr(jl_last_error(), "two tensor names are 'x'"), "%s", jl_last_error());
    jl_model_tensor no_data = {.name = "y", .dtype = JL_MODEL_F32, .ndim = 1, .shape = {4}};
    cr_assert_eq(jl_model_file_write_safetensors(path, &no_data, 1, NULL, 0), JL_EARG);
    cr_assert_not_null(strstr(jl_last_error(), "tensor 'y' has 4 elements but no data"), "%s", jl_last_error());
    jl_model_tensor reserved = {.name = "__metadata__", .dtype = JL_MODEL_F32, .ndim = 1, .shape = {1}, .data = &x};
    cr_assert_eq(jl_model_file_write_safetensors(path, &reserved, 1, NULL, 0), JL_EARG);

    size_t after_size;
    uint8_t *after = slurp(path, &after_size);
    cr_assert_eq(after_size, before_size);
    cr_assert_eq(memcmp(after, before, before_size), 0, "a failed write changed the file");
    cr_assert_eq(files_in_dir(), 1, "a failed write left a file behind");
    free(before);
    free(after);

    cr_assert_eq(jl_model_file_write_safetensors(in_dir("no/such/dir.safetensors"), &good, 1, NULL, 0), JL_EIO);
    cr_assert_not_null(strstr(jl_last_error(), "cannot create a temporary file"), "%s", jl_last_error());
    cr_assert_eq(files_in_dir(), 1);
}

Test(model_files, dtype_table)
{
    cr_assert_eq(jl_model_dtype_size(JL_MODEL_BF16), 2);
    cr_assert_eq(jl_model_dtype_size(JL_MODEL_I64), 8);
    cr_assert_eq(jl_model_dtype_size(JL_MODEL_DTYPE_COUNT), 0);
    cr_assert_str_eq(jl_model_dtype_name(JL_MODEL_BOOL), "bool");
    cr_assert_str_eq(jl_model_dtype_name((jl_model_dtype)99), "?");
}
