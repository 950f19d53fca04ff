/* jl_row_cache.h — one view's prepared jets (checked, degraded, turned into
 * ragged features), kept across the loader's passes so that only the first
 * pass reads the file and computes features (issue 16, "inputs prepared
 * once per run").
 *
 *   jl_row_cache *c = jl_row_cache_new(&(jl_row_cache_opts){.jets = m, .max_rows = 80 + 80,
 *                                        .budget_bytes = 256 << 20, .spill_dir = run_dir});
 *   jl_loader_opts o = {..., .cache = c};   // every pass of the view, any shuffle keys
 *   ...
 *   jl_row_cache_free(c);                    // after the last loader using it is freed
 *
 * Entries are indexed by the jet's position in the view's sorted member list
 * (the loader's member index), so one cache serves exactly one view and one
 * feature configuration (columns, standardisation, degradation, teacher):
 * the caller keys caches by that configuration; the loader checks the jet
 * count and the teacher flag. An entry stores the jet's fate (kept, invalid
 * or empty, so skip counts repeat), its label, weight and the student's and
 * teacher's rows: x (rows, 7) then coords (rows, 2), f32, exactly the floats
 * the loader computed, so a cached pass is bit-identical to an uncached one.
 *
 * Memory: rows are appended to an arena; its first budget_bytes (less the
 * index, 32 bytes per jet) are anonymous memory, the rest spills to a file
 * created in spill_dir, unlinked at once (nothing is left behind, even
 * after a crash) and memory-mapped; its disk space is reserved 64 MiB at a
 * time (a full disk is an error, never a SIGBUS). The loader calls
 * jl_row_cache_release after each chunk, which drops the spill's pages from
 * the process (they stay in the page cache), so the resident size stays
 * within the budget plus the loader's own bound.
 *
 * Ownership: the caller owns the cache and frees it after every loader that
 * uses it. Threads: put/get may run on several loaders' threads at once
 * (appends are locked; an entry is published after its rows are written).
 */
#ifndef JL_ROW_CACHE_H
#define JL_ROW_CACHE_H

#include <stdbool.h>
#include <stdint.h>

typedef enum { JL_ROW_MISSING = 0, JL_ROW_KEPT, JL_ROW_INVALID, JL_ROW_EMPTY } jl_row_fate;

typedef struct jl_row_cache_opts {
    int64_t jets;          /* members of the view (>= 0) */
    int64_t max_rows;      /* most rows one jet stores, student + teacher (>= 1) */
    int64_t budget_bytes;  /* memory for the index and rows (>= 0); beyond it rows spill */
    bool teacher;          /* entries hold the teacher's rows too */
    const char *spill_dir; /* where the spill file is made; NULL: $TMPDIR, else /tmp */
} jl_row_cache_opts;

/* One stored jet; x (ns, 7) then coords (ns, 2) at s, the same for the teacher at t. */
typedef struct jl_row_entry {
    jl_row_fate fate;
    int64_t label;
    float weight;
    int64_t ns, nt;
    const float *s, *t;
} jl_row_entry;

typedef struct jl_row_cache_stats {
    int64_t jets;         /* entries stored */
    int64_t memory_bytes; /* index + rows in memory */
    int64_t spill_bytes;  /* rows in the spill file */
    int64_t budget_bytes;
} jl_row_cache_stats;

typedef struct jl_row_cache jl_row_cache;

/* A new empty cache (owned; free with jl_row_cache_free) or NULL. */
jl_row_cache *jl_row_cache_new(const jl_row_cache_opts *o);
/* Stores member i (a no-op when it is stored already). For a kept jet, xs (ns, 7),
 * cs (ns, 2) and, with a teacher, xt (nt, 7), ct (nt, 2); else they are ignored.
 * Returns JL_OK or an error (spill file, disk full, ns + nt > max_rows). */
int jl_row_cache_put(jl_row_cache *c, int64_t i, jl_row_fate fate, int64_t label, float weight, int64_t ns,
                     const float *xs, const float *cs, int64_t nt, const float *xt, const float *ct);
/* Whether members [i0, i1) are all stored. */
bool jl_row_cache_has(const jl_row_cache *c, int64_t i0, int64_t i1);
/* Member i (fate JL_ROW_MISSING when not stored); its pointers live as long as the cache. */
jl_row_entry jl_row_cache_get(const jl_row_cache *c, int64_t i);
/* Records the file the rows came from: its jet count, the constituent columns
 * the loader read and the view's members (jets) as sorted file rows (copied;
 * NULL: the whole file), so that a pass over a complete cache needs neither
 * the file nor HDF5 nor a sort; the first call's record stays (later calls
 * are no-ops). JL_OK or out of memory. */
int jl_row_cache_note_source(jl_row_cache *c, int64_t n_file, int64_t columns, const int64_t *members);
/* Whether every member is stored and the source was noted; then *n_file,
 * *columns and *members (the cache's, NULL for the whole file). */
bool jl_row_cache_complete(const jl_row_cache *c, int64_t *n_file, int64_t *columns, const int64_t **members);
/* Drops the spill file's pages from this process's memory (they stay in the file). */
void jl_row_cache_release(jl_row_cache *c);
int64_t jl_row_cache_jets(const jl_row_cache *c);
bool jl_row_cache_teacher(const jl_row_cache *c);
jl_row_cache_stats jl_row_cache_stats_of(const jl_row_cache *c);
/* Frees the memory and closes the spill file (NULL allowed). */
void jl_row_cache_free(jl_row_cache *c);

#endif
