/* test_features.c — the ATLAS features against the PyTorch peer's recipe
 * (tests/fixtures/features.h5, written by make_features_fixture.py with the
 * peer's atlas_features), ragged against padded, standardisation, moments,
 * checks of raw jets, degradation (never negative or NaN, E >= pT cosh eta,
 * sorted, keyed by jet index, the smearing's spread, undersampling), thread
 * count independence, argument errors and leaks; splits, and the loader with
 * and without its prefetch thread, its skip counts and sticky errors. */
#include <criterion/criterion.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jl_features.h"
#include "jl_h5.h"
#include "jl_loader.h"
#include "jl_parallel.h"
#include "reference.h"

#define FN 16 /* jets in the fixture */
#define FC 24 /* columns */

static const char *fixture(const char *name)
{
    static char path[4096];
    const char *slash = strrchr(__FILE__, '/');
    int dir = slash ? (int)(slash - __FILE__) : 1;
    snprintf(path, sizeof path, "%.*s/../fixtures/%s", dir, slash ? __FILE__ : ".", name);
    return path;
}

static jl_h5_jets read_fixture(void)
{
    jl_h5_reader *r = jl_h5_open(fixture("features.h5"), FC);
    cr_assert_not_null(r, "%s", jl_last_error());
    cr_assert_eq(jl_h5_count(r), FN);
    jl_h5_jets j;
    cr_assert_eq(jl_h5_read(r, 0, FN, &j), JL_OK, "%s", jl_last_error());
    jl_h5_close(r);
    return j;
}

/* A float64 dataset of the fixture, all of it, into a malloc'd buffer. */
static double *read_expected(const char *name, int64_t n)
{
    hid_t f = H5Fopen(fixture("features.h5"), H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert_geq(f, 0);
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    cr_assert_geq(d, 0, "dataset %s", name);
    double *v = malloc((size_t)n * sizeof *v);
    cr_assert_geq(H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v), 0);
    H5Dclose(d);
    H5Fclose(f);
    return v;
}

static bool jet_valid(const jl_h5_jets *j, int64_t i)
{
    int64_t o = i * j->c;
    return jl_jet_check((float *)jl_data(j->pt) + o, (float *)jl_data(j->eta) + o,
                        (float *)jl_data(j->phi) + o, (float *)jl_data(j->E) + o, j->c) == JL_JET_OK;
}

static void compare_with_peer(int64_t max_constituents, const char *dataset)
{
    int64_t before = ref_live();
    jl_h5_jets j = read_fixture();
    int64_t cm = max_constituents;
    double *want = read_expected(dataset, FN * cm * JL_FEATURES);
    jl_features_opts o = {.max_constituents = cm};
    jl_tensor *x = jl_atlas_features(j.pt, j.eta, j.phi, j.E, &o);
    cr_assert_not_null(x, "%s", jl_last_error());
    cr_assert_eq(x->ndim, 3);
    cr_assert_eq(x->shape[0], FN);
    cr_assert_eq(x->shape[1], cm);
    cr_assert_eq(x->shape[2], JL_FEATURES);
    const float *got = jl_data(x);
    int checked = 0;
    for (int64_t i = 0; i < FN; i++) {
        if (!jet_valid(&j, i)) continue;
        checked++;
        for (int64_t k = 0; k < cm * JL_FEATURES; k++) {
            double g = got[i * cm * JL_FEATURES + k], w = want[i * cm * JL_FEATURES + k];
            cr_assert_leq(fabs(g - w), 1e-5 * (1 + fabs(w)), "%s jet %lld constituent %lld feature %lld: got %.9g, want %.9g",
                          dataset, (long long)i, (long long)(k / JL_FEATURES), (long long)(k % JL_FEATURES), g, w);
            if (w == 0 && (k % JL_FEATURES) >= 2) cr_assert_eq(g, 0.0, "padding must stay exactly 0");
        }
    }
    cr_assert_eq(checked, 14, "the fixture has 14 valid jets");
    free(want);
    jl_release(x);
    jl_h5_jets_free(&j);
    cr_assert_eq(ref_live(), before, "leak");
}

