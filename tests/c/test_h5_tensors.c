/* test_h5_tensors.c — jl_h5t: every dtype and rank (0-d, empty, strided
 * views) round-trips exactly with its attributes; commit is atomic (no .tmp
 * left, failures remove it and keep the old file); read errors name the file
 * and the problem; no leaked tensors. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jl_h5_tensors.h"
#include "reference.h"

static int64_t live_at_start;
static char dir[64];

static void setup(void)
{
    live_at_start = ref_live();
    snprintf(dir, sizeof dir, "/tmp/jl_h5t_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
    cr_assert_eq(ref_live(), live_at_start, "tensors leaked");
}
TestSuite(h5_tensors, .init = setup, .fini = teardown);

static const char *in_dir(const char *name)
{
    static char buf[4][256];
    static int next;
    char *b = buf[next++ % 4];
    snprintf(b, 256, "%s/%s", dir, name);
    return b;
}

static bool exists(const char *path) { return access(path, F_OK) == 0; }

static const jl_h5t_dataset *find(const jl_h5t_file *f, const char *name)
{
    for (int i = 0; i < f->n_datasets; i++)
        if (strcmp(f->datasets[i].name, name) == 0) return &f->datasets[i];
    return NULL;
}

static const jl_h5t_attr *find_attr(const jl_h5t_file *f, const char *object, const char *key)
{
    for (int i = 0; i < f->n_attrs; i++)
        if (strcmp(f->attrs[i].object, object) == 0 && strcmp(f->attrs[i].key, key) == 0) return &f->attrs[i];
    return NULL;
}

static void assert_same(const jl_tensor *got, const jl_tensor *want, const char *name)
{
    cr_assert_not_null(got, "%s missing", name);
    cr_assert_eq(got->dtype, want->dtype, "%s dtype", name);
    cr_assert_eq(got->ndim, want->ndim, "%s rank", name);
    for (int d = 0; d < want->ndim; d++) cr_assert_eq(got->shape[d], want->shape[d], "%s dim %d", name, d);
    int64_t n = jl_numel(want);
    double *a = malloc((size_t)(n + 1) * sizeof *a), *b = malloc((size_t)(n + 1) * sizeof *b);
    cr_assert_eq(jl_to_doubles(got, a), JL_OK);
    cr_assert_eq(jl_to_doubles(want, b), JL_OK);
    cr_assert_eq(memcmp(a, b, (size_t)n * sizeof *a), 0, "%s values differ", name);
    free(a), free(b);
}

Test(h5_tensors, every_dtype_and_rank_round_trips_with_attributes)
{
    jl_tensor *w = ref_randn(3, (int64_t[]){2, 3, 4}, 1, false);
    jl_tensor *wt = jl_transpose(w, 0, 2); /* a strided view (4, 3, 2) */
    jl_tensor *scalar = jl_full(JL_F32, 0, NULL, 2.5, JL_CPU);
    jl_tensor *empty = jl_zeros(JL_F32, 2, (int64_t[]){0, 5}, JL_CPU);
    jl_tensor *i64 = jl_arange(JL_I64, -3, 4, 1, JL_CPU);
    jl_tensor *i32 = jl_arange(JL_I32, 0, 6, 1, JL_CPU);
    jl_tensor *u8 = jl_full(JL_U8, 1, (int64_t[]){3}, 255, JL_CPU);
    const char *path = in_dir("all.h5");

    jl_h5t_writer *wr = jl_h5t_create(path);
    cr_assert_not_null(wr, "%s", jl_last_error());
    cr_assert_eq(jl_h5t_write(wr, "/model/blocks.1.weight", w), JL_OK, "%s", jl_last_error());
    cr_assert_eq(jl_h5t_write(wr, "model/wt", wt), JL_OK, "%s", jl_last_error());
    cr_assert_eq(jl_h5t_write(wr, "/s", scalar), JL_OK, "%s", jl_last_error());
    cr_assert_eq(jl_h5t_write(wr, "/a/b/c/empty", empty), JL_OK, "%s", jl_last_error());
    cr_assert_eq(jl_h5t_write(wr, "/i64", i64), JL_OK, "%s", jl_last_error());
    cr_assert_eq(jl_h5t_write(wr, "/i32", i32), JL_OK, "%s", jl_last_error());
    cr_assert_eq(jl_h5t_write(wr, "/u8", u8), JL_OK, "%s", jl_last_error());
    cr_assert_eq(jl_h5t_attr_number(wr, "/", "epoch", 12), JL_OK, "%s", jl_last_error());
    cr_assert_eq(jl_h5t_attr_number(wr, "/", "epoch", 13), JL_OK, "replacing an attribute");
    cr_assert_eq(jl_h5t_attr_string(wr, "/optimizer", "skeleton", "{lr = 0.001}"), JL_OK, "%s", jl_last_error());
    cr_assert_eq(jl_h5t_attr_string(wr, "/model/wt", "empty", ""), JL_OK, "%s", jl_last_error());
    cr_assert(exists(in_dir("all.h5.tmp")) && !exists(path), "data goes to the .tmp until commit");
    cr_assert_eq(jl_h5t_commit(wr), JL_OK, "%s", jl_last_error());
    cr_assert(exists(path) && !exists(in_dir("all.h5.tmp")));

    jl_h5t_file *f = jl_h5t_read_all(path, "checkpoint");
    cr_assert_not_null(f, "%s", jl_last_error());
    cr_assert_eq(f->n_datasets, 7);
    assert_same(find(f, "/model/blocks.1.weight")->tensor, w, "w");
    assert_same(find(f, "/model/wt")->tensor, wt, "wt");
    assert_same(find(f, "/s")->tensor, scalar, "s");
    assert_same(find(f, "/a/b/c/empty")->tensor, empty, "empty");
    assert_same(find(f, "/i64")->tensor, i64, "i64");
    assert_same(find(f, "/i32")->tensor, i32, "i32");
    assert_same(find(f, "/u8")->tensor, u8, "u8");
    cr_assert_eq(f->n_attrs, 3);
    cr_assert_eq(find_attr(f, "/", "epoch")->number, 13.0);
    cr_assert_null(find_attr(f, "/", "epoch")->string);
    cr_assert_str_eq(find_attr(f, "/optimizer", "skeleton")->string, "{lr = 0.001}");
    cr_assert_str_eq(find_attr(f, "/model/wt", "empty")->string, "");
    jl_h5t_file_free(f);

    jl_release(w), jl_release(wt), jl_release(scalar), jl_release(empty);
    jl_release(i64), jl_release(i32), jl_release(u8);
}

