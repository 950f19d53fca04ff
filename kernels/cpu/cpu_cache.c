/* cpu_cache.c — a small cache of freed large host blocks.
 *
 * glibc returns big blocks to the OS on free (mmap), so every large temporary
 * would page-fault again on first touch; that halves elementwise throughput.
 * Blocks of at least CACHE_MIN bytes are rounded to a 64 KiB multiple and, on
 * free, kept in a fixed table (bounded count and total bytes) for reuse by an
 * allocation of the same rounded size. */
#include <pthread.h>
#include <stdlib.h>

#include "cpu_kernels.h"

#define CACHE_MIN (1u << 20)
#define CACHE_GRANULE (64u << 10)
#define CACHE_SLOTS 32
#define CACHE_MAX_BYTES ((size_t)1 << 30)

static struct {
    pthread_mutex_t lock;
    void *block[CACHE_SLOTS];
    size_t size[CACHE_SLOTS];
    size_t total;
} cache = {.lock = PTHREAD_MUTEX_INITIALIZER};

size_t jl_cpu_cache_round(size_t bytes)
{
    if (bytes < CACHE_MIN) return (bytes + 63) / 64 * 64 + (bytes == 0) * 64;
    return (bytes + CACHE_GRANULE - 1) / CACHE_GRANULE * CACHE_GRANULE;
}

void *jl_cpu_cache_take(size_t rounded)
{
    if (rounded < CACHE_MIN) return NULL;
    void *found = NULL;
    pthread_mutex_lock(&cache.lock);
    for (int i = 0; i < CACHE_SLOTS && !found; i++)
        if (cache.block[i] && cache.size[i] == rounded) {
            found = cache.block[i];
            cache.block[i] = NULL;
            cache.total -= rounded;
        }
    pthread_mutex_unlock(&cache.lock);
    return found;
}

bool jl_cpu_cache_give(void *block, size_t rounded)
{
    if (rounded < CACHE_MIN) return false;
    bool kept = false;
    pthread_mutex_lock(&cache.lock);
    if (cache.total + rounded <= CACHE_MAX_BYTES)
        for (int i = 0; i < CACHE_SLOTS && !kept; i++)
            if (!cache.block[i]) {
                cache.block[i] = block;
                cache.size[i] = rounded;
                cache.total += rounded;
                kept = true;
            }
    pthread_mutex_unlock(&cache.lock);
    return kept;
}

size_t jl_cpu_empty_cache(void)
{
    size_t released = 0;
    pthread_mutex_lock(&cache.lock);
    for (int i = 0; i < CACHE_SLOTS; i++)
        if (cache.block[i]) {
            free(cache.block[i]);
            released += cache.size[i];
            cache.block[i] = NULL;
        }
    cache.total = 0;
    pthread_mutex_unlock(&cache.lock);
    return released;
}
