/* graph_plan.c — the CPU backend's run_graph_plan slot: a graph inference plan
 * (jl_graph_program.h) on a batch of jets. Jets are split over the pool (each
 * range runs its GEMMs single-threaded, no synchronisation between layers); a
 * batch too small to split (one jet) runs on the caller. GEMMs multiply the
 * packed weights (jl_cpu_gemm_packed). Within a range, jets go through the whole
 * network in chunks of about CHUNK_NODES nodes, so a chunk's activations stay
 * in cache; the first edge layer is gathered straight from the node GEMM's
 * output (bias and ReLU fused), the last one is averaged over each node's
 * edges as it is produced, and the block outputs are written side by side into
 * the fusion layer's input (a pass's into one of two scratch tables). */
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#include "cpu_kernels.h"
#include "jl_graph_program.h"

#define CHUNK_NODES 512
#define GRAIN_MACS ((int64_t)4 << 20) /* multiply-adds per pool range, at least */

typedef struct gp_ctx {
    const jl_graph_program *g;
    const float *x;                   /* (N, features) */
    const int64_t *off, *eoff, *nbr;  /* (jets+1), (N+1), (E) */
    float *y;                         /* (jets, outputs) */
    atomic_int failed;
} gp_ctx;

/* The scratch of one chunk of n nodes, e edges and jets jets (carved from one block). */
typedef struct scratch {
    float *x0, *cat, *ab, *z[2], *m, *sc, *mid[2], *fz, *pooled;
} scratch;

static float *carve(float **at, int64_t count)
{
    float *p = *at;
    *at += (count + 15) / 16 * 16; /* keep every part 64-byte aligned */
    return p;
}

static size_t scratch_floats(const jl_graph_program *g, int64_t n, int64_t e, int64_t jets)
{
    int64_t w = g->max_width, parts[] = {n * g->features, n * g->cat_width, n * w, e * w, e * w, n * w, n * w,
                                         n * w, n * w, n * g->fusion, jets * g->fusion};
    size_t total = 0;
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) total += (size_t)((parts[i] + 15) / 16 * 16);
    return total;
}

static scratch carve_scratch(const jl_graph_program *g, float *base, int64_t n, int64_t e, int64_t jets)
{
    int64_t w = g->max_width;
    scratch s;
    s.x0 = carve(&base, n * g->features);
    s.cat = carve(&base, n * g->cat_width);
    s.ab = carve(&base, n * w);
    s.z[0] = carve(&base, e * w);
    s.z[1] = carve(&base, e * w);
    s.m = carve(&base, n * w);
    s.sc = carve(&base, n * w);
    s.mid[0] = carve(&base, n * w);
    s.mid[1] = carve(&base, n * w);
    s.fz = carve(&base, n * g->fusion);
    s.pooled = carve(&base, jets * g->fusion);
    return s;
}

/* The first edge layer of block b: z (e, c1) rows relu(ab[centre, :c1] + ab[nbr, c1:] + bias),
 * or, when it is the last layer, m (n, c1) their mean over each node's edges. */
static void first_edge_layer(const jl_graph_block *b, const float *ab, const int64_t *eoff, const int64_t *nbr,
                             int64_t n0, int64_t n, float *z, float *m)
{
    int64_t c1 = b->width1, e0 = eoff[n0];
    for (int64_t i = 0; i < n; i++) {
        const float *ctr = ab + i * 2 * c1;
        int64_t lo = eoff[n0 + i], hi = eoff[n0 + i + 1];
        float *acc = m ? m + i * c1 : NULL;
        if (acc) memset(acc, 0, sizeof(float) * (size_t)c1);
        for (int64_t e = lo; e < hi; e++) {
            const float *nb = ab + (nbr[e] - n0) * 2 * c1 + c1;
            if (acc) {
                for (int64_t c = 0; c < c1; c++) {
                    float v = ctr[c] + nb[c] + b->bias[c];
                    acc[c] += v > 0 ? v : 0;
                }
            } else {
                float *row = z + (e - e0) * c1;
                for (int64_t c = 0; c < c1; c++) {
                    float v = ctr[c] + nb[c] + b->bias[c];
                    row[c] = v > 0 ? v : 0;
                }
            }
        }
        if (acc && hi > lo)
            for (int64_t c = 0; c < c1; c++) acc[c] /= (float)(hi - lo);
    }
}

