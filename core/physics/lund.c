/* lund.c — Lund-plane declustering: C/A re-clustering of a jet's constituents,
 * the depth-first walk over both branches, and graph batches built in
 * parallel over jets (see jl_lund.h for the definitions and layout).
 * Floating-point contraction is off, as in cluster.c, so that distances round
 * as there and in FastJet.
 *
 * A batch is built in three passes over the jets: (0) count each jet's
 * constituents, which bounds its nodes (n - 1, at least 1); (1) decluster every jet, its
 * feature rows and local parents written at the bound's offsets, straight into
 * the output tensors; (2) when cuts (or a degenerate jet) left fewer nodes
 * than the bound, move the rows to their final offsets, then turn parents
 * into global indices and build the CSR edges. Errors inside workers only
 * record the smallest failing jet; it is run again on the calling thread so
 * that the message lands in the caller's (thread-local) error buffer. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include "jl_lund.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jl_error.h"
#include "jl_jet_tensors.h"
#include "jl_parallel.h"

#define JL_PI 3.141592653589793238462643383279502884
#define JL_TWOPI 6.283185307179586476925286766559005768

/* --- Cambridge/Aachen for one jet --------------------------------------------
 * A dedicated C/A (d_ij = dR^2, d_iB = R^2 with R = JL_LUND_R) for the few
 * hundred constituents of a jet: the same nearest-neighbour scheme and slot
 * bookkeeping as cluster.c's N2Plain (the smallest cached dR^2 merges; the
 * merged pseudojet takes the lower slot, the last slot fills the freed one;
 * the first smallest distance wins a tie), but with the kinematics of every
 * pseudojet computed once and kept for the declustering, scratch reused from
 * jet to jet, and the scans over the active slots done four at a time without
 * branches (GCC/clang vector extensions; the slot arrays are padded to a
 * multiple of 4 with far-away entries). The distances round exactly as
 * cluster.c's. tests/c/test_lund.c checks that it gives jl_cluster_run's tree. */

typedef double v4d __attribute__((vector_size(32)));
typedef long long v4i __attribute__((vector_size(32)));

/* Lanes of a where m is set, of b elsewhere. */
static inline v4d vsel(v4i m, v4d a, v4d b) { return (v4d)((m & (v4i)a) | (~m & (v4i)b)); }
static inline v4d vset1(double x) { return (v4d){x, x, x, x}; }

/* The rapidity of padding slots: their distance to anything is ~1e60, never
 * a neighbour, and never overflows. */
#define FAR_RAP 1e30

/* Scratch for jets of up to cap constituents (one 32-byte aligned allocation,
 * at sy); the slot arrays hold cap4 = cap rounded up to a multiple of 4. */
typedef struct ca_work {
    int cap, cap4;
    double *sy, *sphi, *snnd; /* (cap4) active slots: position, dR^2 to the neighbour (R^2: none) */
    double *d;                /* (cap4) dR^2 from one slot to each slot */
    jl_p4 *p;                 /* (2 cap - 1) pseudojets: inputs, then merge k at n + k */
    double *y, *phi, *pt2;    /* (2 cap - 1) their rapidity, azimuth, pt^2 */
    jl_lund_node *nodes;      /* (cap) declustering output for the batches */
    int *pa, *pb;             /* (cap) parents of merge k, pa < pb (pseudojet indices) */
    int *sjet, *snn;          /* (cap4) active slots: pseudojet, neighbour slot (-1: none) */
    int *stack;               /* (2 cap + 2) the walk's (pseudojet, parent node) pairs;
                               * the slots to search again while clustering */
} ca_work;

