/* row_cache.c — the loader's cache of prepared jets: an index of slots and
 * an append-only arena, anonymous memory up to the budget, then a
 * memory-mapped spill file (see jl_row_cache.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "jl_error.h"
#include "jl_features.h"
#include "jl_row_cache.h"

#define ROW_FLOATS (JL_FEATURES + 2)          /* x then coords */
#define SPILL_STEP ((int64_t)64 << 20)        /* disk reserved at a time */

typedef struct slot {
    int64_t off;    /* arena offset: < mem_cap in memory, else spill offset + mem_cap */
    int32_t ns, nt; /* rows: student, teacher */
    float weight;
    uint8_t label;
    uint8_t fate; /* jl_row_fate, published last (release) */
} slot;

struct jl_row_cache {
    jl_row_cache_opts o;
    slot *slots;           /* (jets) */
    char *mem;             /* (mem_cap) anonymous, NULL when mem_cap is 0 */
    int64_t mem_cap, mem_used;
    bool mem_full;         /* a jet did not fit: every later one spills */
    char *spill;           /* (spill_cap) the file's mapping, NULL until needed */
    int64_t spill_cap, spill_used, spill_reserved;
    int fd;
    int64_t stored;
    int64_t n_file, columns; /* the source (jl_row_cache_note_source); 0: not noted */
    int64_t *members;        /* (jets) its sorted file rows, or NULL */
    pthread_mutex_t lock;
};

static int64_t index_bytes(int64_t jets) { return jets * (int64_t)(sizeof(slot) + sizeof(int64_t)); }

jl_row_cache *jl_row_cache_new(const jl_row_cache_opts *o)
{
    if (o->jets < 0 || o->max_rows < 1 || o->budget_bytes < 0) {
        JL_FAIL("row cache: need jets >= 0, max_rows >= 1 and budget_bytes >= 0 (got %lld, %lld, %lld)",
                (long long)o->jets, (long long)o->max_rows, (long long)o->budget_bytes);
        return NULL;
    }
    jl_row_cache *c = calloc(1, sizeof *c);
    if (!c) {
        JL_FAIL_CODE(JL_ENOMEM, "row cache: out of memory");
        return NULL;
    }
    c->o = *o;
    c->o.spill_dir = NULL;
    c->fd = -1;
    const char *dir = o->spill_dir ? o->spill_dir : getenv("TMPDIR");
    c->o.spill_dir = strdup(dir && *dir ? dir : "/tmp");
    c->slots = calloc((size_t)(o->jets > 0 ? o->jets : 1), sizeof *c->slots);
    int64_t worst = o->jets * o->max_rows * ROW_FLOATS * (int64_t)sizeof(float);
    int64_t cap = o->budget_bytes - index_bytes(o->jets);
    c->mem_cap = cap < 0 ? 0 : cap < worst ? cap : worst;
    c->spill_cap = worst;
    if (!c->o.spill_dir || !c->slots) goto oom;
    if (c->mem_cap > 0) {
        c->mem = mmap(NULL, (size_t)c->mem_cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                      -1, 0);
        if (c->mem == MAP_FAILED) {
            c->mem = NULL;
            goto oom;
        }
    }
    pthread_mutex_init(&c->lock, NULL);
    return c;
oom:
    free((char *)c->o.spill_dir);
    free(c->slots);
    free(c);
    JL_FAIL_CODE(JL_ENOMEM, "row cache: out of memory for %lld jets", (long long)o->jets);
    return NULL;
}

/* Creates the spill file (unlinked at once) and maps it; called under the lock. */
static int open_spill(jl_row_cache *c)
{
    size_t len = strlen(c->o.spill_dir) + 32;
    char *path = malloc(len);
    if (!path) return JL_FAIL_CODE(JL_ENOMEM, "row cache: out of memory");
    snprintf(path, len, "%s/jetlab-cache-XXXXXX", c->o.spill_dir);
    c->fd = mkstemp(path);
    if (c->fd < 0) {
        int e = errno;
        int rc = JL_FAIL_CODE(JL_EIO, "row cache: cannot create a spill file in %s: %s", c->o.spill_dir, strerror(e));
        free(path);
        return rc;
    }
    unlink(path);
    free(path);
    if (ftruncate(c->fd, (off_t)c->spill_cap) != 0) {
        return JL_FAIL_CODE(JL_EIO, "row cache: cannot size the spill file in %s: %s", c->o.spill_dir,
                            strerror(errno));
    }
    void *map = mmap(NULL, (size_t)c->spill_cap, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, 0);
    if (map == MAP_FAILED)
        return JL_FAIL_CODE(JL_EIO, "row cache: cannot map the spill file: %s", strerror(errno));
    c->spill = map;
    return JL_OK;
}

