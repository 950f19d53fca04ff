/* cpu_kernels.h — the CPU backend's parts. Each file of kernels/cpu fills its
 * slots of the one CPU table through its register function (called once by
 * backend.c). Kernels receive checked jl_kargs (see core/tensor/backend/jl_ops.def). */
#ifndef JL_CPU_KERNELS_H
#define JL_CPU_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jl_kernel.h"
#include "jl_parallel.h"

void jl_cpu_register_memory(jl_backend *b);      /* memory.c: copy, fill, arange */
void jl_cpu_register_elementwise(jl_backend *b); /* elementwise.c: unary, binary, compare, where */
void jl_cpu_register_reduce(jl_backend *b);      /* reduce.c: sum..var, softmax and backward */
void jl_cpu_register_gemm(jl_backend *b);        /* gemm.c: OpenBLAS sgemm, or gemm_bf16.c */
void jl_cpu_register_index(jl_backend *b);       /* index.c: index_select/add, gather, scatter_add */
void jl_cpu_register_random(jl_backend *b);      /* random.c: Philox rand, randn, randint, bernoulli */
void jl_cpu_register_nn(jl_backend *b);          /* nn.c: batch normalisation stats, forward, backward */
void jl_cpu_register_graph(jl_backend *b);       /* graph.c: segment ids and reductions */
void jl_cpu_register_knn(jl_backend *b);         /* knn.c: k nearest rows inside each jet */
void jl_cpu_register_loss(jl_backend *b);        /* loss.c: fused softmax cross-entropy and backward */
void jl_cpu_register_optim(jl_backend *b);       /* optim.c: fused SGD and Adam updates */
void jl_cpu_register_edgeconv(jl_backend *b);    /* edgeconv.c: edge gather, fused batchnorm+relu(+mean) */
void jl_cpu_register_plan(jl_backend *b);        /* plan.c: inference plans (run_plan) */
void jl_cpu_register_graph_plan(jl_backend *b);  /* graph_plan.c: graph inference plans (run_graph_plan) */

/* c (M, N, row stride ldc) <- alpha op(a) op(b) + beta c with a, b rounded to bf16 and f32
 * sums: cblas_sgemm's row-major arguments (ta: a holds a^T as (K, M); tb: b holds b^T as
 * (N, K)); beta 0 does not read c. Needs AVX512-BF16 (jl_bf16_matmul_available); on the
 * calling thread (gemm_bf16.c). JL_OK, JL_ENOMEM (its packing buffers), or JL_EDEVICE
 * where it is not compiled. */
#define JL_BF16_TILE_ROWS 12 /* its micro-tile: rows of c (MR) */
#define JL_BF16_TILE_COLS 32 /* and columns (NR); gemm.c splits c in whole tiles */
int jl_cpu_gemm_bf16(int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha, const float *a, int64_t lda,
                     const float *b, int64_t ldb, float beta, float *c, int64_t ldc);

/* c (M, N, row stride ldc) <- a (M, K, row stride lda) w^T + bias, w (N, K) packed as the
 * plans pack it (jl_plan_program.h), bias (N) or NULL (packed_gemm.c); on the calling thread. */
void jl_cpu_gemm_packed(int64_t M, int64_t N, int64_t K, const float *a, int64_t lda, const float *w,
                        const float *bias, float *c, int64_t ldc);

/* y (rows, p->outputs) <- the inference plan p on x (rows, p->inputs), dense, on the
 * calling thread (plan.c); JL_OK or JL_ENOMEM (scratch). */
struct jl_plan_program;
int jl_cpu_plan_rows(const struct jl_plan_program *p, const float *x, float *y, int64_t rows);

/* Host memory for tensors (cpu_cache.c). jl_cpu_host_alloc returns a 64-byte
 * aligned block of at least `bytes` (NULL when out of memory) owned by the
 * caller until jl_cpu_host_free. Freed blocks are kept by size class and
 * reused, so large temporaries whose sizes change from batch to batch do not
 * page-fault on every op and small ones skip posix_memalign; the cache holds
 * at most the larger of 1 GiB and the peak bytes ever live. */
void *jl_cpu_host_alloc(size_t bytes);
void jl_cpu_host_free(void *p);
typedef struct jl_cpu_cache_stats {
    size_t cached_bytes, live_bytes, peak_live_bytes, limit_bytes;
} jl_cpu_cache_stats;
jl_cpu_cache_stats jl_cpu_cache_get_stats(void);
/* Frees every cached block; returns the bytes released. */
size_t jl_cpu_empty_cache(void);

/* Calls fn(ctx, offsets, count) over runs of a strided N-d iteration in the
 * order of out's row-major index: for each run, offs[v] is the element offset
 * of view v at the run's start and the run advances every view by its stride
 * of the last dim. Used by elementwise kernels for non-contiguous views. */
typedef void (*jl_cpu_run_fn)(void *ctx, const int64_t *offs, const int64_t *steps, int64_t count);
void jl_cpu_strided_runs(int nviews, const jl_view *views, jl_cpu_run_fn fn, void *ctx);

/* double -> integer element conversions: a C cast of NaN or of a value
 * outside the type's range is undefined behaviour, so saturate instead (NaN
 * gives 0, as Java and Rust do). */
static inline int32_t jl_cpu_to_i32(double x)
{
    return x != x ? 0 : x >= 2147483647.0 ? INT32_MAX : x <= -2147483648.0 ? INT32_MIN : (int32_t)x;
}
static inline int64_t jl_cpu_to_i64(double x)
{
    return x != x ? 0 : x >= 0x1p63 ? INT64_MAX : x < -0x1p63 ? INT64_MIN : (int64_t)x;
}

#endif
