/* test_random.c — the Philox generator and the random ops: Random123's known
 * answers, the element-to-word contract (element e uses word counter + e),
 * reproducibility from a seed or a saved state, bit-identical output for any
 * thread count, statistical sanity, argument errors, and leaks. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jl_parallel.h"
#include "jl_philox.h"
#include "reference.h"

#define N_STAT 100000

typedef jl_tensor *(*draw_fn)(int64_t n);

static jl_tensor *draw_rand(int64_t n) { return jl_rand(1, &n, -2.0, 3.0, JL_CPU); }
static jl_tensor *draw_randn(int64_t n) { return jl_randn(1, &n, 0.0, 1.0, JL_CPU); }
static jl_tensor *draw_randint(int64_t n) { return jl_randint(1, &n, -3, 5, JL_CPU); }
static jl_tensor *draw_bernoulli(int64_t n) { return jl_bernoulli(1, &n, 0.3, JL_CPU); }
static jl_tensor *draw_randperm(int64_t n) { return jl_randperm(n, JL_CPU); }

static const draw_fn DRAWS[] = {draw_rand, draw_randn, draw_randint, draw_bernoulli, draw_randperm};
static const char *const DRAW_NAMES[] = {"rand", "randn", "randint", "bernoulli", "randperm"};
#define N_DRAWS 5

static size_t bytes_of(const jl_tensor *t) { return (size_t)jl_numel(t) * jl_dtype_size(t->dtype); }

static bool same_bits(const jl_tensor *a, const jl_tensor *b)
{
    return a->dtype == b->dtype && jl_numel(a) == jl_numel(b) && memcmp(jl_data(a), jl_data(b), bytes_of(a)) == 0;
}

static void expect_error(jl_tensor *result, const char *needle1, const char *needle2)
{
    cr_assert_null(result, "expected an error mentioning '%s'", needle1);
    const char *msg = jl_last_error();
    cr_assert(strstr(msg, needle1), "message '%s' lacks '%s'", msg, needle1);
    if (needle2) cr_assert(strstr(msg, needle2), "message '%s' lacks '%s'", msg, needle2);
}

/* mean and population variance of a CPU tensor */
static void moments(const jl_tensor *t, double *mean, double *var)
{
    int64_t n = jl_numel(t);
    double s = 0, s2 = 0;
    for (int64_t i = 0; i < n; i++) s += ref_at(t, i);
    *mean = s / (double)n;
    for (int64_t i = 0; i < n; i++) s2 += (ref_at(t, i) - *mean) * (ref_at(t, i) - *mean);
    *var = s2 / (double)n;
}

/* --- the generator ------------------------------------------------------------------ */

