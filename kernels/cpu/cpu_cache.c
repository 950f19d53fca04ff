/* cpu_cache.c — host memory for tensors: a size-class cache of freed blocks.
 *
 * glibc hands big blocks back to the OS on free (mmap/trim), so every large
 * temporary would page-fault again on first touch. Ragged graph batches make
 * the sizes change every step, so the cache keeps blocks by size class, not by
 * exact size: a request is rounded up to one of eight steps per power of two
 * (at least 64 bytes; at most 12.5 % more address space, and untouched pages
 * cost nothing) and may reuse a block of its class or of the next CLASS_REACH
 * classes. Small blocks are cached too: posix_memalign costs more than a
 * small op's kernel. Freed blocks wait, most recent first, until the cached
 * total would exceed the limit: the larger of CACHE_FLOOR and the peak bytes
 * ever live, so the cache never holds more than the program once used at its
 * peak; the least recently freed go back to the OS first.
 *
 * Every block carries a 64-byte header before the pointer handed out. */
#include <pthread.h>
#include <stdlib.h>

#include "cpu_kernels.h"
#include "jl_sanitize.h"

/* Under AddressSanitizer a cached block's payload is poisoned until handed out
 * again, so a use after jl_cpu_host_free is still reported. */
#if JL_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define CACHE_MIN ((size_t)64)
#define CACHE_MIN_LOG2 6
#define STEPS_LOG2 3 /* eight classes per power of two */
#define CLASS_COUNT ((64 - CACHE_MIN_LOG2) << STEPS_LOG2)
#define CLASS_REACH 2
#define CACHE_FLOOR ((size_t)1 << 30)
#define HEADER 64

typedef struct block {
    size_t capacity; /* usable bytes after the header */
    int cls;         /* size class */
    struct block *newer, *older;            /* cached blocks, by time freed */
    struct block *class_next, *class_prev;  /* cached blocks of one class, newest first */
} block;
_Static_assert(sizeof(block) <= HEADER, "block header must fit its 64 bytes");

static struct {
    pthread_mutex_t lock;
    block *class_head[CLASS_COUNT];
    block *newest, *oldest;
    size_t cached, live, peak_live;
} cache = {.lock = PTHREAD_MUTEX_INITIALIZER};

static int floor_log2(size_t v) { return 63 - __builtin_clzll((unsigned long long)v); }

/* The class of a request and the capacity every block of that class has. */
static int class_of(size_t bytes, size_t *capacity)
{
    int octave = floor_log2(bytes);
    size_t step = (size_t)1 << (octave - STEPS_LOG2);
    size_t cap = (bytes + step - 1) / step * step;
    octave = floor_log2(cap);
    *capacity = cap;
    return ((octave - CACHE_MIN_LOG2) << STEPS_LOG2) + (int)((cap >> (octave - STEPS_LOG2)) - (1u << STEPS_LOG2));
}

static void unlink_block(block *b)
{
    if (b->newer) b->newer->older = b->older; else cache.newest = b->older;
    if (b->older) b->older->newer = b->newer; else cache.oldest = b->newer;
    if (b->class_prev) b->class_prev->class_next = b->class_next; else cache.class_head[b->cls] = b->class_next;
    if (b->class_next) b->class_next->class_prev = b->class_prev;
    cache.cached -= b->capacity;
}

static void push_block(block *b)
{
    b->older = cache.newest;
    b->newer = NULL;
    if (cache.newest) cache.newest->newer = b; else cache.oldest = b;
    cache.newest = b;
    b->class_prev = NULL;
    b->class_next = cache.class_head[b->cls];
    if (b->class_next) b->class_next->class_prev = b;
    cache.class_head[b->cls] = b;
    cache.cached += b->capacity;
}

static size_t cache_limit(void) { return cache.peak_live > CACHE_FLOOR ? cache.peak_live : CACHE_FLOOR; }

static block *take_cached(int cls)
{
    for (int c = cls; c < CLASS_COUNT && c <= cls + CLASS_REACH; c++)
        if (cache.class_head[c]) {
            block *b = cache.class_head[c];
            unlink_block(b);
            return b;
        }
    return NULL;
}

void *jl_cpu_host_alloc(size_t bytes)
{
    block *b = NULL;
    if (bytes < CACHE_MIN) bytes = CACHE_MIN;
    if (bytes > SIZE_MAX / 2) return NULL;
    size_t capacity;
    int cls = class_of(bytes, &capacity);
    pthread_mutex_lock(&cache.lock);
    b = take_cached(cls);
    if (b) {
        cache.live += b->capacity;
        if (cache.live > cache.peak_live) cache.peak_live = cache.live;
    }
    pthread_mutex_unlock(&cache.lock);
    if (b) UNPOISON((char *)b + HEADER, b->capacity);
    if (!b) {
        if (posix_memalign((void **)&b, HEADER, HEADER + capacity)) return NULL;
        b->capacity = capacity;
        b->cls = cls;
        pthread_mutex_lock(&cache.lock);
        cache.live += capacity;
        if (cache.live > cache.peak_live) cache.peak_live = cache.live;
        pthread_mutex_unlock(&cache.lock);
    }
    return (char *)b + HEADER;
}

void jl_cpu_host_free(void *p)
{
    if (!p) return;
    block *b = (block *)((char *)p - HEADER);
    POISON(p, b->capacity);
    block *evicted = NULL;
    pthread_mutex_lock(&cache.lock);
    cache.live -= b->capacity;
    push_block(b);
    size_t limit = cache_limit();
    while (cache.cached > limit) {
        block *old = cache.oldest;
        unlink_block(old);
        old->class_next = evicted; /* freed outside the lock */
        evicted = old;
    }
    pthread_mutex_unlock(&cache.lock);
    while (evicted) {
        block *next = evicted->class_next;
        free(evicted);
        evicted = next;
    }
}

jl_cpu_cache_stats jl_cpu_cache_get_stats(void)
{
    pthread_mutex_lock(&cache.lock);
    jl_cpu_cache_stats s = {.cached_bytes = cache.cached, .live_bytes = cache.live,
                            .peak_live_bytes = cache.peak_live, .limit_bytes = cache_limit()};
    pthread_mutex_unlock(&cache.lock);
    return s;
}

size_t jl_cpu_empty_cache(void)
{
    pthread_mutex_lock(&cache.lock);
    block *all = cache.newest;
    size_t released = cache.cached;
    for (int c = 0; c < CLASS_COUNT; c++) cache.class_head[c] = NULL;
    cache.newest = cache.oldest = NULL;
    cache.cached = 0;
    pthread_mutex_unlock(&cache.lock);
    while (all) {
        block *next = all->older;
        free(all);
        all = next;
    }
    return released;
}
