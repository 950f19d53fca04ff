/* profile.c — the op profiler (jl_profile.h): a small table of (name, kind)
 * counters behind a mutex, touched only while profiling is on. */
#include "jl_profile.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

static atomic_bool profiling;
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static jl_profile_entry table[JL_PROFILE_MAX_ENTRIES];
static int n_entries;
static jl_profile_gemm gemms[JL_PROFILE_MAX_GEMMS];
static int n_gemms;
static _Thread_local int depth; /* > 0 inside a timed call on this thread */

int64_t jl_profile_now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

void jl_profile_start(void)
{
    pthread_mutex_lock(&table_lock);
    n_entries = 0;
    n_gemms = 0;
    pthread_mutex_unlock(&table_lock);
    atomic_store(&profiling, true);
}

void jl_profile_stop(void) { atomic_store(&profiling, false); }

bool jl_profile_on(void) { return atomic_load_explicit(&profiling, memory_order_relaxed); }

/* Copies up to max of the *count items (size bytes each) at items into out, under the lock. */
static int copy_locked(void *out, const void *items, const int *count, int max, size_t size)
{
    pthread_mutex_lock(&table_lock);
    int n = *count < max ? *count : max;
    memcpy(out, items, (size_t)n * size);
    pthread_mutex_unlock(&table_lock);
    return n;
}

int jl_profile_entries(jl_profile_entry *out, int max)
{
    return copy_locked(out, table, &n_entries, max, sizeof *out);
}

int jl_profile_gemms(jl_profile_gemm *out, int max) { return copy_locked(out, gemms, &n_gemms, max, sizeof *out); }

static int64_t bucket(int64_t d)
{
    if (d < JL_PROFILE_BUCKET_FROM) return d;
    int64_t b = JL_PROFILE_BUCKET_FROM;
    while (b <= d / 2) b *= 2;
    return b;
}

void jl_profile_gemm_add(int64_t batch, int64_t m, int64_t n, int64_t k, bool ta, bool tb, double seconds)
{
    jl_profile_gemm key = {.m = bucket(m), .n = bucket(n), .k = bucket(k), .ta = ta, .tb = tb};
    pthread_mutex_lock(&table_lock);
    int i = 0;
    while (i < n_gemms && !(gemms[i].m == key.m && gemms[i].n == key.n && gemms[i].k == key.k &&
                            gemms[i].ta == ta && gemms[i].tb == tb))
        i++;
    if (i == n_gemms && n_gemms < JL_PROFILE_MAX_GEMMS) gemms[n_gemms++] = key;
    if (i < n_gemms) {
        gemms[i].calls++;
        gemms[i].flops += 2.0 * (double)batch * (double)m * (double)n * (double)k;
        gemms[i].seconds += seconds;
    }
    pthread_mutex_unlock(&table_lock);
}

#define NOT_TIMED (-1) /* profiling was off */
#define NESTED (-2)    /* inside an outer timed call */

int64_t jl_profile_begin(void)
{
    if (!jl_profile_on()) return NOT_TIMED;
    if (depth++ > 0) return NESTED;
    return jl_profile_now_ns();
}

void jl_profile_end(int64_t token, const char *name, jl_profile_kind kind)
{
    if (token == NOT_TIMED) return;
    depth--;
    if (token == NESTED) return;
    double seconds = (double)(jl_profile_now_ns() - token) * 1e-9;
    pthread_mutex_lock(&table_lock);
    int i = 0;
    while (i < n_entries && !(table[i].kind == kind && strcmp(table[i].name, name) == 0)) i++;
    if (i == n_entries && n_entries < JL_PROFILE_MAX_ENTRIES)
        table[n_entries++] = (jl_profile_entry){.name = name, .kind = kind};
    if (i < n_entries) {
        table[i].calls++;
        table[i].seconds += seconds;
    }
    pthread_mutex_unlock(&table_lock);
}
