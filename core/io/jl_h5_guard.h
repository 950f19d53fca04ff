/* jl_h5_guard.h — HDF5 reads of untrusted files in a forked child (h5_guard.c).
 *
 * Debian's libhdf5 1.10.8 crashes inside the library on some corrupt files
 * (SEGV, SIGFPE, use-after-free, unbounded allocation: tests/fuzz/
 * hdf5_crashes). jetlab cannot catch that in-process, so every read of a
 * jets file or checkpoint runs its HDF5 calls in a child made by fork(): the
 * child starts with this process's memory (copy-on-write: the same HDF5
 * handles, nothing of the parent's can be damaged), does the work, reports a
 * status, and _exits. A child that dies by a signal, grows by more than the
 * memory limit, or runs past the time limit becomes a JL_EIO error naming
 * the file and the step, e.g.
 *   jets.h5: HDF5 crashed (SIGSEGV) while reading dataset "fjet_clus_pt"
 *   jets [0, 4096): the file is corrupt
 *
 *   // data: the child writes into shared memory, the parent decodes it
 *   float *buf = jl_h5_shared_alloc(bytes);
 *   int rc = jl_h5_guarded(path, "reading jets", bytes, read_fn, &ctx);
 *   // metadata: a trial in the child, then the same steps in-process
 *   if (jl_h5_trial(path, "opening the file", 0, open_fn, &ctx) == JL_OK) r = open(...);
 *
 * Locking: jl_h5_lock is held around every HDF5 call jetlab makes (readers,
 * writers, checkpoints; recursive on one thread), and the fork happens under
 * it, so no other thread is inside HDF5 (holding HDF5's own global lock)
 * when a child starts. The child runs only HDF5 calls and plain C (no thread
 * pool, no BLAS): the only threads the fork copies are the caller's.
 *
 * What runs in a child (JETLAB_H5_ISOLATION, or jl_h5_set_isolation):
 *   1 (default)  opening and sniffing jets files, whose trial also reads the
 *                first chunk (at most 4096 rows) of every dataset twice
 *                (filters, type conversion, the chunk index:
 *                H5Dget_storage_size walks it), and whole
 *                checkpoint reads. Later jet data reads run in-process: a
 *                fork costs about 0.3 ms plus 50 ms per GiB of this
 *                process's resident memory (2-4 times that on a loaded
 *                machine), too much per loader read: level 2 made a pass
 *                over 50k jets 1.9x slower, 9x with 2 GiB resident
 *                (bench/h5_guard_overhead.lua). Not covered: a crash in a data chunk other
 *                than the first (none known in Release; the over-reads of
 *                tests/fuzz/hdf5_crashes in later chunks read garbage).
 *   2            also every jet data read (jl_h5_read), in slabs of 64 MiB.
 *   0            off: everything in-process (coverage-guided fuzzing; a
 *                crash of HDF5 is a crash of jetlab). The default of
 *                AddressSanitizer builds, whose allocator is not fork-safe
 *                with other threads allocating (a child could hang).
 * Other settings, read from the environment once:
 *   JETLAB_H5_MEMORY_MB     a child's growth limit (default 1024) on top of
 *                           the bytes its caller expects it to produce
 *   JETLAB_H5_TIMEOUT       a child's time limit in seconds (default 60)
 *   JETLAB_H5_CHILD_STDERR=1  keep a child's stderr (dropped by default:
 *                           a sanitizer's report of a fault inside HDF5)
 */
#ifndef JL_H5_GUARD_H
#define JL_H5_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Work to run guarded: returns a status, leaving the message in jl_last_error(). */
typedef int (*jl_h5_guard_fn)(void *ctx);

/* Runs fn(ctx) in a forked child when isolation is >= 1 (else on this thread,
 * under jl_h5_lock). `what` names the step for messages ("reading jets
 * [0, 4096)"); expected_bytes is what fn legitimately allocates or writes
 * (added to the memory limit). fn's results reach the caller only through
 * memory from jl_h5_shared_alloc and its status. Returns fn's status and
 * message, JL_EIO when the child crashed, ran away or hung (see above), or
 * JL_EINTR when it was interrupted (SIGINT, SIGTERM). */
int jl_h5_guarded(const char *file, const char *what, size_t expected_bytes, jl_h5_guard_fn fn, void *ctx);

/* A trial run of steps the caller then repeats in-process: jl_h5_guarded
 * when isolation is on, JL_OK without running fn when it is off. The repeat
 * is safe because the child started from this process's exact state (hold
 * jl_h5_lock across the trial and the repeat). */
int jl_h5_trial(const char *file, const char *what, size_t expected_bytes, jl_h5_guard_fn fn, void *ctx);

/* In a guarded child: names the step under way ("reading dataset
 * \"fjet_pt\""), which a crash message then names. A no-op elsewhere. */
void jl_h5_guard_step(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Memory a guarded child can write for its parent: zeroed, shared
 * (MAP_SHARED anonymous). Returns an owned block (free with
 * jl_h5_shared_free and the same size) or NULL with JL_ENOMEM set. */
void *jl_h5_shared_alloc(size_t bytes);
void jl_h5_shared_free(void *p, size_t bytes);

/* The lock around every HDF5 call of jetlab; recursive on one thread. */
void jl_h5_lock(void);
void jl_h5_unlock(void);

enum { JL_H5_ISOLATE_OFF = 0, JL_H5_ISOLATE_OPEN = 1, JL_H5_ISOLATE_ALL = 2 };
/* What runs in a child (above; default JL_H5_ISOLATE_OPEN). */
int jl_h5_isolation(void);
void jl_h5_set_isolation(int level);
/* Sets a child's memory growth limit (MiB) and time limit (seconds); a value <= 0 keeps the current one. */
void jl_h5_guard_limits(int64_t memory_mb, int64_t seconds);

#endif
