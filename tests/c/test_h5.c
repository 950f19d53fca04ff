/* test_h5.c — jets in HDF5: the ATLAS layout (both releases, dtype
 * conversion, MeV → GeV, hyperslab ranges, broken files, write → read round
 * trip) and the PyTables layout (plain and blosc). The fixtures in
 * tests/fixtures/ come from make_h5_fixtures.py; the expected values here are
 * the formulas written at the top of that script.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jl_h5.h"
#include "reference.h"

static int64_t live_at_start;
static void setup(void) { live_at_start = ref_live(); }
static void teardown(void) { cr_assert_eq(ref_live(), live_at_start, "tensors leaked: %lld live", (long long)(ref_live() - live_at_start)); }
TestSuite(h5, .init = setup, .fini = teardown);

/* tests/fixtures/<name>, found from this file's own path. */
static const char *fixture(const char *name)
{
    static char buf[8][1024];
    static int next;
    char *out = buf[next++ % 8];
    const char *slash = strrchr(__FILE__, '/');
    int dir = slash ? (int)(slash - __FILE__) : 0;
    snprintf(out, sizeof buf[0], "%.*s%s../fixtures/%s", dir, __FILE__, slash ? "/" : "", name);
    return out;
}

static float at(const jl_tensor *t, int64_t i) { return ((const float *)jl_data(t))[i]; }

#define NEAR(got, want, what, ...) \
    cr_assert(fabs((double)(got) - (double)(want)) <= 1e-5 * (1 + fabs((double)(want))), what ": got %.9g, want %.9g", __VA_ARGS__, (double)(got), (double)(want))

/* Checks rows [start, start + n) of an ATLAS fixture against the formulas,
 * reading `c` columns; n_real gives each jet's real constituent count. */
static void check_atlas(const jl_h5_jets *j, int64_t start, int64_t n, int64_t c, int (*n_real)(int))
{
    cr_assert_eq(j->n, n);
    cr_assert_eq(j->c, c);
    cr_assert_eq(j->pt->dtype, JL_F32);
    cr_assert_eq(j->labels->dtype, JL_I64);
    cr_assert_eq(j->weights->dtype, JL_F32);
    cr_assert_eq(j->pt->shape[0], n);
    cr_assert_eq(j->pt->shape[1], c);
    for (int64_t r = 0; r < n; r++) {
        int i = (int)(start + r);
        for (int64_t k = 0; k < c; k++) {
            int64_t o = r * c + k;
            if (k < n_real(i)) {
                double pt = (100.0 + i) / (k + 1), eta = 0.01 * k - 0.1 * i;
                NEAR(at(j->pt, o), pt, "pt jet %d col %lld", i, (long long)k);
                NEAR(at(j->eta, o), eta, "eta jet %d col %lld", i, (long long)k);
                NEAR(at(j->phi, o), 0.02 * k - 1, "phi jet %d col %lld", i, (long long)k);
                NEAR(at(j->E, o), pt * cosh(eta), "E jet %d col %lld", i, (long long)k);
            } else {
                cr_assert(at(j->pt, o) == 0 && at(j->eta, o) == 0 && at(j->phi, o) == 0 && at(j->E, o) == 0,
                          "padding jet %d col %lld", i, (long long)k);
            }
        }
        NEAR(at(j->jet_pt, r), 500 + 10.0 * i, "jet_pt %d", i);
        NEAR(at(j->jet_eta, r), 0.1 * i - 0.5, "jet_eta %d", i);
        NEAR(at(j->jet_phi, r), 0.3 * i - 1.5, "jet_phi %d", i);
        NEAR(at(j->jet_m, r), 50 + 5.0 * i, "jet_m %d", i);
        cr_assert_eq(((const int64_t *)jl_data(j->labels))[r], i % 2);
    }
}

static int real_2022(int i) { return 5 + 20 * i; }
static int real_2024(int i) { return 3 + 7 * i < 80 ? 3 + 7 * i : 80; }
static int real_4(int i) { return 4; }

