/* test_h5_guard.c — HDF5 reads in a forked child (jl_h5_guard.h): every file
 * of tests/fuzz/hdf5_crashes read through the public APIs (jets and
 * checkpoints) gives an error naming the file, or (the over-reads, which only
 * AddressSanitizer sees) a clean result; the crashes of the Release library
 * (SEGV, SIGFPE, runaway heap, use-after-free) are errors saying the file is
 * corrupt, at isolation level 1 (the default) and 2; afterwards this process's tensors, open readers and HDF5 state
 * are intact and a good file reads correctly. The guard itself: a signal,
 * runaway memory and a hang in the child become errors naming the file and
 * the step; a child's status and message and its shared output come back.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer) && !defined(__SANITIZE_ADDRESS__)
#define __SANITIZE_ADDRESS__ 1
#endif
#endif

#include "jl_h5.h"
#include "jl_h5_guard.h"
#include "jl_h5_tensors.h"
#include "reference.h"

static int64_t live_at_start;
static void setup(void)
{
    live_at_start = ref_live();
    jl_h5_set_isolation(JL_H5_ISOLATE_OPEN);
    /* the runaway file grows at about 0.5 GB/s: stop it early */
    jl_h5_guard_limits(256, 30);
}
static void teardown(void) { cr_assert_eq(ref_live(), live_at_start, "tensors leaked"); }
TestSuite(h5_guard, .init = setup, .fini = teardown);

/* <tests>/<sub>/<name>, found from this file's own path. */
static const char *test_file(const char *sub, const char *name)
{
    static char buf[8][1024];
    static int next;
    char *out = buf[next++ % 8];
    const char *slash = strrchr(__FILE__, '/');
    int dir = slash ? (int)(slash - __FILE__) : 0;
    snprintf(out, sizeof buf[0], "%.*s%s../%s/%s", dir, __FILE__, slash ? "/" : "", sub, name);
    return out;
}

static const char *const crashes[] = {
    "h5lexists_accum_read_segv.h5", "h5dget_type_fpe.h5",        "conv_struct_use_after_free.h5",
    "h5lexists_runaway_heap.h5",    "chunk_read_overflow.h5",    "node_iterate_name_overread.h5",
    "blosc_chunk_overread.h5",      "ent_to_link_strdup_overread.h5", "h5lvisit_heap_growth.h5",
};
#define N_CRASHES (sizeof crashes / sizeof crashes[0])

/* Crash in the Release library too: must be an error saying so. */
static bool crashes_in_release(const char *name)
{
    return strstr(name, "segv") || strstr(name, "fpe") || strstr(name, "runaway") || strstr(name, "after_free");
}

/* Reads every jet of r in batches of 1000, twice; JL_OK or the first failure. */
static int read_everything(jl_h5_reader *r)
{
    for (int pass = 0; pass < 2; pass++) {
        for (int64_t s = 0; s < jl_h5_count(r); s += 1000) {
            int64_t n = jl_h5_count(r) - s < 1000 ? jl_h5_count(r) - s : 1000;
            jl_h5_jets j;
            int rc = jl_h5_read(r, s, n, &j);
            if (rc != JL_OK) return rc;
            jl_h5_jets_free(&j);
        }
    }
    return JL_OK;
}

/* The good fixture reads as make_h5_fixtures.py wrote it (jet 0's first pt). */
static void check_good_file(void)
{
    jl_h5_reader *r = jl_h5_open(test_file("fixtures", "atlas2024.h5"), 200);
    cr_assert_not_null(r, "%s", jl_last_error());
    jl_h5_jets j;
    cr_assert_eq(jl_h5_read(r, 0, jl_h5_count(r), &j), JL_OK, "%s", jl_last_error());
    cr_assert_float_eq(((float *)jl_data(j.pt))[0], 100.0f, 1e-3);
    jl_h5_jets_free(&j);
    jl_h5_close(r);
}