Test(features, match_the_peer_all_columns) { compare_with_peer(FC, "expected"); }

Test(features, match_the_peer_first_10_columns) { compare_with_peer(10, "expected_10"); }

Test(features, padding_rows_are_exactly_zero)
{
    jl_h5_jets j = read_fixture();
    jl_features_opts o = {.max_constituents = FC};
    jl_tensor *x = jl_atlas_features(j.pt, j.eta, j.phi, j.E, &o);
    const float *pt = jl_data(j.pt), *v = jl_data(x);
    for (int64_t i = 0; i < FN * FC; i++)
        if (!(pt[i] > 0))
            for (int k = 0; k < JL_FEATURES; k++) cr_assert_eq(v[i * JL_FEATURES + k], 0.0f);
    jl_release(x);
    jl_h5_jets_free(&j);
}

Test(features, ragged_holds_the_real_rows_of_padded)
{
    int64_t before = ref_live();
    jl_h5_jets j = read_fixture();
    jl_standardize s = {.mean = {0.1, -0.2, 3, 4, -2, -2, 0.3}, .std = {0.5, 0.5, 1, 1, 2, 2, 0.25}};
    jl_features_opts raw = {.max_constituents = 10}, std = {.max_constituents = 10, .standardize = &s};
    jl_tensor *x = jl_atlas_features(j.pt, j.eta, j.phi, j.E, &raw);
    jl_tensor *xs = jl_atlas_features(j.pt, j.eta, j.phi, j.E, &std);
    jl_tensor *xr, *off, *coords;
    cr_assert_eq(jl_atlas_features_ragged(j.pt, j.eta, j.phi, j.E, &std, &xr, &off, &coords), JL_OK);
    cr_assert_eq(off->shape[0], FN + 1);
    const int64_t *o = jl_data(off);
    const float *pt = jl_data(j.pt), *p = jl_data(x), *ps = jl_data(xs), *r = jl_data(xr), *c = jl_data(coords);
    cr_assert_eq(o[0], 0);
    for (int64_t i = 0; i < FN; i++) {
        int64_t real = 0;
        while (real < 10 && pt[i * FC + real] > 0) real++;
        cr_assert_eq(o[i + 1] - o[i], real, "jet %lld", (long long)i);
        if (!jet_valid(&j, i)) continue; /* jet 13's NaN propagates: invalid jets are the loader's to drop */
        for (int64_t q = 0; q < 10; q++) {
            const float *prow = p + (i * 10 + q) * JL_FEATURES, *srow = ps + (i * 10 + q) * JL_FEATURES;
            for (int k = 0; k < JL_FEATURES; k++) {
                if (q >= real) {
                    cr_assert_eq(srow[k], 0.0f, "standardised padding stays 0");
                    continue;
                }
                const float *rrow = r + (o[i] + q) * JL_FEATURES;
                cr_assert_eq(rrow[k], srow[k], "jet %lld q %lld k %d: %.9g vs %.9g", (long long)i, (long long)q, k, rrow[k], srow[k]);
                double want = (prow[k] - s.mean[k]) / s.std[k];
                cr_assert_leq(fabs(srow[k] - want), 1e-5 * (1 + fabs(want)));
            }
            if (q < real) {
                cr_assert_eq(c[2 * (o[i] + q)], prow[0], "coords are the raw eta'");
                cr_assert_eq(c[2 * (o[i] + q) + 1], prow[1], "coords are the raw phi'");
            }
        }
    }
    jl_release(x);
    jl_release(xs);
    jl_release(xr);
    jl_release(off);
    jl_release(coords);
    jl_h5_jets_free(&j);
    cr_assert_eq(ref_live(), before, "leak");
}

