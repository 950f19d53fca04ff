/* threadpool.c — the persistent worker pool behind jl_parallel_for.
 *
 * One job at a time: the caller publishes (fn, ctx, n, chunk), wakes the
 * workers, takes chunks itself, and waits until every chunk is done. Chunks
 * are claimed with an atomic counter so uneven work balances itself.
 *
 * A training step is a chain of short parallel ops (tens of microseconds
 * each), and a sleep and wake-up through the kernel costs about as much. So a
 * worker that finishes a job watches for the next one for up to
 * JETLAB_POOL_SPIN_US microseconds (default POOL_SPIN_US) before it sleeps on
 * the condition variable, and the caller watches for the workers to finish for
 * as long before it sleeps; 0 turns the watching off (a machine shared with
 * other jobs). By default it is off when this machine's MPI ranks have more
 * threads together than there are cores. The watch pauses the core between
 * checks (PAUSE). */
#include "jl_parallel.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#else
#define cpu_relax() ((void)0)
#endif

void openblas_set_num_threads(int num_threads);

#define JL_MAX_THREADS 256
#define POOL_SPIN_US 100

static struct {
    pthread_mutex_t job_lock; /* one job at a time, whichever thread submits it */
    pthread_mutex_t lock;
    pthread_cond_t wake, done;
    pthread_t workers[JL_MAX_THREADS];
    int n_workers; /* started worker threads (threads - 1) */
    int threads;   /* configured thread count, 0 = not yet decided */
    atomic_bool stopping;
    _Atomic uint64_t generation; /* bumped for each job (under lock; read without it while watching) */
    int64_t spin_ns;             /* how long a thread watches before it sleeps; -1: not yet read */
    jl_range_fn fn;
    void *ctx;
    int64_t n, chunk;
    atomic_llong next; /* next chunk start */
    atomic_int busy;   /* workers still inside the current job (changed under lock) */
} pool = {.spin_ns = -1,
          .job_lock = PTHREAD_MUTEX_INITIALIZER,
          .lock = PTHREAD_MUTEX_INITIALIZER,
          .wake = PTHREAD_COND_INITIALIZER,
          .done = PTHREAD_COND_INITIALIZER};

static _Thread_local bool inside_worker;

static void run_chunks(void)
{
    for (;;) {
        int64_t begin = atomic_fetch_add(&pool.next, pool.chunk);
        if (begin >= pool.n) break;
        int64_t end = begin + pool.chunk < pool.n ? begin + pool.chunk : pool.n;
        pool.fn(pool.ctx, begin, end);
    }
}

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Watches until done(arg) or pool.spin_ns have passed; true when done. */
static bool watch(bool (*done)(uint64_t), uint64_t arg)
{
    if (pool.spin_ns <= 0) return done(arg);
    int64_t until = now_ns() + pool.spin_ns;
    for (;;) {
        for (int i = 0; i < 64; i++) {
            if (done(arg)) return true;
            cpu_relax();
        }
        if (now_ns() > until) return done(arg);
    }
}

static bool new_job(uint64_t seen) { return atomic_load(&pool.generation) != seen || atomic_load(&pool.stopping); }
static bool workers_done(uint64_t unused)
{
    (void)unused;
    return atomic_load(&pool.busy) == 0;
}

static void *worker_main(void *arg)
{
    inside_worker = true;
    uint64_t seen = (uint64_t)(uintptr_t)arg; /* the generation current when it was started */
    pthread_mutex_lock(&pool.lock);
    for (;;) {
        if (!new_job(seen)) {
            pthread_mutex_unlock(&pool.lock);
            watch(new_job, seen);
            pthread_mutex_lock(&pool.lock);
        }
        while (!pool.stopping && pool.generation == seen) pthread_cond_wait(&pool.wake, &pool.lock);
        if (pool.stopping) break;
        seen = pool.generation;
        pthread_mutex_unlock(&pool.lock);
        run_chunks();
        pthread_mutex_lock(&pool.lock);
        if (--pool.busy == 0) pthread_cond_signal(&pool.done);
    }
    pthread_mutex_unlock(&pool.lock);
    return NULL;
}

