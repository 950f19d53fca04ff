/* packed_gemm.c — the inference plans' GEMM: c = a w^T + bias with w packed in
 * panels of 16 output columns (jl_plan_program.h), so no call repacks the weights
 * (OpenBLAS packs both operands on every call, which at the plans' few rows — one
 * jet's 50 nodes, a batch of 64 FCNN rows — costs a fifth of the time). A tile of
 * PG_ROWS rows x PG_PANELS panels keeps its PG_ROWS * PG_PANELS 16-wide accumulators
 * in vector registers (GCC vector extensions: AVX-512 with -march=native on this
 * CPU, narrower vectors elsewhere) while k runs over the inputs. It runs on the
 * calling thread: the plans split rows or jets over the pool themselves, and
 * splitting one jet's GEMMs (one wake-up of the pool each) measured slower than
 * running them on the caller (LundNet5, 1 jet: 0.197 ms split from 1M multiply-adds,
 * 0.176 from 4M, 0.165 never). */
#include "cpu_kernels.h"
#include "jl_plan_program.h"

#define PG_ROWS 4
#define PG_PANELS 4

typedef float pg_vec __attribute__((vector_size(4 * JL_PLAN_PANEL)));
typedef float pg_load __attribute__((vector_size(4 * JL_PLAN_PANEL), aligned(4)));

/* Defines NAME: c rows [0, rows) (rows <= PG_ROWS), panels [0, panels) (<= NP) of a panel
 * group starting at output column n0, with PG_ROWS x NP accumulators (layers of one or
 * two panels, 2 or 32 outputs, get their own so that they do not multiply four). */
#define PG_TILE(NAME, NP)                                                                                      \
    static void NAME(int64_t rows, int64_t panels, int64_t K, const float *a, int64_t lda, const float *w,     \
                     const float *bias, float *c, int64_t ldc, int64_t n0, int64_t N)                          \
    {                                                                                                          \
        pg_vec acc[PG_ROWS][NP];                                                                               \
        const float *ar[PG_ROWS];                                                                              \
        for (int r = 0; r < PG_ROWS; r++) {                                                                    \
            ar[r] = a + (r < rows ? r : 0) * lda; /* missing rows recompute row 0, never stored */            \
            for (int p = 0; p < NP; p++) acc[r][p] = (pg_vec){0};                                             \
        }                                                                                                      \
        int64_t panel = JL_PLAN_PANEL * K;                                                                     \
        for (int64_t k = 0; k < K; k++) {                                                                      \
            pg_vec wk[NP];                                                                                     \
            for (int p = 0; p < NP; p++)                                                                       \
                wk[p] = p < panels ? (pg_vec) * (const pg_load *)(w + p * panel + k * JL_PLAN_PANEL) : (pg_vec){0}; \
            for (int r = 0; r < PG_ROWS; r++) {                                                                \
                float x = ar[r][k];                                                                            \
                for (int p = 0; p < NP; p++) acc[r][p] += x * wk[p];                                           \
            }                                                                                                  \
        }                                                                                                      \
        for (int64_t r = 0; r < rows; r++)                                                                     \
            for (int64_t p = 0; p < panels; p++) {                                                             \
                int64_t c0 = n0 + p * JL_PLAN_PANEL, width = N - c0 < JL_PLAN_PANEL ? N - c0 : JL_PLAN_PANEL;  \
                float *out = c + r * ldc + c0;                                                                 \
                for (int64_t j = 0; j < width; j++) out[j] = acc[r][p][j] + (bias ? bias[c0 + j] : 0.0f);      \
            }                                                                                                  \
    }

PG_TILE(tile, PG_PANELS)
PG_TILE(tile1, 1)
PG_TILE(tile2, 2)

/* Panel groups [g0, g1) of every row. */
static void panel_groups(int64_t M, int64_t N, int64_t K, const float *a, int64_t lda, const float *w,
                         const float *bias, float *c, int64_t ldc, int64_t g0, int64_t g1)
{
    int64_t panels = (N + JL_PLAN_PANEL - 1) / JL_PLAN_PANEL;
    for (int64_t g = g0; g < g1; g++) {
        int64_t p0 = g * PG_PANELS, np = panels - p0 < PG_PANELS ? panels - p0 : PG_PANELS;
        for (int64_t r0 = 0; r0 < M; r0 += PG_ROWS)
            (np == 1 ? tile1 : np == 2 ? tile2 : tile)(M - r0 < PG_ROWS ? M - r0 : PG_ROWS, np, K, a + r0 * lda, lda, w + p0 * JL_PLAN_PANEL * K, bias,
                 c + r0 * ldc, ldc, p0 * JL_PLAN_PANEL, N);
    }
}

void jl_cpu_gemm_packed(int64_t M, int64_t N, int64_t K, const float *a, int64_t lda, const float *w,
                        const float *bias, float *c, int64_t ldc)
{
    if (M == 0 || N == 0) return;
    panel_groups(M, N, K, a, lda, w, bias, c, ldc, 0, (N + PG_PANELS * JL_PLAN_PANEL - 1) / (PG_PANELS * JL_PLAN_PANEL));
}
