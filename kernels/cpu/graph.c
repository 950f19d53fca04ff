/* graph.c — CPU kernels for ragged-batch graphs: segment ids and segment
 * sum/mean/max (the kNN is knn.c) (core/tensor/backend/jl_ops.def documents the arguments). */
#include <float.h>
#include <stdlib.h>

#include "cpu_kernels.h"

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
    b->fn[JL_OP_segment_ids] = cpu_segment_ids;
    b->fn[JL_OP_segment_reduce] = cpu_segment_reduce;
}