/* m (n, c) <- the mean over each node's edges of relu(z + bias), z (e, c). */
static void edge_mean(const float *z, const float *bias, int64_t c, const int64_t *eoff, int64_t n0, int64_t n,
                      float *m)
{
    int64_t e0 = eoff[n0];
    for (int64_t i = 0; i < n; i++) {
        float *acc = m + i * c;
        int64_t lo = eoff[n0 + i], hi = eoff[n0 + i + 1];
        memset(acc, 0, sizeof(float) * (size_t)c);
        for (int64_t e = lo; e < hi; e++) {
            const float *row = z + (e - e0) * c;
            for (int64_t k = 0; k < c; k++) {
                float v = row[k] + bias[k];
                acc[k] += v > 0 ? v : 0;
            }
        }
        if (hi > lo)
            for (int64_t k = 0; k < c; k++) acc[k] /= (float)(hi - lo);
    }
}

/* v (n) <- relu(v) */
static void relu(float *v, int64_t n)
{
    for (int64_t i = 0; i < n; i++) v[i] = v[i] > 0 ? v[i] : 0;
}

/* Block b on h (n, b->in, row stride ldh), its shortcut on sc (n, b->sc_in, row stride ldsc);
 * its output goes to out (n, b->out, row stride ldo). */
static void run_block(const jl_graph_block *b, const float *h, int64_t ldh, const float *sch, int64_t ldsc,
                      const int64_t *eoff, const int64_t *nbr, int64_t n0, int64_t n, const scratch *s, float *out,
                      int64_t ldo)
{
    int64_t e = eoff[n0 + n] - eoff[n0];
    jl_cpu_gemm_packed(n, 2 * b->width1, b->in, h, ldh, b->wab, NULL, s->ab, 2 * b->width1);
    if (b->n_later == 0 || e == 0) {
        if (b->n_later == 0) first_edge_layer(b, s->ab, eoff, nbr, n0, n, NULL, s->m);
        else memset(s->m, 0, sizeof(float) * (size_t)(n * b->out));
    } else {
        first_edge_layer(b, s->ab, eoff, nbr, n0, n, s->z[0], NULL);
        int cur = 0;
        for (int l = 0; l < b->n_later; l++) {
            const jl_graph_layer *y = &b->later[l];
            bool last = l + 1 == b->n_later;
            jl_cpu_gemm_packed(e, y->out, y->in, s->z[cur], y->in, y->w, last ? NULL : y->b, s->z[cur ^ 1], y->out);
            cur ^= 1;
            if (!last) relu(s->z[cur], e * y->out);
            else edge_mean(s->z[cur], y->b, y->out, eoff, n0, n, s->m);
        }
    }
    if (b->wsc) jl_cpu_gemm_packed(n, b->out, b->sc_in, sch, ldsc, b->wsc, b->bsc, s->sc, b->out);
    for (int64_t i = 0; i < n; i++) {
        const float *m = s->m + i * b->out;
        float *o = out + i * ldo;
        if (b->pass) {
            memcpy(o, m, sizeof(float) * (size_t)b->out);
        } else if (b->wsc) {
            const float *sc = s->sc + i * b->out;
            for (int64_t c = 0; c < b->out; c++) {
                float v = m[c] + sc[c];
                o[c] = v > 0 ? v : 0;
            }
        } else {
            const float *hi = sch + i * ldsc;
            for (int64_t c = 0; c < b->out; c++) {
                float v = m[c] + hi[c];
                o[c] = v > 0 ? v : 0;
            }
        }
    }
}

