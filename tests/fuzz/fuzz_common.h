/* fuzz_common.h — helpers shared by the libFuzzer harnesses in tests/fuzz/.
 *
 * Every harness writes the input to a temporary file (in /dev/shm when it is
 * writable, so the disk is never touched), runs a reader on it, frees what it
 * got and then checks that nothing is left behind: no live tensor (core's own
 * counters), no open HDF5 object. A leftover is reported through
 * fuzz_fail(), which aborts, so libFuzzer saves the input as a crash.
 */
#ifndef JL_FUZZ_COMMON_H
#define JL_FUZZ_COMMON_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sanitizer/allocator_interface.h>
#include <sanitizer/common_interface_defs.h>
#include <stdatomic.h>

#include "jl_error.h"
#include "jl_tensor.h"

__attribute__((noreturn, format(printf, 1, 2))) static void fuzz_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "\n==jetlab-fuzz== ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    abort();
}

static char fuzz_temp[4096];

static inline void fuzz_remove_temp(void)
{
    if (fuzz_temp[0]) unlink(fuzz_temp);
}

/* A per-process temporary path ending in `suffix`, made once and removed at
 * exit (a crash leaves it behind: the input is saved by libFuzzer anyway). */
static inline const char *fuzz_temp_path(const char *suffix)
{
    if (!fuzz_temp[0]) {
        const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
        if (!dir || !*dir) dir = "/tmp";
        snprintf(fuzz_temp, sizeof fuzz_temp, "%s/jetlab-fuzz-%ld%s", dir, (long)getpid(), suffix);
        atexit(fuzz_remove_temp);
    }
    return fuzz_temp;
}

/* Writes data to path (replacing it); aborts when it cannot (not the input's fault). */
static inline void fuzz_write_file(const char *path, const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f) fuzz_fail("cannot create %s", path);
    if (size && fwrite(data, 1, size, f) != size) fuzz_fail("cannot write %s", path);
    if (fclose(f) != 0) fuzz_fail("cannot close %s", path);
}

/* The heap guard: live heap bytes, counted by ASan's malloc/free hooks. A
 * library running away on a corrupt file (HDF5 1.10 can allocate without
 * bound inside H5Lexists) is stopped once the heap has grown by
 * FUZZ_HEAP_LIMIT during one input, with the stack of the allocation that
 * crossed it ("==jetlab-fuzz== heap grew ..."), before the RSS limit kills
 * the process without one. fuzz_heap_start() marks the start of an input. */
#define FUZZ_HEAP_LIMIT ((long long)512 << 20)
static atomic_llong fuzz_heap_live, fuzz_heap_base;
static atomic_int fuzz_heap_tripped;

static inline void fuzz_heap_malloc(const volatile void *p, size_t size)
{
    (void)p;
    long long live = atomic_fetch_add(&fuzz_heap_live, (long long)size) + (long long)size;
    if (live - atomic_load(&fuzz_heap_base) > FUZZ_HEAP_LIMIT && !atomic_exchange(&fuzz_heap_tripped, 1)) {
        fprintf(stderr, "\n==jetlab-fuzz== heap grew by more than %lld MiB during one input; the allocation:\n",
                FUZZ_HEAP_LIMIT >> 20);
        __sanitizer_print_stack_trace();
        fprintf(stderr, "\n");
        abort();
    }
}

static inline void fuzz_heap_free(const volatile void *p)
{
    if (p && __sanitizer_get_ownership(p))
        atomic_fetch_sub(&fuzz_heap_live, (long long)__sanitizer_get_allocated_size(p));
}

static inline void fuzz_heap_guard(void) { __sanitizer_install_malloc_and_free_hooks(fuzz_heap_malloc, fuzz_heap_free); }
static inline void fuzz_heap_start(void) { atomic_store(&fuzz_heap_base, atomic_load(&fuzz_heap_live)); }

/* Every tensor made while handling one input must be gone afterwards. */
static inline void fuzz_check_no_tensors(const char *what)
{
    jl_stats s = jl_stats_get();
    if (s.tensors != 0 || s.storages != 0)
        fuzz_fail("%s leaked %lld tensors and %lld storages", what, (long long)s.tensors, (long long)s.storages);
}

/* An error message must say something. */
static inline void fuzz_check_message(const char *what)
{
    const char *m = jl_last_error();
    if (!m || !*m) fuzz_fail("%s failed without a message", what);
}

#endif