static int work_init(ca_work *w, int64_t cap)
{
    size_t c = (size_t)(cap > 0 ? cap : 1), c4 = (c + 3) & ~(size_t)3, np = 2 * c - 1;
    size_t bytes = c4 * 4 * sizeof(double) + np * (sizeof(jl_p4) + 3 * sizeof(double)) +
                   c * sizeof(jl_lund_node) + (2 * c + 2 * c4 + 2 * c + 2) * sizeof(int);
    bytes = (bytes + 31) & ~(size_t)31;
    char *m = aligned_alloc(32, bytes);
    *w = (ca_work){.cap = (int)c, .cap4 = (int)c4};
    if (!m) return JL_FAIL_CODE(JL_ENOMEM, "lund: out of memory for %zu constituents", c);
    w->sy = (double *)m;
    w->sphi = w->sy + c4;
    w->snnd = w->sphi + c4;
    w->d = w->snnd + c4;
    w->p = (jl_p4 *)(w->d + c4);
    w->y = (double *)(w->p + np);
    w->phi = w->y + np;
    w->pt2 = w->phi + np;
    w->nodes = (jl_lund_node *)(w->pt2 + np);
    w->pa = (int *)(w->nodes + c);
    w->pb = w->pa + c;
    w->sjet = w->pb + c;
    w->snn = w->sjet + c4;
    w->stack = w->snn + c4;
    return JL_OK;
}

static void work_free(ca_work *w) { free(w->sy); }

/* Makes slot s padding. */
static void pad_slot(ca_work *w, int s)
{
    w->sy[s] = FAR_RAP;
    w->sphi[s] = 0.0;
    w->snnd[s] = HUGE_VAL;
}

/* The first smallest of the four lanes (value v, index k as a double), by
 * two rounds of lane swaps: no branches, since which lane wins is data. */
static int lane_min(v4d v, v4d k, double *best)
{
    v4d v2 = {v[2], v[3], v[0], v[1]}, k2 = {k[2], k[3], k[0], k[1]};
    v4i take = (v4i)(v2 < v) | ((v4i)(v2 == v) & (v4i)(k2 < k));
    v = vsel(take, v2, v);
    k = vsel(take, k2, k);
    v2 = (v4d){v[1], v[0], v[3], v[2]};
    k2 = (v4d){k[1], k[0], k[3], k[2]};
    take = (v4i)(v2 < v) | ((v4i)(v2 == v) & (v4i)(k2 < k));
    v = vsel(take, v2, v);
    k = vsel(take, k2, k);
    *best = v[0];
    return (int)k[0];
}

/* The first smallest of v[0, m4) (m4 a multiple of 4) and its value. */
static int first_min(const double *v, int m4, double *best)
{
    v4d lo = vset1(HUGE_VAL), at = vset1(0), j4 = {0, 1, 2, 3};
    for (int j = 0; j < m4; j += 4) {
        v4d x = *(const v4d *)(v + j);
        v4i lt = (v4i)(x < lo);
        lo = vsel(lt, x, lo);
        at = vsel(lt, j4, at);
        j4 += 4;
    }
    return lane_min(lo, at, best);
}

/* The nearest neighbour of slot i among slots [0, m) (dR^2 < R^2), the first
 * one on a tie; leaves the distances from slot i in w->d[0, m) (w->d[i] ~ 1e60).
 * dR^2 as cluster.c's dist2: dphi = |phi_i - phi_j|, 2pi - dphi above pi. */
static void find_nn(ca_work *w, int i, int m)
{
    int m4 = (m + 3) & ~3;
    double yi = w->sy[i], r2 = JL_LUND_R * JL_LUND_R;
    w->sy[i] = FAR_RAP; /* not its own neighbour */
    v4d y = vset1(yi), phi = vset1(w->sphi[i]), pi = vset1(JL_PI), twopi = vset1(JL_TWOPI);
    v4d lo = vset1(r2), at = vset1(-1), j4 = {0, 1, 2, 3};
    for (int j = 0; j < m4; j += 4) {
        v4d dy = y - *(const v4d *)(w->sy + j), dphi = phi - *(const v4d *)(w->sphi + j);
        dphi = vsel((v4i)(dphi < 0), -dphi, dphi);
        dphi = vsel((v4i)(dphi > pi), twopi - dphi, dphi);
        v4d d = dphi * dphi + dy * dy;
        *(v4d *)(w->d + j) = d;
        v4i lt = (v4i)(d < lo);
        lo = vsel(lt, d, lo);
        at = vsel(lt, j4, at);
        j4 += 4;
    }
    w->sy[i] = yi;
    double best;
    int nn = lane_min(lo, at, &best);
    w->snn[i] = best < r2 ? nn : -1;
    w->snnd[i] = best < r2 ? best : r2;
}

