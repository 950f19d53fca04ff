/* test_graph.c — kNN inside jets and segment reductions against naive loops,
 * their backward against central differences, and bad offsets. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "reference.h"

static int64_t live_at_start;
static void setup(void) { live_at_start = ref_live(); }
static void teardown(void) { cr_assert_eq(ref_live(), live_at_start, "tensors leaked"); }
TestSuite(graph, .init = setup, .fini = teardown);

static jl_tensor *offsets_of(const int64_t *sizes, int n)
{
    int64_t off[64] = {0};
    for (int j = 0; j < n; j++) off[j + 1] = off[j] + sizes[j];
    int64_t len = n + 1;
    return jl_from_host(JL_I64, 1, &len, off);
}

static double dist2(const jl_tensor *x, int64_t i, int64_t j)
{
    double d = 0;
    for (int64_t t = 0; t < x->shape[1]; t++) {
        double diff = ref_at(x, i * x->shape[1] + t) - ref_at(x, j * x->shape[1] + t);
        d += diff * diff;
    }
    return d;
}

/* Checks jl_knn's k nearest of every row of x (N, D) in jets of the given sizes
 * against the pairwise distances: neighbours inside the jet, not the row itself,
 * sorted by distance, and no row left out that is strictly nearer than the
 * farthest kept; exact duplicates of a row come in row order. */
static void check_knn(const int64_t *sizes, int jets, int64_t dims, int k, uint64_t seed, int duplicates)
{
    int64_t total = 0;
    for (int j = 0; j < jets; j++) total += sizes[j];
    jl_tensor *off = offsets_of(sizes, jets);
    jl_tensor *noise = ref_randn(2, (int64_t[]){total, dims}, seed, false), *eoff = NULL;
    float *values = malloc(sizeof(float) * (size_t)(total * dims + 1));
    cr_assert_not_null(values);
    for (int64_t v = 0; v < total * dims; v++) values[v] = (float)ref_at(noise, v);
    if (duplicates) /* every third row a copy of the one before it: ties */
        for (int64_t i = 2; i < total; i += 3)
            memcpy(values + i * dims, values + (i - 1) * dims, sizeof(float) * (size_t)dims);
    jl_tensor *x = ref_tensor(2, (int64_t[]){total, dims}, values, false);
    free(values);
    jl_release(noise);
    jl_tensor *nbr = jl_knn(x, off, k, &eoff);
    cr_assert_not_null(nbr, "%s", jl_last_error());
    int64_t row = 0;
    for (int j = 0; j < jets; j++) {
        int64_t begin = row, end = row + sizes[j];
        for (int64_t i = begin; i < end; i++, row++) {
            int64_t m = sizes[j] - 1 < k ? sizes[j] - 1 : k;
            int64_t e0 = (int64_t)ref_at(eoff, i);
            cr_assert_eq((int64_t)ref_at(eoff, i + 1) - e0, m, "row %lld has %lld neighbours", (long long)i, (long long)m);
            double prev = -1;
            int64_t prev_nb = -1;
            for (int64_t e = 0; e < m; e++) {
                int64_t nb = (int64_t)ref_at(nbr, e0 + e);
                cr_assert(nb >= begin && nb < end && nb != i, "neighbour %lld outside jet or self", (long long)nb);
                double d = dist2(x, i, nb);
                cr_assert_geq(d, prev, "D %lld row %lld: neighbours out of order", (long long)dims, (long long)i);
                if (d == prev) cr_assert_gt(nb, prev_nb, "D %lld row %lld: a tie out of row order", (long long)dims, (long long)i);
                prev = d;
                prev_nb = nb;
            }
            int64_t closer = 0; /* rows strictly closer than the farthest chosen: must all be chosen */
            for (int64_t o = begin; o < end; o++)
                if (o != i && m > 0 && dist2(x, i, o) < prev) closer++;
            cr_assert_lt(closer, m + (m == 0), "D %lld row %lld: a nearer row left out", (long long)dims, (long long)i);
        }
    }
    jl_release(nbr);
    jl_release(eoff);
    jl_release(x);
    jl_release(off);
}

Test(graph, knn_matches_brute_force_with_small_jets)
{
    const int64_t sizes[] = {9, 1, 3, 20, 0, 5};
    check_knn(sizes, 6, 2, 4, 1, 0);
}

Test(graph, knn_matches_brute_force_in_many_dimensions_with_ties)
{
    const int64_t sizes[] = {37, 2, 16, 0, 61, 17, 1};
    const int64_t dims[] = {1, 3, 16, 33, 128};
    for (int d = 0; d < 5; d++) {
        check_knn(sizes, 7, dims[d], 7, 10 + (uint64_t)d, 0);
        check_knn(sizes, 7, dims[d], 16, 20 + (uint64_t)d, 1);
    }
}

