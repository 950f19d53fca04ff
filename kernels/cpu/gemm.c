/* gemm.c — the CPU gemm slot through OpenBLAS cblas_sgemm.
 *
 * Layout handed over by core (ops_matmul.c), all f32, all 3-D (batch, rows, cols)
 * with unit stride in the last dim and the row stride as leading dimension:
 *   out (batch, M, N)
 *   a   (batch, M, K), or (batch, K, M) holding a^T when i[1] == 1
 *   b   (batch, K, N), or (batch, N, K) holding b^T when i[2] == 1
 * strides[0] is the batch stride (0 when an operand is shared by every batch).
 * out <- s[0] * op(a) op(b) + s[1] * out, one sgemm per batch entry; OpenBLAS
 * runs each on its own threads (jl_set_num_threads sizes them).
 */
#include <cblas.h>
#include <limits.h>

#include "cpu_kernels.h"

static int fits_blasint(int64_t v) { return v >= 0 && v <= INT_MAX; }

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
    const float *pa = a->data, *pb = b->data;
    float *pc = out->data;
    for (int64_t p = 0; p < batch; p++)
        cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                    (int)M, (int)N, (int)K, (float)k->s[0], pa + p * a->strides[0], (int)lda,
                    pb + p * b->strides[0], (int)ldb, (float)k->s[1], pc + p * out->strides[0], (int)ldc);
    return JL_OK;
}

void jl_cpu_register_gemm(jl_backend *b)
{
    b->fn[JL_OP_gemm] = cpu_gemm;
}
