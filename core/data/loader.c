/* loader.c — splits and the streaming batch loader (see jl_loader.h for the
 * reading scheme, the shuffle, memory bounds and threads).
 *
 * Producer: produce() builds chunk k of the pass (reads, checks, degrades,
 * computes ragged features) and runs on the prefetch thread, which keeps up
 * to `prefetch` chunks in a queue; without the thread the consumer calls it
 * directly. Consumer: jl_loader_next() takes jets from the current chunk in
 * its shuffled order, moving on to the next chunk when it runs out, and
 * assembles the batch tensors. A chunk is freed once no batch needs it.
 */
#include <hdf5.h>
#include <math.h>
#include <sys/mman.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "jl_error.h"
#include "jl_h5.h"
#include "jl_h5_guard.h"
#include "jl_loader.h"
#include "jl_philox.h"

enum { PURPOSE_SPLIT = 1, PURPOSE_BLOCKS = 2, PURPOSE_CHUNK = 3 };

/* A 64-bit Philox draw for item i under key seed and the stream (a, b). */
static uint64_t draw64(uint64_t seed, uint64_t i, uint32_t a, uint32_t b)
{
    jl_philox4x32 ctr = {{(uint32_t)i, (uint32_t)(i >> 32), a, b}};
    jl_philox4x32 r = jl_philox4x32_10(ctr, (uint32_t)seed, (uint32_t)(seed >> 32));
    return (uint64_t)r.v[0] << 32 | r.v[1];
}

/* Fisher-Yates over v (n) with draws of the stream (a, purpose << 28 | b). */
static void permute(int64_t *v, int64_t n, uint64_t seed, uint32_t a, int purpose, uint64_t b)
{
    uint32_t stream = (uint32_t)purpose << 28 | (uint32_t)(b & 0x0fffffffu);
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)jl_philox_below(draw64(seed, (uint64_t)i, a, stream), (uint64_t)i + 1);
        int64_t t = v[i];
        v[i] = v[j];
        v[j] = t;
    }
}

int jl_split(int64_t n, int parts, const double *fractions, uint64_t seed, jl_tensor **out)
{
    for (int k = 0; k < parts; k++) out[k] = NULL;
    if (n < 0 || parts < 1) return JL_FAIL("split: need n >= 0 and at least one part");
    double total = 0;
    for (int k = 0; k < parts; k++) {
        if (!(fractions[k] >= 0) || !isfinite(fractions[k]))
            return JL_FAIL("split: fraction %d must be a finite number >= 0, got %g", k + 1, fractions[k]);
        total += fractions[k];
    }
    if (total > 1 + 1e-9) return JL_FAIL("split: fractions sum to %g, more than 1", total);
    int64_t *perm = malloc((size_t)(n > 0 ? n : 1) * sizeof *perm);
    if (!perm) return JL_FAIL_CODE(JL_ENOMEM, "split: out of memory for %lld jets", (long long)n);
    for (int64_t i = 0; i < n; i++) perm[i] = i;
    permute(perm, n, seed, 0, PURPOSE_SPLIT, 0);
    double cum = 0;
    int64_t start = 0;
    for (int k = 0; k < parts; k++) {
        cum += fractions[k];
        int64_t end = (int64_t)floor((double)n * cum + 0.5);
        if (end > n) end = n;
        if (end < start) end = start;
        int64_t len = end - start;
        out[k] = jl_from_host(JL_I64, 1, &len, perm + start);
        if (!out[k]) {
            for (int q = 0; q < k; q++) {
                jl_release(out[q]);
                out[q] = NULL;
            }
            free(perm);
            return jl_last_error_code();
        }
        start = end;
    }
    free(perm);
    return JL_OK;
}

/* ------------------------------------------------------------------ chunks */

typedef struct ragged {
    int64_t rows;      /* constituent rows written */
    float *x, *coords; /* (rows, 7), (rows, 2) */
    int64_t *off;      /* (jets + 1) */
} ragged;

/* A chunk's arrays live in one anonymous mapping sized for the worst case
 * (every jet kept, every column a real constituent). Pages are only backed
 * once written, so the reservation costs address space, not memory, and a
 * freed chunk goes straight back to the OS, whatever malloc's per-thread
 * arenas would do with blocks allocated by the prefetch thread and freed by
 * the consumer. */
typedef struct chunk {
    void *map;
    size_t map_bytes;
    bool cached;      /* the rows stay in the loader's complete cache: member, not s and t */
    int64_t n;        /* jets kept */
    int64_t *jet, *y; /* (n) file row, class index */
    int64_t *member;  /* (n) view member (cached chunks) */
    float *w;         /* (n) */
    ragged s, t;      /* student, teacher features */
    int64_t *order;   /* (n) the order jets are handed out in */
    int64_t pos;      /* next position in order */
    int64_t invalid, empty;
    int status; /* JL_OK, or the failure that ended the pass */
    char *message;
} chunk;

