/* jl_loader.h — streaming batches of jet features from an HDF5 file
 * (DESIGN.md rule 6): deterministic splits, chunked reads, shuffling with
 * bounded memory, degradation and features in a background prefetch thread.
 *
 *   jl_tensor *parts[3];
 *   jl_split(n, 3, (double[]){0.7, 0.15, 0.15}, 1, parts);     // parts[k] (n_k) i64
 *   jl_loader_opts o = {.path = "top.h5", .jets = jl_data(parts[0]),
 *                       .n_jets = parts[0]->shape[0], .max_constituents = 80,
 *                       .shuffle = true, .seed = 1, .layout = JL_LAYOUT_RAGGED};
 *   jl_loader *l = jl_loader_new(&o);
 *   if (!l) { puts(jl_last_error()); return; }
 *   jl_batch b;
 *   while (jl_loader_next(l, 256, &b) == 1) { ... b.x (N_total, 7) ...; jl_batch_free(&b); }
 *   jl_loader_free(l);
 *
 * How it reads. The view's jets (file indices) are sorted and cut into
 * blocks of block_jets consecutive members; a chunk is chunk_jets / block_jets
 * blocks. Each block is read with a few contiguous row-range reads
 * (jl_h5_read over whole HDF5 chunks of the file, spanning less than
 * JL_LOADER_PIECE_ROWS file rows or one chunk, so a sparse view never reads
 * a huge range at once; see file_chunk_rows in loader.c for why whole
 * chunks), invalid jets are dropped (counted,
 * or an error when strict), each jet is degraded and turned into ragged
 * features (and, with a teacher, into full-resolution features too) straight
 * into the chunk's buffers. A chunk stores ragged features only; padded
 * batches are expanded when a batch is assembled, on the caller's thread.
 *
 * Shuffling (shuffle = true): the block order is a fresh permutation each
 * epoch, and the jets inside each chunk are permuted too, so a chunk mixes
 * chunk_jets / block_jets random regions of the file and a batch is a random
 * draw from its chunk. Two jets end up in one batch only if their blocks
 * land in the same chunk: with the defaults (16384 / 1024 = 16 blocks) a
 * batch draws from 16 random places of the file, not from all of it; files
 * written in random order (ATLAS's, jetlab gen's) make this indistinguishable
 * from a full shuffle, while a file sorted by class gives chunks whose class
 * fraction varies like a binomial over 16 blocks (about ±12% around the
 * mean). Without shuffle, jets come in file order. Every permutation is
 * Philox keyed by (seed, epoch, chunk): reproducible, independent of threads.
 *
 * Memory: the ready queue (prefetch chunks), the chunk being built, the one
 * being consumed, one piece of raw rows (about JL_LOADER_PIECE_ROWS x C x 16 B),
 * plus 8 bytes per jet of the view for its index list: bounded whatever the
 * file size. A chunk takes about chunk_jets x (16 + 36 x real constituents)
 * bytes, twice that with a teacher.
 *
 * Cache (opts.cache): the jets a pass prepares are stored, and later passes
 * copy them instead of reading and computing them again; the block order,
 * chunk permutations and skip counts are the same, so batches are
 * bit-identical with and without the cache (jl_row_cache.h: memory budget,
 * spill file). Once the cache holds every member, a pass is the shuffle and
 * the batch gather alone: the file is not opened (no HDF5, no guard fork),
 * no thread runs, and batches are assembled straight from the cache's rows.
 *
 * Threads: the prefetch thread owns the HDF5 reader; it runs HDF5, the
 * degradation and the features on its own (serially: the thread pool stays
 * free for training) and never touches Lua. When the HDF5 library is not
 * thread-safe (H5is_library_threadsafe; Debian's is), prefetch is turned off
 * and chunks are read on the caller's thread instead, so that no two threads
 * ever call HDF5 at once.
 */
#ifndef JL_LOADER_H
#define JL_LOADER_H

#include <stdbool.h>
#include <stdint.h>

#include "jl_features.h"
#include "jl_row_cache.h"
#include "jl_tensor.h"

#define JL_LOADER_CHUNK_JETS 16384
#define JL_LOADER_BLOCK_JETS 1024
#define JL_LOADER_PIECE_ROWS 4096
#define JL_LOADER_READ_QUANTUM 1024 /* read alignment when the file is not chunked */

/* Deterministic split of jets 0..n-1 into `parts` parts: a Philox
 * permutation keyed by seed; part k gets the jets whose position in it lies
 * in [round(n F_k), round(n F_{k+1})), F the cumulative fractions (each >= 0,
 * summing to at most 1 + 1e-9). out[k] (n_k) i64 are +1 tensors of 0-based
 * jet indices in permutation order, so a prefix of a part is a random subset
 * of it (nested as the prefix grows). On failure every out[k] is NULL. */
int jl_split(int64_t n, int parts, const double *fractions, uint64_t seed, jl_tensor **out);

typedef enum { JL_LAYOUT_PADDED = 0, JL_LAYOUT_RAGGED } jl_batch_layout;

