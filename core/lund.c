/* lund.c — Lund-plane declustering: C/A re-clustering of a jet's constituents
 * (jl_cluster_run), the depth-first walk over both branches, and graph batches
 * built in parallel over jets (see jl_lund.h for the definitions and layout).
 *
 * A batch is built in three passes over the jets: (0) count each jet's
 * constituents, which bounds its nodes (n - 1); (1) decluster every jet, its
 * feature rows and local parents written at the bound's offsets, straight into
 * the output tensors; (2) when cuts (or a degenerate jet) left fewer nodes
 * than the bound, move the rows to their final offsets, then turn parents
 * into global indices and build the CSR edges. Errors inside workers only
 * record the smallest failing jet; it is run again on the calling thread so
 * that the message lands in the caller's (thread-local) error buffer. */
#include "jl_lund.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jl_error.h"
#include "jl_features.h"
#include "jl_parallel.h"

#define JL_PI 3.141592653589793238462643383279502884
#define JL_TWOPI 6.283185307179586476925286766559005768

/* --- one jet ----------------------------------------------------------------- */

static double ln_floor(double x) { return log(x > JL_LUND_TINY ? x : JL_LUND_TINY); }

/* The features of the declustering pair -> (j1 harder, j2 softer). */
static jl_lund_node node_of(jl_p4 pair, jl_p4 j1, jl_p4 j2)
{
    double pt1 = jl_p4_pt(j1), pt2 = jl_p4_pt(j2);
    double dy = jl_p4_rap(j2) - jl_p4_rap(j1);
    double dphi = jl_p4_phi(j2) - jl_p4_phi(j1); /* in (-2pi, 2pi), wrapped into (-pi, pi] */
    if (dphi > JL_PI)
        dphi -= JL_TWOPI;
    else if (dphi <= -JL_PI)
        dphi += JL_TWOPI;
    double delta = sqrt(dy * dy + dphi * dphi);
    double psi = dphi != 0.0 ? atan(dy / dphi) : dy == 0.0 ? 0.0 : copysign(JL_PI / 2, dy);
    return (jl_lund_node){
        .parent = -1,
        .ln_z = ln_floor(pt2 / (pt1 + pt2)),
        .ln_delta = ln_floor(delta),
        .psi = psi,
        .ln_m = ln_floor(jl_p4_m(pair)),
        .ln_kt = ln_floor(pt2 * delta),
    };
}

/* Walks c's hardest jet depth-first, harder branch first, into out; stack
 * holds 2 (n_particles + 1) ints (pseudojet, parent node) pairs. Returns the
 * number of nodes. */
static int walk(const jl_cluster *c, const jl_lund_opts *o, jl_lund_node *out, int *stack)
{
    if (c->n_jets == 0)
        return 0;
    int top = 0, count = 0;
    stack[top++] = c->jets[0].pseudojet;
    stack[top++] = -1;
    while (top > 0) {
        int parent = stack[--top], k = stack[--top], a, b;
        if (!jl_cluster_parents(c, k, &a, &b))
            continue;
        if (jl_p4_pt2(c->p[a]) < jl_p4_pt2(c->p[b])) {
            int t = a;
            a = b;
            b = t;
        }
        jl_lund_node nd = node_of(c->p[k], c->p[a], c->p[b]);
        if (o->kt_cut && nd.ln_kt < o->ln_kt_min) {
            stack[top++] = a; /* the harder branch only, same parent */
            stack[top++] = parent;
            continue;
        }
        nd.parent = parent;
        out[count] = nd;
        stack[top++] = b; /* popped after the whole harder subtree */
        stack[top++] = count;
        stack[top++] = a;
        stack[top++] = count;
        count++;
    }
    return count;
}

static const jl_jetdef recluster_def = {
    .p = JL_CAMBRIDGE, .r = JL_LUND_R, .ptmin = 0.0, .strategy = JL_STRATEGY_PLAIN};