Test(h5, sniffs_layouts)
{
    cr_assert_eq(jl_h5_sniff(fixture("atlas2022.h5")), JL_H5_ATLAS);
    cr_assert_eq(jl_h5_sniff(fixture("atlas2024.h5")), JL_H5_ATLAS);
    cr_assert_eq(jl_h5_sniff(fixture("atlas_missing.h5")), JL_H5_ATLAS);
    cr_assert_eq(jl_h5_sniff(fixture("pytables_plain.h5")), JL_H5_PYTABLES);
    cr_assert_eq(jl_h5_sniff(fixture("pytables_blosc.h5")), JL_H5_PYTABLES);
    cr_assert_str_eq(jl_h5_format_name(JL_H5_PYTABLES), "pytables");

    cr_assert_eq(jl_h5_sniff(fixture("pytables_nofield.h5")), JL_H5_UNKNOWN);
    cr_assert_eq(jl_last_error_code(), JL_EIO);
    cr_assert(strstr(jl_last_error(), "pytables_nofield.h5"), "%s", jl_last_error());
    cr_assert(strstr(jl_last_error(), "values_block_1"), "%s", jl_last_error());

    cr_assert_eq(jl_h5_sniff(fixture("not_hdf5.h5")), JL_H5_UNKNOWN);
    cr_assert(strstr(jl_last_error(), "not_hdf5.h5 is not an HDF5 file"), "%s", jl_last_error());

    cr_assert_eq(jl_h5_sniff(fixture("no_such_file.h5")), JL_H5_UNKNOWN);
    cr_assert(strstr(jl_last_error(), "no_such_file.h5: No such file"), "%s", jl_last_error());
}

Test(h5, atlas_2022_float64_with_weights)
{
    jl_h5_reader *r = jl_h5_open(fixture("atlas2022.h5"), 200);
    cr_assert(r, "%s", jl_last_error());
    cr_assert_eq(jl_h5_format_of(r), JL_H5_ATLAS);
    cr_assert_eq(jl_h5_count(r), 10);
    cr_assert_eq(jl_h5_columns(r), 200);
    cr_assert_str_eq(jl_h5_weights_name(r), "weights");
    jl_h5_jets j;
    cr_assert_eq(jl_h5_read(r, 0, 10, &j), JL_OK, "%s", jl_last_error());
    check_atlas(&j, 0, 10, 200, real_2022);
    for (int i = 0; i < 10; i++) NEAR(at(j.weights, i), 0.5 + 0.25 * i, "weight %d", i);
    jl_h5_jets_free(&j);
    jl_h5_jets_free(&j); /* idempotent */
    jl_h5_close(r);
}

Test(h5, atlas_2024_float32_int8_sorted_on_read)
{
    jl_h5_reader *r = jl_h5_open(fixture("atlas2024.h5"), 200);
    cr_assert(r, "%s", jl_last_error());
    cr_assert_eq(jl_h5_count(r), 12);
    cr_assert_eq(jl_h5_columns(r), 80, "min(max_constituents, C on disk)");
    cr_assert_eq(jl_h5_columns_on_disk(r), 80);
    cr_assert_str_eq(jl_h5_weights_name(r), "training_weights");
    jl_h5_jets j;
    cr_assert_eq(jl_h5_read(r, 0, 12, &j), JL_OK, "%s", jl_last_error());
    check_atlas(&j, 0, 12, 80, real_2024); /* jet 3 is stored reversed */
    for (int i = 0; i < 12; i++) NEAR(at(j.weights, i), 0.5 + 0.25 * i, "weight %d", i);
    jl_h5_jets_free(&j);
    jl_h5_close(r);
}

