/* gemm_bf16.c — the opt-in bf16 matrix product: c <- alpha op(a) op(b) + beta c
 * with the operands rounded to bfloat16 (round to nearest even) and the products
 * summed in f32 (AVX512-BF16 VDPBF16PS: 32 multiply-adds per instruction where
 * an f32 FMA does 16). Same row-major layout and arguments as cblas_sgemm; gemm.c
 * calls it per part of its split when jl_matmul_precision() is JL_PRECISION_BF16.
 *
 * Blocking (GotoBLAS order): column blocks of NC, k blocks of KC, row blocks of
 * MC. Packed layouts, in 32-bit words that each hold a pair of bf16 values
 * (k even in the low half, k + 1 in the high half; an odd k's partner is 0):
 *   a block: [row][pair] from a (M, K) (rows of kp pairs), [pair][row] from a^T
 *            (rows padded to a multiple of 16); the micro-kernel broadcasts one pair per row
 *   b block: panels of NR columns, [panel][pair][NR]  (two 16-lane vectors per pair)
 * The micro-kernel holds an MR x NR tile of c in 24 vector accumulators. The packing
 * buffers (352 kB) come from the tensor allocator's size-class cache (jl_cpu_host_alloc),
 * not the stack: a host program's threads may have small stacks.
 * The sum over k is in a fixed order, so results do not depend on the thread split.
 */
#include "cpu_kernels.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

#define MR JL_BF16_TILE_ROWS
#define NR JL_BF16_TILE_COLS
#define KC 512
#define MC 96
#define NC 256
#define KP (KC / 2)

/* 32 f32 -> 16 pairs (x[2i], x[2i+1]); x has n <= 32 valid values, the rest read as 0. */
BF16_TARGET static inline __m512i pairs_of_run(const float *x, int64_t n)
{
    __mmask16 lo = n >= 16 ? 0xffff : (__mmask16)((1u << n) - 1);
    __mmask16 hi = n >= 32 ? 0xffff : n <= 16 ? 0 : (__mmask16)((1u << (n - 16)) - 1);
    __m512bh h = _mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(hi, x + 16), _mm512_maskz_loadu_ps(lo, x));
    return (__m512i)h;
}

