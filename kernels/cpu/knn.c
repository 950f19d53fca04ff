/* knn.c — the CPU kNN inside each jet of a ragged batch (core/tensor/backend/jl_ops.def:
 * knn): for every row, its k nearest other rows of the same jet by squared Euclidean
 * distance, nearest first, a tie going to the earlier row.
 *
 * Per jet, the coordinates are copied by dimension (cols (D, n)) and the distances
 * from a row to all n rows are summed over the dimensions in order, vectorised
 * across the rows (the same sum, to the bit, as a pair-at-a-time loop). The nearest
 * are kept by insertion into a sorted list; with AVX-512 and k <= 16 the list is
 * one vector register and an insertion is a compare, a shift and two blends with
 * no branch. A row whose list the vector path could not fill (NaN or infinite
 * distances) is redone by the scalar insertion, which keeps their order.
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "cpu_kernels.h"
#include "jl_nearest.h"

#define KNN_ROWS 4 /* rows selected side by side (vector path): their insertions overlap */

#if defined(__AVX512F__)
#include <immintrin.h>
#define KNN_VECTOR_K 16
#endif

typedef struct {
    const float *coords; /* (N, D) */
    const int64_t *jet_offsets, *edge_offsets;
    int64_t *nbr;
    int64_t dims, k;
    atomic_llong unserved; /* rows of the largest jet a task had no scratch for, 0 if none */
} knn_ctx;

/* dist (n) <- squared distances from the point xi (D) to the n points of cols (D, n). */
static void distances(const float *xi, const float *cols, int64_t dims, int64_t n, float *dist)
{
    for (int64_t j = 0; j < n; j++) dist[j] = 0;
    for (int64_t t = 0; t < dims; t++) {
        const float x = xi[t], *col = cols + t * n;
        for (int64_t j = 0; j < n; j++) {
            float diff = x - col[j];
            dist[j] += diff * diff;
        }
    }
}

#if defined(KNN_VECTOR_K)
/* distances for KNN_ROWS points at once (xi[r] (D) -> dist + r * stride (n)): each
 * vector of cols loaded once for all of them, four vectors of rows per pass. */
static void distances_rows(const float *const *xi, const float *cols, int64_t dims, int64_t n, float *dist,
                           int64_t stride)
{
    for (int64_t j0 = 0; j0 < n; j0 += 64) {
        __mmask16 mask[4];
        __m512 acc[KNN_ROWS][4];
        for (int v = 0; v < 4; v++) {
            int64_t left = n - j0 - 16 * v;
            mask[v] = left >= 16 ? 0xffff : left <= 0 ? 0 : (__mmask16)((1u << left) - 1);
            for (int r = 0; r < KNN_ROWS; r++) acc[r][v] = _mm512_setzero_ps();
        }
        for (int64_t t = 0; t < dims; t++) {
            const float *col = cols + t * n + j0;
            for (int v = 0; v < 4; v++) {
                if (!mask[v]) continue;
                __m512 y = _mm512_maskz_loadu_ps(mask[v], col + 16 * v);
                for (int r = 0; r < KNN_ROWS; r++) {
                    __m512 diff = _mm512_sub_ps(_mm512_set1_ps(xi[r][t]), y);
                    acc[r][v] = _mm512_fmadd_ps(diff, diff, acc[r][v]);
                }
            }
        }
        for (int r = 0; r < KNN_ROWS; r++)
            for (int v = 0; v < 4; v++) _mm512_mask_storeu_ps(dist + r * stride + j0 + 16 * v, mask[v], acc[r][v]);
    }
}
#endif

/* Nearest m of the n rows at dist (n) other than row self, into best (m) as rows
 * begin + j, nearest first, ties in row order: scalar insertion. */
static void select_nearest(const float *dist, int64_t n, int64_t self, int64_t m, int64_t begin, int64_t *best,
                           float *best_d)
{
    int64_t found = 0;
    for (int64_t j = 0; j < n; j++)
        if (j != self) jl_keep_nearest(best, best_d, &found, m, begin + j, dist[j]);
}

#if defined(KNN_VECTOR_K)
/* select_nearest for KNN_ROWS rows at once (row r: dist + r * stride, self[r], m[r] <=
 * KNN_VECTOR_K, best[r]), each list one register. dist[self] is set to +inf (never
 * kept). Returns a mask of the rows whose list came out short (a NaN or infinite
 * distance among the first m): they are left to select_nearest. */