Test(h5, hyperslab_of_rows_and_columns)
{
    jl_h5_reader *r = jl_h5_open(fixture("atlas2022.h5"), 7);
    cr_assert(r, "%s", jl_last_error());
    cr_assert_eq(jl_h5_columns(r), 7);
    cr_assert_eq(jl_h5_columns_on_disk(r), 200);
    jl_h5_jets j;
    cr_assert_eq(jl_h5_read(r, 3, 4, &j), JL_OK, "%s", jl_last_error());
    check_atlas(&j, 3, 4, 7, real_2022);
    NEAR(at(j.weights, 0), 0.5 + 0.25 * 3, "weight of jet %d", 3);
    jl_h5_jets_free(&j);

    cr_assert_eq(jl_h5_read(r, 10, 0, &j), JL_OK, "an empty range at the end is fine");
    cr_assert_eq(j.pt->shape[0], 0);
    cr_assert_eq(j.pt->shape[1], 7);
    jl_h5_jets_free(&j);

    cr_assert_eq(jl_h5_read(r, 8, 3, &j), JL_EARG);
    cr_assert_null(j.pt);
    cr_assert(strstr(jl_last_error(), "atlas2022.h5: jets [8, 11) outside the file's 10 jets"), "%s", jl_last_error());
    cr_assert_eq(jl_h5_read(r, -1, 2, &j), JL_EARG);
    jl_h5_close(r);

    cr_assert_null(jl_h5_open(fixture("atlas2022.h5"), 0));
    cr_assert_eq(jl_last_error_code(), JL_EARG);
}

Test(h5, atlas_without_weights_reads_ones)
{
    jl_h5_reader *r = jl_h5_open(fixture("atlas_noweights.h5"), 200);
    cr_assert(r, "%s", jl_last_error());
    cr_assert_null(jl_h5_weights_name(r));
    jl_h5_jets j;
    cr_assert_eq(jl_h5_read(r, 0, 3, &j), JL_OK, "%s", jl_last_error());
    check_atlas(&j, 0, 3, 10, real_4);
    for (int i = 0; i < 3; i++) cr_assert_eq(at(j.weights, i), 1.0f);
    jl_h5_jets_free(&j);
    jl_h5_close(r);
}

/* Opening `name` fails with JL_EIO and a message holding the file and every
 * string of want (NULL-terminated). */
static void check_broken(const char *name, const char *const *want)
{
    jl_h5_reader *r = jl_h5_open(fixture(name), 200);
    cr_assert_null(r, "%s opened", name);
    cr_assert_eq(jl_last_error_code(), JL_EIO, "%s: %s", name, jl_last_error());
    cr_assert(strstr(jl_last_error(), fixture(name)), "%s", jl_last_error());
    for (; *want; want++) cr_assert(strstr(jl_last_error(), *want), "'%s' not in: %s", *want, jl_last_error());
}

Test(h5, broken_files_name_file_and_dataset)
{
    check_broken("atlas_missing.h5", (const char *[]){"missing dataset fjet_clus_phi", NULL});
    check_broken("atlas_rank.h5", (const char *[]){"dataset fjet_clus_eta has rank 1, expected 2", NULL});
    check_broken("atlas_lengths.h5", (const char *[]){"fjet_clus_pt has 3 jets", "fjet_m has 2", NULL});
    check_broken("atlas_dtype.h5", (const char *[]){"dataset fjet_eta holds string values", NULL});
    check_broken("atlas_truncated.h5", (const char *[]){"truncated", NULL});
    check_broken("not_hdf5.h5", (const char *[]){"not an HDF5 file", NULL});
    check_broken("no_such_file.h5", (const char *[]){"No such file", NULL});
    check_broken("pytables_nofield.h5", (const char *[]){"/table/table", "values_block_1", NULL});

    cr_assert_null(jl_h5_pytables_open(fixture("atlas2022.h5"), 200));
    cr_assert(strstr(jl_last_error(), "missing dataset /table/table"), "%s", jl_last_error());
    cr_assert_null(jl_h5_atlas_open(fixture("pytables_plain.h5"), 200));
    cr_assert(strstr(jl_last_error(), "missing dataset fjet_clus_pt"), "%s", jl_last_error());
}