Test(features, rotation_and_flip_conventions)
{
    /* hardest at (1, 3.0), second at (1.3, -3.1) across the phi seam, third below */
    float pt[4] = {100, 50, 20, 0}, eta[4] = {1.0f, 1.3f, 0.7f, 0}, phi[4] = {3.0f, -3.1f, 2.9f, 0};
    float E[4] = {200, 120, 30, 0}, rows[4 * JL_FEATURES], coords[8];
    jl_features_opts o = {0};
    cr_assert_eq(jl_jet_features(pt, eta, phi, E, 4, &o, rows, coords), 3);
    cr_assert_float_eq(rows[0], 0.0f, 1e-7);
    cr_assert_float_eq(rows[1], 0.0f, 1e-7);
    /* the second on the -phi axis at its distance from the first */
    double dphi = -3.1 - 3.0 + 2 * M_PI, dr = sqrt(0.3 * 0.3 + dphi * dphi);
    cr_assert_float_eq(rows[JL_FEATURES + 0], 0.0f, 1e-6);
    cr_assert_float_eq(rows[JL_FEATURES + 1], (float)-dr, 1e-5);
    cr_assert_float_eq(rows[JL_FEATURES + 6], (float)dr, 1e-5);
    cr_assert_gt(rows[2 * JL_FEATURES + 0], 0.0f, "the third has eta' > 0");
    cr_assert_float_eq(rows[2], logf(100), 1e-5);
    cr_assert_float_eq(rows[4], logf(100.0f / 170), 1e-5);
    cr_assert_float_eq(rows[5], logf(200.0f / 350), 1e-5);
}

Test(features, same_bits_for_any_thread_count)
{
    jl_h5_jets j = read_fixture();
    jl_features_opts o = {.max_constituents = FC};
    jl_set_num_threads(1);
    jl_tensor *a = jl_atlas_features(j.pt, j.eta, j.phi, j.E, &o);
    jl_set_num_threads(3);
    jl_tensor *b = jl_atlas_features(j.pt, j.eta, j.phi, j.E, &o);
    o.serial = true;
    jl_tensor *c = jl_atlas_features(j.pt, j.eta, j.phi, j.E, &o);
    size_t bytes = (size_t)jl_numel(a) * sizeof(float);
    cr_assert_eq(memcmp(jl_data(a), jl_data(b), bytes), 0);
    cr_assert_eq(memcmp(jl_data(a), jl_data(c), bytes), 0);
    jl_release(a);
    jl_release(b);
    jl_release(c);
    jl_h5_jets_free(&j);
}

Test(features, jet_checks)
{
    jl_h5_jets j = read_fixture();
    for (int64_t i = 0; i < FN; i++) {
        int64_t o = i * FC;
        jl_jet_check_result r = jl_jet_check((float *)jl_data(j.pt) + o, (float *)jl_data(j.eta) + o,
                                             (float *)jl_data(j.phi) + o, (float *)jl_data(j.E) + o, FC);
        cr_assert_eq(r, i == 13 ? JL_JET_INVALID : i == 14 ? JL_JET_EMPTY : JL_JET_OK, "jet %lld", (long long)i);
    }
    float pt[2] = {10, 0}, eta[2] = {0, 0}, phi[2] = {0, 0}, E[2] = {0, 0};
    cr_assert_eq(jl_jet_check(pt, eta, phi, E, 2), JL_JET_INVALID, "E <= 0 on a real constituent");
    E[0] = 10;
    phi[1] = INFINITY;
    cr_assert_eq(jl_jet_check(pt, eta, phi, E, 2), JL_JET_INVALID, "infinity, even in padding");
    jl_h5_jets_free(&j);
}

