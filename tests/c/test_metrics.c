/* test_metrics.c — jl_roc against naive references: the AUC against O(n^2)
 * pair counting (ties count one half, weights multiply) on random data with
 * many ties, the curve against a direct count at every distinct threshold,
 * the edge cases (-0 and +0 tie, one class missing, NaN, shape mismatches),
 * 1e6 scores in well under a second, and no leaked tensors. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jl_metrics.h"
#include "reference.h"

static int64_t live_at_start;
static void setup(void) { live_at_start = ref_live(); }
static void teardown(void) { cr_assert_eq(ref_live(), live_at_start, "tensors leaked"); }
TestSuite(metrics, .init = setup, .fini = teardown);

/* xorshift64*: a fixed stream of test data independent of the engine's RNG. */
static uint64_t rng = 88172645463325252ull;
static double uniform(void)
{
    rng ^= rng >> 12, rng ^= rng << 25, rng ^= rng >> 27;
    return (double)((rng * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

typedef struct data {
    int64_t n;
    float *s, *w;
    int64_t *y;
    jl_tensor *ts, *ty, *tw;
} data;

/* n scores on a grid of `levels` values (so ties are common), signal scored higher on average. */
static data make_data(int64_t n, int levels, bool weighted)
{
    data d = {.n = n, .s = malloc(n * sizeof(float)), .w = malloc(n * sizeof(float)), .y = malloc(n * sizeof(int64_t))};
    for (int64_t i = 0; i < n; i++) {
        d.y[i] = uniform() < 0.4 ? 2 : 1;
        double u = uniform() * 0.7 + (d.y[i] == 2 ? 0.3 : 0.0);
        d.s[i] = (float)(floor(u * levels) / levels);
        d.w[i] = weighted ? (float)(0.1 + 2 * uniform()) : 1.0f;
    }
    d.ts = jl_from_host(JL_F32, 1, &n, d.s);
    d.ty = jl_from_host(JL_I64, 1, &n, d.y);
    d.tw = jl_from_host(JL_F32, 1, &n, d.w);
    return d;
}

static void free_data(data *d)
{
    free(d->s), free(d->w), free(d->y);
    jl_release(d->ts), jl_release(d->ty), jl_release(d->tw);
}

static double naive_auc(const data *d)
{
    double num = 0, ws = 0, wb = 0;
    for (int64_t i = 0; i < d->n; i++) {
        if (d->y[i] == 2) ws += d->w[i];
        else wb += d->w[i];
        if (d->y[i] != 2) continue;
        for (int64_t j = 0; j < d->n; j++) {
            if (d->y[j] == 2) continue;
            double credit = d->s[i] > d->s[j] ? 1.0 : d->s[i] == d->s[j] ? 0.5 : 0.0;
            num += credit * (double)d->w[i] * d->w[j];
        }
    }
    return num / (ws * wb);
}

static void check_auc(int64_t n, int levels, bool weighted)
{
    data d = make_data(n, levels, weighted);
    double auc = -1;
    cr_assert_eq(jl_roc(d.ts, d.ty, weighted ? d.tw : NULL, 2, NULL, NULL, NULL, &auc), JL_OK, "%s", jl_last_error());
    double want = naive_auc(&d);
    cr_assert(fabs(auc - want) < 1e-12, "n=%lld levels=%d weighted=%d: auc %.15f, naive %.15f", (long long)n, levels,
              weighted, auc, want);
    free_data(&d);
}

Test(metrics, auc_matches_pair_counting_with_ties)
{
    check_auc(2000, 7, false);
    check_auc(2000, 64, false);
    check_auc(3000, 1000, false);
    check_auc(2000, 1, false); /* every score tied: 0.5 */
}

Test(metrics, weighted_auc_matches_pair_counting)
{
    check_auc(2000, 7, true);
    check_auc(2500, 64, true);
    check_auc(3000, 100000, true);
}

Test(metrics, curve_matches_direct_counts)
{
    data d = make_data(1500, 20, true);
    jl_tensor *es, *eb, *thr;
    cr_assert_eq(jl_roc(d.ts, d.ty, d.tw, 2, &es, &eb, &thr, NULL), JL_OK, "%s", jl_last_error());
    int64_t p = es->shape[0];
    cr_assert_eq(eb->shape[0], p);
    cr_assert_eq(thr->shape[0], p);
    cr_assert(isinf(ref_at(thr, 0)) && ref_at(thr, 0) > 0, "first threshold is +inf");
    cr_assert_eq(ref_at(es, 0), 0.0);
    cr_assert_eq(ref_at(eb, 0), 0.0);
    cr_assert_eq(ref_at(es, p - 1), 1.0);
    cr_assert_eq(ref_at(eb, p - 1), 1.0);

    int64_t distinct = 0;
    double ws = 0, wb = 0;
    for (int64_t i = 0; i < d.n; i++) {
        bool seen = false;
        for (int64_t j = 0; j < i && !seen; j++) seen = d.s[j] == d.s[i];
        distinct += !seen;
        if (d.y[i] == 2) ws += d.w[i];
        else wb += d.w[i];
    }
    cr_assert_eq(p, distinct + 1, "one point per distinct score plus (0, 0)");
    for (int64_t k = 1; k < p; k++) {
        double t = ref_at(thr, k), s = 0, b = 0;
        cr_assert_lt(t, ref_at(thr, k - 1), "thresholds decrease");
        for (int64_t i = 0; i < d.n; i++)
            if (d.s[i] >= t) *(d.y[i] == 2 ? &s : &b) += d.w[i];
        cr_assert(fabs(ref_at(es, k) - s / ws) < 1e-6, "eff_s at %lld", (long long)k);
        cr_assert(fabs(ref_at(eb, k) - b / wb) < 1e-6, "eff_b at %lld", (long long)k);
    }
    jl_release(es), jl_release(eb), jl_release(thr);
    free_data(&d);
}

Test(metrics, signed_zeros_tie_and_negative_scores_sort)
{
    float s[] = {-0.0f, 0.0f, -2.5f, 3.0f, -1e-30f};
    int64_t y[] = {2, 1, 1, 2, 2}, n = 5;
    jl_tensor *ts = jl_from_host(JL_F32, 1, &n, s), *ty = jl_from_host(JL_I64, 1, &n, y);
    jl_tensor *thr;
    double auc;
    cr_assert_eq(jl_roc(ts, ty, NULL, 2, NULL, NULL, &thr, &auc), JL_OK, "%s", jl_last_error());
    cr_assert_eq(thr->shape[0], 5, "-0 and +0 are one point");
    float want[] = {INFINITY, 3.0f, 0.0f, -1e-30f, -2.5f};
    for (int k = 0; k < 5; k++) cr_assert_eq((float)ref_at(thr, k), want[k], "threshold %d", k);
    /* pairs (signal, background): 3>0, 3>-2.5, 0=0 (1/2), 0>-2.5, -1e-30<0, -1e-30>-2.5 → 4.5 / 6 */
    cr_assert(fabs(auc - 4.5 / 6) < 1e-15, "auc %f", auc);
    jl_release(thr), jl_release(ts), jl_release(ty);
}

Test(metrics, errors_name_the_problem)
{
    float s[] = {0.1f, 0.2f, NAN};
    int64_t y[] = {1, 1, 2}, n3 = 3, n2 = 2;
    jl_tensor *ts = jl_from_host(JL_F32, 1, &n3, s), *ty = jl_from_host(JL_I64, 1, &n3, y);
    jl_tensor *ty2 = jl_from_host(JL_I64, 1, &n2, y), *ts2 = jl_from_host(JL_F32, 1, &n2, s);
    jl_tensor *es = (jl_tensor *)1;
    double auc;

    cr_assert_lt(jl_roc(ts, ty, NULL, 2, &es, NULL, NULL, &auc), 0);
    cr_assert(strstr(jl_last_error(), "score 3 is NaN"), "%s", jl_last_error());
    cr_assert_null(es, "outputs are NULL on failure");
    cr_assert_lt(jl_roc(ts, ty2, NULL, 2, NULL, NULL, NULL, &auc), 0);
    cr_assert(strstr(jl_last_error(), "labels has 2 entries but scores have 3"), "%s", jl_last_error());
    cr_assert_lt(jl_roc(ts2, ty2, NULL, 2, NULL, NULL, NULL, &auc), 0);
    cr_assert(strstr(jl_last_error(), "the signal has no weight"), "%s", jl_last_error());
    cr_assert_lt(jl_roc(ts2, ty2, NULL, 1, NULL, NULL, NULL, &auc), 0);
    cr_assert(strstr(jl_last_error(), "the background has no weight"), "%s", jl_last_error());
    jl_release(ts), jl_release(ty), jl_release(ty2), jl_release(ts2);
}

Test(metrics, a_million_scores_in_well_under_a_second)
{
    data d = make_data(1000000, 1 << 20, true);
    struct timespec t0, t1;
    jl_tensor *es, *eb, *thr;
    double auc;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cr_assert_eq(jl_roc(d.ts, d.ty, d.tw, 2, &es, &eb, &thr, &auc), JL_OK, "%s", jl_last_error());
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double seconds = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    jl_release(es), jl_release(eb), jl_release(thr);
    free_data(&d);
#ifdef NDEBUG
    const double limit = 1.0;
#else
    const double limit = 10.0; /* unoptimised or sanitizer builds */
#endif
    cr_assert_lt(seconds, limit, "roc of 1e6 scores took %.3f s", seconds);
    cr_assert(auc > 0.7 && auc < 0.95, "auc %f", auc);
}
