/* allocator.cu — the caching device allocator behind the CUDA table's
 * alloc/free.
 *
 * Sizes are rounded to a size class (512 B steps up to 1 MiB, then eight
 * classes per power of two, so at most 1/8 is wasted) and a freed block goes
 * on its class's free list instead of back to the driver; the next request of
 * that class takes it. Every kernel runs on the backend's one stream, so a
 * block freed while queued kernels still read it is safe to hand out again:
 * its next user's kernels are queued behind them.
 *
 * When cudaMalloc fails the cache is emptied and the call retried once; a
 * second failure returns NULL (core then runs its alloc-failure hook and
 * retries). jl_cuda_empty_cache() gives all cached blocks back.
 *
 * Book-keeping is host-side, under one mutex: a hash of blocks in use keyed by
 * pointer (for free) and a hash of size classes holding free blocks.
 */
#include <pthread.h>
#include <stdlib.h>

#include "cuda_common.cuh"

#define SMALL_LIMIT ((size_t)1 << 20)
#define SMALL_STEP ((size_t)512)
#define CLASS_BUCKETS 1024 /* fixed: classes are few (a few thousand at most) */
#define MIN_USED_BUCKETS 1024

typedef struct size_class size_class;

typedef struct block {
    void *ptr;
    size_class *cls; /* its size class; the block holds cls->size bytes */
    struct block *next;
} block;

struct size_class {
    size_t size;
    block *free; /* stack of cached blocks */
    struct size_class *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static size_class *classes[CLASS_BUCKETS];
static block **used;         /* chained hash of blocks in use, by pointer */
static size_t used_buckets;  /* power of two, 0 before the first allocation */
static size_t used_count;
static jl_cuda_memory stats;

/* The size class of a request of `bytes`. */
static size_t round_size(size_t bytes)
{
    size_t step = SMALL_STEP;
    if (bytes > SMALL_LIMIT) {
        size_t top = SMALL_LIMIT;
        while (top <= bytes / 2) top *= 2; /* largest power of two <= bytes */
        step = top / 8;
    }
    if (bytes == 0) bytes = 1;
    return (bytes + step - 1) / step * step;
}

static size_t hash_ptr(const void *p, size_t buckets)
{
    uint64_t h = (uint64_t)(uintptr_t)p * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 32) & (buckets - 1);
}

/* The class of `size`, created when missing; NULL only when host memory runs out. */
static size_class *class_of(size_t size)
{
    size_class **head = &classes[(size / SMALL_STEP) % CLASS_BUCKETS];
    for (size_class *c = *head; c; c = c->next)
        if (c->size == size) return c;
    size_class *c = (size_class *)calloc(1, sizeof *c);
    if (!c) return NULL;
    c->size = size;
    c->next = *head;
    *head = c;
    return c;
}

/* Doubles the in-use hash when it is getting crowded (or creates it); keeps the
 * old one when host memory runs out, which only lengthens its chains. */
static void used_grow(void)
{
    if (used_buckets && used_count < 2 * used_buckets) return;
    size_t n = used_buckets ? 2 * used_buckets : MIN_USED_BUCKETS;
    block **fresh = (block **)calloc(n, sizeof *fresh);
    if (!fresh) return;
    for (size_t i = 0; i < used_buckets; i++) {
        for (block *b = used[i], *next; b; b = next) {
            next = b->next;
            size_t h = hash_ptr(b->ptr, n);
            b->next = fresh[h];
            fresh[h] = b;
        }
    }
    free(used);
    used = fresh;
    used_buckets = n;
}

/* Records b as in use; false when the table cannot be created. */
static bool used_insert(block *b)
{
    used_grow();
    if (!used_buckets) return false;
    size_t h = hash_ptr(b->ptr, used_buckets);
    b->next = used[h];
    used[h] = b;
    used_count++;
    stats.in_use += b->cls->size;
    return true;
}

/* Removes and returns the in-use block at ptr, NULL when unknown. */
static block *used_remove(void *ptr)
{
    if (!used_buckets) return NULL;
    for (block **p = &used[hash_ptr(ptr, used_buckets)]; *p; p = &(*p)->next) {
        if ((*p)->ptr != ptr) continue;
        block *b = *p;
        *p = b->next;
        used_count--;
        stats.in_use -= b->cls->size;
        return b;
    }
    return NULL;
}

/* Frees every cached block; lock held. */
static void release_cached(void)
{
    if (!stats.cached_blocks) return;
    cudaStreamSynchronize(jl_cuda_stream()); /* queued kernels may still use them */
    for (size_t i = 0; i < CLASS_BUCKETS; i++) {
        for (size_class *c = classes[i]; c; c = c->next) {
            for (block *b = c->free, *next; b; b = next) {
                next = b->next;
                cudaFree(b->ptr);
                stats.reserved -= c->size;
                stats.cached_blocks--;
                free(b);
            }
            c->free = NULL;
        }
    }
    cudaGetLastError(); /* a failed free leaves nothing a later op should report */
}

/* A fresh block of class c from the driver, emptying the cache and retrying
 * once when it is out of memory; lock held. */
static block *fresh_block(size_class *c)
{
    block *b = (block *)malloc(sizeof *b);
    if (!b) return NULL;
    b->cls = c;
    if (cudaMalloc(&b->ptr, c->size) != cudaSuccess) {
        cudaGetLastError();
        release_cached();
        if (cudaMalloc(&b->ptr, c->size) != cudaSuccess) {
            cudaGetLastError();
            free(b);
            return NULL;
        }
    }
    stats.reserved += c->size;
    return b;
}

/* Pushes b on its class's free list; lock held. */
static void cache_block(block *b)
{
    b->next = b->cls->free;
    b->cls->free = b;
    stats.cached_blocks++;
}

void *jl_cuda_alloc(size_t bytes)
{
    pthread_mutex_lock(&lock);
    size_class *c = class_of(round_size(bytes));
    block *b = NULL;
    if (c && c->free) {
        b = c->free;
        c->free = b->next;
        stats.cached_blocks--;
    } else if (c) {
        b = fresh_block(c);
    }
    if (b && !used_insert(b)) { /* no host memory to track it: keep it for later */
        cache_block(b);
        b = NULL;
    }
    pthread_mutex_unlock(&lock);
    return b ? b->ptr : NULL;
}

/* Unknown pointers (never handed out here) are ignored. */
void jl_cuda_free(void *ptr)
{
    pthread_mutex_lock(&lock);
    block *b = used_remove(ptr);
    if (b) cache_block(b);
    pthread_mutex_unlock(&lock);
}

extern "C" void jl_cuda_empty_cache(void)
{
    pthread_mutex_lock(&lock);
    release_cached();
    pthread_mutex_unlock(&lock);
}

extern "C" jl_cuda_memory jl_cuda_memory_stats(void)
{
    pthread_mutex_lock(&lock);
    jl_cuda_memory m = stats;
    pthread_mutex_unlock(&lock);
    return m;
}