/* An arena offset for `bytes` more bytes (disk reserved for a spill); under the lock. */
static int reserve(jl_row_cache *c, int64_t bytes, int64_t *off)
{
    if (!c->mem_full && c->mem_used + bytes <= c->mem_cap) {
        *off = c->mem_used;
        c->mem_used += bytes;
        return JL_OK;
    }
    c->mem_full = true;
    if (!c->spill) {
        int rc = open_spill(c);
        if (rc != JL_OK) return rc;
    }
    int64_t end = c->spill_used + bytes;
    if (end > c->spill_reserved) {
        int64_t grow = end - c->spill_reserved > SPILL_STEP ? end - c->spill_reserved : SPILL_STEP;
        if (c->spill_reserved + grow > c->spill_cap) grow = c->spill_cap - c->spill_reserved;
        int e = posix_fallocate(c->fd, (off_t)c->spill_reserved, (off_t)grow);
        if (e != 0)
            return JL_FAIL_CODE(JL_EIO, "row cache: no room for the spill file in %s (%lld MiB more): %s",
                                c->o.spill_dir, (long long)(grow >> 20), strerror(e));
        c->spill_reserved += grow;
    }
    *off = c->mem_cap + c->spill_used;
    c->spill_used = end;
    return JL_OK;
}

static float *at(const jl_row_cache *c, int64_t off)
{
    return (float *)(off < c->mem_cap ? c->mem + off : c->spill + (off - c->mem_cap));
}

/* Copies rows x (n, 7), coords (n, 2) to dst as x then coords. */
static void put_rows(float *dst, int64_t n, const float *x, const float *coords)
{
    memcpy(dst, x, (size_t)(n * JL_FEATURES) * sizeof(float));
    memcpy(dst + n * JL_FEATURES, coords, (size_t)(n * 2) * sizeof(float));
}

int jl_row_cache_put(jl_row_cache *c, int64_t i, jl_row_fate fate, int64_t label, float weight, int64_t ns,
                     const float *xs, const float *cs, int64_t nt, const float *xt, const float *ct)
{
    if (i < 0 || i >= c->o.jets) return JL_FAIL("row cache: member %lld outside 0..%lld", (long long)i,
                                                 (long long)c->o.jets - 1);
    if (fate != JL_ROW_KEPT) ns = nt = 0;
    if (!c->o.teacher) nt = 0;
    if (ns < 0 || nt < 0 || ns + nt > c->o.max_rows)
        return JL_FAIL("row cache: a jet of %lld + %lld rows, at most %lld", (long long)ns, (long long)nt,
                       (long long)c->o.max_rows);
    pthread_mutex_lock(&c->lock);
    slot *s = &c->slots[i];
    int rc = JL_OK;
    if (__atomic_load_n(&s->fate, __ATOMIC_ACQUIRE) == JL_ROW_MISSING) {
        int64_t off = 0;
        rc = reserve(c, (ns + nt) * ROW_FLOATS * (int64_t)sizeof(float), &off);
        if (rc == JL_OK) {
            if (ns > 0) put_rows(at(c, off), ns, xs, cs);
            if (nt > 0) put_rows(at(c, off) + ns * ROW_FLOATS, nt, xt, ct);
            s->off = off;
            s->ns = (int32_t)ns;
            s->nt = (int32_t)nt;
            s->weight = weight;
            s->label = (uint8_t)label;
            c->stored++;
            __atomic_store_n(&s->fate, (uint8_t)fate, __ATOMIC_RELEASE);
        }
    }
    pthread_mutex_unlock(&c->lock);
    return rc;
}