Test(features, argument_errors)
{
    int64_t before = ref_live();
    jl_tensor *a = jl_zeros(JL_F32, 2, (int64_t[]){3, 4}, JL_CPU);
    jl_tensor *b = jl_zeros(JL_F32, 2, (int64_t[]){3, 5}, JL_CPU);
    jl_tensor *i = jl_zeros(JL_I64, 2, (int64_t[]){3, 4}, JL_CPU);
    jl_features_opts o = {0};
    cr_assert_null(jl_atlas_features(a, a, b, a, &o));
    cr_assert(strstr(jl_last_error(), "phi (3, 5) and pt (3, 4) differ"), "%s", jl_last_error());
    cr_assert_null(jl_atlas_features(a, i, a, a, &o));
    cr_assert(strstr(jl_last_error(), "eta must be a contiguous 2-D f32"), "%s", jl_last_error());
    jl_tensor *x, *off;
    cr_assert_neq(jl_atlas_features_ragged(a, a, a, i, &o, &x, &off, NULL), JL_OK);
    cr_assert_null(x);
    cr_assert_null(off);
    jl_degrade d = {.n_steps = 1, .step = {{.kind = JL_DEGRADE_UNDERSAMPLE, .keep = 0}}};
    cr_assert_neq(jl_degrade_check(&d), JL_OK);
    cr_assert(strstr(jl_last_error(), "keep must be >= 1"), "%s", jl_last_error());
    d.step[0] = (jl_degrade_step){.kind = JL_DEGRADE_SMEAR, .sigma_pt = -1};
    cr_assert_neq(jl_degrade_check(&d), JL_OK);
    cr_assert(strstr(jl_last_error(), "smear"), "%s", jl_last_error());
    jl_release(a);
    jl_release(b);
    jl_release(i);
    cr_assert_eq(ref_live(), before, "leak");
}

/* --- moments ------------------------------------------------------------------- */

Test(features, moments_match_a_two_pass_computation_and_merge_exactly)
{
    jl_h5_jets j = read_fixture();
    jl_tensor *x, *off;
    jl_features_opts o = {.max_constituents = FC};
    cr_assert_eq(jl_atlas_features_ragged(j.pt, j.eta, j.phi, j.E, &o, &x, &off, NULL), JL_OK);
    int64_t n = x->shape[0];
    const float *v = jl_data(x);
    /* jets 13 (NaN) and 14 (empty) are not valid: use the rows of jets 0..12 */
    int64_t rows = ((int64_t *)jl_data(off))[13];
    jl_tensor *head = jl_narrow(x, 0, 0, rows / 2), *tail = jl_narrow(x, 0, rows / 2, rows - rows / 2);
    jl_moments all = {0}, split = {0};
    jl_tensor *valid = jl_narrow(x, 0, 0, rows);
    cr_assert_eq(jl_moments_add(&all, valid), JL_OK);
    cr_assert_eq(jl_moments_add(&split, head), JL_OK);
    cr_assert_eq(jl_moments_add(&split, tail), JL_OK);
    cr_assert_eq(all.count, rows);
    cr_assert_eq(split.count, rows);
    jl_standardize s;
    cr_assert_eq(jl_moments_finish(&all, &s), JL_OK);
    for (int k = 0; k < JL_FEATURES; k++) {
        double mean = 0, ss = 0;
        for (int64_t r = 0; r < rows; r++) mean += v[r * JL_FEATURES + k];
        mean /= (double)rows;
        for (int64_t r = 0; r < rows; r++) ss += pow(v[r * JL_FEATURES + k] - mean, 2);
        cr_assert_float_eq(s.mean[k], mean, 1e-9 * (1 + fabs(mean)));
        cr_assert_float_eq(s.std[k], sqrt(ss / (double)(rows - 1)), 1e-9);
        cr_assert_float_eq(split.mean[k], all.mean[k], 1e-12 * (1 + fabs(mean)));
        cr_assert_float_eq(split.m2[k], all.m2[k], 1e-9 * (1 + all.m2[k]));
    }
    cr_assert(n > rows);
    jl_moments one = {0};
    cr_assert_neq(jl_moments_finish(&one, &s), JL_OK);
    cr_assert_neq(jl_moments_add(&one, j.pt), JL_OK, "(N, C) is not (N_total, 7)");
    jl_release(head);
    jl_release(tail);
    jl_release(valid);
    jl_release(x);
    jl_release(off);
    jl_h5_jets_free(&j);
}

/* --- degradation --------------------------------------------------------------- */

