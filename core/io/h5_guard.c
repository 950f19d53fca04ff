/* h5_guard.c — HDF5 work of untrusted files in a forked child (see
 * jl_h5_guard.h): the fork, the child's limits, the parent's wait, and the
 * turning of a signal, a runaway allocation or a hang into an error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "jl_error.h"
#include "jl_h5_guard.h"
#include "jl_sanitize.h"

#define POLL_MS 10 /* how often the parent checks a running child's memory and time */

/* AddressSanitizer's allocator (gcc 12's libasan, clang 14) has no fork
 * handlers: a child forked while another thread is inside malloc can hang
 * in malloc until the time limit. Sanitizer builds, which test jetlab
 * itself, read in-process unless JETLAB_H5_ISOLATION says otherwise. */
#if JL_ASAN
#define DEFAULT_ISOLATION JL_H5_ISOLATE_OFF
#else
#define DEFAULT_ISOLATION JL_H5_ISOLATE_OPEN
#endif

/* What a child reports, in memory shared with its parent. */
typedef struct record {
    atomic_int done;      /* fn returned */
    atomic_int sanitizer; /* a sanitizer found an error and ends the child */
    int code;
    char step[256];
    char message[1024];
} record;

/* The child's own record (set only in a child, after the fork). */
static record *child_record;

/* ------------------------------------------------------------- settings */

static atomic_int isolation = DEFAULT_ISOLATION;
static atomic_llong memory_mb = 1024, timeout_s = 60;
static pthread_once_t settings_once = PTHREAD_ONCE_INIT;

static void read_environment(void)
{
    const char *iso = getenv("JETLAB_H5_ISOLATION");
    if (iso && *iso) atomic_store(&isolation, atoi(iso));
    const char *mb = getenv("JETLAB_H5_MEMORY_MB"), *s = getenv("JETLAB_H5_TIMEOUT");
    jl_h5_guard_limits(mb ? atoll(mb) : 0, s ? atoll(s) : 0);
}

int jl_h5_isolation(void)
{
    pthread_once(&settings_once, read_environment);
    return atomic_load(&isolation);
}

void jl_h5_set_isolation(int level)
{
    pthread_once(&settings_once, read_environment);
    atomic_store(&isolation, level);
}

void jl_h5_guard_limits(int64_t mb, int64_t seconds)
{
    if (mb > 0) atomic_store(&memory_mb, (long long)mb);
    if (seconds > 0) atomic_store(&timeout_s, (long long)seconds);
}

/* ----------------------------------------------------------------- lock */

static pthread_mutex_t h5_mutex = PTHREAD_MUTEX_INITIALIZER;
/* This thread's nesting; a child inherits its forking thread's (> 0), so
 * the child never waits on the mutex its parent holds. */
static _Thread_local int h5_depth;

void jl_h5_lock(void)
{
    if (h5_depth++ == 0) pthread_mutex_lock(&h5_mutex);
}

void jl_h5_unlock(void)
{
    if (--h5_depth == 0) pthread_mutex_unlock(&h5_mutex);
}

/* --------------------------------------------------------- shared memory */

void *jl_h5_shared_alloc(size_t bytes)
{
    void *p = mmap(NULL, bytes ? bytes : 1, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        JL_FAIL_CODE(JL_ENOMEM, "out of memory: %zu bytes of memory shared with an HDF5 reader: %s", bytes,
                     strerror(errno));
        return NULL;
    }
    return p;
}

void jl_h5_shared_free(void *p, size_t bytes)
{
    if (p) munmap(p, bytes ? bytes : 1);
}

/* ---------------------------------------------------------------- child */

void jl_h5_guard_step(const char *fmt, ...)
{
    if (!child_record) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(child_record->step, sizeof child_record->step, fmt, ap);
    va_end(ap);
}

/* The sanitizers' hook for an error they end the process on (weak: absent
 * from builds without them). */
extern void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

static void on_sanitizer_death(void)
{
    if (child_record) atomic_store(&child_record->sanitizer, 1);
}

