/* ops_random.c — the global random generator and the random ops.
 *
 * The generator is counter-based (Philox4x32-10, jl_philox.h): its whole state
 * is (seed, counter), counted in 32-bit words. Each op takes the next block of
 * numel words, rounded up to a multiple of 4 so ops start on Philox blocks,
 * and element e uses word counter + e: results depend on neither the thread
 * count nor the backend, and saving the state replays a run exactly. The state
 * is shared by all threads and guarded by a mutex; the default seed is fixed,
 * so runs are reproducible until the user reseeds.
 *
 *   jl_manual_seed(42);
 *   jl_tensor *x = jl_randn(2, (int64_t[]){128, 16}, 0.0, 1.0, JL_CPU);   // x (128, 16)
 */
#include <math.h>
#include <pthread.h>

#include "jl_ops.h"
#include "jl_philox.h"

#define JL_DEFAULT_SEED 0x6a65746c6162ull   /* "jetlab" */
#define JL_RANDINT_LIMIT 9007199254740992.0 /* 2^53: bounds travel as doubles in jl_kargs.s */

static pthread_mutex_t rng_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t rng_seed = JL_DEFAULT_SEED;
static uint64_t rng_counter;

void jl_manual_seed(uint64_t seed) { jl_rng_set_state(seed, 0); }

void jl_rng_state(uint64_t *seed, uint64_t *counter)
{
    pthread_mutex_lock(&rng_lock);
    *seed = rng_seed;
    *counter = rng_counter;
    pthread_mutex_unlock(&rng_lock);
}

void jl_rng_set_state(uint64_t seed, uint64_t counter)
{
    pthread_mutex_lock(&rng_lock);
    rng_seed = seed;
    rng_counter = counter;
    pthread_mutex_unlock(&rng_lock);
}

/* Takes the next n words (rounded up to a multiple of 4): the seed and first word. */
static void rng_take(int64_t n, uint64_t *seed, uint64_t *counter)
{
    pthread_mutex_lock(&rng_lock);
    *seed = rng_seed;
    *counter = rng_counter;
    rng_counter += ((uint64_t)n + 3) & ~(uint64_t)3;
    pthread_mutex_unlock(&rng_lock);
}

/* New tensor of `dtype` filled by the random kernel `op` with parameters s0, s1; +1. */
static jl_tensor *random_fill(const char *name, jl_op op, jl_dtype dtype, int ndim, const int64_t *shape,
                              double s0, double s1, jl_device device)
{
    jl_tensor *out = jl_tensor_new(dtype, ndim, shape, device);
    if (!out) {
        jl_error_wrap(name);
        return NULL;
    }
    int64_t n = jl_numel(out);
    if (n == 0) return out;
    jl_kargs k = {.op = op, .out = jl_view_of(out), .s = {s0, s1}};
    rng_take(n, &k.seed, &k.counter);
    if (jl_run(device, &k)) {
        jl_release(out);
        return NULL;
    }
    return out;
}

jl_tensor *jl_rand(int ndim, const int64_t *shape, double lo, double hi, jl_device device)
{
    if (!(lo < hi) || !isfinite(lo) || !isfinite(hi)) {
        JL_FAIL("rand: need finite lo < hi, got [%g, %g)", lo, hi);
        return NULL;
    }
    return random_fill("rand", JL_OP_rand, JL_F32, ndim, shape, lo, hi, device);
}

jl_tensor *jl_randn(int ndim, const int64_t *shape, double mean, double std, jl_device device)
{
    if (!(std >= 0) || !isfinite(mean) || !isfinite(std)) {
        JL_FAIL("randn: need a finite mean and std >= 0, got mean %g, std %g", mean, std);
        return NULL;
    }
    return random_fill("randn", JL_OP_randn, JL_F32, ndim, shape, mean, std, device);
}

jl_tensor *jl_randint(int ndim, const int64_t *shape, int64_t lo, int64_t hi, jl_device device)
{
    if (hi <= lo) {
        JL_FAIL("randint: need lo < hi, got [%lld, %lld)", (long long)lo, (long long)hi);
        return NULL;
    }
    if (fabs((double)lo) > JL_RANDINT_LIMIT || fabs((double)hi) > JL_RANDINT_LIMIT) {
        JL_FAIL("randint: bounds [%lld, %lld) must lie within +-2^53", (long long)lo, (long long)hi);
        return NULL;
    }
    return random_fill("randint", JL_OP_randint, JL_I64, ndim, shape, (double)lo, (double)hi, device);
}

jl_tensor *jl_bernoulli(int ndim, const int64_t *shape, double p, jl_device device)
{
    if (!(p >= 0 && p <= 1)) {
        JL_FAIL("bernoulli: probability %g outside [0, 1]", p);
        return NULL;
    }
    return random_fill("bernoulli", JL_OP_bernoulli, JL_F32, ndim, shape, p, 0.0, device);
}

/* Fisher-Yates on the host: step i swaps position i with j uniform in [0, i],
 * j drawn from word counter + i; the result moves to `device` afterwards. */
jl_tensor *jl_randperm(int64_t n, jl_device device)
{
    if (n < 0) {
        JL_FAIL("randperm: n must be >= 0, got %lld", (long long)n);
        return NULL;
    }
    jl_tensor *perm = jl_tensor_new(JL_I64, 1, &n, JL_CPU);
    if (!perm) {
        jl_error_wrap("randperm");
        return NULL;
    }
    int64_t *p = jl_data(perm);
    for (int64_t i = 0; i < n; i++) p[i] = i;
    uint64_t seed, counter;
    rng_take(n, &seed, &counter);
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)jl_philox_below(jl_philox_word64(seed, counter + (uint64_t)i), (uint64_t)i + 1);
        int64_t t = p[i];
        p[i] = p[j];
        p[j] = t;
    }
    jl_tensor *out = jl_to_device(perm, device);
    jl_release(perm);
    return out;
}