/* Processes of this job on this machine (Open MPI's, MPICH's or SLURM's count), else 1. */
static long local_processes(void)
{
    const char *names[] = {"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "SLURM_NTASKS_PER_NODE"};
    for (int i = 0; i < 3; i++) {
        const char *v = getenv(names[i]);
        if (v && atol(v) > 0) return atol(v);
    }
    return 1;
}

/* JETLAB_POOL_SPIN_US, else POOL_SPIN_US when every thread of this machine's
 * processes has a core of its own (threads x local processes <= cores) and 0
 * when they share: a watching thread would take a core another one needs. In
 * nanoseconds. */
static int64_t spin_from_env(int threads)
{
    const char *env = getenv("JETLAB_POOL_SPIN_US");
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    long us = env && *env ? atol(env) : (long)threads * local_processes() <= cores ? POOL_SPIN_US : 0;
    if (us < 0) us = 0;
    if (us > 100000) us = 100000;
    return (int64_t)us * 1000;
}

static int default_threads(void)
{
    const char *env = getenv("JETLAB_NUM_THREADS");
    int n = env ? atoi(env) : 0;
    if (n <= 0) n = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (n <= 0) n = 1;
    return n > JL_MAX_THREADS ? JL_MAX_THREADS : n;
}

/* Starts workers up to threads - 1; called with the lock held. */
static void ensure_started(void)
{
    if (!pool.threads) {
        pool.threads = default_threads();
        openblas_set_num_threads(1);
    }
    if (pool.spin_ns < 0) pool.spin_ns = spin_from_env(pool.threads);
    while (pool.n_workers < pool.threads - 1) {
        if (pthread_create(&pool.workers[pool.n_workers], NULL, worker_main,
                           (void *)(uintptr_t)pool.generation)) {
            pool.threads = pool.n_workers + 1; /* run with what we have */
            break;
        }
        pool.n_workers++;
    }
}

void jl_parallel_for(int64_t n, int64_t grain, jl_range_fn fn, void *ctx)
{
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    int threads = jl_get_num_threads();
    if (inside_worker || threads == 1 || n < 2 * grain) {
        fn(ctx, 0, n);
        return;
    }
    pthread_mutex_lock(&pool.job_lock);
    pthread_mutex_lock(&pool.lock);
    ensure_started();
    int64_t pieces = n / grain;
    if (pieces > 4 * (int64_t)pool.threads) pieces = 4 * (int64_t)pool.threads;
    pool.fn = fn;
    pool.ctx = ctx;
    pool.n = n;
    pool.chunk = (n + pieces - 1) / pieces;
    atomic_store(&pool.next, 0);
    pool.busy = pool.n_workers;
    pool.generation++;
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.lock);

    inside_worker = true;
    run_chunks();
    inside_worker = false;

    if (!watch(workers_done, 0)) {
        pthread_mutex_lock(&pool.lock);
        while (pool.busy > 0) pthread_cond_wait(&pool.done, &pool.lock);
        pthread_mutex_unlock(&pool.lock);
    }
    pthread_mutex_unlock(&pool.job_lock);
}

int jl_get_num_threads(void)
{
    if (!pool.threads) {
        pthread_mutex_lock(&pool.lock);
        if (!pool.threads) {
            pool.threads = default_threads();
            openblas_set_num_threads(1);
        }
        pthread_mutex_unlock(&pool.lock);
    }
    return pool.threads;
}

void jl_parallel_shutdown(void)
{
    pthread_mutex_lock(&pool.job_lock);
    pthread_mutex_lock(&pool.lock);
    pool.stopping = true;
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.lock);
    for (int i = 0; i < pool.n_workers; i++) pthread_join(pool.workers[i], NULL);
    pthread_mutex_lock(&pool.lock);
    pool.n_workers = 0;
    pool.stopping = false;
    pthread_mutex_unlock(&pool.lock);
    pthread_mutex_unlock(&pool.job_lock);
}

void jl_set_num_threads(int n)
{
    if (n < 1) n = 1;
    if (n > JL_MAX_THREADS) n = JL_MAX_THREADS;
    jl_parallel_shutdown();
    pthread_mutex_lock(&pool.lock);
    pool.threads = n;
    pool.spin_ns = -1; /* decided again for this thread count */
    openblas_set_num_threads(1);
    pthread_mutex_unlock(&pool.lock);
}