/* Jets [j0, j1) through the whole network; 0 or a status. */
static int run_chunk(const gp_ctx *c, int64_t j0, int64_t j1)
{
    const jl_graph_program *g = c->g;
    int64_t n0 = c->off[j0], n = c->off[j1] - n0, e = c->eoff[n0 + n] - c->eoff[n0], jets = j1 - j0;
    float *base = jl_cpu_host_alloc(sizeof(float) * scratch_floats(g, n, e, jets));
    if (!base) return JL_ENOMEM;
    scratch s = carve_scratch(g, base, n, e, jets);
    const float *h = c->x + n0 * g->features;
    int64_t ldh = g->features;
    if (g->in_scale) {
        for (int64_t i = 0; i < n; i++)
            for (int64_t f = 0; f < g->features; f++)
                s.x0[i * g->features + f] = h[i * g->features + f] * g->in_scale[f] + g->in_shift[f];
        h = s.x0;
    }
    int64_t col = 0;
    const float *ins[JL_GRAPH_MAX_BLOCKS];
    int64_t lds[JL_GRAPH_MAX_BLOCKS];
    for (int k = 0, mid = 0; k < g->n_blocks; k++) {
        const jl_graph_block *b = &g->blocks[k];
        ins[k] = h;
        lds[k] = ldh;
        float *out = b->pass ? s.mid[mid ^= 1] : s.cat + col; /* a pass's output feeds the next block only */
        int64_t ldo = b->pass ? b->out : g->cat_width;
        run_block(b, h, ldh, ins[k - b->sc_back], lds[k - b->sc_back], c->eoff, c->nbr, n0, n, &s, out, ldo);
        h = out;
        ldh = ldo;
        col += b->pass ? 0 : b->out;
    }
    jl_cpu_gemm_packed(n, g->fusion, g->cat_width, s.cat, g->cat_width, g->wf, g->bf, s.fz, g->fusion);
    for (int64_t j = 0; j < jets; j++) {
        float *p = s.pooled + j * g->fusion;
        int64_t lo = c->off[j0 + j] - n0, hi = c->off[j0 + j + 1] - n0;
        memset(p, 0, sizeof(float) * (size_t)g->fusion);
        for (int64_t i = lo; i < hi; i++) {
            const float *row = s.fz + i * g->fusion;
            for (int64_t k = 0; k < g->fusion; k++) p[k] += row[k] > 0 ? row[k] : 0;
        }
        if (hi > lo && g->fscale)
            for (int64_t k = 0; k < g->fusion; k++) p[k] = p[k] / (float)(hi - lo) * g->fscale[k] + g->fshift[k];
        else if (hi > lo)
            for (int64_t k = 0; k < g->fusion; k++) p[k] /= (float)(hi - lo);
    }
    int rc = jl_cpu_plan_rows(g->head, s.pooled, c->y + j0 * g->head->outputs, jets);
    jl_cpu_host_free(base);
    return rc;
}

/* Jets [begin, end) in chunks of about CHUNK_NODES nodes (at least one jet each). */
static void run_jets(void *arg, int64_t begin, int64_t end)
{
    gp_ctx *c = arg;
    for (int64_t j0 = begin; j0 < end && !c->failed;) {
        int64_t j1 = j0 + 1;
        while (j1 < end && c->off[j1 + 1] - c->off[j0] <= CHUNK_NODES) j1++;
        if (run_chunk(c, j0, j1)) c->failed = 1;
        j0 = j1;
    }
}

static int cpu_run_graph_plan(const jl_graph_program *g, const float *x, const int64_t *offsets, int64_t jets,
                              const int64_t *edge_offsets, const int64_t *nbr, float *y)
{
    if (jets == 0) return JL_OK;
    gp_ctx c = {.g = g, .x = x, .off = offsets, .eoff = edge_offsets, .nbr = nbr, .y = y};
    int64_t n = offsets[jets], e = edge_offsets[n];
    int64_t macs = n * g->node_macs + e * g->edge_macs, per_jet = macs / jets + 1;
    int64_t grain = GRAIN_MACS / per_jet + 1;
    jl_parallel_for(jets, grain, run_jets, &c);
    if (c.failed) return JL_FAIL_CODE(JL_ENOMEM, "graph plan: out of host memory for the scratch of a chunk");
    return JL_OK;
}

void jl_cpu_register_graph_plan(jl_backend *b)
{
    b->run_graph_plan = cpu_run_graph_plan;
}