static void chunk_free(chunk *c)
{
    if (!c) return;
    if (c->map) munmap(c->map, c->map_bytes);
    free(c->message);
    free(c);
}

/* A chunk for up to `jets` jets with up to rows_s / rows_t constituent rows. */
static chunk *chunk_new(int64_t jets, int64_t rows_s, int64_t rows_t)
{
    chunk *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    size_t bytes = (size_t)jets * (4 * sizeof(int64_t) + sizeof(float)) +
                   2 * (size_t)(jets + 1) * sizeof(int64_t) +
                   (size_t)(rows_s + rows_t) * (JL_FEATURES + 2) * sizeof(float) + 64;
    void *map = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (map == MAP_FAILED) {
        free(c);
        return NULL;
    }
    c->map = map;
    c->map_bytes = bytes;
    char *p = map; /* 8-byte arrays first, then the 4-byte ones */
    c->jet = (int64_t *)p, p += (size_t)jets * sizeof(int64_t);
    c->y = (int64_t *)p, p += (size_t)jets * sizeof(int64_t);
    c->order = (int64_t *)p, p += (size_t)jets * sizeof(int64_t);
    c->member = (int64_t *)p, p += (size_t)jets * sizeof(int64_t);
    c->s.off = (int64_t *)p, p += (size_t)(jets + 1) * sizeof(int64_t);
    c->t.off = (int64_t *)p, p += (size_t)(jets + 1) * sizeof(int64_t);
    c->w = (float *)p, p += (size_t)jets * sizeof(float);
    c->s.x = (float *)p, p += (size_t)rows_s * JL_FEATURES * sizeof(float);
    c->s.coords = (float *)p, p += (size_t)rows_s * 2 * sizeof(float);
    c->t.x = (float *)p, p += (size_t)rows_t * JL_FEATURES * sizeof(float);
    c->t.coords = (float *)p;
    return c;
}

/* Records the current (thread-local) error in the chunk; returns its code. */
static int chunk_fail(chunk *c, int code)
{
    if (c->status == JL_OK) {
        c->status = code ? code : JL_EIO;
        c->message = strdup(jl_last_error());
    }
    return c->status;
}

/* ------------------------------------------------------------------ loader */

struct jl_loader {
    char *path;
    jl_loader_opts o; /* pointers in it cleared; copies below */
    jl_degrade degrade;
    jl_standardize st, tst;
    jl_features_opts fs, ft;        /* student, teacher feature options */
    int64_t cs, ct, cread;          /* columns: student, teacher, read */
    int64_t *members, m;            /* the view, sorted; NULL: every jet (member i is row i) */
    bool complete;                  /* the cache holds every member: no file, no thread, no copies */
    int64_t n_file;                 /* jets in the file */
    int64_t chunk_rows, piece_rows; /* reads: aligned to chunk_rows, spanning < piece_rows */
    int64_t bj, n_blocks, per_chunk, n_chunks;
    int64_t *blocks;      /* (n_blocks) block order of the pass */
    jl_h5_reader *reader; /* the producer's (NULL when complete) */
    float *scratch;       /* (4, cread) a jet being degraded */
    int64_t produced;     /* chunks made (producer side) */

    bool threaded;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    chunk **queue; /* ring of q_cap ready chunks */
    int q_cap, q_head, q_len;
    bool finished, out_of_memory; /* the producer is done; it failed to allocate */
    atomic_bool stop;

    chunk *cur; /* consumer's current chunk */
    jl_loader_counts counts;
    int status; /* sticky failure of the pass */
    char *message;
};

/* File row of view member i. */
static int64_t member(const jl_loader *l, int64_t i) { return l->members ? l->members[i] : i; }

/* Appends one checked jet (the chunk has room: see chunk_new); pt, eta, phi, E (cread). */
static void add_jet(jl_loader *l, chunk *c, int64_t jet, int64_t label, float weight, const float *pt,
                    const float *eta, const float *phi, const float *E)
{
    int64_t C = l->cread, i = c->n;
    if (l->o.teacher) {
        ragged *t = &c->t;
        t->rows += jl_jet_features(pt, eta, phi, E, C, &l->ft, t->x + t->rows * JL_FEATURES,
                                   t->coords + t->rows * 2);
        t->off[i + 1] = t->rows;
    }
    if (l->degrade.n_steps > 0) {
        float *s = l->scratch;
        memcpy(s, pt, (size_t)C * sizeof *s);
        memcpy(s + C, eta, (size_t)C * sizeof *s);
        memcpy(s + 2 * C, phi, (size_t)C * sizeof *s);
        memcpy(s + 3 * C, E, (size_t)C * sizeof *s);
        jl_degrade_jet(&l->degrade, (uint64_t)jet, s, s + C, s + 2 * C, s + 3 * C, C);
        pt = s, eta = s + C, phi = s + 2 * C, E = s + 3 * C;
    }
    ragged *r = &c->s;
    r->rows +=
        jl_jet_features(pt, eta, phi, E, C, &l->fs, r->x + r->rows * JL_FEATURES, r->coords + r->rows * 2);
    r->off[i + 1] = r->rows;
    c->jet[i] = jet;
    c->y[i] = label;
    c->w[i] = weight;
    c->n++;
}