/* n copies of the fixture's jet 5 (24 real constituents) as fresh tensors. */
static void copies_of_jet5(int64_t n, jl_tensor *out[4], jl_tensor **jets, int64_t first_id)
{
    jl_h5_jets j = read_fixture();
    jl_tensor *src[4] = {j.pt, j.eta, j.phi, j.E};
    for (int k = 0; k < 4; k++) {
        out[k] = jl_tensor_new(JL_F32, 2, (int64_t[]){n, FC}, JL_CPU);
        for (int64_t i = 0; i < n; i++)
            memcpy((float *)jl_data(out[k]) + i * FC, (float *)jl_data(src[k]) + 5 * FC, FC * sizeof(float));
    }
    *jets = jl_arange(JL_I64, (double)first_id, (double)(first_id + n), 1, JL_CPU);
    jl_h5_jets_free(&j);
}

static void release4(jl_tensor *t[4])
{
    for (int k = 0; k < 4; k++) jl_release(t[k]);
}

Test(features, smear_is_positive_finite_sorted_and_physical)
{
    int64_t before = ref_live();
    jl_tensor *t[4], *jets;
    copies_of_jet5(2000, t, &jets, 0);
    jl_degrade d = {.seed = 3, .n_steps = 1,
                    .step = {{.kind = JL_DEGRADE_SMEAR, .sigma_pt = 1.5, .sigma_E = 1.5, .relative = true}}};
    cr_assert_eq(jl_degrade_apply(&d, t[0], t[1], t[2], t[3], jets, false), JL_OK, "%s", jl_last_error());
    const float *pt = jl_data(t[0]), *eta = jl_data(t[1]), *E = jl_data(t[3]);
    for (int64_t i = 0; i < 2000; i++) {
        for (int64_t q = 0; q < FC; q++) {
            int64_t at = i * FC + q;
            cr_assert(isfinite(pt[at]) && pt[at] > 0, "pt %g", pt[at]);
            cr_assert(isfinite(E[at]) && E[at] > 0);
            cr_assert_geq(E[at], pt[at] * coshf(eta[at]) * (1 - 1e-6f), "E >= pt cosh eta");
            cr_assert_geq(E[at], pt[at]);
            if (q) cr_assert_geq(pt[at - 1], pt[at], "sorted by decreasing pt");
        }
    }
    release4(t);
    jl_release(jets);
    cr_assert_eq(ref_live(), before, "leak");
}

Test(features, smear_spread_matches_sigma)
{
    jl_tensor *t[4], *jets;
    int64_t n = 20000;
    copies_of_jet5(n, t, &jets, 1000);
    jl_h5_jets j = read_fixture();
    double orig = ((float *)jl_data(j.pt))[5 * FC]; /* the hardest */
    double sum_pt = 0, orig_sum = 0;
    for (int64_t q = 0; q < FC; q++) orig_sum += ((float *)jl_data(j.pt))[5 * FC + q];
    jl_degrade d = {.seed = 11, .n_steps = 1, .step = {{.kind = JL_DEGRADE_SMEAR, .sigma_pt = 0.1, .relative = true}}};
    cr_assert_eq(jl_degrade_apply(&d, t[0], t[1], t[2], t[3], jets, false), JL_OK);
    /* the sum of pt over a jet is order-independent: mean 1, spread sigma * sqrt(sum pt^2) */
    double var = 0, sq = 0;
    for (int64_t q = 0; q < FC; q++) sq += pow(((float *)jl_data(j.pt))[5 * FC + q], 2);
    for (int64_t i = 0; i < n; i++) {
        double s = 0;
        for (int64_t q = 0; q < FC; q++) s += ((float *)jl_data(t[0]))[i * FC + q];
        sum_pt += s;
        var += (s - orig_sum) * (s - orig_sum);
    }
    cr_assert_float_eq(sum_pt / (double)n / orig_sum, 1.0, 0.002);
    cr_assert_float_eq(sqrt(var / (double)n), 0.1 * sqrt(sq), 0.03 * 0.1 * sqrt(sq));
    cr_assert_gt(orig, 0);
    release4(t);
    jl_release(jets);
    jl_h5_jets_free(&j);
}

