/* test_gemm_bf16.c — the opt-in bf16 GEMM (kernels/cpu/gemm_bf16.c) against a naive
 * loop over the same operands rounded to bfloat16 (round to nearest even) and
 * summed in double: every transpose combination, sizes around the 12 x 32 tile,
 * odd K (the pair's partner is 0), K, M and N past one block (256, 96, 256),
 * strided operands (padding columns left alone), alpha and beta (beta 0 never
 * reads c, which holds NaN), and NaN in an operand reaching the result. The
 * tolerance is f32 summation error, well below what skipping the rounding
 * would change. Skipped where the CPU has no AVX512-BF16. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_kernels.h"
#include "jl_precision.h"

static float value(unsigned *state)
{
    *state = *state * 1664525u + 1013904223u;
    return (float)((*state >> 8) & 0xffff) / 32768.0f - 1.0f;
}

static double to_bf16(float x)
{
    uint32_t u;
    memcpy(&u, &x, 4);
    u = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
    float r;
    memcpy(&r, &u, 4);
    return r;
}

typedef struct shape {
    int ta, tb;
    int64_t M, N, K, pad; /* pad: extra columns of every operand's rows */
    float alpha, beta;
} shape;

static void check(shape s)
{
    unsigned st = (unsigned)(s.M * 7919 + s.N * 104729 + s.K * 13 + s.ta * 3 + s.tb * 5 + s.pad);
    int64_t ar = s.ta ? s.K : s.M, ac = s.ta ? s.M : s.K, br = s.tb ? s.N : s.K, bc = s.tb ? s.K : s.N;
    int64_t lda = ac + s.pad, ldb = bc + s.pad, ldc = s.N + s.pad;
    float *a = malloc(sizeof(float) * (size_t)(ar * lda + 1)), *b = malloc(sizeof(float) * (size_t)(br * ldb + 1));
    float *c = malloc(sizeof(float) * (size_t)(s.M * ldc + 1)), *c0 = malloc(sizeof(float) * (size_t)(s.M * ldc + 1));
    cr_assert(a && b && c && c0);
    for (int64_t i = 0; i < ar * lda; i++) a[i] = value(&st);
    for (int64_t i = 0; i < br * ldb; i++) b[i] = value(&st);
    for (int64_t i = 0; i < s.M * ldc; i++) c0[i] = c[i] = s.beta == 0.0f ? NAN : value(&st);
    cr_assert_eq(jl_cpu_gemm_bf16(s.ta, s.tb, s.M, s.N, s.K, s.alpha, a, lda, b, ldb, s.beta, c, ldc), JL_OK);
    for (int64_t m = 0; m < s.M; m++) {
        for (int64_t n = 0; n < s.N; n++) {
            double sum = 0, size = 0;
            for (int64_t k = 0; k < s.K; k++) {
                double x = to_bf16(s.ta ? a[k * lda + m] : a[m * lda + k]);
                double y = to_bf16(s.tb ? b[n * ldb + k] : b[k * ldb + n]);
                sum += x * y;
                size += fabs(x * y);
            }
            double want = s.alpha * sum + (s.beta == 0.0f ? 0.0 : s.beta * (double)c0[m * ldc + n]);
            double tol = 6e-8 * (double)(s.K / 2 + 4) * (fabs(s.alpha) * size + (s.beta == 0.0f ? 0.0 : fabs(s.beta * c0[m * ldc + n]))) + 1e-30;
            cr_assert(fabs(c[m * ldc + n] - want) <= tol,
                      "ta %d tb %d M %lld N %lld K %lld: c[%lld][%lld] = %.9g, want %.9g (tolerance %.3g)", s.ta, s.tb,
                      (long long)s.M, (long long)s.N, (long long)s.K, (long long)m, (long long)n, c[m * ldc + n], want,
                      tol);
        }
        for (int64_t n = s.N; n < ldc; n++)
            cr_assert(memcmp(&c[m * ldc + n], &c0[m * ldc + n], 4) == 0, "padding column %lld written", (long long)n);
    }
    free(a);
    free(b);
    free(c);
    free(c0);
}

static void require_bf16(void)
{
    if (!jl_bf16_matmul_available()) cr_skip_test("this CPU has no AVX512-BF16");
}

Test(gemm_bf16, every_transpose_around_the_tile_edges)
{
    require_bf16();
    int64_t Ms[] = {1, 11, 12, 13, 25}, Ns[] = {1, 16, 17, 32, 33, 65}, Ks[] = {1, 2, 3, 32, 33};
    for (int t = 0; t < 4; t++)
        for (size_t i = 0; i < sizeof Ms / sizeof *Ms; i++)
            for (size_t j = 0; j < sizeof Ns / sizeof *Ns; j++)
                for (size_t k = 0; k < sizeof Ks / sizeof *Ks; k++)
                    check((shape){t & 1, t >> 1, Ms[i], Ns[j], Ks[k], 0, 1.0f, 0.0f});
}

Test(gemm_bf16, past_one_block_in_every_dimension)
{
    require_bf16();
    for (int t = 0; t < 4; t++) {
        check((shape){t & 1, t >> 1, 97, 40, 600, 0, 1.0f, 0.0f});  /* three k blocks, the last odd-sized */
        check((shape){t & 1, t >> 1, 200, 300, 70, 0, 1.0f, 0.0f}); /* three row blocks, two column blocks */
    }
}

Test(gemm_bf16, strides_alpha_and_beta)
{
    require_bf16();
    for (int t = 0; t < 4; t++) {
        check((shape){t & 1, t >> 1, 13, 35, 41, 3, 0.5f, 0.0f});
        check((shape){t & 1, t >> 1, 30, 70, 300, 1, -1.5f, 0.25f});
        check((shape){t & 1, t >> 1, 5, 20, 7, 2, 1.0f, 1.0f});
    }
}

Test(gemm_bf16, nan_in_an_operand_reaches_the_result)
{
    require_bf16();
    float a[4] = {1, 2, NAN, 4}, b[4] = {1, 1, 1, 1}, c[4] = {0};
    cr_assert_eq(jl_cpu_gemm_bf16(0, 0, 2, 2, 2, 1.0f, a, 2, b, 2, 0.0f, c, 2), JL_OK);
    cr_assert(c[0] == 3.0f && c[1] == 3.0f);
    cr_assert(isnan(c[2]) && isnan(c[3]));
}