/* Stores the chunk's last jet, view member i, in the cache. */
static int cache_jet(jl_loader *l, const chunk *c, int64_t i)
{
    int64_t k = c->n - 1, s0 = c->s.off[k], ns = c->s.off[k + 1] - s0;
    int64_t t0 = l->o.teacher ? c->t.off[k] : 0, nt = l->o.teacher ? c->t.off[k + 1] - t0 : 0;
    return jl_row_cache_put(l->o.cache, i, JL_ROW_KEPT, c->y[k], c->w[k], ns, c->s.x + s0 * JL_FEATURES,
                            c->s.coords + s0 * 2, nt, c->t.x + t0 * JL_FEATURES, c->t.coords + t0 * 2);
}

/* Appends n rows, stored as x (n, 7) then coords (n, 2) at src, as jet i of r. */
static void copy_rows(ragged *r, int64_t i, int64_t n, const float *src)
{
    memcpy(r->x + r->rows * JL_FEATURES, src, (size_t)(n * JL_FEATURES) * sizeof(float));
    memcpy(r->coords + r->rows * 2, src + n * JL_FEATURES, (size_t)(n * 2) * sizeof(float));
    r->rows += n;
    r->off[i + 1] = r->rows;
}

/* Appends view member p from the cache: a kept jet's rows, or its skip counted. */
static void add_cached(jl_loader *l, chunk *c, int64_t p)
{
    jl_row_entry e = jl_row_cache_get(l->o.cache, p);
    if (e.fate != JL_ROW_KEPT) {
        if (e.fate == JL_ROW_EMPTY) c->empty++;
        else c->invalid++;
        return;
    }
    int64_t i = c->n;
    copy_rows(&c->s, i, e.ns, e.s);
    if (l->o.teacher) copy_rows(&c->t, i, e.nt, e.t);
    c->jet[i] = member(l, p);
    c->y[i] = e.label;
    c->w[i] = e.weight;
    c->n++;
}

/* Reads view members [p, q) (rows members[p] .. members[q-1] of the file) into c. */
static int read_members(jl_loader *l, chunk *c, int64_t p, int64_t q)
{
    /* whole HDF5 chunks (see file_chunk_rows), within the file */
    int64_t Q = l->chunk_rows;
    int64_t start = member(l, p) / Q * Q, end = (member(l, q - 1) / Q + 1) * Q;
    if (end > l->n_file) end = l->n_file;
    int64_t count = end - start;
    jl_h5_jets j;
    int rc = jl_h5_read(l->reader, start, count, &j);
    if (rc != JL_OK) return rc;
    int64_t C = j.c;
    const float *pt = jl_data(j.pt), *eta = jl_data(j.eta), *phi = jl_data(j.phi), *E = jl_data(j.E);
    const int64_t *labels = jl_data(j.labels);
    const float *w = jl_data(j.weights);
    for (int64_t i = p; i < q && rc == JL_OK; i++) {
        int64_t row = member(l, i) - start, o = row * C;
        jl_jet_check_result check = jl_jet_check(pt + o, eta + o, phi + o, E + o, C);
        if (check != JL_JET_OK) {
            if (l->o.strict)
                rc = JL_FAIL_CODE(JL_EIO, "%s: jet at row %lld (0-based) %s (strict mode)", l->path,
                                  (long long)member(l, i),
                                  check == JL_JET_EMPTY ? "has no constituent"
                                                        : "has a NaN or infinite value, or E <= 0");
            else if (check == JL_JET_EMPTY) c->empty++;
            else c->invalid++;
            if (rc == JL_OK && l->o.cache)
                rc = jl_row_cache_put(l->o.cache, i, check == JL_JET_EMPTY ? JL_ROW_EMPTY : JL_ROW_INVALID, 0, 0,
                                      0, NULL, NULL, 0, NULL, NULL);
            continue;
        }
        if (labels[row] != 0 && labels[row] != 1) {
            rc = JL_FAIL_CODE(JL_EIO, "%s: jet at row %lld has label %lld, expected 0 or 1", l->path,
                              (long long)member(l, i), (long long)labels[row]);
            break;
        }
        add_jet(l, c, member(l, i), labels[row], w[row], pt + o, eta + o, phi + o, E + o);
        if (l->o.cache) rc = cache_jet(l, c, i);
    }
    jl_h5_jets_free(&j);
    return rc;
}