/* 16 pairs (x[j], y[j]) for j < n <= 16, from two rows; the rest 0. */
BF16_TARGET static inline __m512i pairs_of_rows(const float *x, const float *y, int64_t n)
{
    __mmask16 m = n >= 16 ? 0xffff : (__mmask16)((1u << n) - 1);
    __m512 vx = _mm512_maskz_loadu_ps(m, x);
    __m512 vy = y ? _mm512_maskz_loadu_ps(m, y) : _mm512_setzero_ps();
    /* per 128-bit lane: lo = x0 y0 x1 y1, hi = x2 y2 x3 y3; converted: lanes' pairs 0 1 | 4 5 | ... then 2 3 | 6 7 */
    __m512 lo = _mm512_unpacklo_ps(vx, vy), hi = _mm512_unpackhi_ps(vx, vy);
    __m512i h = (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
    const __m512i order = _mm512_setr_epi32(0, 1, 8, 9, 2, 3, 10, 11, 4, 5, 12, 13, 6, 7, 14, 15);
    return _mm512_permutexvar_epi32(order, h);
}

/* Where pack_a puts pair q of row r: ap[r * row + q * pair]. */
typedef struct a_layout {
    int64_t row, pair;
} a_layout;

/* A block (mc rows, kc values of k from k0) -> ap, kp = (kc + 1) / 2 pairs per row.
 * ta 0: a (M, K) row stride lda, stored [r][q]; ta 1: a^T stored (K, M), stored [q][r]
 * with rows padded to a multiple of 16 (whole vectors of pairs, no transposition). */
BF16_TARGET static a_layout pack_a(int ta, const float *a, int64_t lda, int64_t m0, int64_t mc, int64_t k0,
                                   int64_t kc, uint32_t *ap)
{
    int64_t kp = (kc + 1) / 2;
    if (ta) {
        int64_t width = (mc + 15) / 16 * 16;
        for (int64_t q = 0; q < kp; q++) {
            const float *x = a + (k0 + 2 * q) * lda + m0;
            const float *y = 2 * q + 1 < kc ? x + lda : NULL;
            for (int64_t r = 0; r < mc; r += 16)
                _mm512_storeu_si512(ap + q * width + r, pairs_of_rows(x + r, y ? y + r : NULL, mc - r));
        }
        return (a_layout){.row = 1, .pair = width};
    }
    {
        for (int64_t r = 0; r < mc; r++) {
            const float *row = a + (m0 + r) * lda + k0;
            for (int64_t k = 0; k < kc; k += 32) {
                int64_t n = (kc - k + 1) / 2 < 16 ? (kc - k + 1) / 2 : 16;
                _mm512_mask_storeu_epi32(ap + r * kp + k / 2, (__mmask16)((1u << n) - 1), pairs_of_run(row + k, kc - k));
            }
        }
    }
    return (a_layout){.row = kp, .pair = 1};
}

/* r[i][j] <- r[j][i]: a 16 x 16 transposition of 32-bit words in registers. */
BF16_TARGET static inline void transpose16(__m512i r[16])
{
    __m512i t[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) {
        r[4 * i] = _mm512_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
        r[4 * i + 1] = _mm512_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
        r[4 * i + 2] = _mm512_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
        r[4 * i + 3] = _mm512_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
    }
    for (int i = 0; i < 4; i++) {
        t[i] = _mm512_shuffle_i32x4(r[i], r[i + 4], 0x88);
        t[i + 4] = _mm512_shuffle_i32x4(r[i], r[i + 4], 0xdd);
        t[i + 8] = _mm512_shuffle_i32x4(r[i + 8], r[i + 12], 0x88);
        t[i + 12] = _mm512_shuffle_i32x4(r[i + 8], r[i + 12], 0xdd);
    }
    for (int i = 0; i < 8; i++) {
        r[i] = _mm512_shuffle_i32x4(t[i], t[i + 8], 0x88);
        r[i + 8] = _mm512_shuffle_i32x4(t[i], t[i + 8], 0xdd);
    }
}

/* B block (kc values of k from k0, nc columns from n0) -> bp[(panel * kp + q) * NR + j],
 * columns past nc are 0. tb 0: b (K, N) row stride ldb; tb 1: b^T stored (N, K). */
BF16_TARGET static void pack_b(int tb, const float *b, int64_t ldb, int64_t k0, int64_t kc, int64_t n0,
                               int64_t nc, uint32_t *bp)
{
    int64_t kp = (kc + 1) / 2;
    for (int64_t p = 0; p < nc; p += NR) {
        uint32_t *panel = bp + p * kp;
        int64_t width = nc - p < NR ? nc - p : NR;
        if (!tb) {
            for (int64_t q = 0; q < kp; q++) {
                const float *x = b + (k0 + 2 * q) * ldb + n0 + p;
                const float *y = 2 * q + 1 < kc ? x + ldb : NULL;
                _mm512_storeu_si512(panel + q * NR, pairs_of_rows(x, y, width));
                _mm512_storeu_si512(panel + q * NR + 16,
                                    width > 16 ? pairs_of_rows(x + 16, y ? y + 16 : NULL, width - 16)
                                               : _mm512_setzero_si512());
            }
            continue;
        }
        for (int64_t j0 = 0; j0 < NR; j0 += 16)
            for (int64_t k = 0; k < kc; k += 32) {
                __m512i r[16]; /* r[j]: pairs of column j0 + j, then (transposed) r[q]: pair q of the 16 */
                for (int64_t j = 0; j < 16; j++)
                    r[j] = j0 + j < width ? pairs_of_run(b + (n0 + p + j0 + j) * ldb + k0 + k, kc - k)
                                          : _mm512_setzero_si512();
                transpose16(r);
                int64_t n = (kc - k + 1) / 2 < 16 ? (kc - k + 1) / 2 : 16;
                for (int64_t q = 0; q < n; q++) _mm512_storeu_si512(panel + (k / 2 + q) * NR + j0, r[q]);
            }
    }
}

/* c tile (rows <= MR, cols <= NR) <- alpha * sum + (first ? beta * c : c); pair q of
 * row r at ap[r * lay.row + q * lay.pair]. */
BF16_TARGET static void micro_tile(int64_t kp, const uint32_t *ap, a_layout lay, const uint32_t *bp, float *c,
                                   int64_t ldc, int rows, int cols, bool first, float alpha, float beta)
{
    __m512 acc[MR][2];
    const uint32_t *ar[MR];
    for (int r = 0; r < MR; r++) {
        acc[r][0] = acc[r][1] = _mm512_setzero_ps();
        ar[r] = ap + (r < rows ? r : 0) * lay.row; /* missing rows recompute row 0, never stored */
    }
    for (int64_t q = 0; q < kp; q++) {
        __m512bh b0 = (__m512bh)_mm512_loadu_si512(bp + q * NR);
        __m512bh b1 = (__m512bh)_mm512_loadu_si512(bp + q * NR + 16);
        int64_t at = q * lay.pair;
        for (int r = 0; r < MR; r++) {
            __m512bh av = (__m512bh)_mm512_set1_epi32((int)ar[r][at]);
            acc[r][0] = _mm512_dpbf16_ps(acc[r][0], av, b0);
            acc[r][1] = _mm512_dpbf16_ps(acc[r][1], av, b1);
        }
    }
    __mmask16 m0 = cols >= 16 ? 0xffff : (__mmask16)((1u << cols) - 1);
    __mmask16 m1 = cols >= 32 ? 0xffff : cols <= 16 ? 0 : (__mmask16)((1u << (cols - 16)) - 1);
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(first ? beta : 1.0f);
    bool keep = !first || beta != 0.0f; /* beta 0: c is not read (it may hold NaN) */
    for (int r = 0; r < rows; r++) {
        float *cr = c + r * ldc;
        __m512 x0 = _mm512_mul_ps(acc[r][0], va), x1 = _mm512_mul_ps(acc[r][1], va);
        if (keep) {
            x0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m0, cr), vb, x0);
            x1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m1, cr + 16), vb, x1);
        }
        _mm512_mask_storeu_ps(cr, m0, x0);
        _mm512_mask_storeu_ps(cr + 16, m1, x1);
    }
}

