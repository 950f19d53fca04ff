/* random.c — CPU kernels for rand, randn, randint and bernoulli.
 *
 * Counter-based (jl_philox.h): element e of out is computed from word
 * k->counter + e of the stream keyed by k->seed, so every thread count gives
 * the same bits. Threads split the Philox blocks (4 words each) spanned by
 * the op; randn pairs lanes (0, 1) and (2, 3) of a block for Box-Muller, and
 * randint adds stream 1 for the high 32 bits of a 64-bit draw.
 */
#include "cpu_kernels.h"
#include "jl_philox.h"

/* Blocks per task: a block costs about as much as 16 elementwise operations. */
#define JL_CPU_RANDOM_GRAIN (JL_GRAIN_ELEMENTS / 16)

typedef struct random_job {
    const jl_kargs *k;
    int64_t n;            /* elements */
    uint64_t first_block; /* block holding word k->counter */
} random_job;

/* The four values a block yields for op, as doubles (exact for f32 results
 * and for randint within the +-2^53 bounds core enforces). */
static void block_values(const jl_kargs *k, uint64_t block, double v[4])
{
    jl_philox4x32 r = jl_philox_block(k->seed, block, 0);
    switch (k->op) {
    case JL_OP_rand:
        for (int l = 0; l < 4; l++) v[l] = jl_philox_uniform(r.v[l], k->s[0], k->s[1]);
        break;
    case JL_OP_randn:
        for (int l = 0; l < 4; l += 2) {
            double z0, z1;
            jl_philox_box_muller(r.v[l], r.v[l + 1], &z0, &z1);
            v[l] = k->s[0] + k->s[1] * z0;
            v[l + 1] = k->s[0] + k->s[1] * z1;
        }
        break;
    case JL_OP_randint: {
        jl_philox4x32 hi = jl_philox_block(k->seed, block, 1);
        int64_t lo = (int64_t)k->s[0];
        uint64_t range = (uint64_t)((int64_t)k->s[1] - lo);
        for (int l = 0; l < 4; l++) {
            uint64_t x = ((uint64_t)hi.v[l] << 32) | r.v[l];
            v[l] = (double)(lo + (int64_t)jl_philox_below(x, range));
        }
        break;
    }
    default: /* bernoulli */
        for (int l = 0; l < 4; l++) v[l] = r.v[l] * 0x1p-32 < k->s[0] ? 1.0 : 0.0;
        break;
    }
}

static void random_blocks(void *ctx, int64_t begin, int64_t end)
{
    const random_job *job = ctx;
    const jl_kargs *k = job->k;
    for (int64_t b = begin; b < end; b++) {
        uint64_t block = (job->first_block + (uint64_t)b) & (UINT64_MAX >> 2); /* word w wraps mod 2^64 */
        double v[4];
        block_values(k, block, v);
        for (int l = 0; l < 4; l++) {
            uint64_t e = block * 4 + (uint64_t)l - k->counter; /* wraps below the first word */
            if (e >= (uint64_t)job->n) continue;
            if (k->out.dtype == JL_I64)
                ((int64_t *)k->out.data)[e] = jl_cpu_to_i64(v[l]);
            else
                ((float *)k->out.data)[e] = (float)v[l];
        }
    }
}

/* out (contiguous f32, or i64 for randint) <- random values, element e from word counter + e */
static int cpu_random(const jl_kargs *k)
{
    jl_dtype want = k->op == JL_OP_randint ? JL_I64 : JL_F32;
    if (k->out.dtype != want)
        return JL_FAIL_CODE(JL_EDEVICE, "%s: cpu kernel writes %s, got %s", jl_op_name(k->op),
                            jl_dtype_name(want), jl_dtype_name(k->out.dtype));
    random_job job = {.k = k, .n = jl_view_numel(&k->out), .first_block = k->counter >> 2};
    if (job.n == 0) return JL_OK;
    int64_t blocks = (int64_t)((k->counter & 3) + (uint64_t)job.n + 3) >> 2;
    jl_parallel_for(blocks, JL_CPU_RANDOM_GRAIN, random_blocks, &job);
    return JL_OK;
}

void jl_cpu_register_random(jl_backend *b)
{
    b->fn[JL_OP_rand] = cpu_random;
    b->fn[JL_OP_randn] = cpu_random;
    b->fn[JL_OP_randint] = cpu_random;
    b->fn[JL_OP_bernoulli] = cpu_random;
}
