/* backend.c — the CPU backend table: host memory and every filled op slot. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_kernels.h"

static int cpu_memcpy(void *dst, const void *src, size_t bytes)
{
    memcpy(dst, src, bytes);
    return JL_OK;
}

static int cpu_available(void) { return 1; }

static jl_backend cpu_table;
static pthread_once_t cpu_once = PTHREAD_ONCE_INIT;

static void cpu_init(void)
{
    cpu_table.name = "cpu";
    cpu_table.alloc = jl_cpu_host_alloc;
    cpu_table.free = jl_cpu_host_free;
    cpu_table.to_host = cpu_memcpy;
    cpu_table.from_host = cpu_memcpy;
    cpu_table.available = cpu_available;
    jl_cpu_register_memory(&cpu_table);
    jl_cpu_register_elementwise(&cpu_table);
    jl_cpu_register_reduce(&cpu_table);
    jl_cpu_register_gemm(&cpu_table);
    jl_cpu_register_index(&cpu_table);
    jl_cpu_register_random(&cpu_table);
    jl_cpu_register_nn(&cpu_table);
    jl_cpu_register_graph(&cpu_table);
    jl_cpu_register_knn(&cpu_table);
    jl_cpu_register_loss(&cpu_table);
    jl_cpu_register_optim(&cpu_table);
    jl_cpu_register_edgeconv(&cpu_table);
    jl_cpu_register_plan(&cpu_table);
    jl_cpu_register_graph_plan(&cpu_table);
}

const jl_backend *jl_cpu_backend(void)
{
    pthread_once(&cpu_once, cpu_init);
    return &cpu_table;
}