BF16_TARGET int jl_cpu_gemm_bf16(int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha, const float *a,
                                 int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc)
{
    if (K == 0) {
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
        return JL_OK;
    }
    uint32_t *ap = jl_cpu_host_alloc(sizeof(uint32_t) * (MC + NC) * KP); /* 64-byte aligned */
    if (!ap) return JL_ENOMEM;
    uint32_t *bp = ap + MC * KP;
    for (int64_t n0 = 0; n0 < N; n0 += NC) {
        int64_t nc = N - n0 < NC ? N - n0 : NC;
        for (int64_t k0 = 0; k0 < K; k0 += KC) {
            int64_t kc = K - k0 < KC ? K - k0 : KC, kp = (kc + 1) / 2;
            pack_b(tb, b, ldb, k0, kc, n0, nc, bp);
            for (int64_t m0 = 0; m0 < M; m0 += MC) {
                int64_t mc = M - m0 < MC ? M - m0 : MC;
                a_layout lay = pack_a(ta, a, lda, m0, mc, k0, kc, ap);
                for (int64_t j = 0; j < nc; j += NR)
                    for (int64_t i = 0; i < mc; i += MR)
                        micro_tile(kp, ap + i * lay.row, lay, bp + j * kp, c + (m0 + i) * ldc + n0 + j, ldc,
                                   (int)(mc - i < MR ? mc - i : MR), (int)(nc - j < NR ? nc - j : NR), k0 == 0,
                                   alpha, beta);
            }
        }
    }
    jl_cpu_host_free(ap);
    return JL_OK;
}

#else

int jl_cpu_gemm_bf16(int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha, const float *a, int64_t lda,
                     const float *b, int64_t ldb, float beta, float *c, int64_t ldc)
{
    (void)ta, (void)tb, (void)M, (void)N, (void)K, (void)alpha, (void)a, (void)lda, (void)b, (void)ldb, (void)beta,
        (void)c, (void)ldc;
    return JL_EDEVICE;
}

#endif