/* At isolation `level`: every crash file through jl_h5_open and jl_h5_read. */
static void survive_crash_files(int level)
{
    jl_h5_set_isolation(level);
    /* state made before the bad files: a tensor and an open reader */
    jl_tensor *keep = ref_tensor(1, (int64_t[]){3}, (float[]){1, 2, 3}, false);
    jl_h5_reader *good = jl_h5_open(test_file("fixtures", "atlas2022.h5"), 200);
    cr_assert_not_null(good, "%s", jl_last_error());
    for (size_t k = 0; k < N_CRASHES; k++) {
        const char *path = test_file("fuzz/hdf5_crashes", crashes[k]);
        jl_h5_reader *r = jl_h5_open(path, 200);
        int rc = r ? read_everything(r) : jl_last_error_code();
        const char *m = jl_last_error();
        jl_h5_close(r);
        if (rc != JL_OK) {
            cr_assert(strstr(m, path), "%s: the error does not name the file: %s", crashes[k], m);
            cr_assert(rc == JL_EIO, "%s: code %d: %s", crashes[k], rc, m);
        }
        if (crashes_in_release(crashes[k])) {
            cr_assert(rc != JL_OK, "%s: read without an error", crashes[k]);
            cr_assert(strstr(m, "the file is corrupt"), "%s: %s", crashes[k], m);
        }
        check_good_file();
    }
    const float *v = jl_data(keep);
    cr_assert(v[0] == 1 && v[1] == 2 && v[2] == 3, "the tensor made before changed");
    jl_h5_jets j;
    cr_assert_eq(jl_h5_read(good, 0, jl_h5_count(good), &j), JL_OK, "%s", jl_last_error());
    jl_h5_jets_free(&j);
    jl_h5_close(good);
    jl_release(keep);
}

Test(h5_guard, jets_reader_survives_every_hdf5_crash) { survive_crash_files(JL_H5_ISOLATE_OPEN); }
Test(h5_guard, jets_reader_survives_every_hdf5_crash_all_reads_isolated) { survive_crash_files(JL_H5_ISOLATE_ALL); }

Test(h5_guard, checkpoint_reader_survives_every_hdf5_crash)
{
    for (size_t k = 0; k < N_CRASHES; k++) {
        const char *path = test_file("fuzz/hdf5_crashes", crashes[k]);
        jl_h5t_file *f = jl_h5t_read_all(path, "checkpoint");
        if (!f) cr_assert(strstr(jl_last_error(), path), "%s: %s", crashes[k], jl_last_error());
        if (strstr(crashes[k], "segv") || strstr(crashes[k], "fpe") || strstr(crashes[k], "runaway"))
            cr_assert(!f && strstr(jl_last_error(), "the file is corrupt"), "%s: %s", crashes[k],
                      f ? "read" : jl_last_error());
        jl_h5t_file_free(f);
    }
    jl_h5t_file *good = jl_h5t_read_all(test_file("fixtures", "golden_mlp.h5"), "checkpoint");
    cr_assert_not_null(good, "%s", jl_last_error());
    cr_assert_gt(good->n_datasets, 0);
    jl_h5t_file_free(good);
}

/* Other threads allocating tensors, and reading jets in-process, while this
 * one forks for checkpoint trials: no child may inherit a lock held by
 * another thread (jetlab's HDF5 lock, the host cache's), or it hangs to the
 * time limit. */
static atomic_bool stop_busy;

static void *allocating_thread(void *arg)
{
    while (!atomic_load(&stop_busy)) jl_release(jl_tensor_new(JL_F32, 1, (int64_t[]){1000}, JL_CPU));
    return NULL;
}

static void *reading_thread(void *arg)
{
    jl_h5_reader *r = arg;
    while (!atomic_load(&stop_busy)) {
        jl_h5_jets j;
        if (jl_h5_read(r, 0, jl_h5_count(r), &j) == JL_OK) jl_h5_jets_free(&j);
    }
    return NULL;
}