/* Lists view member p of a complete cache in c (its rows stay in the cache), or counts its skip. */
static void add_member(jl_loader *l, chunk *c, int64_t p)
{
    jl_row_entry e = jl_row_cache_get(l->o.cache, p);
    if (e.fate != JL_ROW_KEPT) {
        if (e.fate == JL_ROW_EMPTY) c->empty++;
        else c->invalid++;
        return;
    }
    int64_t i = c->n++;
    c->member[i] = p;
    c->jet[i] = member(l, p);
    c->y[i] = e.label;
    c->w[i] = e.weight;
}

/* Builds chunk k of the pass; NULL only when the chunk itself cannot be allocated. */
static chunk *produce(jl_loader *l, int64_t k)
{
    int64_t jets = l->per_chunk * l->bj;
    int64_t rows_s = l->complete ? 0 : jets * (l->cs < l->cread ? l->cs : l->cread);
    int64_t rows_t = l->o.teacher && !l->complete ? jets * (l->ct < l->cread ? l->ct : l->cread) : 0;
    chunk *c = chunk_new(jets, rows_s, rows_t);
    if (!c) return NULL;
    c->cached = l->complete;
    int rc = JL_OK;
    int64_t first = k * l->per_chunk, last = first + l->per_chunk;
    if (last > l->n_blocks) last = l->n_blocks;
    for (int64_t b = first; b < last && rc == JL_OK && !atomic_load(&l->stop); b++) {
        if (l->complete) {
            int64_t m0 = l->blocks[b] * l->bj, m1 = m0 + l->bj < l->m ? m0 + l->bj : l->m;
            for (int64_t p = m0; p < m1; p++) add_member(l, c, p);
            continue;
        }
        int64_t m0 = l->blocks[b] * l->bj, m1 = m0 + l->bj < l->m ? m0 + l->bj : l->m;
        if (l->o.cache && jl_row_cache_has(l->o.cache, m0, m1)) {
            for (int64_t p = m0; p < m1; p++) add_cached(l, c, p);
            continue;
        }
        for (int64_t p = m0; p < m1 && rc == JL_OK;) {
            int64_t q = p + 1;
            while (q < m1 && member(l, q) - member(l, p) < l->piece_rows) q++;
            rc = read_members(l, c, p, q);
            p = q;
        }
    }
    if (l->o.cache && !l->complete) jl_row_cache_release(l->o.cache);
    if (rc != JL_OK) {
        chunk_fail(c, rc);
        return c;
    }
    for (int64_t i = 0; i < c->n; i++) c->order[i] = i;
    if (l->o.shuffle) permute(c->order, c->n, l->o.seed, (uint32_t)l->o.epoch, PURPOSE_CHUNK, (uint64_t)k);
    return c;
}

static void *prefetch_main(void *arg)
{
    jl_loader *l = arg;
    for (int64_t k = 0; k < l->n_chunks; k++) {
        pthread_mutex_lock(&l->lock);
        while (l->q_len >= l->q_cap && !atomic_load(&l->stop)) pthread_cond_wait(&l->cond, &l->lock);
        pthread_mutex_unlock(&l->lock);
        if (atomic_load(&l->stop)) break;
        chunk *c = produce(l, k);
        bool last = !c || c->status != JL_OK; /* read before the consumer may free c */
        pthread_mutex_lock(&l->lock);
        if (!c) l->out_of_memory = true;
        else l->queue[(l->q_head + l->q_len++) % l->q_cap] = c;
        pthread_cond_broadcast(&l->cond);
        pthread_mutex_unlock(&l->lock);
        if (last) break;
    }
    pthread_mutex_lock(&l->lock);
    l->finished = true;
    pthread_cond_broadcast(&l->cond);
    pthread_mutex_unlock(&l->lock);
    return NULL;
}

/* Rows per HDF5 chunk of the file's jet datasets (fjet_clus_pt, or the
 * PyTables table), JL_LOADER_READ_QUANTUM when not chunked. Reads are
 * aligned to whole chunks: HDF5 decompresses whole chunks anyway, and HDF5
 * 1.10 with the reader's chunk cache (4 MiB per dataset) grows without bound
 * under random reads of partial chunks (about 1 GB after 600 reads of 1536
 * rows of a 1M-jet file), while whole-chunk reads stay flat. */
static int64_t file_chunk_rows(const jl_h5_reader *r)
{
    return jl_h5_chunk_rows(r) > 0 ? jl_h5_chunk_rows(r) : JL_LOADER_READ_QUANTUM;
}

static int compare_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

