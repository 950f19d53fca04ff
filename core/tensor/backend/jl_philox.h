/* jl_philox.h — Philox4x32-10, the counter-based generator behind every random op.
 *
 * Philox4x32 with 10 rounds as published by Salmon, Moraes, Dror and Shaw,
 * "Parallel random numbers: as easy as 1, 2, 3" (SC'11) and shipped in
 * Random123: a 128-bit counter and a 64-bit key give 128 random bits. Header
 * only, `static inline`, plain C99 that nvcc also compiles for the device, and
 * no core internals, so the CPU and CUDA backends produce the same words.
 *
 * jetlab's stream: the generator state is (seed, counter) and counts 32-bit
 * words. Word w is lane w % 4 of the block with counter {w/4 low, w/4 high,
 * stream, 0} and key {seed low, seed high}. Stream 0 gives the ordinary words;
 * stream 1 gives the high halves of 64-bit draws. Element e of a random op
 * uses word counter + e, whatever thread computes it.
 *
 *   jl_philox4x32 r = jl_philox_block(seed, w >> 2, 0);   // 4 words at once
 *   float u = jl_philox_uniform(r.v[w & 3], 0.0, 1.0);    // in [0, 1)
 */
#ifndef JL_PHILOX_H
#define JL_PHILOX_H

#include <math.h>
#include <stdint.h>

#ifdef __CUDACC__
#define JL_PHILOX_FN static inline __host__ __device__
#else
#define JL_PHILOX_FN static inline
#endif

#define JL_PHILOX_M0 0xD2511F53u /* round multipliers */
#define JL_PHILOX_M1 0xCD9E8D57u
#define JL_PHILOX_W0 0x9E3779B9u /* key schedule (Weyl) constants */
#define JL_PHILOX_W1 0xBB67AE85u

typedef struct jl_philox4x32 {
    uint32_t v[4];
} jl_philox4x32;

/* One Philox S-box: the low and high 32 bits of a 32x32 product. */
JL_PHILOX_FN uint32_t jl_philox_mulhilo(uint32_t a, uint32_t b, uint32_t *hi)
{
    uint64_t product = (uint64_t)a * (uint64_t)b;
    *hi = (uint32_t)(product >> 32);
    return (uint32_t)product;
}

/* Philox4x32-10 of counter ctr under key (k0, k1). */
JL_PHILOX_FN jl_philox4x32 jl_philox4x32_10(jl_philox4x32 ctr, uint32_t k0, uint32_t k1)
{
    for (int round = 0; round < 10; round++) {
        if (round > 0) {
            k0 += JL_PHILOX_W0;
            k1 += JL_PHILOX_W1;
        }
        uint32_t hi0, hi1;
        uint32_t lo0 = jl_philox_mulhilo(JL_PHILOX_M0, ctr.v[0], &hi0);
        uint32_t lo1 = jl_philox_mulhilo(JL_PHILOX_M1, ctr.v[2], &hi1);
        jl_philox4x32 next = {{hi1 ^ ctr.v[1] ^ k0, lo1, hi0 ^ ctr.v[3] ^ k1, lo0}};
        ctr = next;
    }
    return ctr;
}

/* The four words of block `block` (words 4*block .. 4*block+3) of a stream. */
JL_PHILOX_FN jl_philox4x32 jl_philox_block(uint64_t seed, uint64_t block, uint32_t stream)
{
    jl_philox4x32 ctr = {{(uint32_t)block, (uint32_t)(block >> 32), stream, 0u}};
    return jl_philox4x32_10(ctr, (uint32_t)seed, (uint32_t)(seed >> 32));
}

/* Word w of stream 0 (one block evaluation per call; kernels take whole blocks). */
JL_PHILOX_FN uint32_t jl_philox_word(uint64_t seed, uint64_t w)
{
    return jl_philox_block(seed, w >> 2, 0).v[w & 3];
}

/* A 64-bit draw for word w: stream 1 gives the high half, stream 0 the low half. */
JL_PHILOX_FN uint64_t jl_philox_word64(uint64_t seed, uint64_t w)
{
    uint64_t hi = jl_philox_block(seed, w >> 2, 1).v[w & 3];
    return (hi << 32) | jl_philox_word(seed, w);
}

/* An integer in [0, range) from a 64-bit draw (bias below range / 2^64); range > 0. */
JL_PHILOX_FN uint64_t jl_philox_below(uint64_t x, uint64_t range) { return x % range; }

/* A float in [lo, hi) from one word: 24 random bits, so [0, 1) maps onto
 * representable floats; rounding at the top is pulled back below hi. */
JL_PHILOX_FN float jl_philox_uniform(uint32_t x, double lo, double hi)
{
    double u = (double)(x >> 8) * 0x1p-24;
    float v = (float)(lo + (hi - lo) * u);
    if ((double)v >= hi) v = nextafterf(v, -INFINITY);
    return v;
}

/* A double in the open interval (0, 1) from one word. */
JL_PHILOX_FN double jl_philox_open01(uint32_t x) { return ((double)x + 0.5) * 0x1p-32; }

/* Box-Muller: two standard normals from two words. */
JL_PHILOX_FN void jl_philox_box_muller(uint32_t x0, uint32_t x1, double *z0, double *z1)
{
    double radius = sqrt(-2.0 * log(jl_philox_open01(x0)));
    double angle = 6.283185307179586476925 * jl_philox_open01(x1);
    *z0 = radius * cos(angle);
    *z1 = radius * sin(angle);
}

#endif