typedef struct jl_loader_opts {
    const char *path;
    const int64_t *jets; /* the view: 0-based file indices (copied); NULL: every jet */
    int64_t n_jets;
    int64_t max_constituents;         /* columns of the features; <= 0: all on disk */
    int64_t teacher_max_constituents; /* <= 0: the same as max_constituents */
    int64_t chunk_jets;               /* <= 0: JL_LOADER_CHUNK_JETS */
    int64_t block_jets;               /* <= 0: JL_LOADER_BLOCK_JETS (at most chunk_jets) */
    bool shuffle;
    uint64_t seed, epoch;                                    /* the shuffle's keys */
    const jl_degrade *degrade;                               /* NULL: none (copied) */
    const jl_standardize *standardize, *teacher_standardize; /* NULL: raw (copied) */
    bool teacher;                                            /* also the full-resolution view, x_teacher */
    bool no_teacher_x; /* with teacher: its rows are prepared (and cached) but batches leave
                          x_teacher out (the teacher's logits are cached: jetlab.teacher_cache) */
    bool strict;    /* an invalid jet is an error instead of skipped */
    bool drop_last; /* no final short batch */
    int prefetch;   /* chunks kept ready ahead: 0 gives 1; < 0 turns the
                                         thread off (chunks read on the caller's thread) */
    jl_batch_layout layout;
    /* Borrowed (the caller frees it after the loader), NULL: none. The view's
     * prepared jets: blocks whose members are all stored are copied from it
     * instead of read and computed; the others are read and stored. Made for
     * this view (jet count) and these options (features, standardisation,
     * degradation, teacher, strict): see jl_row_cache.h. */
    jl_row_cache *cache;
} jl_loader_opts;

/* One batch, every tensor a +1 the batch owns (free with jl_batch_free). */
typedef struct jl_batch {
    int64_t n;          /* jets */
    jl_tensor *x;       /* padded (n, C, 7) or ragged (N_total, 7) f32 */
    jl_tensor *offsets; /* ragged: (n + 1) i64; padded: NULL */
    jl_tensor *coords;  /* ragged: (N_total, 2) f32 raw (eta', phi'); padded: NULL */
    jl_tensor *x_teacher, *offsets_teacher,
        *coords_teacher; /* the same, full resolution; NULL without teacher */
    jl_tensor *y;        /* (n) i64 class index: 0 background, 1 signal */
    jl_tensor *w;        /* (n) f32 training weights (1 when the file has none) */
    jl_tensor *jets;     /* (n) i64 0-based file indices */
    int64_t n_global;    /* jets of the global batch (jl_loader_next_rows); n otherwise */
    jl_tensor *w_global; /* jl_loader_next_rows: (n_global) f32 the global batch's weights; else NULL */
} jl_batch;

typedef struct jl_loader_counts {
    int64_t jets;    /* delivered so far */
    int64_t invalid; /* skipped: NaN/Inf, or E <= 0 on a real constituent */
    int64_t empty;   /* skipped: no real constituent */
} jl_loader_counts;

typedef struct jl_loader jl_loader;

/* Checks the options, opens the file (JL_EIO errors name the file and the
 * dataset) and starts the prefetch thread. Returns an owned loader (free with
 * jl_loader_free) or NULL. */
jl_loader *jl_loader_new(const jl_loader_opts *o);
/* The next batch of up to batch_size jets into *out (owned by the caller):
 * returns 1, or 0 at the end of the pass (out zeroed), or a negative status
 * (read failure, strict mode's invalid jet, a label not 0/1); a failure
 * repeats on later calls. */
int jl_loader_next(jl_loader *l, int64_t batch_size, jl_batch *out);
/* One rank's share of the next global batch (data-parallel training over
 * `size` ranks): the global batch of up to batch_size jets is formed exactly
 * as jl_loader_next forms it (same order, same kept jets, same pass
 * position), but only its jets [first, first + count) are assembled, first =
 * rank * (n / size) + min(rank, n % size), count = n / size (+1 for the
 * first n % size ranks): out->n = count, out->n_global = n and out->w_global
 * (n) the global batch's weights. The membership of a batch is known from
 * the chunks, so the rows of the other ranks' jets are never copied; when the
 * cache is complete no other jet's rows are touched at all, while a pass
 * that fills the cache still reads and prepares every jet of its chunks.
 * Returns as jl_loader_next (count may be 0 when n < size). */
int jl_loader_next_rows(jl_loader *l, int64_t batch_size, int64_t rank, int64_t size, jl_batch *out);
/* Counts of the chunks consumed so far (skips are counted a chunk at a time). */
jl_loader_counts jl_loader_counts_of(const jl_loader *l);
/* Jets in the view (before skipping invalid ones). */
int64_t jl_loader_size(const jl_loader *l);
/* Whether a background thread reads ahead (false when HDF5 is not thread-safe or prefetch < 0). */
bool jl_loader_prefetching(const jl_loader *l);
/* Stops and joins the thread, frees everything (NULL allowed). */
void jl_loader_free(jl_loader *l);
/* Releases every tensor of b and zeroes it (idempotent). */
void jl_batch_free(jl_batch *b);

#endif