Test(h5_tensors, failures_remove_the_tmp_and_keep_the_old_file)
{
    jl_tensor *t = jl_zeros(JL_F32, 1, (int64_t[]){2}, JL_CPU);
    const char *path = in_dir("keep.h5");
    jl_h5t_writer *wr = jl_h5t_create(path);
    cr_assert_eq(jl_h5t_write(wr, "/old", t), JL_OK);
    cr_assert_eq(jl_h5t_commit(wr), JL_OK);

    wr = jl_h5t_create(path);
    cr_assert_eq(jl_h5t_write(wr, "/x", t), JL_OK);
    cr_assert_lt(jl_h5t_write(wr, "/x", t), 0, "a taken name fails");
    cr_assert(strstr(jl_last_error(), "cannot create dataset /x in ") && strstr(jl_last_error(), "keep.h5.tmp"), "%s",
              jl_last_error());
    cr_assert_lt(jl_h5t_write(wr, "/x/y", t), 0, "nothing can live under a dataset");
    jl_h5t_abort(wr);
    cr_assert(!exists(in_dir("keep.h5.tmp")), "abort removes the .tmp");

    jl_h5t_file *f = jl_h5t_read_all(path, NULL);
    cr_assert_not_null(f, "%s", jl_last_error());
    cr_assert_eq(f->n_datasets, 1);
    cr_assert_str_eq(f->datasets[0].name, "/old");
    jl_h5t_file_free(f);

    cr_assert_null(jl_h5t_create(in_dir("no/such/folder/x.h5")));
    cr_assert(strstr(jl_last_error(), "cannot create ") && strstr(jl_last_error(), "no/such/folder/x.h5.tmp"), "%s",
              jl_last_error());
    jl_release(t);
}

Test(h5_tensors, read_errors_name_the_file)
{
    jl_h5t_file *f = jl_h5t_read_all(in_dir("missing.h5"), "checkpoint");
    cr_assert_null(f);
    cr_assert_eq(jl_last_error_code(), JL_EIO);
    cr_assert(strstr(jl_last_error(), "missing.h5: No such file or directory"), "%s", jl_last_error());

    const char *text = in_dir("text.h5");
    FILE *fp = fopen(text, "w");
    fputs("hello\n", fp);
    fclose(fp);
    cr_assert_null(jl_h5t_read_all(text, "checkpoint"));
    cr_assert(strstr(jl_last_error(), "text.h5: not a valid HDF5 checkpoint (truncated or corrupt?)"), "%s",
              jl_last_error());

    /* a real file cut in half */
    jl_tensor *big = ref_randn(2, (int64_t[]){100, 100}, 2, false);
    const char *path = in_dir("full.h5");
    jl_h5t_writer *wr = jl_h5t_create(path);
    cr_assert_eq(jl_h5t_write(wr, "/big", big), JL_OK);
    cr_assert_eq(jl_h5t_commit(wr), JL_OK);
    jl_release(big);
    fp = fopen(path, "rb");
    fseek(fp, 0, SEEK_END);
    long size = ftell(fp);
    rewind(fp);
    char *bytes = malloc((size_t)size);
    cr_assert_eq(fread(bytes, 1, (size_t)size, fp), (size_t)size);
    fclose(fp);
    const char *cut = in_dir("cut.h5");
    fp = fopen(cut, "wb");
    fwrite(bytes, 1, (size_t)size / 2, fp);
    fclose(fp);
    free(bytes);
    cr_assert_null(jl_h5t_read_all(cut, "file"));
    cr_assert(strstr(jl_last_error(), "cut.h5: not a valid HDF5 file (truncated or corrupt?)"), "%s", jl_last_error());
}
