/* gemm.cu — the CUDA gemm slot through cublasSgemmStridedBatched.
 *
 * Layout handed over by core (ops_matmul.c; same as kernels/cpu/gemm.c), all
 * f32, all 3-D (batch, rows, cols) with unit stride in the last dim and the
 * row stride as leading dimension:
 *   out (batch, M, N)
 *   a   (batch, M, K), or (batch, K, M) holding a^T when i[1] == 1
 *   b   (batch, K, N), or (batch, N, K) holding b^T when i[2] == 1
 * strides[0] is the batch stride (0 when an operand is shared by every batch).
 * out <- s[0] * op(a) op(b) + s[1] * out.
 *
 * cuBLAS is column-major, and a row-major (R, C) matrix is its column-major
 * transpose, so out^T = op(b)^T op(a)^T is computed: operands swapped, M and
 * N swapped, transpose flags kept. One handle on the backend's stream, made
 * on first use (cuBLAS itself is loaded then: cublas_loader.cu). Full f32
 * arithmetic unless jl_cuda_set_tf32(1).
 */
#include <limits.h>
#include <pthread.h>

#include "cublas_loader.cuh"
#include "cuda_common.cuh"

static pthread_mutex_t gemm_lock = PTHREAD_MUTEX_INITIALIZER; /* the handle and its math mode */
static cublasHandle_t handle;
static bool handle_made;
static int use_tf32;

extern "C" void jl_cuda_set_tf32(int on)
{
    pthread_mutex_lock(&gemm_lock);
    use_tf32 = on != 0;
    pthread_mutex_unlock(&gemm_lock);
}

extern "C" int jl_cuda_tf32(void)
{
    pthread_mutex_lock(&gemm_lock);
    int on = use_tf32;
    pthread_mutex_unlock(&gemm_lock);
    return on;
}

static bool fits_int(int64_t v) { return v >= 0 && v <= INT_MAX; }

/* The handle, made on first use and set to the stream and the math mode;
 * gemm_lock held. *step names the call that failed. */
static cublasStatus_t ready_handle(const jl_cublas_api *api, const char **step)
{
    cublasStatus_t st = CUBLAS_STATUS_SUCCESS;
    if (!handle_made) {
        *step = "cublasCreate";
        if ((st = api->create(&handle)) != CUBLAS_STATUS_SUCCESS) return st;
        *step = "cublasSetStream";
        if ((st = api->set_stream(handle, jl_cuda_stream())) != CUBLAS_STATUS_SUCCESS) {
            api->destroy(handle);
            return st;
        }
        handle_made = true;
    }
    *step = "cublasSetMathMode";
    return api->set_math_mode(handle, use_tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH);
}

/* out (batch, M, N) <- s[0] * op(a) op(b) + s[1] * out, layouts above */
static int cuda_gemm(const jl_kargs *k)
{
    const jl_view *a = &k->a, *b = &k->b, *out = &k->out;
    if (a->dtype != JL_F32 || b->dtype != JL_F32 || out->dtype != JL_F32)
        return JL_FAIL_CODE(JL_EDEVICE, "gemm: the cuda kernel supports f32 only, got %s, %s -> %s",
                            jl_dtype_name(a->dtype), jl_dtype_name(b->dtype), jl_dtype_name(out->dtype));
    bool ta = k->i[1] != 0, tb = k->i[2] != 0;
    int64_t batch = k->i[0], M = out->shape[1], N = out->shape[2];
    int64_t K = ta ? a->shape[1] : a->shape[2];
    int64_t lda = a->strides[1], ldb = b->strides[1], ldc = out->strides[1];
    if (!fits_int(batch) || !fits_int(M) || !fits_int(N) || !fits_int(K) || !fits_int(lda) || !fits_int(ldb) ||
        !fits_int(ldc))
        return JL_FAIL_CODE(JL_EDEVICE,
                            "gemm: sizes (batch %lld, M %lld, N %lld, K %lld) exceed the cuBLAS integer range",
                            (long long)batch, (long long)M, (long long)N, (long long)K);
    if (batch == 0 || M == 0 || N == 0) return JL_OK;
    const jl_cublas_api *api = jl_cublas();
    if (!api) return jl_error_wrap("gemm");
    float alpha = (float)k->s[0], beta = (float)k->s[1];
    const char *step = "";
    pthread_mutex_lock(&gemm_lock);
    cublasStatus_t st = ready_handle(api, &step);
    if (st == CUBLAS_STATUS_SUCCESS) {
        step = "cublasSgemmStridedBatched";
        st = api->sgemm_strided_batched(handle, tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N,
                                       (int)N, (int)M, (int)K, &alpha, (const float *)b->data, (int)ldb,
                                       b->strides[0], (const float *)a->data, (int)lda, a->strides[0], &beta,
                                       (float *)out->data, (int)ldc, out->strides[0], (int)batch);
    }
    pthread_mutex_unlock(&gemm_lock);
    if (st != CUBLAS_STATUS_SUCCESS)
        return JL_FAIL_CODE(JL_EDEVICE, "gemm: cuBLAS error %s in %s: %s", api->status_name(st), step,
                            api->status_string(st));
    return JL_OK;
}

void jl_cuda_register_gemm(jl_backend *b)
{
    b->fn[JL_OP_gemm] = cuda_gemm;
}