/* jl_lund_decluster with the caller's stack (2 (n + 1) ints). */
static int decluster_with(const jl_p4 *p, int64_t n, const jl_lund_opts *o, jl_lund_node *out,
                          int *stack)
{
    jl_cluster *c = jl_cluster_run(p, n, &recluster_def);
    if (!c)
        return jl_last_error_code() < 0 ? jl_last_error_code() : JL_EARG;
    int count = walk(c, o, out, stack);
    jl_cluster_free(c);
    return count;
}

int jl_lund_decluster(const jl_p4 *p, int64_t n, const jl_lund_opts *o, jl_lund_node *out)
{
    if (!o)
        return JL_FAIL("lund: no options");
    if (n < 0 || n > (1 << 28))
        return JL_FAIL("lund: constituent count %lld out of range", (long long)n);
    if (n > 1 && !out)
        return JL_FAIL("lund: no output nodes");
    int *stack = malloc((size_t)(n + 1) * 2 * sizeof *stack);
    if (!stack)
        return JL_FAIL_CODE(JL_ENOMEM, "lund: out of memory for %lld constituents", (long long)n);
    int rc = decluster_with(p, n, o, out, stack);
    free(stack);
    return rc;
}

/* --- batches ----------------------------------------------------------------- */

typedef struct batch {
    const jl_lund_opts *o;
    int features;
    int64_t n_jets;
    /* the source: ragged four-vectors, or ATLAS columns */
    const jl_p4 *p;
    const int64_t *p_off;
    const float *pt, *eta, *phi, *E;
    int64_t cols;
    /* pass 0 and 1 */
    int64_t *bound;    /* (B + 1) node offsets when every jet gives n - 1 nodes */
    int64_t *count;    /* (B) nodes of each jet */
    int64_t *ncons;    /* (B) constituents of each jet: n_constituents' data */
    float *xb;         /* (bound[B], F) rows at the bound's offsets */
    int64_t *pb;       /* (bound[B]) local parents at the bound's offsets */
    atomic_llong bad;  /* smallest failing jet, n_jets when none */
    /* pass 2 */
    const int64_t *off, *ebase; /* (B + 1) final node and edge offsets */
    float *x;
    int64_t *parent, *src, *dst, *eo;
} batch;

static void record_bad(batch *bt, int64_t b)
{
    long long cur = atomic_load(&bt->bad);
    while (b < cur && !atomic_compare_exchange_weak(&bt->bad, &cur, (long long)b)) {}
}

/* Constituents of ATLAS jet b (pt > 0 columns); -1 when a pt is negative or NaN. */
static int64_t atlas_count(const batch *bt, int64_t b, int64_t *bad_col)
{
    const float *pt = bt->pt + b * bt->cols;
    int64_t n = 0;
    for (int64_t j = 0; j < bt->cols; j++) {
        if (pt[j] > 0)
            n++;
        else if (!(pt[j] == 0)) {
            *bad_col = j;
            return -1;
        }
    }
    return n;
}

/* The four-vectors of jet b: a pointer into the ragged input, or buf filled
 * from the ATLAS columns (buf holds cols entries). */
static const jl_p4 *jet_p4(const batch *bt, int64_t b, jl_p4 *buf)
{
    if (bt->p)
        return bt->p + bt->p_off[b];
    int64_t at = b * bt->cols, n = 0;
    for (int64_t j = 0; j < bt->cols; j++) {
        double pt = bt->pt[at + j];
        if (!(pt > 0))
            continue;
        double eta = bt->eta[at + j], phi = bt->phi[at + j];
        buf[n++] = (jl_p4){pt * cos(phi), pt * sin(phi), pt * sinh(eta), bt->E[at + j]};
    }
    return buf;
}

static void count_body(void *ctx, int64_t begin, int64_t end)
{
    batch *bt = ctx;
    for (int64_t b = begin; b < end; b++) {
        int64_t col;
        bt->ncons[b] = bt->p ? bt->p_off[b + 1] - bt->p_off[b] : atlas_count(bt, b, &col);
        if (bt->ncons[b] < 0) {
            bt->ncons[b] = 0;
            record_bad(bt, b);
        }
    }
}

