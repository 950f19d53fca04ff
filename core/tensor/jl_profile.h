/* jl_profile.h — where a training step's time goes: the wall time and call count
 * of every kernel op run through jl_run (forward, loss, optimizer), and of every
 * autograd node's backward (its kernels included), while profiling is on.
 *
 * Only the outermost call on a thread is timed (a kernel op run inside a node's
 * backward counts to that backward). Times are the calling thread's wall time,
 * the pool's parallel work included. CUDA kernels run asynchronously: their
 * entries are launch times unless the op waits for the device.
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

/* Clears the counters and starts profiling (process-wide). */
void jl_profile_start(void);
/* Stops profiling; the counters stay readable. */
void jl_profile_stop(void);
bool jl_profile_on(void);
/* Copies up to max entries (those called at least once) into out; returns how many. */
int jl_profile_entries(jl_profile_entry *out, int max);

/* Timing of one call (used by device.c and autograd.c): begin returns a token
 * (negative when the call is not timed: profiling off, or nested); end, called
 * once with that token, adds an outermost call's time to (name, kind). */
int64_t jl_profile_begin(void);
void jl_profile_end(int64_t token, const char *name, jl_profile_kind kind);

#endif
