/* random.cu — CUDA kernels for rand, randn, randint and bernoulli.
 *
 * The same counter-based mapping as kernels/cpu/random.c (jl_philox.h):
 * element e of out comes from word k->counter + e of the stream keyed by
 * k->seed. One thread per Philox block (4 words): randn pairs lanes (0, 1) and
 * (2, 3) of a block for Box-Muller, randint adds stream 1 for the high 32 bits
 * of a 64-bit draw. rand, randint and bernoulli give the CPU's bits exactly;
 * randn goes through the device's double log/sqrt/cos/sin, so a value may
 * differ from the CPU's in its last f32 bit.
 */
#include "cuda_common.cuh"
#include "jl_philox.h"

/* The four values block `block` yields for op, as doubles (exact for f32
 * results and for randint within the +-2^53 bounds core enforces). */
static __device__ void block_values(jl_op op, uint64_t seed, uint64_t block, double s0, double s1, double v[4])
{
    jl_philox4x32 r = jl_philox_block(seed, block, 0);
    switch (op) {
    case JL_OP_rand:
        for (int l = 0; l < 4; l++) v[l] = jl_philox_uniform(r.v[l], s0, s1);
        break;
    case JL_OP_randn:
        for (int l = 0; l < 4; l += 2) {
            double z0, z1;
            jl_philox_box_muller(r.v[l], r.v[l + 1], &z0, &z1);
            v[l] = s0 + s1 * z0;
            v[l + 1] = s0 + s1 * z1;
        }
        break;
    case JL_OP_randint: {
        jl_philox4x32 hi = jl_philox_block(seed, block, 1);
        int64_t lo = (int64_t)s0;
        uint64_t range = (uint64_t)((int64_t)s1 - lo);
        for (int l = 0; l < 4; l++) {
            uint64_t x = ((uint64_t)hi.v[l] << 32) | r.v[l];
            v[l] = (double)(lo + (int64_t)jl_philox_below(x, range));
        }
        break;
    }
    default: /* bernoulli */
        for (int l = 0; l < 4; l++) v[l] = r.v[l] * 0x1p-32 < s0 ? 1.0 : 0.0;
        break;
    }
}

/* out (n) contiguous f32, or i64 for randint <- values of blocks
 * counter/4 .. counter/4 + nblocks - 1 that fall on elements 0..n-1 */
__global__ void jl_cuda_random_kernel(jl_op op, uint64_t seed, uint64_t counter, double s0, double s1, void *out,
                                      int64_t n, int64_t nblocks)
{
    JL_CUDA_FOR(b, nblocks)
    {
        uint64_t block = ((counter >> 2) + (uint64_t)b) & (UINT64_MAX >> 2); /* word w wraps mod 2^64 */
        double v[4];
        block_values(op, seed, block, s0, s1, v);
        for (int l = 0; l < 4; l++) {
            uint64_t e = block * 4 + (uint64_t)l - counter; /* wraps below the first word */
            if (e >= (uint64_t)n) continue;
            if (op == JL_OP_randint) ((int64_t *)out)[e] = (int64_t)v[l];
            else ((float *)out)[e] = (float)v[l];
        }
    }
}

/* out (contiguous f32, or i64 for randint) <- random values, element e from word counter + e */
static int cuda_random(const jl_kargs *k)
{
    jl_dtype want = k->op == JL_OP_randint ? JL_I64 : JL_F32;
    if (k->out.dtype != want)
        return JL_FAIL_CODE(JL_EDEVICE, "%s: cuda kernel writes %s, got %s", jl_op_name(k->op), jl_dtype_name(want),
                            jl_dtype_name(k->out.dtype));
    int64_t n = jl_view_numel(&k->out);
    if (n == 0) return JL_OK;
    int64_t nblocks = (int64_t)((k->counter & 3) + (uint64_t)n + 3) >> 2;
    jl_cuda_random_kernel<<<jl_cuda_grid(nblocks), JL_CUDA_THREADS, 0, jl_cuda_stream()>>>(
        k->op, k->seed, k->counter, k->s[0], k->s[1], k->out.data, n, nblocks);
    return JL_CUDA_LAUNCHED(jl_op_name(k->op));
}

void jl_cuda_register_random(jl_backend *b)
{
    b->fn[JL_OP_rand] = cuda_random;
    b->fn[JL_OP_randn] = cuda_random;
    b->fn[JL_OP_randint] = cuda_random;
    b->fn[JL_OP_bernoulli] = cuda_random;
}