static void set_pseudojet(ca_work *w, int k, jl_p4 p)
{
    w->p[k] = p;
    w->y[k] = jl_p4_rap(p);
    w->phi[k] = jl_p4_phi(p);
    w->pt2[k] = jl_p4_pt2(p);
}

static void set_slot(ca_work *w, int s, int k)
{
    w->sjet[s] = k;
    w->sy[s] = w->y[k];
    w->sphi[s] = w->phi[k];
}

/* Empties slot `gone` of m: the last slot moves there; neighbours that were
 * `gone` (or `fresh`, a slot that now holds a new pseudojet; -1 for none) are
 * searched again, those that were the last slot follow it, and the others
 * take `fresh` when it is nearer. The loops are predicated rather than
 * branched (which slots are affected is data). Returns the new m. */
static int drop_slot(ca_work *w, int gone, int fresh, int m)
{
    int tail = --m;
    if (gone != tail) {
        w->sjet[gone] = w->sjet[tail];
        w->sy[gone] = w->sy[tail];
        w->sphi[gone] = w->sphi[tail];
        w->snn[gone] = w->snn[tail];
        w->snnd[gone] = w->snnd[tail];
    }
    pad_slot(w, tail);
    int *stale = w->stack, n_stale = 0; /* the walk's stack is free while clustering */
    if (fresh >= 0) {
        find_nn(w, fresh, m); /* leaves the distances from fresh in w->d */
        for (int i = 0; i < m; i++) {
            int nn = w->snn[i], other = i != fresh;
            int hit = ((nn == gone) | (nn == fresh)) & other;
            stale[n_stale] = i;
            n_stale += hit;
            int closer = (w->d[i] < w->snnd[i]) & other & !hit;
            w->snnd[i] = closer ? w->d[i] : w->snnd[i];
            w->snn[i] = closer ? fresh : nn == tail ? gone : nn;
        }
    } else {
        for (int i = 0; i < m; i++) {
            int nn = w->snn[i];
            stale[n_stale] = i;
            n_stale += nn == gone;
            w->snn[i] = nn == tail ? gone : nn;
        }
    }
    for (int k = 0; k < n_stale; k++) find_nn(w, stale[k], m);
    return m;
}

/* Clusters the n constituents in (finite four-vectors) into w; sets *root to
 * the hardest final pseudojet (-1 when n == 0). */
static int ca_cluster(ca_work *w, const jl_p4 *in, int n, int *root)
{
    double r2 = JL_LUND_R * JL_LUND_R;
    for (int i = 0; i < n; i++) {
        jl_p4 p = in[i];
        if (!isfinite(p.px) || !isfinite(p.py) || !isfinite(p.pz) || !isfinite(p.E))
            return JL_FAIL("lund: constituent %d has a non-finite component (%g %g %g %g)", i + 1, p.px, p.py,
                           p.pz, p.E);
        set_pseudojet(w, i, p);
        if (!isfinite(w->y[i]))
            return JL_FAIL("lund: constituent %d (%g %g %g %g) has no finite rapidity", i + 1, p.px, p.py,
                           p.pz, p.E);
        set_slot(w, i, i);
        w->snn[i] = -1;
        w->snnd[i] = r2;
    }
    for (int s = n; s < ((n + 3) & ~3); s++) pad_slot(w, s);
    for (int i = 0; i < n; i++) find_nn(w, i, n);
    int m = n, next = n, best = -1;
    while (m > 0) {
        double dmin;
        int a = first_min(w->snnd, (m + 3) & ~3, &dmin);
        int b = w->snn[a];
        if (b < 0) { /* a final jet: keep the hardest, the first one on a tie */
            int k = w->sjet[a];
            if (best < 0 || w->pt2[k] > w->pt2[best] || (w->pt2[k] == w->pt2[best] && k < best)) best = k;
            m = drop_slot(w, a, -1, m);
            continue;
        }
        int lo = a < b ? a : b, hi = a < b ? b : a, ja = w->sjet[a], jb = w->sjet[b];
        int k = next++;
        w->pa[k - n] = ja < jb ? ja : jb;
        w->pb[k - n] = ja < jb ? jb : ja;
        set_pseudojet(w, k, jl_p4_add(w->p[ja], w->p[jb]));
        set_slot(w, lo, k);
        m = drop_slot(w, hi, lo, m);
    }
    *root = best;
    return JL_OK;
}

