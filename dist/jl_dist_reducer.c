/* jl_dist_reducer.c — the overlapped gradient reduction of jl_dist.h (owner:
 * jl.dist.reducer, bindings/lua_dist_reducer.c): buckets of gradients whose
 * MPI_Iallreduce starts as soon as backward has made all of them. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "jl_dist.h"
#include "jl_dist_internal.h"

typedef struct {
    int first, last;   /* arrays [first, last) */
    int64_t elems;     /* floats */
    int missing;       /* arrays not ready yet in this step */
    bool started;
    float *buf;
#ifdef JETLAB_HAVE_MPI
    MPI_Request request;
#endif
} bucket;

struct jl_dist_reducer {
    int n, n_buckets, next_start, started_early;
    int64_t *counts, *offset; /* per array: floats, place in its bucket */
    int *bucket_of;
    bool *ready;
    bucket *buckets;
    float scale;
};

void jl_dist_reducer_free(jl_dist_reducer *r)
{
    if (!r) return;
    for (int b = 0; b < r->n_buckets; b++) free(r->buckets[b].buf);
    free(r->buckets);
    free(r->counts);
    free(r->offset);
    free(r->bucket_of);
    free(r->ready);
    free(r);
}

jl_dist_reducer *jl_dist_reducer_new(const int64_t *counts, int n, int64_t bucket_elems)
{
    if (jl_dist_init() != 0) return NULL;
    jl_dist_reducer *r = calloc(1, sizeof *r);
    size_t m = (size_t)(n > 0 ? n : 1);
    if (r) {
        r->counts = malloc(m * sizeof *r->counts);
        r->offset = malloc(m * sizeof *r->offset);
        r->bucket_of = malloc(m * sizeof *r->bucket_of);
        r->ready = calloc(m, sizeof *r->ready);
        r->buckets = calloc(m, sizeof *r->buckets);
    }
    if (!r || !r->counts || !r->offset || !r->bucket_of || !r->ready || !r->buckets) {
        jl_dist_reducer_free(r);
        jl_dist_fail("jl.dist.reducer: out of memory for %d gradients", n);
        return NULL;
    }
    r->n = n;
    for (int i = 0; i < n;) {
        bucket *b = &r->buckets[r->n_buckets];
        b->first = i;
        do {
            r->counts[i] = counts[i];
            r->offset[i] = b->elems;
            r->bucket_of[i] = r->n_buckets;
            b->elems += counts[i++];
        } while (i < n && b->elems + counts[i] <= bucket_elems);
        b->last = i;
        if (b->elems > ((int64_t)1 << 30)) {
            jl_dist_reducer_free(r);
            jl_dist_fail("jl.dist.reducer: a gradient bucket of %lld floats is past MPI's int count", (long long)b->elems);
            return NULL;
        }
        b->buf = malloc((size_t)(b->elems ? b->elems : 1) * sizeof(float));
        r->n_buckets++;
        if (!b->buf) {
            jl_dist_reducer_free(r);
            jl_dist_fail("jl.dist.reducer: out of memory for a gradient bucket of %lld floats", (long long)b->elems);
            return NULL;
        }
    }
    return r;
}

int jl_dist_reducer_buckets(const jl_dist_reducer *r)
{
    return r->n_buckets;
}

int jl_dist_reducer_started_early(const jl_dist_reducer *r)
{
    return r->started_early;
}

int jl_dist_reducer_begin(jl_dist_reducer *r, float scale)
{
    r->scale = scale;
    r->next_start = 0;
    r->started_early = 0;
    memset(r->ready, 0, (size_t)(r->n > 0 ? r->n : 1) * sizeof *r->ready);
    for (int b = 0; b < r->n_buckets; b++) {
        r->buckets[b].missing = r->buckets[b].last - r->buckets[b].first;
        r->buckets[b].started = false;
    }
    return 0;
}

/* Starts the complete buckets at the front of the queue, in index order. */
static int start_ready_buckets(jl_dist_reducer *r)
{
    while (r->next_start < r->n_buckets && r->buckets[r->next_start].missing == 0) {
        bucket *b = &r->buckets[r->next_start++];
        b->started = true;
#ifdef JETLAB_HAVE_MPI
        if (jl_dist_size() > 1) {
            int code = MPI_Iallreduce(MPI_IN_PLACE, b->buf, (int)b->elems, MPI_FLOAT, MPI_SUM, jl_dist_grad_comm(),
                                      &b->request);
            if (code != MPI_SUCCESS) return jl_dist_mpi_fail("MPI_Iallreduce of a gradient bucket", code);
        }
#endif
    }
    return 0;
}

#ifdef JETLAB_HAVE_MPI
/* Lets MPI progress the started reductions (Open MPI moves nonblocking
 * collectives only inside MPI calls). */
static int poke(jl_dist_reducer *r)
{
    if (jl_dist_size() == 1) return 0;
    for (int b = 0; b < r->next_start; b++) {
        if (r->buckets[b].request == MPI_REQUEST_NULL) continue;
        int done = 0, code = MPI_Test(&r->buckets[b].request, &done, MPI_STATUS_IGNORE);
        if (code != MPI_SUCCESS) return jl_dist_mpi_fail("MPI_Test of a gradient bucket", code);
    }
    return 0;
}
#endif

int jl_dist_reducer_ready(jl_dist_reducer *r, int i, const float *data)
{
    if (i < 0 || i >= r->n) return jl_dist_fail("jl.dist.reducer: gradient %d is not one of its %d", i + 1, r->n);
    if (r->ready[i]) return 0;
    r->ready[i] = true;
    bucket *b = &r->buckets[r->bucket_of[i]];
    float *dst = b->buf + r->offset[i];
    int64_t count = r->counts[i];
    if (!data) {
        memset(dst, 0, (size_t)count * sizeof(float));
    } else {
        float scale = r->scale;
        for (int64_t k = 0; k < count; k++) dst[k] = scale * data[k];
    }
    b->missing--;
    if (start_ready_buckets(r) != 0) return -1;
#ifdef JETLAB_HAVE_MPI
    if (poke(r) != 0) return -1;
#endif
    return 0;
}

int jl_dist_reducer_finish(jl_dist_reducer *r, const float *const *in, float *const *out)
{
    r->started_early = r->next_start;
    for (int i = 0; i < r->n; i++)
        if (!r->ready[i] && jl_dist_reducer_ready(r, i, in[i]) != 0) return -1;
    int status = 0;
#ifdef JETLAB_HAVE_MPI
    if (jl_dist_size() > 1) {
        for (int b = 0; b < r->n_buckets; b++) {
            int code = MPI_Wait(&r->buckets[b].request, MPI_STATUS_IGNORE);
            if (code != MPI_SUCCESS && status == 0) status = jl_dist_mpi_fail("MPI_Wait of a gradient bucket", code);
        }
    }
#endif
    if (status != 0) return status;
    for (int i = 0; i < r->n; i++) {
        const bucket *b = &r->buckets[r->bucket_of[i]];
        memcpy(out[i], b->buf + r->offset[i], (size_t)r->counts[i] * sizeof(float));
    }
    return 0;
}