bool jl_row_cache_has(const jl_row_cache *c, int64_t i0, int64_t i1)
{
    for (int64_t i = i0; i < i1; i++)
        if (i < 0 || i >= c->o.jets || __atomic_load_n(&c->slots[i].fate, __ATOMIC_ACQUIRE) == JL_ROW_MISSING)
            return false;
    return true;
}

jl_row_entry jl_row_cache_get(const jl_row_cache *c, int64_t i)
{
    jl_row_entry e = {.fate = JL_ROW_MISSING};
    if (i < 0 || i >= c->o.jets) return e;
    const slot *s = &c->slots[i];
    e.fate = (jl_row_fate)__atomic_load_n(&s->fate, __ATOMIC_ACQUIRE);
    if (e.fate == JL_ROW_MISSING) return e;
    e.label = s->label;
    e.weight = s->weight;
    e.ns = s->ns;
    e.nt = s->nt;
    if (e.ns + e.nt > 0) {
        e.s = at(c, s->off);
        e.t = e.s + e.ns * ROW_FLOATS;
    }
    return e;
}

int jl_row_cache_note_source(jl_row_cache *c, int64_t n_file, int64_t columns, const int64_t *members)
{
    pthread_mutex_lock(&c->lock);
    bool noted = c->columns > 0;
    pthread_mutex_unlock(&c->lock);
    if (noted) return JL_OK; /* the first loader's: its members stay valid while any reader holds them */
    int64_t *copy = NULL;
    if (members) {
        copy = malloc((size_t)(c->o.jets > 0 ? c->o.jets : 1) * sizeof *copy);
        if (!copy) return JL_FAIL_CODE(JL_ENOMEM, "row cache: out of memory for %lld jets", (long long)c->o.jets);
        memcpy(copy, members, (size_t)c->o.jets * sizeof *copy);
    }
    pthread_mutex_lock(&c->lock);
    if (c->columns > 0) {
        free(copy); /* another loader noted it meanwhile */
    } else {
        c->members = copy;
        c->n_file = n_file;
        c->columns = columns;
    }
    pthread_mutex_unlock(&c->lock);
    return JL_OK;
}

bool jl_row_cache_complete(const jl_row_cache *c, int64_t *n_file, int64_t *columns, const int64_t **members)
{
    jl_row_cache *m = (jl_row_cache *)c; /* the lock only */
    pthread_mutex_lock(&m->lock);
    bool done = c->stored == c->o.jets && c->columns > 0;
    *n_file = c->n_file;
    *columns = c->columns;
    *members = c->members;
    pthread_mutex_unlock(&m->lock);
    return done;
}

void jl_row_cache_release(jl_row_cache *c)
{
    pthread_mutex_lock(&c->lock);
    if (c->spill && c->spill_used > 0) {
        long page = sysconf(_SC_PAGESIZE);
        size_t len = (size_t)((c->spill_used + page - 1) / page * page);
        madvise(c->spill, len, MADV_DONTNEED);
    }
    pthread_mutex_unlock(&c->lock);
}

int64_t jl_row_cache_jets(const jl_row_cache *c) { return c->o.jets; }
bool jl_row_cache_teacher(const jl_row_cache *c) { return c->o.teacher; }

jl_row_cache_stats jl_row_cache_stats_of(const jl_row_cache *c)
{
    jl_row_cache *m = (jl_row_cache *)c; /* the lock only */
    pthread_mutex_lock(&m->lock);
    jl_row_cache_stats s = {.jets = c->stored, .memory_bytes = index_bytes(c->o.jets) + c->mem_used,
                            .spill_bytes = c->spill_used, .budget_bytes = c->o.budget_bytes};
    pthread_mutex_unlock(&m->lock);
    return s;
}

void jl_row_cache_free(jl_row_cache *c)
{
    if (!c) return;
    if (c->mem) munmap(c->mem, (size_t)c->mem_cap);
    if (c->spill) munmap(c->spill, (size_t)c->spill_cap);
    if (c->fd >= 0) close(c->fd);
    pthread_mutex_destroy(&c->lock);
    free((char *)c->o.spill_dir);
    free(c->slots);
    free(c->members);
    free(c);
}