/* --- declustering ------------------------------------------------------------ */

static double ln_floor(double x) { return log(x > JL_LUND_TINY ? x : JL_LUND_TINY); }

/* The features of the declustering of pseudojet k into j1 (harder) and j2, in the
 * LundNet authors' conventions (jl_lund.h). */
static jl_lund_node node_of(const ca_work *w, int k, int j1, int j2)
{
    double pt1 = sqrt(w->pt2[j1]), pt2 = sqrt(w->pt2[j2]);
    double dy = w->y[j2] - w->y[j1];
    double raw_dphi = w->phi[j2] - w->phi[j1]; /* in (-2pi, 2pi): psi uses it unwrapped */
    double dphi = raw_dphi > JL_PI     ? raw_dphi - JL_TWOPI
                  : raw_dphi <= -JL_PI ? raw_dphi + JL_TWOPI
                                       : raw_dphi;
    double delta = sqrt(dy * dy + dphi * dphi);
    if (delta < JL_LUND_DELTA_MIN) delta = JL_LUND_DELTA_MIN;
    double m2 = fabs(jl_p4_m2(w->p[k]));
    return (jl_lund_node){
        .parent = -1,
        .ln_z = ln_floor(pt2 / (pt1 + pt2)),
        .ln_delta = log(delta),
        .psi = raw_dphi != 0.0 ? atan(dy / raw_dphi) : 0.0,
        .ln_m = 0.5 * ln_floor(m2 > JL_LUND_TINY * JL_LUND_TINY ? m2 : JL_LUND_TINY * JL_LUND_TINY),
        .ln_kt = ln_floor(pt2 * delta),
    };
}

/* Walks the tree under root depth-first, harder branch first, into out.
 * Returns the number of nodes. */