/* Copies the chosen features of nd into row (F floats). */
static void put_row(float *row, const jl_lund_node *nd, int features)
{
    row[0] = (float)nd->ln_z;
    row[1] = (float)nd->ln_delta;
    if (features == 5) {
        row[2] = (float)nd->psi;
        row[3] = (float)nd->ln_m;
        row[4] = (float)nd->ln_kt;
    } else {
        row[2] = (float)nd->ln_kt;
    }
}

static void decluster_body(void *ctx, int64_t begin, int64_t end)
{
    batch *bt = ctx;
    int64_t most = 0;
    for (int64_t b = begin; b < end; b++)
        most = bt->ncons[b] > most ? bt->ncons[b] : most;
    jl_p4 *buf = bt->p ? NULL : malloc((size_t)(bt->cols > 0 ? bt->cols : 1) * sizeof *buf);
    jl_lund_node *nodes = malloc((size_t)(most > 1 ? most : 1) * sizeof *nodes);
    int *stack = malloc((size_t)(most + 1) * 2 * sizeof *stack);
    if ((!bt->p && !buf) || !nodes || !stack) {
        record_bad(bt, begin);
    } else {
        for (int64_t b = begin; b < end; b++) {
            int rc = decluster_with(jet_p4(bt, b, buf), bt->ncons[b], bt->o, nodes, stack);
            if (rc < 0) {
                record_bad(bt, b);
                rc = 0;
            }
            bt->count[b] = rc;
            int64_t at = bt->bound[b];
            for (int i = 0; i < rc; i++) {
                put_row(bt->xb + (at + i) * bt->features, &nodes[i], bt->features);
                bt->pb[at + i] = nodes[i].parent;
            }
        }
    }
    free(buf);
    free(nodes);
    free(stack);
}

static void edges_body(void *ctx, int64_t begin, int64_t end)
{
    batch *bt = ctx;
    int64_t most = 0;
    for (int64_t b = begin; b < end; b++)
        most = bt->count[b] > most ? bt->count[b] : most;
    int64_t *fill = malloc((size_t)(most > 0 ? most : 1) * sizeof *fill);
    if (!fill) {
        record_bad(bt, begin);
        return;
    }
    int F = bt->features;
    for (int64_t b = begin; b < end; b++) {
        int64_t nb = bt->count[b], g0 = bt->off[b], from = bt->bound[b];
        if (nb == 0)
            continue;
        if (bt->x != bt->xb) {
            memcpy(bt->x + g0 * F, bt->xb + from * F, (size_t)(nb * F) * sizeof *bt->x);
            memcpy(bt->parent + g0, bt->pb + from, (size_t)nb * sizeof *bt->parent);
        }
        int64_t *par = bt->parent + g0, *eo = bt->eo + g0 + 1;
        /* degrees into eo (the ends), then starts into fill */
        for (int64_t i = 0; i < nb; i++)
            eo[i] = i > 0;
        for (int64_t i = 1; i < nb; i++)
            eo[par[i]]++;
        int64_t at = bt->ebase[b];
        for (int64_t i = 0; i < nb; i++) {
            fill[i] = at + (i > 0); /* the parent's edge takes the first slot */
            at += eo[i];
            eo[i] = at;
        }
        for (int64_t i = 1; i < nb; i++) {
            int64_t p = par[i], up = fill[i] - 1, down = fill[p]++;
            bt->src[up] = g0 + p;
            bt->dst[up] = g0 + i;
            bt->src[down] = g0 + i;
            bt->dst[down] = g0 + p;
        }
        for (int64_t i = 0; i < nb; i++)
            par[i] = par[i] < 0 ? -1 : g0 + par[i];
    }
    free(fill);
}