jl_loader *jl_loader_new(const jl_loader_opts *o)
{
    if (!o->path) {
        JL_FAIL("loader: no path");
        return NULL;
    }
    if (o->degrade && jl_degrade_check(o->degrade) != JL_OK) return NULL;
    if (o->n_jets < 0 || (o->n_jets > 0 && !o->jets)) {
        JL_FAIL("loader: %lld jets given without their indices", (long long)o->n_jets);
        return NULL;
    }
    int64_t want_s = o->max_constituents,
            want_t = o->teacher_max_constituents > 0 ? o->teacher_max_constituents : want_s;
    int64_t want = want_s > 0 && want_t > 0 ? (want_s > want_t ? want_s : want_t) : INT64_MAX;
    /* a complete cache is the whole pass: the file is neither opened nor read */
    int64_t n_file = 0, cread = 0;
    const int64_t *sorted = NULL; /* a complete cache's members, sorted */
    bool complete = o->cache && jl_row_cache_complete(o->cache, &n_file, &cread, &sorted);
    jl_h5_reader *r = complete ? NULL : jl_h5_open(o->path, want);
    if (!complete && !r) return NULL;
    if (r) n_file = jl_h5_count(r), cread = jl_h5_columns(r);
    if (o->cache && (jl_row_cache_jets(o->cache) != (o->jets ? o->n_jets : n_file) ||
                     jl_row_cache_teacher(o->cache) != o->teacher)) {
        JL_FAIL("loader: the cache was made for %lld jets%s, this view has %lld%s",
                (long long)jl_row_cache_jets(o->cache), jl_row_cache_teacher(o->cache) ? " with a teacher" : "",
                (long long)(o->jets ? o->n_jets : n_file), o->teacher ? " with a teacher" : "");
        jl_h5_close(r);
        return NULL;
    }
    jl_loader *l = calloc(1, sizeof *l);
    if (!l || !(l->path = strdup(o->path))) {
        free(l);
        jl_h5_close(r);
        JL_FAIL_CODE(JL_ENOMEM, "loader: out of memory opening %s", o->path);
        return NULL;
    }
    l->reader = r;
    l->complete = complete;
    l->o = *o;
    l->o.path = NULL;
    l->o.jets = NULL;
    if (o->degrade) l->degrade = *o->degrade;
    l->cread = cread;
    l->cs = want_s > 0 ? want_s : l->cread;
    l->ct = want_t > 0 ? want_t : l->cread;
    if (o->standardize) l->st = *o->standardize;
    if (o->teacher_standardize) l->tst = *o->teacher_standardize;
    l->fs = (jl_features_opts){
        .max_constituents = l->cs, .standardize = o->standardize ? &l->st : NULL, .serial = true};
    l->ft = (jl_features_opts){
        .max_constituents = l->ct, .standardize = o->teacher_standardize ? &l->tst : NULL, .serial = true};

    l->n_file = n_file;
    l->chunk_rows = r ? file_chunk_rows(r) : JL_LOADER_READ_QUANTUM;
    l->piece_rows = l->chunk_rows > JL_LOADER_PIECE_ROWS ? l->chunk_rows : JL_LOADER_PIECE_ROWS;
    l->m = o->jets ? o->n_jets : n_file;
    l->scratch = malloc((size_t)(4 * l->cread + 1) * sizeof *l->scratch);
    if (o->jets) l->members = malloc((size_t)(l->m > 0 ? l->m : 1) * sizeof *l->members);
    if (!l->scratch || (o->jets && !l->members)) {
        JL_FAIL_CODE(JL_ENOMEM, "loader: out of memory for a view of %lld jets", (long long)l->m);
        goto fail;
    }
    if (o->jets && sorted) memcpy(l->members, sorted, (size_t)l->m * sizeof *l->members);
    for (int64_t i = 0; o->jets && !sorted && i < l->m; i++) {
        l->members[i] = o->jets[i];
        if (l->members[i] < 0 || l->members[i] >= n_file) {
            JL_FAIL("loader: jet row %lld (0-based) outside %s's %lld jets", (long long)l->members[i],
                    l->path, (long long)n_file);
            goto fail;
        }
    }
    if (o->jets && !sorted) qsort(l->members, (size_t)l->m, sizeof *l->members, compare_i64);
    if (o->cache && !complete && jl_row_cache_note_source(o->cache, n_file, cread, l->members) != JL_OK) goto fail;

    int64_t cj = o->chunk_jets > 0 ? o->chunk_jets : JL_LOADER_CHUNK_JETS;
    l->bj = o->block_jets > 0 ? o->block_jets : JL_LOADER_BLOCK_JETS;
    if (l->bj > cj) l->bj = cj;
    l->per_chunk = cj / l->bj;
    l->n_blocks = (l->m + l->bj - 1) / l->bj;
    l->n_chunks = (l->n_blocks + l->per_chunk - 1) / l->per_chunk;
    l->blocks = malloc((size_t)(l->n_blocks > 0 ? l->n_blocks : 1) * sizeof *l->blocks);
    if (!l->blocks) {
        JL_FAIL_CODE(JL_ENOMEM, "loader: out of memory");
        goto fail;
    }
    for (int64_t b = 0; b < l->n_blocks; b++) l->blocks[b] = b;
    if (o->shuffle) permute(l->blocks, l->n_blocks, o->seed, (uint32_t)o->epoch, PURPOSE_BLOCKS, 0);

    hbool_t safe = 0;
    jl_h5_lock();
    l->threaded = !complete && o->prefetch >= 0 && H5is_library_threadsafe(&safe) >= 0 && safe;
    jl_h5_unlock();
    atomic_init(&l->stop, false);
    if (l->threaded) {
        l->q_cap = o->prefetch > 0 ? o->prefetch : 1;
        l->queue = calloc((size_t)l->q_cap, sizeof *l->queue);
        if (!l->queue) {
            JL_FAIL_CODE(JL_ENOMEM, "loader: out of memory");
            goto fail;
        }
        pthread_mutex_init(&l->lock, NULL);
        pthread_cond_init(&l->cond, NULL);
        if (pthread_create(&l->thread, NULL, prefetch_main, l) != 0) {
            pthread_mutex_destroy(&l->lock);
            pthread_cond_destroy(&l->cond);
            l->threaded = false; /* read on this thread instead */
        }
    }
    return l;
fail:
    jl_loader_free(l);
    return NULL;
}

