/* test_host_cache.c — the CPU backend's host memory (kernels/cpu/cpu_cache.c):
 * alignment and usable size, reuse of a freed block by a request of a nearby
 * size (ragged batches), no reuse across distant sizes, the cached total kept
 * under the limit with the least recently freed blocks evicted first, and
 * jl_cpu_empty_cache giving everything back. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "cpu_kernels.h"

static void setup(void) { jl_cpu_empty_cache(); }
TestSuite(host_cache, .init = setup);

Test(host_cache, blocks_are_aligned_and_fully_writable)
{
    size_t sizes[] = {0, 1, 63, 64, 65, 1000, 4096, 70000, (size_t)3 << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        unsigned char *p = jl_cpu_host_alloc(sizes[i]);
        cr_assert_not_null(p, "alloc of %zu bytes failed", sizes[i]);
        cr_assert_eq((uintptr_t)p % 64, 0, "block of %zu bytes not 64-byte aligned", sizes[i]);
        memset(p, 0xab, sizes[i]); /* ASan: the whole request is usable */
        jl_cpu_host_free(p);
    }
    jl_cpu_host_free(NULL);
}

Test(host_cache, a_nearby_size_reuses_the_freed_block)
{
    size_t first = (size_t)5 << 20; /* 5 MiB, then a ragged batch 4 % smaller */
    void *a = jl_cpu_host_alloc(first);
    jl_cpu_host_free(a);
    jl_cpu_cache_stats s = jl_cpu_cache_get_stats();
    cr_assert_geq(s.cached_bytes, first);
    void *b = jl_cpu_host_alloc(first - first / 25);
    cr_assert_eq(a, b, "a 4 %% smaller request should reuse the cached block");
    cr_assert_eq(jl_cpu_cache_get_stats().cached_bytes, 0);
    jl_cpu_host_free(b);

    void *small = jl_cpu_host_alloc(100); /* a small block comes back too */
    jl_cpu_host_free(small);
    cr_assert_eq(jl_cpu_host_alloc(100), small);
    jl_cpu_host_free(small);
}

Test(host_cache, distant_sizes_do_not_share_blocks)
{
    void *big = jl_cpu_host_alloc((size_t)8 << 20);
    jl_cpu_host_free(big);
    void *quarter = jl_cpu_host_alloc((size_t)2 << 20); /* would waste 6 MiB: not taken from the 8 MiB class */
    cr_assert_neq(quarter, big);
    cr_assert_geq(jl_cpu_cache_get_stats().cached_bytes, (size_t)8 << 20);
    jl_cpu_host_free(quarter);
}

Test(host_cache, cached_total_stays_under_the_limit_oldest_evicted_first)
{
    /* One block live at a time (the peak stays small, so the limit is its 1 GiB
     * floor), each 40 % larger than the last: no reuse, the cache fills up. */
    enum { N = 6 }; /* 100 MiB .. 538 MiB, 1.6 GiB in all */
    void *p[N];
    size_t size = (size_t)100 << 20, total = 0;
    for (int i = 0; i < N; i++, size = size * 7 / 5) {
        p[i] = jl_cpu_host_alloc(size); /* never touched: no RSS */
        cr_assert_not_null(p[i]);
        jl_cpu_host_free(p[i]);
        total += size;
    }
    jl_cpu_cache_stats s = jl_cpu_cache_get_stats();
    cr_assert_eq(s.live_bytes, 0);
    cr_assert_leq(s.cached_bytes, s.limit_bytes, "cached %zu > limit %zu", s.cached_bytes, s.limit_bytes);
    cr_assert_lt(s.cached_bytes, total, "nothing was evicted");
    size = (size_t)100 << 20;
    for (int i = 0; i < N - 1; i++) size = size * 7 / 5;
    cr_assert_eq(jl_cpu_host_alloc(size), p[N - 1], "the most recently freed block was evicted");
    jl_cpu_host_free(p[N - 1]);
}

Test(host_cache, empty_cache_releases_everything)
{
    void *a = jl_cpu_host_alloc((size_t)3 << 20), *b = jl_cpu_host_alloc(5000);
    jl_cpu_host_free(a);
    jl_cpu_host_free(b);
    size_t cached = jl_cpu_cache_get_stats().cached_bytes;
    cr_assert_geq(cached, ((size_t)3 << 20) + 5000);
    cr_assert_eq(jl_cpu_empty_cache(), cached);
    cr_assert_eq(jl_cpu_cache_get_stats().cached_bytes, 0);
}

Test(host_cache, impossible_sizes_fail_cleanly)
{
    cr_assert_null(jl_cpu_host_alloc(SIZE_MAX));
    cr_assert_null(jl_cpu_host_alloc(SIZE_MAX / 2 + 1));
}