/* Checks rows [start, start + n) of a PyTables fixture against the formulas. */
static void check_pytables(const jl_h5_jets *j, int64_t start, int64_t n, int64_t c)
{
    cr_assert_eq(j->n, n);
    cr_assert_eq(j->c, c);
    for (int64_t r = 0; r < n; r++) {
        int i = (int)(start + r), real = 3 + 5 * i;
        double sum[4] = {0, 0, 0, 0};
        for (int k = 0; k < 200 && k < real; k++) {
            double pt = (50.0 + i) / (k + 1), eta = 0.05 * k - 0.2;
            double phi = remainder(0.1 * k + 0.3 * i - 1.0, 2 * M_PI);
            sum[0] += pt * cosh(eta), sum[1] += pt * cos(phi), sum[2] += pt * sin(phi), sum[3] += pt * sinh(eta);
            if (k >= c) continue;
            int64_t o = r * c + k;
            NEAR(at(j->pt, o), pt, "pt row %d col %d", i, k);
            NEAR(at(j->eta, o), eta, "eta row %d col %d", i, k);
            NEAR(at(j->phi, o), phi, "phi row %d col %d", i, k);
            NEAR(at(j->E, o), pt * cosh(eta), "E row %d col %d", i, k);
        }
        for (int64_t k = real; k < c; k++) {
            int64_t o = r * c + k;
            cr_assert(at(j->pt, o) == 0 && at(j->eta, o) == 0 && at(j->phi, o) == 0 && at(j->E, o) == 0,
                      "padding row %d col %lld", i, (long long)k);
        }
        double jpt = hypot(sum[1], sum[2]);
        double m = sqrt(fmax(sum[0] * sum[0] - sum[1] * sum[1] - sum[2] * sum[2] - sum[3] * sum[3], 0));
        cr_assert(fabs(at(j->jet_pt, r) - jpt) <= 1e-4 * jpt, "jet_pt row %d: %g vs %g", i, at(j->jet_pt, r), jpt);
        cr_assert(fabs(at(j->jet_eta, r) - asinh(sum[3] / jpt)) <= 1e-4, "jet_eta row %d", i);
        cr_assert(fabs(at(j->jet_phi, r) - atan2(sum[2], sum[1])) <= 1e-4, "jet_phi row %d", i);
        cr_assert(fabs(at(j->jet_m, r) - m) <= 1e-3 * (1 + jpt), "jet_m row %d: %g vs %g", i, at(j->jet_m, r), m);
        cr_assert_eq(((const int64_t *)jl_data(j->labels))[r], (i + 1) % 2, "label row %d", i);
        cr_assert_eq(at(j->weights, r), 1.0f);
    }
}

Test(h5, pytables_plain)
{
    jl_h5_reader *r = jl_h5_open(fixture("pytables_plain.h5"), 200);
    cr_assert(r, "%s", jl_last_error());
    cr_assert_eq(jl_h5_format_of(r), JL_H5_PYTABLES);
    cr_assert_eq(jl_h5_count(r), 4);
    cr_assert_eq(jl_h5_columns(r), 200);
    cr_assert_null(jl_h5_weights_name(r));
    jl_h5_jets j;
    cr_assert_eq(jl_h5_read(r, 0, 4, &j), JL_OK, "%s", jl_last_error());
    check_pytables(&j, 0, 4, 200); /* row 2 is stored reversed */
    jl_h5_jets_free(&j);
    cr_assert_eq(jl_h5_read(r, 4, 0, &j), JL_OK, "%s", jl_last_error());
    cr_assert_eq(j.pt->shape[0], 0);
    cr_assert_eq(j.pt->shape[1], 200);
    jl_h5_jets_free(&j);
    jl_h5_close(r);

    r = jl_h5_open(fixture("pytables_plain.h5"), 6);
    cr_assert(r, "%s", jl_last_error());
    cr_assert_eq(jl_h5_read(r, 1, 3, &j), JL_OK, "%s", jl_last_error());
    check_pytables(&j, 1, 3, 6); /* the jet-level values still use all constituents */
    jl_h5_jets_free(&j);
    jl_h5_close(r);
}

Test(h5, pytables_blosc)
{
    cr_assert_eq(jl_h5_sniff(fixture("pytables_blosc.h5")), JL_H5_PYTABLES); /* initialises plugin paths */
    if (H5Zfilter_avail(32001) <= 0)
        cr_skip_test("the blosc HDF5 filter is not installed (Debian: hdf5-filter-plugin-blosc-serial)");
    jl_h5_reader *r = jl_h5_open(fixture("pytables_blosc.h5"), 200);
    cr_assert(r, "%s", jl_last_error());
    cr_assert_eq(jl_h5_count(r), 8);
    jl_h5_jets j;
    cr_assert_eq(jl_h5_read(r, 0, 8, &j), JL_OK, "%s", jl_last_error());
    check_pytables(&j, 0, 8, 200);
    jl_h5_jets_free(&j);
    cr_assert_eq(jl_h5_read(r, 5, 3, &j), JL_OK, "%s", jl_last_error());
    check_pytables(&j, 5, 3, 200);
    jl_h5_jets_free(&j);
    jl_h5_close(r);
}

