/* cuda_backend.h — controls of the CUDA backend beyond its op table: the
 * caching allocator's counters and cache, and the TF32 switch for gemm.
 * Plain C, callable from core or bindings when JETLAB_HAVE_CUDA is defined.
 *
 *   jl_cuda_memory m = jl_cuda_memory_stats();
 *   printf("%zu of %zu bytes in use\n", m.in_use, m.reserved);
 *   jl_cuda_empty_cache();          // give cached blocks back to the driver
 *   jl_cuda_set_tf32(1);            // faster, ~1e-3 relative gemm error
 *
 * None of these needs a device: without one they report zeros / do nothing.
 */
#ifndef JL_CUDA_BACKEND_H
#define JL_CUDA_BACKEND_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct jl_cuda_memory {
    size_t in_use;   /* bytes handed out to tensors (rounded block sizes) */
    size_t reserved; /* bytes held from the driver: in use plus cached */
    size_t cached_blocks; /* free blocks waiting for reuse */
} jl_cuda_memory;

/* The allocator's counters at this moment. */
jl_cuda_memory jl_cuda_memory_stats(void);

/* Returns every cached (free) block to the driver; blocks in use are kept. */
void jl_cuda_empty_cache(void);

/* Loads cuBLAS now (it is otherwise opened by the first CUDA gemm): JL_OK, or
 * JL_EDEVICE with a message naming the library. Needs no device. */
int jl_cuda_load_cublas(void);

/* gemm through TF32 tensor cores when on != 0; off (full f32) by default. */
void jl_cuda_set_tf32(int on);
int jl_cuda_tf32(void);

#ifdef __cplusplus
}
#endif

#endif
