/* jl_nearest.h — how jl_knn keeps a row's nearest neighbours, written once for the
 * CPU kernels (kernels/cpu/knn.c) and the CUDA kernel (kernels/cuda/graph.cu), so
 * both devices pick the same rows, ties included. Header only, `static inline`,
 * plain C99 that nvcc also compiles for the device (as jl_formulas.h).
 *
 *   int64_t found = 0;
 *   for (j ...) jl_keep_nearest(best, best_d, &found, m, j, d_j);   // best (m), best_d (m)
 */
#ifndef JL_NEAREST_H
#define JL_NEAREST_H

#include <stdint.h>

#ifdef __CUDACC__
#define JL_NEAREST_FN static inline __host__ __device__
#else
#define JL_NEAREST_FN static inline
#endif

/* Keeps row j at squared distance d among the nearest m found so far (best, best_d,
 * nearest first, *found of them); a tie keeps the earlier row in front. */
JL_NEAREST_FN void jl_keep_nearest(int64_t *best, float *best_d, int64_t *found, int64_t m, int64_t j, float d)
{
    if (*found == m && !(d < best_d[m - 1])) return;
    int64_t pos = *found < m ? (*found)++ : m - 1;
    while (pos > 0 && d < best_d[pos - 1]) {
        best_d[pos] = best_d[pos - 1];
        best[pos] = best[pos - 1];
        pos--;
    }
    best_d[pos] = d;
    best[pos] = j;
}

#endif