Test(h5, unavailable_filter_is_named)
{
    H5PLset_loading_state(0); /* as if no plugin were installed */
    cr_assert_null(jl_h5_open(fixture("pytables_blosc.h5"), 200));
    cr_assert_eq(jl_last_error_code(), JL_EIO);
    cr_assert(strstr(jl_last_error(), "pytables_blosc.h5: dataset /table/table needs the HDF5 filter 'blosc' (id 32001)"),
              "%s", jl_last_error());
    cr_assert(strstr(jl_last_error(), "hdf5-filter-plugin-blosc-serial"), "%s", jl_last_error());
    cr_assert(strstr(jl_last_error(), "HDF5_PLUGIN_PATH"), "%s", jl_last_error());
}

/* ------------------------------------------------------------------ writing */

static char tmpdir[256];

static const char *tmp_path(const char *name)
{
    static char buf[512];
    if (!tmpdir[0]) {
        snprintf(tmpdir, sizeof tmpdir, "/tmp/jetlab_h5_XXXXXX");
        cr_assert(mkdtemp(tmpdir));
    }
    snprintf(buf, sizeof buf, "%s/%s", tmpdir, name);
    return buf;
}

/* Number of entries in the temporary folder (temporary files included). */
static int tmp_entries(void)
{
    DIR *d = opendir(tmpdir);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static void tmp_cleanup(void)
{
    DIR *d = opendir(tmpdir);
    char p[600];
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
        remove(p);
    }
    closedir(d);
    rmdir(tmpdir);
}

/* A batch of n jets with c columns in scrambled order: jet i constituent k
 * has pt = (1 + i) * (1 + (k * 7) % c), eta = pt / 1000, phi = -pt / 1000,
 * E = 2 pt; the last 3 columns are padding. */
static jl_h5_jets make_batch(int64_t n, int64_t c, int64_t first, bool weights)
{
    jl_h5_jets b = {.n = n, .c = c};
    int64_t nc[2] = {n, c};
    b.pt = jl_zeros(JL_F32, 2, nc, JL_CPU);
    b.eta = jl_zeros(JL_F32, 2, nc, JL_CPU);
    b.phi = jl_zeros(JL_F32, 2, nc, JL_CPU);
    b.E = jl_zeros(JL_F32, 2, nc, JL_CPU);
    jl_tensor *jets[4] = {b.jet_pt = jl_tensor_new(JL_F32, 1, &n, JL_CPU), b.jet_eta = jl_tensor_new(JL_F32, 1, &n, JL_CPU),
                          b.jet_phi = jl_tensor_new(JL_F32, 1, &n, JL_CPU), b.jet_m = jl_tensor_new(JL_F32, 1, &n, JL_CPU)};
    b.labels = jl_tensor_new(JL_I64, 1, &n, JL_CPU);
    b.weights = weights ? jl_tensor_new(JL_F32, 1, &n, JL_CPU) : NULL;
    for (int64_t r = 0; r < n; r++) {
        int64_t i = first + r;
        for (int64_t k = 0; k < c - 3; k++) {
            float pt = (float)((1 + i % 100) * (1 + (k * 7) % c));
            ((float *)jl_data(b.pt))[r * c + k] = pt;
            ((float *)jl_data(b.eta))[r * c + k] = pt / 1000;
            ((float *)jl_data(b.phi))[r * c + k] = -pt / 1000;
            ((float *)jl_data(b.E))[r * c + k] = 2 * pt;
        }
        for (int a = 0; a < 4; a++) ((float *)jl_data(jets[a]))[r] = (float)(i % 1000) + 0.25f * a;
        ((int64_t *)jl_data(b.labels))[r] = i % 2;
        if (weights) ((float *)jl_data(b.weights))[r] = 0.5f + (float)(i % 10);
    }
    return b;
}