void jl_loader_free(jl_loader *l)
{
    if (!l) return;
    if (l->threaded) {
        pthread_mutex_lock(&l->lock);
        atomic_store(&l->stop, true);
        pthread_cond_broadcast(&l->cond);
        pthread_mutex_unlock(&l->lock);
        pthread_join(l->thread, NULL);
        for (int i = 0; i < l->q_len; i++) chunk_free(l->queue[(l->q_head + i) % l->q_cap]);
        pthread_mutex_destroy(&l->lock);
        pthread_cond_destroy(&l->cond);
    }
    chunk_free(l->cur);
    jl_h5_close(l->reader);
    free(l->queue);
    free(l->blocks);
    free(l->members);
    free(l->scratch);
    free(l->message);
    free(l->path);
    free(l);
}

/* The next chunk of the pass, NULL at its end or on failure (*rc set). */
static chunk *next_chunk(jl_loader *l, int *rc)
{
    chunk *c = NULL;
    *rc = JL_OK;
    if (!l->threaded) {
        if (l->produced >= l->n_chunks) return NULL;
        c = produce(l, l->produced++);
    } else {
        pthread_mutex_lock(&l->lock);
        while (l->q_len == 0 && !l->finished) pthread_cond_wait(&l->cond, &l->lock);
        if (l->q_len > 0) {
            c = l->queue[l->q_head];
            l->q_head = (l->q_head + 1) % l->q_cap;
            l->q_len--;
            pthread_cond_broadcast(&l->cond);
        } else if (!l->out_of_memory) {
            pthread_mutex_unlock(&l->lock);
            return NULL;
        }
        pthread_mutex_unlock(&l->lock);
    }
    if (!c) *rc = JL_FAIL_CODE(JL_ENOMEM, "loader: out of memory for a chunk");
    else if (c->status != JL_OK) {
        *rc = jl_error_set(c->status, NULL, 0, "%s", c->message ? c->message : "loader failed");
        chunk_free(c);
        c = NULL;
    }
    return c;
}

/* Frees a consumed chunk; a cached one's spill pages are dropped from memory then. */
static void chunk_done(jl_loader *l, chunk *c)
{
    if (c && c->cached) jl_row_cache_release(l->o.cache);
    chunk_free(c);
}

typedef struct segment {
    chunk *c;
    int64_t pos, count; /* positions pos .. pos+count-1 of c->order */
} segment;

/* Jet j of chunk c, one side: its rows x (rows, 7) and coords (rows, 2); returns rows. */
static int64_t jet_rows(const jl_loader *l, const chunk *c, int64_t j, bool teacher, const float **x,
                        const float **coords)
{
    if (c->cached) {
        jl_row_entry e = jl_row_cache_get(l->o.cache, c->member[j]);
        int64_t rows = teacher ? e.nt : e.ns;
        *x = teacher ? e.t : e.s;
        *coords = *x + rows * JL_FEATURES;
        return rows;
    }
    const ragged *r = teacher ? &c->t : &c->s;
    int64_t first = r->off[j];
    *x = r->x + first * JL_FEATURES;
    *coords = r->coords + first * 2;
    return r->off[j + 1] - first;
}