Test(graph, knn_with_a_nan_row_names_rows_of_the_jet)
{
    /* a NaN distance is never "nearer": rows whose list it would fill take it last, as
     * the pair-at-a-time insertion does; every neighbour is still a row of the jet */
    const int64_t sizes[] = {20, 6};
    jl_tensor *off = offsets_of(sizes, 2), *eoff = NULL;
    float values[26 * 3];
    for (int v = 0; v < 26 * 3; v++) values[v] = (float)((v * 37) % 23) - 11.0f;
    values[4 * 3 + 1] = NAN;  /* row 4 of the first jet */
    values[21 * 3 + 0] = NAN; /* row 1 of the second */
    jl_tensor *x = ref_tensor(2, (int64_t[]){26, 3}, values, false);
    jl_tensor *nbr = jl_knn(x, off, 16, &eoff);
    cr_assert_not_null(nbr, "%s", jl_last_error());
    for (int64_t i = 0; i < 26; i++) {
        int64_t begin = i < 20 ? 0 : 20, end = i < 20 ? 20 : 26;
        for (int64_t e = (int64_t)ref_at(eoff, i); e < (int64_t)ref_at(eoff, i + 1); e++) {
            int64_t nb = (int64_t)ref_at(nbr, e);
            cr_assert(nb >= begin && nb < end && nb != i, "row %lld: neighbour %lld", (long long)i, (long long)nb);
        }
    }
    jl_release(nbr);
    jl_release(eoff);
    jl_release(x);
    jl_release(off);
}

Test(graph, segment_reductions_against_naive_loops)
{
    const int64_t sizes[] = {3, 0, 1, 5};
    jl_tensor *off = offsets_of(sizes, 4);
    jl_tensor *x = ref_randn(2, (int64_t[]){9, 3}, 2, false);
    jl_tensor *sum = jl_segment_sum(x, off), *mean = jl_segment_mean(x, off), *max = jl_segment_max(x, off);
    cr_assert_not_null(max, "%s", jl_last_error());
    int64_t row = 0;
    for (int s = 0; s < 4; s++) {
        for (int f = 0; f < 3; f++) {
            double total = 0, best = sizes[s] ? -INFINITY : 0;
            for (int64_t r = row; r < row + sizes[s]; r++) {
                total += ref_at(x, r * 3 + f);
                best = fmax(best, ref_at(x, r * 3 + f));
            }
            cr_assert_float_eq(ref_at(sum, s * 3 + f), total, 1e-5);
            cr_assert_float_eq(ref_at(mean, s * 3 + f), sizes[s] ? total / sizes[s] : 0.0, 1e-5);
            cr_assert_float_eq(ref_at(max, s * 3 + f), best, 1e-6);
        }
        row += sizes[s];
    }
    jl_tensor *ids = jl_segment_ids(off);
    const double want_ids[] = {0, 0, 0, 2, 3, 3, 3, 3, 3};
    cr_assert_lt(ref_max_rel_diff_array(ids, want_ids), 1e-12);
    jl_release(ids);
    jl_release(sum);
    jl_release(mean);
    jl_release(max);
    jl_release(x);
    jl_release(off);
}

static jl_tensor *apply_segment(jl_tensor **in, void *ctx)
{
    jl_tensor *off = ((jl_tensor **)ctx)[0];
    int mode = (int)(intptr_t)((jl_tensor **)ctx)[1];
    return mode == 0 ? jl_segment_sum(in[0], off) : mode == 1 ? jl_segment_mean(in[0], off) : jl_segment_max(in[0], off);
}

Test(graph, segment_backward_central_differences)
{
    const int64_t sizes[] = {3, 0, 1, 5};
    jl_tensor *off = offsets_of(sizes, 4);
    for (intptr_t mode = 0; mode < 3; mode++) {
        jl_tensor *x = ref_randn(2, (int64_t[]){9, 3}, 3 + mode, true);
        if (mode == 2) { /* well separated values so the max does not switch within a step */
            float *p = jl_data(x);
            for (int i = 0; i < 27; i++) p[i] = (float)((i * 7) % 27) * 0.3f;
        }
        void *ctx[2] = {off, (void *)mode};
        cr_assert_lt(ref_gradcheck(apply_segment, 1, &x, ctx), 1e-2, "mode %d", (int)mode);
        jl_release(x);
    }
    jl_release(off);
}

Test(graph, bad_offsets_are_named)
{
    jl_tensor *x = ref_randn(2, (int64_t[]){5, 2}, 4, false);
    const int64_t too_short[] = {0, 2, 4};
    jl_tensor *off = jl_from_host(JL_I64, 1, (int64_t[]){3}, too_short);
    cr_assert_null(jl_segment_mean(x, off));
    cr_assert(strstr(jl_last_error(), "offsets end at 4 but the tensor has 5 rows") != NULL, "%s", jl_last_error());
    const int64_t decreasing[] = {0, 3, 2, 5};
    jl_tensor *dec = jl_from_host(JL_I64, 1, (int64_t[]){4}, decreasing), *eoff = NULL;
    cr_assert_null(jl_knn(x, dec, 3, &eoff));
    cr_assert(strstr(jl_last_error(), "decrease") != NULL, "%s", jl_last_error());
    cr_assert_null(eoff);
    jl_release(dec);
    jl_release(off);
    jl_release(x);
}