/* The child: default signal actions (no handler of the parent's, such as
 * libFuzzer's crash dump or the Lua host's interrupt flag, runs here), no
 * core files, stderr to /dev/null unless JETLAB_H5_CHILD_STDERR=1 (a
 * sanitizer's report of HDF5's fault would read as jetlab's), killed with
 * its parent, a backstop alarm; then fn. */
static _Noreturn void child_main(record *rec, long long seconds, jl_h5_guard_fn fn, void *ctx)
{
    child_record = rec;
    static const int defaults[] = {SIGSEGV, SIGBUS,  SIGFPE,  SIGILL, SIGABRT,
                                   SIGINT,  SIGTERM, SIGALRM, SIGPIPE};
    for (size_t k = 0; k < sizeof defaults / sizeof defaults[0]; k++) signal(defaults[k], SIG_DFL);
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    if (__sanitizer_set_death_callback) __sanitizer_set_death_callback(on_sanitizer_death);
    const char *keep = getenv("JETLAB_H5_CHILD_STDERR");
    int null = keep && strcmp(keep, "1") == 0 ? -1 : open("/dev/null", O_WRONLY);
    if (null >= 0) dup2(null, STDERR_FILENO);
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    alarm((unsigned)seconds + 5);
    jl_error_clear();
    int rc = fn(ctx);
    rec->code = rc;
    if (rc != JL_OK) snprintf(rec->message, sizeof rec->message, "%s", jl_last_error());
    atomic_store(&rec->done, 1);
    _exit(0);
}

/* --------------------------------------------------------------- parent */

/* Resident pages of a process (0 when unknown). */
static long long resident_pages(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/statm", (long)pid);
    FILE *f = fopen(path, "r");
    long long size = 0, resident = 0;
    if (f) {
        if (fscanf(f, "%lld %lld", &size, &resident) != 2) resident = 0;
        fclose(f);
    }
    return resident;
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + 1e-9 * (double)(t.tv_nsec - t0->tv_nsec);
}

enum { ENDED, OVER_MEMORY, OVER_TIME, LOST };

/* Waits for the child; kills it when it grows by more than limit_pages over
 * base_pages or runs past `seconds`. Says which, and leaves its wait status.
 * alive: the read end of a pipe whose write end only the child holds (it
 * hangs up when the child ends, however it ends), or -1. */
static int wait_child(pid_t pid, int alive, long long base_pages, long long limit_pages, long long seconds,
                      int *status)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int why = ENDED;
    for (;;) {
        if (alive >= 0) {
            struct pollfd p = {.fd = alive, .events = POLLIN};
            /* hung up: the child is exiting, its status is moments away */
            if (poll(&p, 1, POLL_MS) == 1 && (p.revents & POLLHUP)) {
                pid_t w;
                while ((w = waitpid(pid, status, 0)) < 0 && errno == EINTR) {
                }
                if (w < 0) why = LOST;
                break;
            }
        } else {
            nanosleep(&(struct timespec){0, 200000}, NULL);
        }
        pid_t w = waitpid(pid, status, WNOHANG);
        if (w == pid) break;
        if (w < 0 && errno != EINTR) {
            why = LOST;
            break;
        }
        if (w == 0 && seconds_since(&t0) > (double)seconds) why = OVER_TIME;
        else if (w == 0 && resident_pages(pid) - base_pages > limit_pages) why = OVER_MEMORY;
        if (why != ENDED) {
            kill(pid, SIGKILL);
            while (waitpid(pid, status, 0) < 0 && errno == EINTR) {
            }
            break;
        }
    }
    return why;
}

static const char *signal_name(int sig, char *buf, size_t cap)
{
    const char *abbrev = sigabbrev_np(sig);
    if (abbrev) snprintf(buf, cap, "SIG%s", abbrev);
    else snprintf(buf, cap, "signal %d", sig);
    return buf;
}