/* Sets the error for the smallest failing jet by running it again here. */
static int fail_jet(batch *bt)
{
    int64_t b = (int64_t)atomic_load(&bt->bad), col = 0;
    if (!bt->p && atlas_count(bt, b, &col) < 0)
        return JL_FAIL("lund: jet %lld, constituent %lld: pt must be 0 (padding) or > 0, got %g",
                       (long long)b, (long long)col, (double)bt->pt[b * bt->cols + col]);
    int64_t n = bt->ncons[b];
    jl_p4 *buf = bt->p ? NULL : malloc((size_t)(bt->cols > 0 ? bt->cols : 1) * sizeof *buf);
    jl_lund_node *nodes = malloc((size_t)(n > 1 ? n : 1) * sizeof *nodes);
    int rc = 1; /* not run: no memory for it */
    if ((bt->p || buf) && nodes)
        rc = jl_lund_decluster(jet_p4(bt, b, buf), n, bt->o, nodes);
    if (rc >= 0) /* not an input error: only an allocation failed in the worker */
        JL_FAIL_CODE(JL_ENOMEM, "out of memory");
    free(buf);
    free(nodes);
    char what[64];
    snprintf(what, sizeof what, "lund: jet %lld", (long long)b);
    return jl_error_wrap(what);
}

static jl_tensor *new_i64(int64_t n) { return jl_tensor_new(JL_I64, 1, (int64_t[]){n}, JL_CPU); }

static int run_batch(batch *bt, jl_lund_graphs *out)
{
    int64_t B = bt->n_jets;
    int F = bt->features;
    jl_lund_graphs g = {.n_jets = B, .features = F};
    int64_t *scratch = malloc((size_t)(2 * (B + 1) + B) * sizeof *scratch);
    jl_tensor *xb = NULL, *pb = NULL;
    int rc = JL_OK;
    g.n_constituents = new_i64(B);
    if (!scratch || !g.n_constituents) {
        rc = JL_FAIL_CODE(JL_ENOMEM, "lund: out of memory for %lld jets", (long long)B);
        goto done;
    }
    bt->bound = scratch;
    bt->ebase = scratch + B + 1;
    bt->count = scratch + 2 * (B + 1);
    bt->ncons = jl_data(g.n_constituents);
    atomic_init(&bt->bad, (long long)B);

    int64_t grain = 64;
    jl_parallel_for(B, grain, count_body, bt);
    if (atomic_load(&bt->bad) < B) {
        rc = fail_jet(bt);
        goto done;
    }
    bt->bound[0] = 0;
    for (int64_t b = 0; b < B; b++)
        bt->bound[b + 1] = bt->bound[b] + JL_LUND_MAX_NODES(bt->ncons[b]);

    xb = jl_tensor_new(JL_F32, 2, (int64_t[]){bt->bound[B], F}, JL_CPU);
    pb = new_i64(bt->bound[B]);
    if (!xb || !pb) {
        rc = jl_last_error_code();
        goto done;
    }
    bt->xb = jl_data(xb);
    bt->pb = jl_data(pb);
    jl_parallel_for(B, 4, decluster_body, bt);
    if (atomic_load(&bt->bad) < B) {
        rc = fail_jet(bt);
        goto done;
    }

    g.offsets = new_i64(B + 1);
    if (!g.offsets) {
        rc = jl_last_error_code();
        goto done;
    }
    int64_t *off = jl_data(g.offsets), *ebase = scratch + B + 1;
    off[0] = ebase[0] = 0;
    for (int64_t b = 0; b < B; b++) {
        off[b + 1] = off[b] + bt->count[b];
        ebase[b + 1] = ebase[b] + (bt->count[b] > 0 ? 2 * (bt->count[b] - 1) : 0);
    }
    g.n_nodes = off[B];
    g.n_edges = ebase[B];
    if (g.n_nodes == bt->bound[B]) { /* every jet has its n - 1 nodes: already in place */
        g.x = xb;
        g.parent = pb;
        xb = pb = NULL;
    } else {
        g.x = jl_tensor_new(JL_F32, 2, (int64_t[]){g.n_nodes, F}, JL_CPU);
        g.parent = new_i64(g.n_nodes);
    }
    g.src = new_i64(g.n_edges);
    g.dst = new_i64(g.n_edges);
    g.edge_offsets = new_i64(g.n_nodes + 1);
    if (!g.x || !g.parent || !g.src || !g.dst || !g.edge_offsets) {
        rc = jl_last_error_code();
        goto done;
    }
    bt->off = off;
    bt->x = jl_data(g.x);
    bt->parent = jl_data(g.parent);
    bt->src = jl_data(g.src);
    bt->dst = jl_data(g.dst);
    bt->eo = jl_data(g.edge_offsets);
    bt->eo[0] = 0;
    jl_parallel_for(B, 16, edges_body, bt);
    if (atomic_load(&bt->bad) < B)
        rc = JL_FAIL_CODE(JL_ENOMEM, "lund: out of memory building the edges");

done:
    jl_release(xb);
    jl_release(pb);
    free(scratch);
    if (rc != JL_OK)
        jl_lund_graphs_free(&g);
    *out = g;
    return rc;
}