Test(h5_guard, forks_while_other_threads_read_and_allocate)
{
#if defined(__SANITIZE_ADDRESS__)
    cr_skip_test("AddressSanitizer's allocator is not fork-safe with other threads allocating");
#endif
    jl_h5_guard_limits(0, 5);
    jl_h5_reader *r = jl_h5_open(test_file("fixtures", "atlas2024.h5"), 200);
    cr_assert_not_null(r, "%s", jl_last_error());
    atomic_store(&stop_busy, false);
    pthread_t alloc, read;
    cr_assert_eq(pthread_create(&alloc, NULL, allocating_thread, NULL), 0);
    cr_assert_eq(pthread_create(&read, NULL, reading_thread, r), 0);
    for (int k = 0; k < 40; k++) {
        jl_h5t_file *f = jl_h5t_read_all(test_file("fixtures", "golden_mlp.h5"), "checkpoint");
        cr_assert_not_null(f, "read %d: %s", k, jl_last_error());
        jl_h5t_file_free(f);
    }
    atomic_store(&stop_busy, true);
    pthread_join(alloc, NULL);
    pthread_join(read, NULL);
    jl_h5_close(r);
}

/* ------------------------------------------------------------ the guard */

static int crash(void *ctx)
{
    jl_h5_guard_step("reading dataset \"%s\"", (const char *)ctx);
    raise(SIGSEGV);
    return JL_OK;
}

static int run_away(void *ctx)
{
    jl_h5_guard_step("looking up \"x\"");
    for (;;) {
        char *p = malloc(1 << 20);
        if (p) memset(p, 1, 1 << 20);
    }
    return JL_OK;
}

static int hang(void *ctx)
{
    for (;;) pause();
    return JL_OK;
}

static int fail(void *ctx) { return JL_FAIL_CODE(JL_EIO, "x.h5: missing dataset %s", (const char *)ctx); }

static int produce(void *ctx)
{
    int *out = ctx;
    for (int i = 0; i < 1000; i++) out[i] = i * i;
    return JL_OK;
}

Test(h5_guard, a_crash_names_the_file_the_step_and_the_signal)
{
    int rc = jl_h5_guarded("jets.h5", "reading jets [0, 10)", 0, crash, "fjet_clus_pt");
    cr_assert_eq(rc, JL_EIO);
    cr_assert(strstr(jl_last_error(), "jets.h5: HDF5 crashed (SIGSEGV) while reading dataset \"fjet_clus_pt\": "
                                      "the file is corrupt"), "%s", jl_last_error());
}

Test(h5_guard, runaway_memory_and_hangs_are_stopped)
{
    jl_h5_guard_limits(64, 1);
    int rc = jl_h5_guarded("a.h5", "opening the file", 0, run_away, NULL);
    cr_assert_eq(rc, JL_EIO);
    cr_assert(strstr(jl_last_error(), "a.h5: HDF5 used more than 64 MiB while looking up \"x\""), "%s",
              jl_last_error());
    rc = jl_h5_guarded("b.h5", "opening the file", 0, hang, NULL);
    cr_assert_eq(rc, JL_EIO);
    cr_assert(strstr(jl_last_error(), "b.h5: HDF5 did not finish within 1 s while opening the file"), "%s",
              jl_last_error());
}

Test(h5_guard, status_message_and_shared_output_come_back)
{
    for (int iso = 0; iso < 2; iso++) {
        jl_h5_set_isolation(iso);
        int rc = jl_h5_guarded("x.h5", "opening", 0, fail, "labels");
        cr_assert_eq(rc, JL_EIO);
        cr_assert(strstr(jl_last_error(), "x.h5: missing dataset labels"), "%s", jl_last_error());
        int *out = jl_h5_shared_alloc(1000 * sizeof(int));
        cr_assert_not_null(out);
        cr_assert_eq(jl_h5_guarded("x.h5", "reading", 4000, produce, out), JL_OK, "%s", jl_last_error());
        cr_assert_eq(out[999], 999 * 999);
        jl_h5_shared_free(out, 1000 * sizeof(int));
    }
}