Test(random, philox_known_answers)
{
    /* Random123 kat_vectors: philox4x32 10, counter[4] key[2] -> output[4] */
    static const uint32_t kat[3][10] = {
        {0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
        {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff,
         0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd},
        {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0,
         0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1},
    };
    for (int v = 0; v < 3; v++) {
        jl_philox4x32 ctr = {{kat[v][0], kat[v][1], kat[v][2], kat[v][3]}};
        jl_philox4x32 out = jl_philox4x32_10(ctr, kat[v][4], kat[v][5]);
        for (int l = 0; l < 4; l++)
            cr_assert_eq(out.v[l], kat[v][6 + l], "vector %d word %d: %08x, want %08x", v, l, out.v[l],
                         kat[v][6 + l]);
    }
}

/* Element e of each op is the documented function of word counter + e, also
 * when the counter does not start on a block boundary. */
Test(random, elements_follow_their_words)
{
    int64_t live = ref_live();
    const uint64_t seed = 0x1234abcd9876ull;
    for (uint64_t start = 0; start < 4; start++) {
        int64_t n = 23;
        jl_rng_set_state(seed, 1000 + start);
        jl_tensor *u = jl_rand(1, &n, -2.0, 3.0, JL_CPU);
        jl_tensor *z = jl_randn(1, &n, 1.0, 2.0, JL_CPU);
        jl_tensor *r = jl_randint(1, &n, -5, 1000000007, JL_CPU);
        jl_tensor *b = jl_bernoulli(1, &n, 0.25, JL_CPU);
        cr_assert(u && z && r && b, "%s", jl_last_error());
        uint64_t counters[4];
        for (int op = 0; op < 4; op++) counters[op] = 1000 + start + (uint64_t)op * 24; /* 23 rounded up */
        for (int64_t e = 0; e < n; e++) {
            uint64_t w = counters[0] + (uint64_t)e;
            cr_assert_eq(((float *)jl_data(u))[e], jl_philox_uniform(jl_philox_word(seed, w), -2.0, 3.0));

            w = counters[1] + (uint64_t)e;
            jl_philox4x32 blk = jl_philox_block(seed, w >> 2, 0);
            int pair = (int)(w & 2);
            double z0, z1;
            jl_philox_box_muller(blk.v[pair], blk.v[pair + 1], &z0, &z1);
            cr_assert_eq(((float *)jl_data(z))[e], (float)(1.0 + 2.0 * ((w & 1) ? z1 : z0)));

            w = counters[2] + (uint64_t)e;
            int64_t want = -5 + (int64_t)jl_philox_below(jl_philox_word64(seed, w), 1000000012ull);
            cr_assert_eq(((int64_t *)jl_data(r))[e], want);

            w = counters[3] + (uint64_t)e;
            float bit = jl_philox_word(seed, w) * 0x1p-32 < 0.25 ? 1.0f : 0.0f;
            cr_assert_eq(((float *)jl_data(b))[e], bit);
        }
        jl_release(u);
        jl_release(z);
        jl_release(r);
        jl_release(b);
    }
    cr_assert_eq(ref_live(), live);
}

Test(random, counter_advances_by_rounded_blocks)
{
    int64_t live = ref_live();
    uint64_t seed, counter;
    jl_manual_seed(5);
    jl_rng_state(&seed, &counter);
    cr_assert_eq(seed, 5);
    cr_assert_eq(counter, 0);
    int64_t n = 5;
    jl_tensor *t = jl_rand(1, &n, 0, 1, JL_CPU);
    jl_rng_state(&seed, &counter);
    cr_assert_eq(counter, 8);
    jl_release(t);
    t = jl_randperm(10, JL_CPU);
    jl_rng_state(&seed, &counter);
    cr_assert_eq(counter, 20);
    jl_release(t);
    int64_t zero = 0;
    t = jl_randn(1, &zero, 0, 1, JL_CPU);
    cr_assert_not_null(t);
    cr_assert_eq(jl_numel(t), 0);
    jl_rng_state(&seed, &counter);
    cr_assert_eq(counter, 20, "an empty tensor consumes nothing");
    jl_release(t);

    /* a later draw continues the stream: 8 at once equals 4 then 4 */
    jl_rng_set_state(77, 0);
    n = 8;
    jl_tensor *whole = jl_randn(1, &n, 0, 1, JL_CPU);
    jl_rng_set_state(77, 4);
    n = 4;
    jl_tensor *tail = jl_randn(1, &n, 0, 1, JL_CPU);
    cr_assert_eq(memcmp((float *)jl_data(whole) + 4, jl_data(tail), 4 * sizeof(float)), 0);
    jl_release(whole);
    jl_release(tail);
    cr_assert_eq(ref_live(), live);
}

Test(random, same_seed_same_values)
{
    int64_t live = ref_live();
    for (int d = 0; d < N_DRAWS; d++) {
        jl_manual_seed(42);
        jl_tensor *first = DRAWS[d](1001);
        jl_tensor *next = DRAWS[d](1001);
        jl_manual_seed(42);
        jl_tensor *again = DRAWS[d](1001);
        jl_manual_seed(43);
        jl_tensor *other = DRAWS[d](1001);
        cr_assert(first && next && again && other, "%s: %s", DRAW_NAMES[d], jl_last_error());
        cr_assert(same_bits(first, again), "%s: same seed, different values", DRAW_NAMES[d]);
        cr_assert(!same_bits(first, next), "%s: consecutive draws repeat", DRAW_NAMES[d]);
        cr_assert(!same_bits(first, other), "%s: seeds 42 and 43 agree", DRAW_NAMES[d]);
        jl_release(first);
        jl_release(next);
        jl_release(again);
        jl_release(other);
    }
    /* saving and restoring the state replays a draw */
    uint64_t seed, counter;
    jl_rng_state(&seed, &counter);
    jl_tensor *a = draw_randn(333);
    jl_rng_set_state(seed, counter);
    jl_tensor *b = draw_randn(333);
    cr_assert(same_bits(a, b));
    jl_release(a);
    jl_release(b);
    cr_assert_eq(ref_live(), live);
}

Test(random, independent_of_thread_count)
{
    int64_t live = ref_live();
    int threads = jl_get_num_threads();
    for (int d = 0; d < N_DRAWS; d++) {
        jl_tensor *out[2];
        int counts[2] = {1, 4};
        for (int c = 0; c < 2; c++) {
            jl_set_num_threads(counts[c]);
            jl_rng_set_state(9, 3); /* a start inside a block */
            out[c] = DRAWS[d](300001);
            cr_assert_not_null(out[c], "%s", jl_last_error());
        }
        cr_assert(same_bits(out[0], out[1]), "%s differs between 1 and 4 threads", DRAW_NAMES[d]);
        jl_release(out[0]);
        jl_release(out[1]);
    }
    jl_set_num_threads(threads);
    cr_assert_eq(ref_live(), live);
}

/* --- distributions --------------------------------------------------------------------- */

Test(random, randn_moments)
{
    int64_t live = ref_live();
    jl_manual_seed(1);
    jl_tensor *z = draw_randn(N_STAT);
    double mean, var;
    moments(z, &mean, &var);
    cr_assert_lt(fabs(mean), 0.02, "mean %g", mean);
    cr_assert_lt(fabs(var - 1), 0.03, "variance %g", var);
    for (int64_t i = 0; i < N_STAT; i++) cr_assert(isfinite(ref_at(z, i)));
    jl_release(z);

    int64_t shape[2] = {250, 400};
    jl_tensor *s = jl_randn(2, shape, 2.0, 3.0, JL_CPU);
    moments(s, &mean, &var);
    cr_assert_lt(fabs(mean - 2), 0.06, "mean %g", mean);
    cr_assert_lt(fabs(var / 9 - 1), 0.03, "variance %g", var);
    jl_release(s);
    cr_assert_eq(ref_live(), live);
}

Test(random, rand_range_and_moments)
{
    int64_t live = ref_live();
    jl_manual_seed(2);
    jl_tensor *u = draw_rand(N_STAT);
    double lo = 1e9, hi = -1e9, mean, var;
    for (int64_t i = 0; i < N_STAT; i++) {
        double v = ref_at(u, i);
        lo = fmin(lo, v);
        hi = fmax(hi, v);
    }
    cr_assert(lo >= -2.0 && hi < 3.0, "range [%g, %g]", lo, hi);
    cr_assert(lo < -1.99 && hi > 2.99, "range [%g, %g] does not fill [-2, 3)", lo, hi);
    moments(u, &mean, &var);
    cr_assert_lt(fabs(mean - 0.5), 0.03, "mean %g", mean);
    cr_assert_lt(fabs(var / (25.0 / 12.0) - 1), 0.03, "variance %g", var);
    jl_release(u);
    /* the top of a narrow interval stays excluded */
    int64_t n = 4096;
    jl_tensor *narrow = jl_rand(1, &n, 1.0, 1.0 + 1e-7, JL_CPU);
    for (int64_t i = 0; i < n; i++) cr_assert(ref_at(narrow, i) >= 1.0 && ref_at(narrow, i) < 1.0 + 1e-7);
    jl_release(narrow);
    cr_assert_eq(ref_live(), live);
}

Test(random, randint_covers_its_range)
{
    int64_t live = ref_live();
    jl_manual_seed(3);
    jl_tensor *r = draw_randint(N_STAT);
    cr_assert_eq(r->dtype, JL_I64);
    int64_t counts[8] = {0};
    const int64_t *p = jl_data(r);
    for (int64_t i = 0; i < N_STAT; i++) {
        cr_assert(p[i] >= -3 && p[i] < 5, "value %lld outside [-3, 5)", (long long)p[i]);
        counts[p[i] + 3]++;
    }
    for (int v = 0; v < 8; v++)
        cr_assert_lt(fabs((double)counts[v] / N_STAT - 0.125), 0.01, "value %d: %lld", v - 3, (long long)counts[v]);
    jl_release(r);
    int64_t n = 64;
    jl_tensor *big = jl_randint(1, &n, -(1ll << 52), 1ll << 52, JL_CPU);
    cr_assert_not_null(big, "%s", jl_last_error());
    jl_release(big);
    cr_assert_eq(ref_live(), live);
}

Test(random, bernoulli_frequency)
{
    int64_t live = ref_live();
    jl_manual_seed(4);
    jl_tensor *b = draw_bernoulli(N_STAT);
    double ones = 0;
    for (int64_t i = 0; i < N_STAT; i++) {
        double v = ref_at(b, i);
        cr_assert(v == 0 || v == 1, "value %g", v);
        ones += v;
    }
    cr_assert_lt(fabs(ones / N_STAT - 0.3), 0.01, "frequency %g", ones / N_STAT);
    jl_release(b);
    int64_t n = 1000;
    jl_tensor *never = jl_bernoulli(1, &n, 0.0, JL_CPU), *always = jl_bernoulli(1, &n, 1.0, JL_CPU);
    for (int64_t i = 0; i < n; i++) {
        cr_assert_eq(ref_at(never, i), 0.0);
        cr_assert_eq(ref_at(always, i), 1.0);
    }
    jl_release(never);
    jl_release(always);
    cr_assert_eq(ref_live(), live);
}

Test(random, randperm_is_a_permutation)
{
    int64_t live = ref_live();
    jl_manual_seed(5);
    const int64_t n = 1000;
    jl_tensor *p = jl_randperm(n, JL_CPU);
    cr_assert_eq(p->dtype, JL_I64);
    cr_assert_eq(p->ndim, 1);
    cr_assert_eq(p->shape[0], n);
    const int64_t *v = jl_data(p);
    char seen[1000] = {0};
    int64_t fixed = 0;
    for (int64_t i = 0; i < n; i++) {
        cr_assert(v[i] >= 0 && v[i] < n);
        cr_assert(!seen[v[i]], "%lld twice", (long long)v[i]);
        seen[v[i]] = 1;
        fixed += v[i] == i;
    }
    cr_assert_lt(fixed, 10, "%lld fixed points", (long long)fixed);
    jl_release(p);
    /* every position is equally likely: element 0 of randperm(4) over many draws */
    int64_t first[4] = {0};
    for (int t = 0; t < 4000; t++) {
        jl_tensor *q = jl_randperm(4, JL_CPU);
        first[((int64_t *)jl_data(q))[0]]++;
        jl_release(q);
    }
    for (int k = 0; k < 4; k++) cr_assert_lt(fabs(first[k] / 4000.0 - 0.25), 0.04, "%d: %lld", k, (long long)first[k]);
    jl_tensor *empty = jl_randperm(0, JL_CPU);
    cr_assert(empty && jl_numel(empty) == 0);
    jl_release(empty);
    cr_assert_eq(ref_live(), live);
}

/* --- errors ---------------------------------------------------------------------------- */

Test(random, argument_errors_consume_nothing)
{
    int64_t live = ref_live();
    jl_rng_set_state(11, 40);
    int64_t n = 10, bad_shape = -3;
    expect_error(jl_randint(1, &n, 5, 5, JL_CPU), "randint", "[5, 5)");
    expect_error(jl_randint(1, &n, 5, 2, JL_CPU), "randint", "lo < hi");
    expect_error(jl_randint(1, &n, 0, 1ll << 60, JL_CPU), "randint", "2^53");
    expect_error(jl_bernoulli(1, &n, 1.5, JL_CPU), "bernoulli", "1.5");
    expect_error(jl_bernoulli(1, &n, -0.1, JL_CPU), "bernoulli", "outside [0, 1]");
    expect_error(jl_bernoulli(1, &n, NAN, JL_CPU), "bernoulli", NULL);
    expect_error(jl_rand(1, &n, 1.0, 1.0, JL_CPU), "rand", "lo < hi");
    expect_error(jl_rand(1, &n, 0.0, INFINITY, JL_CPU), "rand", NULL);
    expect_error(jl_randn(1, &n, 0.0, -1.0, JL_CPU), "randn", "std");
    expect_error(jl_randperm(-1, JL_CPU), "randperm", "-1");
    expect_error(jl_rand(1, &bad_shape, 0.0, 1.0, JL_CPU), "rand", NULL);
    cr_assert_eq(jl_last_error_code(), JL_EARG);
    uint64_t seed, counter;
    jl_rng_state(&seed, &counter);
    cr_assert_eq(seed, 11);
    cr_assert_eq(counter, 40);
    cr_assert_eq(ref_live(), live);
}