static int check_opts(const jl_lund_opts *o, int *features)
{
    if (!o)
        return JL_FAIL("lund: no options");
    *features = o->features == 0 ? 5 : o->features;
    if (*features != 5 && *features != 3)
        return JL_FAIL("lund: features must be 5 (LundNet5) or 3 (LundNet3), got %d", o->features);
    if (o->kt_cut && isnan(o->ln_kt_min))
        return JL_FAIL("lund: ln_kt_min is NaN");
    return JL_OK;
}

int jl_lund_graphs_ragged(const jl_p4 *p, const int64_t *offsets, int64_t n_jets,
                          const jl_lund_opts *o, jl_lund_graphs *out)
{
    *out = (jl_lund_graphs){0};
    int features;
    if (check_opts(o, &features))
        return JL_EARG;
    if (n_jets < 0 || !offsets)
        return JL_FAIL("lund: need n_jets >= 0 (got %lld) and offsets", (long long)n_jets);
    if (offsets[0] != 0)
        return JL_FAIL("lund: offsets[0] must be 0, got %lld", (long long)offsets[0]);
    for (int64_t b = 0; b < n_jets; b++)
        if (offsets[b + 1] < offsets[b] || offsets[b + 1] - offsets[b] > (1 << 28))
            return JL_FAIL("lund: offsets must be non-decreasing (jet %lld: %lld .. %lld)",
                           (long long)b, (long long)offsets[b], (long long)offsets[b + 1]);
    if (offsets[n_jets] > 0 && !p)
        return JL_FAIL("lund: four-vectors are NULL");
    batch bt = {.o = o, .features = features, .n_jets = n_jets, .p = p, .p_off = offsets};
    return run_batch(&bt, out);
}

int jl_lund_graphs_atlas(jl_tensor *pt, jl_tensor *eta, jl_tensor *phi, jl_tensor *E,
                         const jl_lund_opts *o, jl_lund_graphs *out)
{
    *out = (jl_lund_graphs){0};
    int features;
    if (check_opts(o, &features))
        return JL_EARG;
    if (jl_jets_check_args("lund", pt, eta, phi, E))
        return JL_EARG;
    batch bt = {.o = o, .features = features, .n_jets = pt->shape[0], .pt = jl_data(pt),
                .eta = jl_data(eta), .phi = jl_data(phi), .E = jl_data(E), .cols = pt->shape[1]};
    return run_batch(&bt, out);
}

void jl_lund_graphs_free(jl_lund_graphs *g)
{
    jl_tensor **all[] = {&g->x, &g->offsets, &g->parent, &g->src, &g->dst, &g->edge_offsets,
                         &g->n_constituents};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) {
        jl_release(*all[k]);
        *all[k] = NULL;
    }
}
