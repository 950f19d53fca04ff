/* gemm.c — the CPU gemm slot through OpenBLAS cblas_sgemm.
 *
 * Layout handed over by core (ops_matmul.c), all f32, all 3-D (batch, rows, cols)
 * with unit stride in the last dim and the row stride as leading dimension:
 *   out (batch, M, N)
 *   a   (batch, M, K), or (batch, K, M) holding a^T when i[1] == 1
 *   b   (batch, K, N), or (batch, N, K) holding b^T when i[2] == 1
 * strides[0] is the batch stride (0 when an operand is shared by every batch).
 * out <- s[0] * op(a) op(b) + s[1] * out, one sgemm per batch entry.
 *
 * OpenBLAS runs single-threaded (threadpool.c); the parallel split is ours, on
 * the one pool: batch entries when there are enough, else the larger of M and
 * N in one contiguous part per thread (each C element is computed by a single
 * sgemm call over the whole K, so the result does not depend on the thread
 * count). Under JL_PRECISION_BF16 (jl_precision.h) each part runs the bf16
 * kernel of gemm_bf16.c instead of sgemm, on the same split. GEMMs below GEMM_PARALLEL_MACS multiply-adds run on the caller: a
 * wake-up of the pool costs more than they take.
 */
#include <cblas.h>
#include <limits.h>
#include <stdatomic.h>

#include "cpu_kernels.h"
#include "jl_precision.h"

static int fits_blasint(int64_t v) { return v >= 0 && v <= INT_MAX; }

#define GEMM_PARALLEL_MACS ((int64_t)1 << 20)
#define GEMM_SPLIT_ALIGN 16

typedef struct gemm_job {
    int ta, tb, split_rows, parts, align;
    bool bf16;
    int64_t M, N, K, lda, ldb, ldc, entry;
    float alpha, beta;
    const float *a, *b;
    float *c;
    int64_t batch_a, batch_b, batch_c; /* batch strides in elements */
    atomic_int *failed;                /* a part's error code (bf16: out of memory), 0 if none */
} gemm_job;

/* C[m0:m1, n0:n1] of batch entry p: rows of op(a) and columns of op(b). */
static void gemm_part(const gemm_job *j, int64_t p, int64_t m0, int64_t m1, int64_t n0, int64_t n1)
{
    if (m1 <= m0 || n1 <= n0) return;
    const float *a = j->a + p * j->batch_a + (j->ta ? m0 : m0 * j->lda);
    const float *b = j->b + p * j->batch_b + (j->tb ? n0 * j->ldb : n0);
    float *c = j->c + p * j->batch_c + m0 * j->ldc + n0;
    if (j->bf16) {
        int rc = jl_cpu_gemm_bf16(j->ta, j->tb, m1 - m0, n1 - n0, j->K, j->alpha, a, j->lda, b, j->ldb, j->beta, c,
                                  j->ldc);
        if (rc) atomic_store(j->failed, rc);
        return;
    }
    cblas_sgemm(CblasRowMajor, j->ta ? CblasTrans : CblasNoTrans, j->tb ? CblasTrans : CblasNoTrans,
                (int)(m1 - m0), (int)(n1 - n0), (int)j->K, j->alpha, a, (int)j->lda, b, (int)j->ldb, j->beta,
                c, (int)j->ldc);
}

static void gemm_batches(void *ctx, int64_t begin, int64_t end)
{
    const gemm_job *j = ctx;
    for (int64_t p = begin; p < end; p++) gemm_part(j, p, 0, j->M, 0, j->N);
}

/* Part i of the split dimension, in multiples of j->align. */
static void gemm_slices(void *ctx, int64_t begin, int64_t end)
{
    const gemm_job *j = ctx;
    int64_t len = j->split_rows ? j->M : j->N;
    int64_t per = (len + j->parts - 1) / j->parts;
    per = (per + j->align - 1) / j->align * j->align;
    for (int64_t i = begin; i < end; i++) {
        int64_t lo = i * per, hi = lo + per < len ? lo + per : len;
        if (j->split_rows) gemm_part(j, j->entry, lo, hi, 0, j->N);
        else gemm_part(j, j->entry, 0, j->M, lo, hi);
    }
}

static int cpu_gemm(const jl_kargs *k)
{
    const jl_view *a = &k->a, *b = &k->b, *out = &k->out;
    if (a->dtype != JL_F32 || b->dtype != JL_F32 || out->dtype != JL_F32)
        return JL_FAIL_CODE(JL_EDEVICE, "gemm: the cpu kernel supports f32 only, got %s, %s -> %s",
                            jl_dtype_name(a->dtype), jl_dtype_name(b->dtype), jl_dtype_name(out->dtype));
    int ta = k->i[1] != 0, tb = k->i[2] != 0;
    int64_t batch = k->i[0], M = out->shape[1], N = out->shape[2];
    int64_t K = ta ? a->shape[1] : a->shape[2];
    int64_t lda = a->strides[1], ldb = b->strides[1], ldc = out->strides[1];
    if (!fits_blasint(M) || !fits_blasint(N) || !fits_blasint(K) || !fits_blasint(lda) ||
        !fits_blasint(ldb) || !fits_blasint(ldc))
        return JL_FAIL_CODE(JL_EDEVICE, "gemm: sizes (M %lld, N %lld, K %lld) exceed the BLAS integer range",
                            (long long)M, (long long)N, (long long)K);
    if (M == 0 || N == 0) return JL_OK;
    atomic_int failed = 0;
    gemm_job job = {.failed = &failed, .ta = ta, .tb = tb, .M = M, .N = N, .K = K, .lda = lda, .ldb = ldb, .ldc = ldc,
                    .alpha = (float)k->s[0], .beta = (float)k->s[1], .a = a->data, .b = b->data,
                    .c = out->data, .batch_a = a->strides[0], .batch_b = b->strides[0],
                    .batch_c = out->strides[0], .bf16 = jl_get_matmul_precision() == JL_PRECISION_BF16};
    int threads = jl_get_num_threads();
    if (threads == 1 || batch * M * N * K < GEMM_PARALLEL_MACS) {
        for (int64_t p = 0; p < batch; p++) gemm_part(&job, p, 0, M, 0, N);
    } else if (batch >= threads) {
        jl_parallel_for(batch, 1, gemm_batches, &job);
    } else {
        job.split_rows = M >= N;
        job.align = job.bf16 ? (job.split_rows ? JL_BF16_TILE_ROWS : JL_BF16_TILE_COLS) : GEMM_SPLIT_ALIGN;
        job.parts = threads;
        for (job.entry = 0; job.entry < batch; job.entry++) jl_parallel_for(threads, 1, gemm_slices, &job);
    }
    if (atomic_load(&failed))
        return JL_FAIL_CODE(atomic_load(&failed), "gemm: bf16 product (M %lld, N %lld, K %lld): %s",
                            (long long)M, (long long)N, (long long)K,
                            atomic_load(&failed) == JL_ENOMEM ? "out of memory for its packing buffers"
                                                              : "not compiled for this CPU");
    return JL_OK;
}

void jl_cpu_register_gemm(jl_backend *b)
{
    b->fn[JL_OP_gemm] = cpu_gemm;
}
