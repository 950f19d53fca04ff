/* bench_core.c — engine overheads, one JSON line each:
 *   matmul 512x512 through jl_matmul (our pool splits it) vs cblas_sgemm called directly on OpenBLAS's own threads;
 *   elementwise add/relu throughput in GB/s vs a plain memcpy of the same bytes.
 * Medians over repeats. Usage: bench_core [repeats] */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jl_ops.h"
#include "jl_parallel.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

#define TIMED(repeats, out, body)                  \
    do {                                           \
        double samples_[64];                       \
        for (int r_ = 0; r_ < (repeats); r_++) {   \
            double t0_ = now();                    \
            body;                                  \
            samples_[r_] = now() - t0_;            \
        }                                          \
        (out) = median(samples_, (repeats));       \
    } while (0)

static void bench_matmul(int repeats, int n)
{
    int64_t shape[2] = {n, n};
    jl_tensor *a = jl_rand(2, shape, -1, 1, JL_CPU), *b = jl_rand(2, shape, -1, 1, JL_CPU);
    jl_tensor *c = jl_tensor_new(JL_F32, 2, shape, JL_CPU);
    double direct, through;
    const int inner = 10;
    openblas_set_num_threads(jl_get_num_threads()); /* OpenBLAS's own threads for the direct calls */
    TIMED(repeats, direct, for (int i = 0; i < inner; i++)
              cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, jl_data(a), n, jl_data(b), n,
                          0.0f, jl_data(c), n));
    openblas_set_num_threads(1); /* as jetlab keeps it: its pool splits the GEMM */
    TIMED(repeats, through, for (int i = 0; i < inner; i++) {
        jl_tensor *m = jl_matmul(a, b);
        jl_release(m);
    });
    double flops = 2.0 * n * n * n * inner;
    printf("{\"bench\":\"matmul\",\"n\":%d,\"threads\":%d,\"direct_gflops\":%.2f,\"jetlab_gflops\":%.2f,"
           "\"overhead_pct\":%.2f}\n",
           n, jl_get_num_threads(), flops / direct * 1e-9, flops / through * 1e-9, (through / direct - 1) * 100);
    jl_release(a);
    jl_release(b);
    jl_release(c);
}

static void bench_elementwise(int repeats, int64_t n)
{
    jl_tensor *a = jl_rand(1, &n, -1, 1, JL_CPU), *b = jl_rand(1, &n, -1, 1, JL_CPU);
    float *dst = malloc(sizeof(float) * (size_t)n);
    double t_copy, t_add, t_relu;
    TIMED(repeats, t_copy, memcpy(dst, jl_data(a), sizeof(float) * (size_t)n));
    TIMED(repeats, t_add, jl_release(jl_add(a, b)));
    TIMED(repeats, t_relu, jl_release(jl_relu(a)));
    double bytes = 4.0 * (double)n;
    printf("{\"bench\":\"elementwise\",\"elements\":%lld,\"threads\":%d,\"memcpy_gbps\":%.2f,"
           "\"add_gbps\":%.2f,\"relu_gbps\":%.2f}\n",
           (long long)n, jl_get_num_threads(), 2 * bytes / t_copy * 1e-9, 3 * bytes / t_add * 1e-9,
           2 * bytes / t_relu * 1e-9);
    free(dst);
    jl_release(a);
    jl_release(b);
}

int main(int argc, char **argv)
{
    int repeats = argc > 1 ? atoi(argv[1]) : 15;
    if (repeats < 1 || repeats > 64) repeats = 15;
    bench_matmul(repeats, 512);
    bench_elementwise(repeats, 1 << 24);
    return 0;
}
