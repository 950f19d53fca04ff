/* threadpool.c — the persistent worker pool behind jl_parallel_for.
 *
 * One job at a time: the caller publishes (fn, ctx, n, chunk), wakes the
 * workers, takes chunks itself, and waits until every chunk is done. Chunks
 * are claimed with an atomic counter so uneven work balances itself. */
#include "jl_parallel.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

void openblas_set_num_threads(int num_threads);

#define JL_MAX_THREADS 256

static struct {
    pthread_mutex_t job_lock; /* one job at a time, whichever thread submits it */
    pthread_mutex_t lock;
    pthread_cond_t wake, done;
    pthread_t workers[JL_MAX_THREADS];
    int n_workers; /* started worker threads (threads - 1) */
    int threads;   /* configured thread count, 0 = not yet decided */
    bool stopping;
    uint64_t generation; /* bumped for each job */
    jl_range_fn fn;
    void *ctx;
    int64_t n, chunk;
    atomic_llong next; /* next chunk start */
    int busy;          /* workers still inside the current job */
} pool = {.job_lock = PTHREAD_MUTEX_INITIALIZER,
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

static void *worker_main(void *arg)
{
    inside_worker = true;
    uint64_t seen = (uint64_t)(uintptr_t)arg; /* the generation current when it was started */
    pthread_mutex_lock(&pool.lock);
    for (;;) {
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

    pthread_mutex_lock(&pool.lock);
    while (pool.busy > 0) pthread_cond_wait(&pool.done, &pool.lock);
    pthread_mutex_unlock(&pool.lock);
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
    openblas_set_num_threads(1);
    pthread_mutex_unlock(&pool.lock);
}