/* Checks jets read back from a file written from make_batch. */
static void check_written(const jl_h5_jets *j, int64_t first, int64_t c, bool weights)
{
    for (int64_t r = 0; r < j->n; r++) {
        int64_t i = first + r;
        const float *pt = (const float *)jl_data(j->pt) + r * j->c;
        for (int64_t k = 0; k < j->c; k++) {
            if (k + 1 < j->c) cr_assert(pt[k] >= pt[k + 1], "jet %lld not sorted at %lld", (long long)i, (long long)k);
            if (k < c - 3) {
                /* the sorted values are (1 + i) * m for the distinct m = 1 + (k' * 7) % c */
                cr_assert_gt(pt[k], 0);
                NEAR(at(j->eta, r * j->c + k), pt[k] / 1000, "eta follows its pt, jet %lld", (long long)i);
                NEAR(at(j->phi, r * j->c + k), -pt[k] / 1000, "phi follows its pt, jet %lld", (long long)i);
                NEAR(at(j->E, r * j->c + k), 2 * pt[k], "E follows its pt, jet %lld", (long long)i);
            } else {
                cr_assert_eq(pt[k], 0, "padding jet %lld col %lld", (long long)i, (long long)k);
                cr_assert_eq(at(j->E, r * j->c + k), 0);
            }
        }
        double total = 0, want_total = 0;
        for (int64_t k = 0; k < c - 3; k++) {
            total += pt[k];
            want_total += (double)((1 + i % 100) * (1 + (k * 7) % c));
        }
        NEAR(total, want_total, "sum of pt of jet %lld", (long long)i);
        NEAR(at(j->jet_pt, r), (double)(i % 1000), "jet_pt %lld", (long long)i);
        NEAR(at(j->jet_m, r), (double)(i % 1000) + 0.75, "jet_m %lld", (long long)i);
        cr_assert_eq(((const int64_t *)jl_data(j->labels))[r], i % 2);
        cr_assert_eq(at(j->weights, r), weights ? 0.5f + (float)(i % 10) : 1.0f);
    }
}

Test(h5, write_read_round_trip)
{
    const char *path = tmp_path("round.h5");
    jl_h5_jets b = make_batch(5, 30, 0, true);
    cr_assert_eq(jl_h5_atlas_write(path, &b), JL_OK, "%s", jl_last_error());
    cr_assert_eq(tmp_entries(), 1, "no temporary file left");

    jl_h5_reader *r = jl_h5_open(path, 200);
    cr_assert(r, "%s", jl_last_error());
    cr_assert_eq(jl_h5_count(r), 5);
    cr_assert_eq(jl_h5_columns_on_disk(r), 200);
    cr_assert_str_eq(jl_h5_weights_name(r), "training_weights");
    jl_h5_jets j;
    cr_assert_eq(jl_h5_read(r, 0, 5, &j), JL_OK, "%s", jl_last_error());
    check_written(&j, 0, 30, true);
    /* the largest pt of jet 4 is 5 * max(1 + (k * 7) % 30) = 5 * 30 */
    cr_assert_eq(at(j.pt, 4 * 200), 150.0f);
    jl_h5_jets_free(&j);
    jl_h5_close(r);

    /* on disk: MeV, float32 / int32, chunked and compressed */
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = H5Dopen2(f, "fjet_m", H5P_DEFAULT);
    float m[5];
    H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, m);
    cr_assert_eq(m[2], 2750.0f, "fjet_m in MeV");
    hid_t t = H5Dget_type(d);
    cr_assert(H5Tequal(t, H5T_IEEE_F32LE) > 0);
    H5Tclose(t);
    hid_t dcpl = H5Dget_create_plist(d);
    cr_assert_eq(H5Pget_layout(dcpl), H5D_CHUNKED);
    hsize_t chunk[1];
    H5Pget_chunk(dcpl, 1, chunk);
    cr_assert_eq(chunk[0], 1024);
    H5Pclose(dcpl);
    H5Dclose(d);
    d = H5Dopen2(f, "labels", H5P_DEFAULT);
    t = H5Dget_type(d);
    cr_assert(H5Tequal(t, H5T_STD_I32LE) > 0, "labels are int32");
    H5Tclose(t);
    H5Dclose(d);
    d = H5Dopen2(f, "fjet_clus_pt", H5P_DEFAULT);
    dcpl = H5Dget_create_plist(d);
    cr_assert_eq(H5Pget_nfilters(dcpl), 2, "shuffle + deflate");
    H5Pclose(dcpl);
    float pt0;
    hsize_t off[2] = {4, 0}, one[2] = {1, 1};
    hid_t fs = H5Dget_space(d), ms = H5Screate_simple(2, one, NULL);
    H5Sselect_hyperslab(fs, H5S_SELECT_SET, off, NULL, one, NULL);
    H5Dread(d, H5T_NATIVE_FLOAT, ms, fs, H5P_DEFAULT, &pt0);
    cr_assert_eq(pt0, 150000.0f, "constituent pt in MeV");
    H5Sclose(fs);
    H5Sclose(ms);
    H5Dclose(d);
    H5Fclose(f);

    jl_h5_jets_free(&b);
    tmp_cleanup();
}