Test(features, degradation_is_keyed_by_seed_and_jet_index)
{
    jl_tensor *a[4], *b[4], *c[4], *ja, *jb, *jc;
    copies_of_jet5(64, a, &ja, 500);
    copies_of_jet5(64, b, &jb, 500);
    copies_of_jet5(64, c, &jc, 500);
    jl_degrade d = {.seed = 5, .n_steps = 2,
                    .step = {{.kind = JL_DEGRADE_SMEAR, .sigma_pt = 0.3, .sigma_E = 0.2, .relative = true},
                             {.kind = JL_DEGRADE_UNDERSAMPLE, .keep = 7, .mode = JL_KEEP_RANDOM}}};
    jl_set_num_threads(1);
    cr_assert_eq(jl_degrade_apply(&d, a[0], a[1], a[2], a[3], ja, false), JL_OK);
    jl_set_num_threads(4);
    cr_assert_eq(jl_degrade_apply(&d, b[0], b[1], b[2], b[3], jb, false), JL_OK);
    for (int k = 0; k < 4; k++)
        cr_assert_eq(memcmp(jl_data(a[k]), jl_data(b[k]), 64 * FC * sizeof(float)), 0, "thread count");
    /* jet by jet, in reverse order, gives the same: the key is the jet index */
    for (int64_t i = 63; i >= 0; i--) {
        int64_t o = i * FC;
        jl_degrade_jet(&d, (uint64_t)(500 + i), (float *)jl_data(c[0]) + o, (float *)jl_data(c[1]) + o,
                       (float *)jl_data(c[2]) + o, (float *)jl_data(c[3]) + o, FC);
    }
    for (int k = 0; k < 4; k++)
        cr_assert_eq(memcmp(jl_data(a[k]), jl_data(c[k]), 64 * FC * sizeof(float)), 0, "batching");
    /* copies of one jet under different indices differ; another seed differs */
    const float *pa = jl_data(a[0]);
    cr_assert_neq(pa[0], pa[FC]);
    d.seed = 6;
    cr_assert_eq(jl_degrade_apply(&d, c[0], c[1], c[2], c[3], jc, false), JL_OK);
    cr_assert_neq(memcmp(jl_data(a[0]), jl_data(c[0]), 64 * FC * sizeof(float)), 0);
    release4(a);
    release4(b);
    release4(c);
    jl_release(ja);
    jl_release(jb);
    jl_release(jc);
}

Test(features, undersample_hardest_and_random)
{
    int64_t n = 24000;
    jl_tensor *h[4], *r[4], *jets;
    copies_of_jet5(n, h, &jets, 0);
    jl_release(jets);
    copies_of_jet5(n, r, &jets, 0);
    jl_h5_jets j = read_fixture();
    const float *orig = (float *)jl_data(j.pt) + 5 * FC;
    jl_degrade hard = {.seed = 1, .n_steps = 1, .step = {{.kind = JL_DEGRADE_UNDERSAMPLE, .keep = 5}}};
    jl_degrade rnd = {.seed = 1, .n_steps = 1,
                      .step = {{.kind = JL_DEGRADE_UNDERSAMPLE, .keep = 5, .mode = JL_KEEP_RANDOM}}};
    cr_assert_eq(jl_degrade_apply(&hard, h[0], h[1], h[2], h[3], jets, false), JL_OK);
    cr_assert_eq(jl_degrade_apply(&rnd, r[0], r[1], r[2], r[3], jets, false), JL_OK);
    int64_t chosen[FC] = {0};
    for (int64_t i = 0; i < n; i++) {
        const float *ph = (float *)jl_data(h[0]) + i * FC, *pr = (float *)jl_data(r[0]) + i * FC;
        const float *Eh = (float *)jl_data(h[3]) + i * FC;
        for (int64_t q = 0; q < FC; q++) {
            if (q < 5) {
                cr_assert_eq(ph[q], orig[q], "hardest keeps the first five");
                cr_assert_gt(pr[q], 0.0f);
                if (q) cr_assert_lt(pr[q], pr[q - 1], "random keeps pT order");
                int64_t at = 0;
                while (at < FC && orig[at] != pr[q]) at++;
                cr_assert_lt(at, FC, "a kept constituent comes from the jet");
                chosen[at]++;
            } else {
                cr_assert_eq(ph[q], 0.0f);
                cr_assert_eq(Eh[q], 0.0f, "dropped constituents become padding");
                cr_assert_eq(pr[q], 0.0f);
            }
        }
    }
    /* each constituent is kept with probability 5/24 */
    double p = 5.0 / 24.0, sd = sqrt(n * p * (1 - p));
    for (int q = 0; q < FC; q++)
        cr_assert_lt(fabs((double)chosen[q] - n * p), 5 * sd, "constituent %d kept %lld times", q, (long long)chosen[q]);
    release4(h);
    release4(r);
    jl_release(jets);
    jl_h5_jets_free(&j);
}

