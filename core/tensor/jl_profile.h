/* jl_profile.h — where a training step's time goes: the wall time and call count
 * of every kernel op run through jl_run (forward, loss, optimizer), and of every
 * autograd node's backward (its kernels included), while profiling is on.
 *
 * Only the outermost call on a thread is timed (a kernel op run inside a node's
 * backward counts to that backward). Times are the calling thread's wall time,
 * the pool's parallel work included. CUDA kernels run asynchronously: their
 * entries are launch times unless the op waits for the device.
 * Matrix products are also counted by shape, each timed on its own wherever it
 * runs (inside a backward too), so that the rate each shape reaches can be set
 * against the machine's GEMM peak.
 * Off by default; when off, jl_run pays one relaxed atomic load.
 */
#ifndef JL_PROFILE_H
#define JL_PROFILE_H

#include <stdbool.h>
#include <stdint.h>

typedef enum jl_profile_kind { JL_PROFILE_OP, JL_PROFILE_BACKWARD } jl_profile_kind;

/* The most distinct (name, kind) pairs counted; later ones are not counted. */
#define JL_PROFILE_MAX_ENTRIES 512

typedef struct jl_profile_entry {
    const char *name; /* op name or autograd node name; static storage */
    jl_profile_kind kind;
    int64_t calls;
    double seconds;
} jl_profile_entry;

/* The most distinct matrix-product shapes counted; later ones are not counted. */
#define JL_PROFILE_MAX_GEMMS 256
/* A product dimension of this size or more is counted in its power-of-two bucket
 * (the rows of a ragged batch change every step): m 8529 and 9001 both count as 8192. */
#define JL_PROFILE_BUCKET_FROM 1024

typedef struct jl_profile_gemm {
    int64_t m, n, k; /* op(a) (m, k) @ op(b) (k, n); bucketed from JL_PROFILE_BUCKET_FROM */
    bool ta, tb;     /* a, b stored transposed */
    int64_t calls;
    double flops, seconds; /* 2 m n k per batch entry, exact dims */
} jl_profile_gemm;

/* Clears the counters and starts profiling (process-wide). */
void jl_profile_start(void);
/* Stops profiling; the counters stay readable. */
void jl_profile_stop(void);
bool jl_profile_on(void);
/* Copies up to max entries (those called at least once) into out; returns how many. */
int jl_profile_entries(jl_profile_entry *out, int max);

/* Copies up to max matrix-product entries (first-seen order) into out; returns how many. */
int jl_profile_gemms(jl_profile_gemm *out, int max);

/* Counts one matrix product of batch entries of op(a) (m, k) @ op(b) (k, n) that took seconds. */
void jl_profile_gemm_add(int64_t batch, int64_t m, int64_t n, int64_t k, bool ta, bool tb, double seconds);

/* Monotonic clock in nanoseconds. */
int64_t jl_profile_now_ns(void);

/* Timing of one call (used by device.c and autograd.c): begin returns a token
 * (negative when the call is not timed: profiling off, or nested); end, called
 * once with that token, adds an outermost call's time to (name, kind). */
int64_t jl_profile_begin(void);
void jl_profile_end(int64_t token, const char *name, jl_profile_kind kind);

#endif