/* Features of the batch's jets from one side (student or teacher) of the chunks. */
static int build_x(const jl_loader *l, const segment *seg, int nseg, int64_t n, bool teacher, jl_tensor **x,
                   jl_tensor **offsets, jl_tensor **coords)
{
    int64_t C = teacher ? l->ct : l->cs;
    if (l->o.layout == JL_LAYOUT_PADDED) {
        *x = jl_tensor_new(JL_F32, 3, (int64_t[]){n, C, JL_FEATURES}, JL_CPU);
        if (!*x) return jl_last_error_code();
        float *dst = jl_data(*x);
        int64_t b = 0;
        for (int s = 0; s < nseg; s++) {
            for (int64_t i = seg[s].pos; i < seg[s].pos + seg[s].count; i++, b++) {
                const float *src, *src_coords;
                int64_t rows = jet_rows(l, seg[s].c, seg[s].c->order[i], teacher, &src, &src_coords);
                float *row = dst + b * C * JL_FEATURES;
                memcpy(row, src, (size_t)(rows * JL_FEATURES) * sizeof(float));
                memset(row + rows * JL_FEATURES, 0, (size_t)((C - rows) * JL_FEATURES) * sizeof(float));
            }
        }
        return JL_OK;
    }
    int64_t total = 0, n1 = n + 1;
    for (int s = 0; s < nseg; s++) {
        for (int64_t i = seg[s].pos; i < seg[s].pos + seg[s].count; i++) {
            const float *src, *src_coords;
            total += jet_rows(l, seg[s].c, seg[s].c->order[i], teacher, &src, &src_coords);
        }
    }
    *x = jl_tensor_new(JL_F32, 2, (int64_t[]){total, JL_FEATURES}, JL_CPU);
    *coords = jl_tensor_new(JL_F32, 2, (int64_t[]){total, 2}, JL_CPU);
    *offsets = jl_tensor_new(JL_I64, 1, &n1, JL_CPU);
    if (!*x || !*coords || !*offsets) return jl_last_error_code();
    float *dx = jl_data(*x), *dc = jl_data(*coords);
    int64_t *off = jl_data(*offsets), b = 0;
    off[0] = 0;
    for (int s = 0; s < nseg; s++) {
        for (int64_t i = seg[s].pos; i < seg[s].pos + seg[s].count; i++, b++) {
            const float *src, *src_coords;
            int64_t rows = jet_rows(l, seg[s].c, seg[s].c->order[i], teacher, &src, &src_coords);
            memcpy(dx + off[b] * JL_FEATURES, src, (size_t)(rows * JL_FEATURES) * sizeof(float));
            memcpy(dc + off[b] * 2, src_coords, (size_t)(rows * 2) * sizeof(float));
            off[b + 1] = off[b] + rows;
        }
    }
    return JL_OK;
}

static int assemble(const jl_loader *l, const segment *seg, int nseg, int64_t n, jl_batch *out)
{
    out->n = n;
    out->y = jl_tensor_new(JL_I64, 1, &n, JL_CPU);
    out->w = jl_tensor_new(JL_F32, 1, &n, JL_CPU);
    out->jets = jl_tensor_new(JL_I64, 1, &n, JL_CPU);
    if (!out->y || !out->w || !out->jets) return jl_last_error_code();
    int64_t *y = jl_data(out->y), *jets = jl_data(out->jets), b = 0;
    float *w = jl_data(out->w);
    for (int s = 0; s < nseg; s++) {
        for (int64_t i = seg[s].pos; i < seg[s].pos + seg[s].count; i++, b++) {
            int64_t j = seg[s].c->order[i];
            y[b] = seg[s].c->y[j];
            w[b] = seg[s].c->w[j];
            jets[b] = seg[s].c->jet[j];
        }
    }
    int rc = build_x(l, seg, nseg, n, false, &out->x, &out->offsets, &out->coords);
    if (rc == JL_OK && l->o.teacher && !l->o.no_teacher_x)
        rc = build_x(l, seg, nseg, n, true, &out->x_teacher, &out->offsets_teacher, &out->coords_teacher);
    return rc;
}

/* The weights (n) of the jets of seg (n in all) as a new tensor. */
static jl_tensor *segment_weights(const segment *seg, int nseg, int64_t n)
{
    jl_tensor *t = jl_tensor_new(JL_F32, 1, &n, JL_CPU);
    if (!t) return NULL;
    float *w = jl_data(t);
    int64_t b = 0;
    for (int s = 0; s < nseg; s++)
        for (int64_t i = seg[s].pos; i < seg[s].pos + seg[s].count; i++)
            w[b++] = seg[s].c->w[seg[s].c->order[i]];
    return t;
}

