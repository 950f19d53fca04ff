/* test_packed_gemm.c — the inference plans' GEMM (kernels/cpu/packed_gemm.c) against
 * a naive triple loop: c = a w^T + bias with w packed by jl_plan_pack, over row
 * counts around the 4-row tile, output widths around the 16-wide panels and the
 * 4-panel groups, inputs from 1, strided a and c (columns left alone), with and
 * without bias, and one jet's fusion layer (51 x 384 x 448). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "cpu_kernels.h"
#include "jl_plan_program.h"

static float value(unsigned *state)
{
    *state = *state * 1664525u + 1013904223u;
    return (float)((*state >> 8) & 0xffff) / 65536.0f - 0.5f;
}

/* Checks one product; lda = K + pad_a, ldc = N + pad_c; the padding columns of c keep their value. */
static void check(int64_t M, int64_t N, int64_t K, int pad_a, int pad_c, int with_bias)
{
    unsigned s = (unsigned)(M * 7919 + N * 104729 + K * 13 + pad_a + 2 * pad_c + with_bias);
    int64_t lda = K + pad_a, ldc = N + pad_c;
    float *a = malloc(sizeof(float) * (size_t)(M * lda + 1)), *w = malloc(sizeof(float) * (size_t)(N * K));
    float *bias = malloc(sizeof(float) * (size_t)N), *c = malloc(sizeof(float) * (size_t)(M * ldc + 1));
    float *packed = malloc(sizeof(float) * (size_t)jl_plan_packed_floats(N, K));
    cr_assert(a && w && bias && c && packed);
    for (int64_t i = 0; i < M * lda; i++) a[i] = value(&s);
    for (int64_t i = 0; i < N * K; i++) w[i] = value(&s);
    for (int64_t i = 0; i < N; i++) bias[i] = value(&s);
    for (int64_t i = 0; i < M * ldc; i++) c[i] = 42.0f;
    jl_plan_pack(w, N, K, packed);
    jl_cpu_gemm_packed(M, N, K, a, lda, packed, with_bias ? bias : NULL, c, ldc);
    for (int64_t r = 0; r < M; r++) {
        for (int64_t n = 0; n < N; n++) {
            double want = with_bias ? bias[n] : 0.0;
            for (int64_t k = 0; k < K; k++) want += (double)a[r * lda + k] * w[n * K + k];
            cr_assert(fabs(c[r * ldc + n] - want) <= 1e-5 * (1 + K),
                      "M %lld N %lld K %lld: c[%lld][%lld] = %g, want %g", (long long)M, (long long)N, (long long)K,
                      (long long)r, (long long)n, c[r * ldc + n], want);
        }
        for (int64_t n = N; n < ldc; n++) cr_assert_eq(c[r * ldc + n], 42.0f, "padding column %lld written", (long long)n);
    }
    free(a);
    free(w);
    free(bias);
    free(c);
    free(packed);
}

Test(packed_gemm, equals_the_naive_loop_around_tile_and_panel_edges)
{
    int64_t rows[] = {1, 3, 4, 5, 9}, outs[] = {1, 2, 15, 16, 17, 64, 65, 130}, ins[] = {1, 5, 16, 37};
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++)
        for (size_t j = 0; j < sizeof outs / sizeof *outs; j++)
            for (size_t k = 0; k < sizeof ins / sizeof *ins; k++) check(rows[i], outs[j], ins[k], 0, 0, (int)(k % 2));
}

Test(packed_gemm, strided_rows_and_bias)
{
    check(7, 33, 20, 3, 5, 1);
    check(6, 64, 9, 1, 0, 0);
}

Test(packed_gemm, large_products)
{
    check(51, 384, 448, 0, 0, 1); /* one LundNet5 jet's fusion layer */
    check(2, 200, 3000, 2, 3, 0);
}

Test(packed_gemm, no_rows_or_no_outputs_write_nothing)
{
    float c = 7.0f, a = 1.0f, w[JL_PLAN_PANEL] = {1.0f};
    jl_cpu_gemm_packed(0, 1, 1, &a, 1, w, NULL, &c, 1);
    jl_cpu_gemm_packed(1, 0, 1, &a, 1, w, NULL, &c, 1);
    cr_assert_eq(c, 7.0f);
}