/* The status the parent returns for a child that ended (or was ended). */
static int report(const char *file, const char *what, const record *rec, int why, int status, long long mb,
                  long long seconds)
{
    const char *step = rec->step[0] ? rec->step : what;
    if (why == ENDED && WIFEXITED(status) && atomic_load(&rec->done)) {
        if (rec->code == JL_OK) return JL_OK;
        return jl_error_set(rec->code, NULL, 0, "%s", rec->message);
    }
    if (why == OVER_MEMORY)
        return JL_FAIL_CODE(JL_EIO,
                            "%s: HDF5 used more than %lld MiB while %s: the file is corrupt "
                            "(JETLAB_H5_MEMORY_MB raises the limit)",
                            file, mb, step);
    if (why == OVER_TIME)
        return JL_FAIL_CODE(JL_EIO,
                            "%s: HDF5 did not finish within %lld s while %s: the file is corrupt, or "
                            "the storage is very slow (JETLAB_H5_TIMEOUT raises the limit)",
                            file, seconds, step);
    if (why == LOST)
        return JL_FAIL_CODE(JL_EIO, "%s: lost the process reading the file while %s: %s", file, step,
                            strerror(errno));
    if (WIFSIGNALED(status) && (WTERMSIG(status) == SIGINT || WTERMSIG(status) == SIGTERM))
        return JL_FAIL_CODE(JL_EINTR, "%s: interrupted while %s", file, step);
    char name[32];
    if (WIFSIGNALED(status))
        return JL_FAIL_CODE(JL_EIO, "%s: HDF5 crashed (%s) while %s: the file is corrupt", file,
                            signal_name(WTERMSIG(status), name, sizeof name), step);
    if (atomic_load(&rec->sanitizer))
        return JL_FAIL_CODE(JL_EIO,
                            "%s: HDF5 crashed (a memory error found by the sanitizer; "
                            "JETLAB_H5_CHILD_STDERR=1 shows its report) while %s: the file is corrupt",
                            file, step);
    return JL_FAIL_CODE(JL_EIO,
                        "%s: HDF5 crashed (the reading process exited with status %d) while %s: the "
                        "file is corrupt",
                        file, WEXITSTATUS(status), step);
}

static int run_in_child(const char *file, const char *what, size_t expected_bytes, jl_h5_guard_fn fn,
                        void *ctx)
{
    record *rec = jl_h5_shared_alloc(sizeof *rec);
    if (!rec) return jl_last_error_code();
    long long mb = atomic_load(&memory_mb), seconds = atomic_load(&timeout_s);
    long long page = sysconf(_SC_PAGESIZE) > 0 ? sysconf(_SC_PAGESIZE) : 4096;
    long long limit_pages = (mb << 20) / page + (long long)(expected_bytes / (size_t)page) + 1;
    long long base_pages = resident_pages(getpid());
    int alive[2] = {-1, -1};
    if (pipe2(alive, O_CLOEXEC) != 0) alive[0] = alive[1] = -1;
    pid_t pid = fork();
    if (pid == 0) {
        if (alive[0] >= 0) close(alive[0]);
        child_main(rec, seconds, fn, ctx);
    }
    if (alive[1] >= 0) close(alive[1]);
    int rc;
    if (pid < 0) {
        rc = JL_FAIL_CODE(JL_ENOMEM,
                          "%s: cannot start a process to read the file safely (%s); "
                          "JETLAB_H5_ISOLATION=0 reads in-process",
                          file, strerror(errno));
    } else {
        int status = 0;
        int why = wait_child(pid, alive[0], base_pages, limit_pages, seconds, &status);
        rc = report(file, what, rec, why, status, mb, seconds);
    }
    if (alive[0] >= 0) close(alive[0]);
    jl_h5_shared_free(rec, sizeof *rec);
    return rc;
}

int jl_h5_guarded(const char *file, const char *what, size_t expected_bytes, jl_h5_guard_fn fn, void *ctx)
{
    jl_h5_lock();
    int rc =
        jl_h5_isolation() >= JL_H5_ISOLATE_OPEN ? run_in_child(file, what, expected_bytes, fn, ctx) : fn(ctx);
    jl_h5_unlock();
    return rc;
}

int jl_h5_trial(const char *file, const char *what, size_t expected_bytes, jl_h5_guard_fn fn, void *ctx)
{
    if (jl_h5_isolation() < JL_H5_ISOLATE_OPEN) return JL_OK;
    return jl_h5_guarded(file, what, expected_bytes, fn, ctx);
}