/* Writes into mine the part of seg (n jets) at batch positions [first, first + count); returns its length. */
static int trim_segments(const segment *seg, int nseg, int64_t first, int64_t count, segment *mine)
{
    int k = 0;
    int64_t at = 0; /* batch position of seg[s]'s first jet */
    for (int s = 0; s < nseg; at += seg[s].count, s++) {
        int64_t lo = first > at ? first : at;
        int64_t hi = first + count < at + seg[s].count ? first + count : at + seg[s].count;
        if (hi > lo) mine[k++] = (segment){seg[s].c, seg[s].pos + (lo - at), hi - lo};
    }
    return k;
}

/* Assembles the batch of the jets of seg (n in all): all of them (size 1) or rank's share. */
static int assemble_rows(const jl_loader *l, const segment *seg, int nseg, int64_t n, int64_t rank,
                         int64_t size, jl_batch *out)
{
    if (size == 1) {
        int rc = assemble(l, seg, nseg, n, out);
        out->n_global = n;
        return rc;
    }
    int64_t base = n / size, extra = n % size;
    int64_t first = rank * base + (rank < extra ? rank : extra), count = base + (rank < extra ? 1 : 0);
    segment *mine = calloc((size_t)(nseg > 0 ? nseg : 1), sizeof *mine);
    if (!mine) return JL_FAIL_CODE(JL_ENOMEM, "loader: out of memory");
    int k = trim_segments(seg, nseg, first, count, mine);
    int rc = assemble(l, mine, k, count, out);
    free(mine);
    out->n_global = n;
    if (rc == JL_OK && !(out->w_global = segment_weights(seg, nseg, n))) rc = jl_last_error_code();
    return rc;
}

int jl_loader_next(jl_loader *l, int64_t batch_size, jl_batch *out)
{
    return jl_loader_next_rows(l, batch_size, 0, 1, out);
}

int jl_loader_next_rows(jl_loader *l, int64_t batch_size, int64_t rank, int64_t size, jl_batch *out)
{
    memset(out, 0, sizeof *out);
    if (size < 1 || rank < 0 || rank >= size)
        return JL_FAIL("loader: rank %lld of %lld ranks: expected 0 <= rank < size", (long long)rank,
                       (long long)size);
    if (l->status != JL_OK)
        return jl_error_set(l->status, NULL, 0, "%s", l->message ? l->message : "loader failed");
    if (batch_size < 1) return JL_FAIL("loader: batch_size must be >= 1, got %lld", (long long)batch_size);
    segment *seg = NULL;
    int nseg = 0, cap = 0, rc = JL_OK;
    int64_t n = 0;
    while (n < batch_size) {
        if (!l->cur || l->cur->pos >= l->cur->n) {
            /* the finished chunk is freed now unless this batch still reads from it */
            if (l->cur && !(nseg > 0 && seg[nseg - 1].c == l->cur)) chunk_done(l, l->cur);
            l->cur = next_chunk(l, &rc);
            if (!l->cur) break;
            l->counts.invalid += l->cur->invalid;
            l->counts.empty += l->cur->empty;
            continue;
        }
        if (nseg == cap) {
            cap = cap ? 2 * cap : 4;
            segment *grown = realloc(seg, (size_t)cap * sizeof *seg);
            if (!grown) {
                rc = JL_FAIL_CODE(JL_ENOMEM, "loader: out of memory");
                break;
            }
            seg = grown;
        }
        int64_t take = l->cur->n - l->cur->pos < batch_size - n ? l->cur->n - l->cur->pos : batch_size - n;
        seg[nseg++] = (segment){l->cur, l->cur->pos, take};
        l->cur->pos += take;
        n += take;
    }
    int result = 0;
    if (rc == JL_OK && n > 0 && !(l->o.drop_last && n < batch_size)) {
        rc = assemble_rows(l, seg, nseg, n, rank, size, out);
        if (rc == JL_OK) {
            l->counts.jets += n;
            result = 1;
        } else {
            jl_batch_free(out);
        }
    }
    for (int s = 0; s < nseg; s++)
        if (seg[s].c != l->cur) chunk_done(l, seg[s].c);
    free(seg);
    if (rc != JL_OK) {
        l->status = rc;
        free(l->message);
        l->message = strdup(jl_last_error());
        return rc;
    }
    return result;
}

jl_loader_counts jl_loader_counts_of(const jl_loader *l) { return l->counts; }
int64_t jl_loader_size(const jl_loader *l) { return l->m; }
bool jl_loader_prefetching(const jl_loader *l) { return l->threaded; }

void jl_batch_free(jl_batch *b)
{
    jl_tensor *all[] = {b->x, b->offsets, b->coords, b->x_teacher, b->offsets_teacher, b->coords_teacher,
                        b->y, b->w,       b->jets,   b->w_global};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) jl_release(all[k]);
    memset(b, 0, sizeof *b);
}
