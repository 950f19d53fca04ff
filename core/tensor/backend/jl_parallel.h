/* jl_parallel.h — the one persistent thread pool (DESIGN.md rule 5).
 *
 * Work is split into contiguous ranges of [0, n); below `grain` items per
 * worker it runs serially on the caller. Workers never touch Lua. OpenBLAS is
 * kept single-threaded so there is one pool only: the CPU gemm kernel splits
 * large GEMMs over this pool (kernels/cpu/gemm.c), and no OpenBLAS thread
 * spins while ours work.
 *
 *   static void body(void *ctx, int64_t begin, int64_t end) { ... }
 *   jl_parallel_for(rows, 4096 / cols + 1, body, &ctx);
 */
#ifndef JL_PARALLEL_H
#define JL_PARALLEL_H

#include <stdint.h>

typedef void (*jl_range_fn)(void *ctx, int64_t begin, int64_t end);

/* Runs fn over [0, n) in ranges of at least `grain` items; blocks until done.
 * Safe to call from inside a worker (runs serially there). */
void jl_parallel_for(int64_t n, int64_t grain, jl_range_fn fn, void *ctx);

/* Number of threads used (default: online cores, or JETLAB_NUM_THREADS). */
int jl_get_num_threads(void);
/* Resizes the pool (OpenBLAS stays at one thread). */
void jl_set_num_threads(int n);
/* Joins the workers (at exit; the pool restarts lazily if used again). */
void jl_parallel_shutdown(void);

/* A typical grain: ranges of at least ~32k elementwise operations. */
#define JL_GRAIN_ELEMENTS 32768

#endif