Test(h5, writer_appends_batches_across_chunks)
{
    const char *path = tmp_path("many.h5");
    jl_h5_writer *w = jl_h5_writer_open(path);
    cr_assert(w, "%s", jl_last_error());
    int64_t sizes[3] = {3, 1500, 0}, first = 0;
    for (int s = 0; s < 3; s++) {
        jl_h5_jets b = make_batch(sizes[s], 12, first, false);
        cr_assert_eq(jl_h5_writer_write(w, &b), JL_OK, "%s", jl_last_error());
        first += sizes[s];
        jl_h5_jets_free(&b);
    }
    cr_assert_eq(jl_h5_writer_count(w), 1503);
    cr_assert_eq(tmp_entries(), 1, "only the temporary file exists before close");
    cr_assert(access(path, F_OK) != 0, "nothing at the final path before close");
    cr_assert_eq(jl_h5_writer_close(w), JL_OK, "%s", jl_last_error());
    cr_assert_eq(tmp_entries(), 1);

    jl_h5_reader *r = jl_h5_open(path, 9);
    cr_assert(r, "%s", jl_last_error());
    cr_assert_eq(jl_h5_count(r), 1503);
    jl_h5_jets j;
    cr_assert_eq(jl_h5_read(r, 1020, 10, &j), JL_OK, "%s", jl_last_error()); /* across the chunk boundary */
    check_written(&j, 1020, 9 + 3, false);
    jl_h5_jets_free(&j);
    cr_assert_eq(jl_h5_read(r, 0, 1503, &j), JL_OK, "%s", jl_last_error());
    check_written(&j, 0, 12, false);
    jl_h5_jets_free(&j);
    jl_h5_close(r);
    tmp_cleanup();
}

Test(h5, writer_discard_and_errors)
{
    const char *path = tmp_path("discarded.h5");
    jl_h5_writer *w = jl_h5_writer_open(path);
    cr_assert(w, "%s", jl_last_error());
    jl_h5_jets b = make_batch(4, 10, 0, true);
    cr_assert_eq(jl_h5_writer_write(w, &b), JL_OK, "%s", jl_last_error());

    jl_tensor *keep = b.jet_m;
    b.jet_m = jl_zeros(JL_F32, 1, (int64_t[]){3}, JL_CPU);
    cr_assert_eq(jl_h5_writer_write(w, &b), JL_EARG);
    cr_assert(strstr(jl_last_error(), "jet_m must be (4), got (3)"), "%s", jl_last_error());
    jl_release(b.jet_m);
    b.jet_m = keep;
    keep = b.pt;
    b.pt = jl_zeros(JL_F32, 2, (int64_t[]){4, 201}, JL_CPU);
    cr_assert_eq(jl_h5_writer_write(w, &b), JL_EARG);
    cr_assert(strstr(jl_last_error(), "c <= 200"), "%s", jl_last_error());
    jl_release(b.pt);
    b.pt = keep;

    jl_h5_writer_discard(w);
    cr_assert_eq(tmp_entries(), 0, "discard leaves nothing");

    cr_assert_eq(jl_h5_atlas_write("/nonexistent-dir/x.h5", &b), JL_EIO);
    cr_assert(strstr(jl_last_error(), "/nonexistent-dir/x.h5"), "%s", jl_last_error());
    jl_h5_jets_free(&b);
    tmp_cleanup();
}