Test(features, undersample_leaves_small_jets_alone)
{
    jl_h5_jets j = read_fixture();
    jl_tensor *copy[4] = {jl_clone(j.pt), jl_clone(j.eta), jl_clone(j.phi), jl_clone(j.E)};
    jl_tensor *jets = jl_arange(JL_I64, 0, FN, 1, JL_CPU);
    jl_degrade d = {.seed = 1, .n_steps = 1, .step = {{.kind = JL_DEGRADE_UNDERSAMPLE, .keep = 5, .mode = JL_KEEP_RANDOM}}};
    cr_assert_eq(jl_degrade_apply(&d, copy[0], copy[1], copy[2], copy[3], jets, true), JL_OK);
    for (int64_t i = 0; i < 4; i++) /* jets 0..3 have 1, 2, 3, 5 constituents */
        cr_assert_eq(memcmp((float *)jl_data(copy[0]) + i * FC, (float *)jl_data(j.pt) + i * FC, FC * sizeof(float)), 0);
    release4(copy);
    jl_release(jets);
    jl_h5_jets_free(&j);
}

/* --- splits and the loader ------------------------------------------------------ */

Test(loader, split_is_a_seeded_partition)
{
    int64_t before = ref_live();
    jl_tensor *a[3], *b[3], *c[3];
    double f[3] = {0.7, 0.15, 0.15};
    cr_assert_eq(jl_split(1001, 3, f, 5, a), JL_OK);
    cr_assert_eq(jl_split(1001, 3, f, 5, b), JL_OK);
    cr_assert_eq(jl_split(1001, 3, f, 6, c), JL_OK);
    cr_assert_eq(a[0]->shape[0], 701);
    cr_assert_eq(a[0]->shape[0] + a[1]->shape[0] + a[2]->shape[0], 1001);
    char seen[1001] = {0};
    for (int k = 0; k < 3; k++) {
        const int64_t *v = jl_data(a[k]);
        for (int64_t i = 0; i < a[k]->shape[0]; i++) {
            cr_assert(v[i] >= 0 && v[i] < 1001);
            cr_assert_eq(seen[v[i]], 0, "jet %lld twice", (long long)v[i]);
            seen[v[i]] = 1;
        }
        cr_assert_eq(memcmp(jl_data(a[k]), jl_data(b[k]), (size_t)a[k]->shape[0] * 8), 0, "same seed");
    }
    cr_assert_neq(memcmp(jl_data(a[0]), jl_data(c[0]), 701 * 8), 0, "another seed");
    for (int k = 0; k < 3; k++) {
        jl_release(a[k]);
        jl_release(b[k]);
        jl_release(c[k]);
    }
    cr_assert_neq(jl_split(10, 2, (double[]){0.8, 0.3}, 0, a), JL_OK);
    cr_assert(strstr(jl_last_error(), "sum to"), "%s", jl_last_error());
    cr_assert_null(a[0]);
    cr_assert_neq(jl_split(10, 1, (double[]){-0.1}, 0, a), JL_OK);
    cr_assert_eq(jl_split(0, 1, (double[]){1.0}, 0, a), JL_OK);
    cr_assert_eq(a[0]->shape[0], 0);
    jl_release(a[0]);
    cr_assert_eq(ref_live(), before, "leak");
}