static int walk(ca_work *w, int n, int root, const jl_lund_opts *o, jl_lund_node *out)
{
    int *stack = w->stack, top = 0, count = 0;
    if (root < n) /* no jet, or a single constituent */
        return 0;
    stack[top++] = root;
    stack[top++] = -1;
    while (top > 0) {
        int parent = stack[--top], k = stack[--top];
        if (k < n) continue;
        int a = w->pa[k - n], b = w->pb[k - n];
        if (w->pt2[a] < w->pt2[b]) {
            int t = a;
            a = b;
            b = t;
        }
        jl_lund_node nd = node_of(w, k, a, b);
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

/* Declusters one jet of n <= w->cap constituents into out. */
static int decluster_in(ca_work *w, const jl_p4 *p, int n, const jl_lund_opts *o, jl_lund_node *out)
{
    int root;
    int rc = ca_cluster(w, p, n, &root);
    return rc != JL_OK ? rc : walk(w, n, root, o, out);
}

int jl_lund_decluster(const jl_p4 *p, int64_t n, const jl_lund_opts *o, jl_lund_node *out)
{
    if (!o) return JL_FAIL("lund: no options");
    if (n < 0 || n > (1 << 28)) return JL_FAIL("lund: constituent count %lld out of range", (long long)n);
    if (n > 0 && !p) return JL_FAIL("lund: constituents are NULL");
    if (n > 1 && !out) return JL_FAIL("lund: no output nodes");
    ca_work w;
    if (work_init(&w, n)) return JL_ENOMEM;
    int rc = decluster_in(&w, p, (int)n, o, out);
    work_free(&w);
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
    int64_t *bound;   /* (B + 1) node offsets when every jet gives n - 1 nodes */
    int64_t *count;   /* (B) nodes of each jet */
    int64_t *ncons;   /* (B) constituents of each jet: n_constituents' data */
    float *xb;        /* (bound[B], F) rows at the bound's offsets */
    int64_t *pb;      /* (bound[B]) local parents at the bound's offsets */
    atomic_llong bad; /* smallest failing jet, n_jets when none */
    /* pass 2 */
    const int64_t *off, *ebase; /* (B + 1) final node and edge offsets */
    float *x;
    int64_t *parent, *src, *dst, *eo;
} batch;

static void record_bad(batch *bt, int64_t b)
{
    long long cur = atomic_load(&bt->bad);
    while (b < cur && !atomic_compare_exchange_weak(&bt->bad, &cur, (long long)b)) {
    }
}

/* Constituents of ATLAS jet b (pt > 0 columns); -1 when a pt is negative or NaN. */
static int64_t atlas_count(const batch *bt, int64_t b, int64_t *bad_col)
{
    const float *pt = bt->pt + b * bt->cols;
    int64_t n = 0;
    for (int64_t j = 0; j < bt->cols; j++) {
        if (pt[j] > 0) n++;
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
    if (bt->p) return bt->p + bt->p_off[b];
    int64_t at = b * bt->cols, n = 0;
    for (int64_t j = 0; j < bt->cols; j++) {
        double pt = bt->pt[at + j];
        if (!(pt > 0)) continue;
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
    for (int64_t b = begin; b < end; b++) most = bt->ncons[b] > most ? bt->ncons[b] : most;
    jl_p4 *buf = bt->p ? NULL : malloc((size_t)(bt->cols > 0 ? bt->cols : 1) * sizeof *buf);
    ca_work w;
    if ((!bt->p && !buf) || work_init(&w, most)) {
        record_bad(bt, begin);
        free(buf);
        return;
    }
    for (int64_t b = begin; b < end; b++) {
        int rc = decluster_in(&w, jet_p4(bt, b, buf), (int)bt->ncons[b], bt->o, w.nodes);
        if (rc < 0) {
            record_bad(bt, b);
            rc = 0;
        }
        int64_t at = bt->bound[b];
        if (rc == 0) { /* no declustering: one node of zeros, as the LundNet authors' graphs */
            memset(bt->xb + at * bt->features, 0, (size_t)bt->features * sizeof *bt->xb);
            bt->pb[at] = -1;
            bt->count[b] = 1;
            continue;
        }
        bt->count[b] = rc;
        for (int i = 0; i < rc; i++) {
            put_row(bt->xb + (at + i) * bt->features, &w.nodes[i], bt->features);
            bt->pb[at + i] = w.nodes[i].parent;
        }
    }
    work_free(&w);
    free(buf);
}

static void edges_body(void *ctx, int64_t begin, int64_t end)
{
    batch *bt = ctx;
    int64_t most = 0;
    for (int64_t b = begin; b < end; b++) most = bt->count[b] > most ? bt->count[b] : most;
    int64_t *fill = malloc((size_t)(most > 0 ? most : 1) * sizeof *fill);
    if (!fill) {
        record_bad(bt, begin);
        return;
    }
    int F = bt->features;
    for (int64_t b = begin; b < end; b++) {
        int64_t nb = bt->count[b], g0 = bt->off[b], from = bt->bound[b];
        if (nb == 0) continue;
        if (bt->x != bt->xb) {
            memcpy(bt->x + g0 * F, bt->xb + from * F, (size_t)(nb * F) * sizeof *bt->x);
            memcpy(bt->parent + g0, bt->pb + from, (size_t)nb * sizeof *bt->parent);
        }
        int64_t *par = bt->parent + g0, *eo = bt->eo + g0 + 1;
        /* degrees into eo (the ends), then starts into fill */
        for (int64_t i = 0; i < nb; i++) eo[i] = i > 0;
        for (int64_t i = 1; i < nb; i++) eo[par[i]]++;
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
        for (int64_t i = 0; i < nb; i++) par[i] = par[i] < 0 ? -1 : g0 + par[i];
    }
    free(fill);
}

/* Sets the error for the smallest failing jet by running it again here. */
static int fail_jet(batch *bt)
{
    int64_t b = (int64_t)atomic_load(&bt->bad), col = 0;
    if (!bt->p && atlas_count(bt, b, &col) < 0)
        return JL_FAIL("lund: jet %lld, constituent %lld: pt must be 0 (padding) or > 0, got %g",
                       (long long)b + 1, (long long)col + 1, (double)bt->pt[b * bt->cols + col]);
    int64_t n = bt->ncons[b];
    jl_p4 *buf = bt->p ? NULL : malloc((size_t)(bt->cols > 0 ? bt->cols : 1) * sizeof *buf);
    jl_lund_node *nodes = malloc((size_t)(n > 1 ? n : 1) * sizeof *nodes);
    int rc = 1; /* not run: no memory for it */
    if ((bt->p || buf) && nodes) rc = jl_lund_decluster(jet_p4(bt, b, buf), n, bt->o, nodes);
    if (rc >= 0) /* not an input error: only an allocation failed in the worker */
        JL_FAIL_CODE(JL_ENOMEM, "out of memory");
    free(buf);
    free(nodes);
    char what[64];
    snprintf(what, sizeof what, "lund: jet %lld", (long long)b + 1);
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
    for (int64_t b = 0; b < B; b++) bt->bound[b + 1] = bt->bound[b] + JL_LUND_GRAPH_NODES(bt->ncons[b]);

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
    if (g.n_nodes == bt->bound[B]) { /* every jet has its bound of nodes: already in place */
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
    if (atomic_load(&bt->bad) < B) rc = JL_FAIL_CODE(JL_ENOMEM, "lund: out of memory building the edges");

done:
    jl_release(xb);
    jl_release(pb);
    free(scratch);
    if (rc != JL_OK) jl_lund_graphs_free(&g);
    *out = g;
    return rc;
}

static int check_opts(const jl_lund_opts *o, int *features)
{
    if (!o) return JL_FAIL("lund: no options");
    *features = o->features == 0 ? 5 : o->features;
    if (*features != 5 && *features != 3)
        return JL_FAIL("lund: features must be 5 (LundNet5) or 3 (LundNet3), got %d", o->features);
    if (o->kt_cut && isnan(o->ln_kt_min)) return JL_FAIL("lund: ln_kt_min is NaN");
    return JL_OK;
}

int jl_lund_graphs_ragged(const jl_p4 *p, const int64_t *offsets, int64_t n_jets, const jl_lund_opts *o,
                          jl_lund_graphs *out)
{
    *out = (jl_lund_graphs){0};
    int features;
    if (check_opts(o, &features)) return JL_EARG;
    if (n_jets < 0 || !offsets)
        return JL_FAIL("lund: need n_jets >= 0 (got %lld) and offsets", (long long)n_jets);
    if (offsets[0] != 0) return JL_FAIL("lund: offsets[0] must be 0, got %lld", (long long)offsets[0]);
    for (int64_t b = 0; b < n_jets; b++)
        if (offsets[b + 1] < offsets[b] || offsets[b + 1] - offsets[b] > (1 << 28))
            return JL_FAIL("lund: offsets must be non-decreasing (jet %lld: %lld .. %lld)", (long long)b + 1,
                           (long long)offsets[b], (long long)offsets[b + 1]);
    if (offsets[n_jets] > 0 && !p) return JL_FAIL("lund: four-vectors are NULL");
    batch bt = {.o = o, .features = features, .n_jets = n_jets, .p = p, .p_off = offsets};
    return run_batch(&bt, out);
}

int jl_lund_graphs_atlas(jl_tensor *pt, jl_tensor *eta, jl_tensor *phi, jl_tensor *E, const jl_lund_opts *o,
                         jl_lund_graphs *out)
{
    *out = (jl_lund_graphs){0};
    int features;
    if (check_opts(o, &features)) return JL_EARG;
    if (jl_jets_check_args("lund", pt, eta, phi, E)) return JL_EARG;
    batch bt = {.o = o,
                .features = features,
                .n_jets = pt->shape[0],
                .pt = jl_data(pt),
                .eta = jl_data(eta),
                .phi = jl_data(phi),
                .E = jl_data(E),
                .cols = pt->shape[1]};
    return run_batch(&bt, out);
}

void jl_lund_graphs_free(jl_lund_graphs *g)
{
    jl_tensor **all[] = {&g->x,   &g->offsets,      &g->parent,        &g->src,
                         &g->dst, &g->edge_offsets, &g->n_constituents};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) {
        jl_release(*all[k]);
        *all[k] = NULL;
    }
}
