/* graph.c — CPU kernels for ragged-batch graphs: kNN inside each jet, segment
 * ids and segment sum/mean/max (core/tensor/backend/jl_ops.def documents the arguments). */
#include <float.h>
#include <stdlib.h>

#include "cpu_kernels.h"

/* --- kNN --------------------------------------------------------------------------- */
typedef struct {
    const float *coords; /* (N, D) */
    const int64_t *jet_offsets, *edge_offsets;
    int64_t *nbr;
    int64_t dims, k;
} knn_ctx;

/* Nearest m others of row i among rows [begin, end): insertion into a sorted
 * list of size m (m is small), nearest first, ties by row index. */
static void knn_row(const knn_ctx *c, int64_t i, int64_t begin, int64_t end, float *best_d)
{
    int64_t m = c->edge_offsets[i + 1] - c->edge_offsets[i], found = 0;
    int64_t *best = c->nbr + c->edge_offsets[i];
    const float *xi = c->coords + i * c->dims;
    for (int64_t j = begin; j < end; j++) {
        if (j == i) continue;
        const float *xj = c->coords + j * c->dims;
        float d = 0;
        for (int64_t t = 0; t < c->dims; t++) {
            float diff = xi[t] - xj[t];
            d += diff * diff;
        }
        if (found == m && !(d < best_d[m - 1])) continue;
        int64_t pos = found < m ? found++ : m - 1;
        while (pos > 0 && d < best_d[pos - 1]) {
            best_d[pos] = best_d[pos - 1];
            best[pos] = best[pos - 1];
            pos--;
        }
        best_d[pos] = d;
        best[pos] = j;
    }
}

static void knn_jets(void *vctx, int64_t first, int64_t last)
{
    const knn_ctx *c = vctx;
    float *best_d = malloc(sizeof(float) * (size_t)(c->k + 1));
    if (!best_d) return; /* cannot happen for sane k; rows stay unwritten */
    for (int64_t jet = first; jet < last; jet++)
        for (int64_t i = c->jet_offsets[jet]; i < c->jet_offsets[jet + 1]; i++)
            knn_row(c, i, c->jet_offsets[jet], c->jet_offsets[jet + 1], best_d);
    free(best_d);
}

static int cpu_knn(const jl_kargs *k)
{
    knn_ctx c = {.coords = k->a.data, .jet_offsets = k->b.data, .edge_offsets = k->c.data, .nbr = k->out.data,
                 .dims = k->a.shape[1], .k = k->i[0]};
    int64_t jets = k->b.shape[0] - 1, rows = k->a.shape[0];
    int64_t per_jet = jets ? rows / jets + 1 : 1;
    jl_parallel_for(jets, 1 + 4096 / (per_jet * per_jet), knn_jets, &c);
    return JL_OK;
}

/* --- segments ---------------------------------------------------------------------- */
static int cpu_segment_ids(const jl_kargs *k)
{
    const int64_t *off = k->a.data;
    int64_t *ids = k->out.data, segments = k->a.shape[0] - 1;
    for (int64_t s = 0; s < segments; s++)
        for (int64_t r = off[s]; r < off[s + 1]; r++) ids[r] = s;
    return JL_OK;
}

typedef struct {
    const float *x; /* (E, F) */
    const int64_t *off;
    float *out;   /* (S, F) */
    int64_t *arg; /* (S, F) for max */
    int64_t features;
    int mode;
} segment_ctx;

static void segment_rows(void *vctx, int64_t first, int64_t last)
{
    const segment_ctx *c = vctx;
    int64_t F = c->features;
    for (int64_t s = first; s < last; s++) {
        float *o = c->out + s * F;
        int64_t begin = c->off[s], end = c->off[s + 1];
        if (c->mode == 2) {
            int64_t *arg = c->arg + s * F;
            for (int64_t f = 0; f < F; f++) {
                o[f] = begin < end ? -FLT_MAX : 0.0f;
                arg[f] = begin < end ? begin : -1;
            }
            for (int64_t r = begin; r < end; r++) {
                const float *x = c->x + r * F;
                for (int64_t f = 0; f < F; f++)
                    if (x[f] > o[f] || (x[f] != x[f] && o[f] == o[f])) {
                        o[f] = x[f];
                        arg[f] = r;
                    }
            }
            continue;
        }
        for (int64_t f = 0; f < F; f++) o[f] = 0.0f;
        for (int64_t r = begin; r < end; r++) {
            const float *x = c->x + r * F;
            for (int64_t f = 0; f < F; f++) o[f] += x[f];
        }
        if (c->mode == 1 && end > begin) {
            float inv = 1.0f / (float)(end - begin);
            for (int64_t f = 0; f < F; f++) o[f] *= inv;
        }
    }
}

static int cpu_segment_reduce(const jl_kargs *k)
{
    segment_ctx c = {.x = k->a.data, .off = k->b.data, .out = k->out.data, .arg = k->c.data,
                     .features = k->a.shape[1], .mode = (int)k->i[0]};
    int64_t segments = k->b.shape[0] - 1;
    int64_t rows_per = segments ? k->a.shape[0] / segments + 1 : 1;
    jl_parallel_for(segments, 1 + JL_GRAIN_ELEMENTS / (rows_per * (c.features ? c.features : 1)), segment_rows, &c);
    return JL_OK;
}

void jl_cpu_register_graph(jl_backend *b)
{
    b->fn[JL_OP_knn] = cpu_knn;
    b->fn[JL_OP_segment_ids] = cpu_segment_ids;
    b->fn[JL_OP_segment_reduce] = cpu_segment_reduce;
}