/* Every batch of a pass: jets (file rows, in order) and the ragged features by jet. */
static int64_t drain(const jl_loader_opts *o, int64_t batch, int64_t *jets, float *x, int64_t *rows)
{
    jl_loader *l = jl_loader_new(o);
    cr_assert_not_null(l, "%s", jl_last_error());
    jl_batch b;
    int64_t n = 0, r = 0;
    int rc;
    while ((rc = jl_loader_next(l, batch, &b)) == 1) {
        memcpy(jets + n, jl_data(b.jets), (size_t)b.n * 8);
        memcpy(x + r * JL_FEATURES, jl_data(b.x), (size_t)jl_numel(b.x) * 4);
        n += b.n;
        r += b.x->shape[0];
        jl_batch_free(&b);
    }
    cr_assert_eq(rc, 0, "%s", jl_last_error());
    cr_assert_eq(jl_loader_next(l, batch, &b), 0, "the end repeats");
    jl_loader_counts c = jl_loader_counts_of(l);
    cr_assert_eq(c.jets, n);
    cr_assert_eq(c.invalid, 1);
    cr_assert_eq(c.empty, 1);
    jl_loader_free(l);
    *rows = r;
    return n;
}

Test(loader, same_jets_and_features_with_or_without_the_thread)
{
    int64_t before = ref_live();
    jl_loader_opts o = {.path = fixture("features.h5"), .layout = JL_LAYOUT_RAGGED, .shuffle = true,
                        .seed = 3, .chunk_jets = 4, .block_jets = 2};
    int64_t ja[FN], jb[FN], ra, rb;
    float *xa = malloc(FN * FC * JL_FEATURES * 4), *xb = malloc(FN * FC * JL_FEATURES * 4);
    cr_assert_eq(drain(&o, 3, ja, xa, &ra), 14);
    o.prefetch = -1;
    cr_assert_eq(drain(&o, 5, jb, xb, &rb), 14);
    cr_assert_eq(memcmp(ja, jb, sizeof ja[0] * 14), 0);
    cr_assert_eq(ra, rb);
    cr_assert_eq(memcmp(xa, xb, (size_t)ra * JL_FEATURES * 4), 0);
    free(xa);
    free(xb);
    cr_assert_eq(ref_live(), before, "leak");
}

Test(loader, errors_name_the_problem_and_stick)
{
    int64_t before = ref_live();
    jl_loader_opts o = {.path = fixture("no_such.h5")};
    cr_assert_null(jl_loader_new(&o));
    cr_assert_eq(jl_last_error_code(), JL_EIO);
    cr_assert(strstr(jl_last_error(), "no_such.h5"), "%s", jl_last_error());
    int64_t jets[2] = {3, 16};
    o = (jl_loader_opts){.path = fixture("features.h5"), .jets = jets, .n_jets = 2};
    cr_assert_null(jl_loader_new(&o));
    cr_assert(strstr(jl_last_error(), "jet row 16 (0-based) outside"), "%s", jl_last_error());
    o = (jl_loader_opts){.path = fixture("features.h5"), .strict = true};
    jl_loader *l = jl_loader_new(&o);
    cr_assert_not_null(l);
    jl_batch b;
    cr_assert_lt(jl_loader_next(l, 20, &b), 0);
    cr_assert(strstr(jl_last_error(), "jet at row 13 (0-based) has a NaN"), "%s", jl_last_error());
    jl_error_clear();
    cr_assert_lt(jl_loader_next(l, 20, &b), 0, "a failure repeats");
    cr_assert(strstr(jl_last_error(), "row 13"), "%s", jl_last_error());
    cr_assert_null(b.x);
    cr_assert_lt(jl_loader_next(l, 0, &b), 0);
    jl_loader_free(l);
    cr_assert_eq(ref_live(), before, "leak");
}