static unsigned select_nearest_vector(float *dist, int64_t stride, int64_t n, const int64_t *self, const int64_t *m,
                                      int64_t begin, int64_t *const *best)
{
    const __m512i shift = _mm512_setr_epi32(0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14);
    __m512 bd[KNN_ROWS];
    __m512i bj[KNN_ROWS];
    for (int r = 0; r < KNN_ROWS; r++) {
        bd[r] = _mm512_set1_ps(__builtin_inff());
        bj[r] = _mm512_set1_epi32(-1);
        dist[r * stride + self[r]] = __builtin_inff();
    }
    for (int64_t j = 0; j < n; j++) {
        __m512i row = _mm512_set1_epi32((int)j);
        for (int r = 0; r < KNN_ROWS; r++) {
            __m512 d = _mm512_set1_ps(dist[r * stride + j]);
            __mmask16 after = _mm512_cmp_ps_mask(bd[r], d, _CMP_GT_OQ);    /* a suffix: the list is sorted */
            __mmask16 at = _kandn_mask16(_kshiftli_mask16(after, 1), after); /* its first lane: where d goes */
            bd[r] = _mm512_mask_mov_ps(_mm512_mask_permutexvar_ps(bd[r], after, shift, bd[r]), at, d);
            bj[r] = _mm512_mask_mov_epi32(_mm512_mask_permutexvar_epi32(bj[r], after, shift, bj[r]), at, row);
        }
    }
    unsigned short_rows = 0;
    for (int r = 0; r < KNN_ROWS; r++) {
        int32_t rows[16];
        _mm512_storeu_si512(rows, bj[r]);
        if (m[r] > 0 && rows[m[r] - 1] < 0) {
            short_rows |= 1u << r;
            continue;
        }
        for (int64_t e = 0; e < m[r]; e++) best[r][e] = begin + rows[e];
    }
    return short_rows;
}
#endif

/* The nearest neighbours of every row of the jet [begin, end); cols (D, n) and
 * dist (KNN_ROWS, stride) are scratch. */
static void knn_jet(const knn_ctx *c, int64_t begin, int64_t end, float *cols, float *dist, int64_t stride,
                    float *best_d)
{
    int64_t n = end - begin, dims = c->dims;
    for (int64_t j = 0; j < n; j++)
        for (int64_t t = 0; t < dims; t++) cols[t * n + j] = c->coords[(begin + j) * dims + t];
    int64_t i = begin;
#if defined(KNN_VECTOR_K)
    if (c->k <= KNN_VECTOR_K)
        for (; i + KNN_ROWS <= end; i += KNN_ROWS) {
            int64_t self[KNN_ROWS], m[KNN_ROWS];
            int64_t *best[KNN_ROWS];
            const float *xi[KNN_ROWS];
            for (int r = 0; r < KNN_ROWS; r++) xi[r] = c->coords + (i + r) * dims;
            distances_rows(xi, cols, dims, n, dist, stride);
            for (int r = 0; r < KNN_ROWS; r++) {
                self[r] = i + r - begin;
                m[r] = c->edge_offsets[i + r + 1] - c->edge_offsets[i + r];
                best[r] = c->nbr + c->edge_offsets[i + r];
            }
            unsigned short_rows = select_nearest_vector(dist, stride, n, self, m, begin, best);
            for (int r = 0; r < KNN_ROWS; r++)
                if (short_rows >> r & 1) select_nearest(dist + r * stride, n, self[r], m[r], begin, best[r], best_d);
        }
#else
    (void)stride;
#endif
    for (; i < end; i++) {
        distances(c->coords + i * dims, cols, dims, n, dist);
        int64_t e0 = c->edge_offsets[i];
        select_nearest(dist, n, i - begin, c->edge_offsets[i + 1] - e0, begin, c->nbr + e0, best_d);
    }
}

static void knn_jets(void *vctx, int64_t first, int64_t last)
{
    knn_ctx *c = vctx;
    int64_t largest = 0;
    for (int64_t jet = first; jet < last; jet++) {
        int64_t n = c->jet_offsets[jet + 1] - c->jet_offsets[jet];
        if (n > largest) largest = n;
    }
    int64_t stride = (largest + 15) / 16 * 16, rows = KNN_ROWS;
    float *scratch = malloc(sizeof(float) * (size_t)(largest * c->dims + rows * stride + c->k + 1));
    if (!scratch) {
        atomic_store(&c->unserved, largest);
        return;
    }
    float *cols = scratch, *dist = cols + largest * c->dims, *best_d = dist + rows * stride;
    for (int64_t jet = first; jet < last; jet++)
        knn_jet(c, c->jet_offsets[jet], c->jet_offsets[jet + 1], cols, dist, stride, best_d);
    free(scratch);
}

static int cpu_knn(const jl_kargs *k)
{
    knn_ctx c = {.coords = k->a.data, .jet_offsets = k->b.data, .edge_offsets = k->c.data, .nbr = k->out.data,
                 .dims = k->a.shape[1], .k = k->i[0]};
    int64_t jets = k->b.shape[0] - 1, rows = k->a.shape[0];
    int64_t per_jet = jets ? rows / jets + 1 : 1;
    jl_parallel_for(jets, 1 + 4096 / (per_jet * per_jet), knn_jets, &c);
    int64_t unserved = atomic_load(&c.unserved);
    if (unserved)
        return JL_FAIL_CODE(JL_ENOMEM, "knn: out of memory for the distances of a jet of %lld rows (%lld dims)",
                            (long long)unserved, (long long)c.dims);
    return JL_OK;
}

void jl_cpu_register_knn(jl_backend *b)
{
    b->fn[JL_OP_knn] = cpu_knn;
}
