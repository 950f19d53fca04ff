/* test_lund.c — Lund-plane declustering (core/physics/jl_lund.h): a hand-built
 * 3-particle jet with hand-computed features, the node order and parents, the
 * ln kt cut, the dedicated C/A against jl_cluster_run's tree on random jets
 * (nodes recomputed by a plain recursive walk here), the graph batch layout
 * (offsets, parents, CSR edges both ways), the ATLAS and ragged inputs giving
 * the same graphs, thread-count independence, and errors. The comparison with
 * FastJet on real events is tests/sh/test_lund_fastjet.sh. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jl_error.h"
#include "jl_lund.h"
#include "jl_parallel.h"
#include "reference.h"

#define PI 3.141592653589793

/* A massless particle from pt, rapidity, phi. */
static jl_p4 ptyphi(double pt, double y, double phi)
{
    return (jl_p4){pt * cos(phi), pt * sin(phi), pt * sinh(y), pt * cosh(y)};
}

static double ln_floor(double x) { return log(x > JL_LUND_TINY ? x : JL_LUND_TINY); }

static void assert_node(const jl_lund_node *got, int parent, double lnz, double lndelta, double psi,
                        double lnm, double lnkt, const char *what)
{
    cr_assert_eq(got->parent, parent, "%s: parent %d, want %d", what, got->parent, parent);
    double g[5] = {got->ln_z, got->ln_delta, got->psi, got->ln_m, got->ln_kt};
    double w[5] = {lnz, lndelta, psi, lnm, lnkt};
    static const char *names[5] = {"ln z", "ln Delta", "psi", "ln m", "ln kt"};
    for (int k = 0; k < 5; k++)
        cr_assert(fabs(g[k] - w[k]) <= 1e-12 * (1 + fabs(w[k])), "%s: %s = %.17g, want %.17g",
                  what, names[k], g[k], w[k]);
}

/* --- a hand-built jet --------------------------------------------------------- */

/* A (pt 100, y 0, phi 0) and B (pt 25, y 0, phi 0.1) are 0.1 apart; C (pt 2,
 * y 0.3, phi 0) is 0.3 from A and ~0.316 from B: C/A merges A+B, then C. */
static void three(jl_p4 p[3])
{
    p[0] = ptyphi(100, 0, 0);
    p[1] = ptyphi(25, 0, 0.1);
    p[2] = ptyphi(2, 0.3, 0);
}

Test(lund, three_particles_by_hand)
{
    jl_p4 p[3];
    three(p);
    jl_lund_node nodes[2];
    int n = jl_lund_decluster(p, 3, &(jl_lund_opts){0}, nodes);
    cr_assert_eq(n, 2, "3 constituents give 2 nodes (got %d: %s)", n, jl_last_error());

    /* root: j1 = A+B (pz = 0, so y = 0), j2 = C */
    double px = 100 + 25 * cos(0.1), py = 25 * sin(0.1), pt_ab = hypot(px, py);
    double phi_ab = atan2(py, px), dy = 0.3, dphi = 0 - phi_ab;
    double delta = sqrt(dy * dy + dphi * dphi);
    double E = 125 + 2 * cosh(0.3), Px = px + 2, Pz = 2 * sinh(0.3);
    double m = sqrt(E * E - Px * Px - py * py - Pz * Pz);
    assert_node(&nodes[0], -1, log(2 / (pt_ab + 2)), log(delta), atan(dy / dphi), log(m),
                log(2 * delta), "root (A+B, C)");
    cr_assert_lt(nodes[0].psi, 0, "C above A+B in y, below it in phi: psi < 0");

    /* then the harder branch: j1 = A, j2 = B, same rapidity so psi = 0 */
    double m_ab = sqrt(2 * 100 * 25 * (1 - cos(0.1)));
    assert_node(&nodes[1], 0, log(25.0 / 125), log(0.1), 0, log(m_ab), log(2.5), "node (A, B)");
}

Test(lund, ln_kt_cut_follows_the_harder_branch)
{
    jl_p4 p[3];
    three(p);
    jl_lund_node all[2], cut[2];
    cr_assert_eq(jl_lund_decluster(p, 3, &(jl_lund_opts){0}, all), 2);
    /* root ln kt = ln(2 * 0.30...) < 0 <= ln 2.5 of (A, B) */
    cr_assert_lt(all[0].ln_kt, 0);
    cr_assert_eq(jl_lund_decluster(p, 3, &(jl_lund_opts){.kt_cut = true, .ln_kt_min = 0}, cut), 1);
    cr_assert_eq(cut[0].parent, -1, "the first node kept becomes the root");
    cr_assert_eq(cut[0].ln_kt, all[1].ln_kt, "the node kept is (A, B)");
    cr_assert_eq(jl_lund_decluster(p, 3, &(jl_lund_opts){.kt_cut = true, .ln_kt_min = 5}, cut), 0);
    /* a cut at exactly a node's ln kt keeps it (dropped only below) */
    cr_assert_eq(jl_lund_decluster(p, 3, &(jl_lund_opts){.kt_cut = true, .ln_kt_min = all[0].ln_kt},
                                   cut),
                 2);
}

Test(lund, depth_first_harder_branch_first)
{
    /* two pairs far apart; the pair (C, D) is harder than (A, B) */
    jl_p4 p[4] = {ptyphi(10, 0, 0), ptyphi(5, 0.05, 0), ptyphi(40, 0.5, 0.8),
                  ptyphi(30, 0.5, 0.86)};
    jl_lund_node nd[3];
    cr_assert_eq(jl_lund_decluster(p, 4, &(jl_lund_opts){0}, nd), 3);
    cr_assert_eq(nd[0].parent, -1);
    cr_assert_eq(nd[1].parent, 0);
    cr_assert_eq(nd[2].parent, 0);
    assert_node(&nd[1], 0, log(30.0 / 70), log(0.06), 0, nd[1].ln_m, log(30 * 0.06),
                "(C, D) first: the harder branch");
    cr_assert(fabs(nd[2].ln_delta - log(0.05)) < 1e-12, "(A, B) second");
    /* a chain: each softer particle farther out, all on the primary plane */
    jl_p4 q[4] = {ptyphi(100, 0, 0), ptyphi(10, 0, 0.01), ptyphi(5, 0, 0.1), ptyphi(1, 0, 0.5)};
    cr_assert_eq(jl_lund_decluster(q, 4, &(jl_lund_opts){0}, nd), 3);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(nd[i].parent, i - 1, "primary chain: node %d", i);
    cr_assert(nd[0].ln_delta > nd[1].ln_delta && nd[1].ln_delta > nd[2].ln_delta,
              "angular ordering along the primary plane");
}

Test(lund, degenerate_jets)
{
    jl_lund_node nd[2];
    cr_assert_eq(jl_lund_decluster(NULL, 0, &(jl_lund_opts){0}, NULL), 0);
    jl_p4 one = ptyphi(5, 1, 2);
    cr_assert_eq(jl_lund_decluster(&one, 1, &(jl_lund_opts){0}, nd), 0);
    /* two equal four-vectors: Delta floored at 1e-6 (also in kt), psi = 0,
     * z = 1/2 (the first is j1 on the pt tie), m ~ 0 stays finite */
    jl_p4 two[2] = {ptyphi(5, 1, 2), ptyphi(5, 1, 2)};
    cr_assert_eq(jl_lund_decluster(two, 2, &(jl_lund_opts){0}, nd), 1);
    assert_node(&nd[0], -1, log(0.5), log(JL_LUND_DELTA_MIN), 0, nd[0].ln_m, log(5 * JL_LUND_DELTA_MIN),
                "collinear pair");
    cr_assert(isfinite(nd[0].ln_m) && nd[0].ln_m < -5, "m ~ 0: ln m floored or tiny, finite");
    /* same phi, different y: psi = 0, as the authors' ZeroDivisionError branch */
    jl_p4 up[2] = {ptyphi(5, 0, 0), ptyphi(3, 0.2, 0)};
    cr_assert_eq(jl_lund_decluster(up, 2, &(jl_lund_opts){0}, nd), 1);
    cr_assert_eq(nd[0].psi, 0.0);
    /* across phi = 0: Delta the short way (delta_R), psi from the unwrapped phi difference */
    jl_p4 wrap[2] = {ptyphi(5, 0, 0.05), ptyphi(3, 0.1, 2 * PI - 0.05)};
    cr_assert_eq(jl_lund_decluster(wrap, 2, &(jl_lund_opts){0}, nd), 1);
    cr_assert(fabs(nd[0].ln_delta - log(hypot(0.1, 0.1))) < 1e-12);
    cr_assert(fabs(nd[0].psi - atan(-0.1 / (0.1 - 2 * PI))) < 1e-12, "phi difference 0.1 - 2pi, not wrapped");
    /* ln m = 1/2 ln |m^2|: a pair with m^2 < 0 from a space-like constituent stays finite */
    jl_p4 spacelike[2] = {{3, 0, 0, 2}, {0, 3, 0, 2}};
    cr_assert_eq(jl_lund_decluster(spacelike, 2, &(jl_lund_opts){0}, nd), 1);
    cr_assert(fabs(nd[0].ln_m - 0.5 * log(fabs(16.0 - 18.0))) < 1e-12, "ln m = %g", nd[0].ln_m);
}

Test(lund, errors)
{
    jl_p4 p[2] = {ptyphi(5, 0, 0), {NAN, 0, 0, 1}};
    jl_lund_node nd[1];
    cr_assert_lt(jl_lund_decluster(p, 2, &(jl_lund_opts){0}, nd), 0);
    cr_assert(strstr(jl_last_error(), "constituent 2 has a non-finite component"), "%s",
              jl_last_error());
    int64_t off[3] = {0, 1, 2};
    jl_lund_graphs g;
    cr_assert_eq(jl_lund_graphs_ragged(p, off, 2, &(jl_lund_opts){0}, &g), JL_EARG);
    cr_assert(strstr(jl_last_error(), "lund: jet 2: lund: constituent 1 "), "%s", jl_last_error());
    cr_assert_null(g.x);
    cr_assert_eq(jl_lund_graphs_ragged(p, off, 1, &(jl_lund_opts){.features = 4}, &g), JL_EARG);
    cr_assert(strstr(jl_last_error(), "features must be 5"), "%s", jl_last_error());
    int64_t bad[3] = {0, 2, 1};
    cr_assert_eq(jl_lund_graphs_ragged(p, bad, 2, &(jl_lund_opts){0}, &g), JL_EARG);

    float vals[4] = {10, -1, 0, 0};
    jl_tensor *pt = ref_tensor(2, (int64_t[]){1, 4}, vals, false);
    jl_tensor *z = jl_zeros(JL_F32, 2, (int64_t[]){1, 4}, JL_CPU);
    cr_assert_eq(jl_lund_graphs_atlas(pt, z, z, pt, &(jl_lund_opts){0}, &g), JL_EARG);
    cr_assert(strstr(jl_last_error(), "jet 1, constituent 2: pt must be 0 (padding) or > 0, got -1"),
              "%s", jl_last_error());
    jl_release(pt);
    jl_release(z);
}

/* --- against jl_cluster_run ---------------------------------------------------- */

/* The reference walk: jl_cluster_run's C/A tree, recursion, jl_p4_* kinematics
 * (compiled with this file's floating-point contraction: equal to ~1e-15). */
static void ref_walk(const jl_cluster *c, int k, int parent, const jl_lund_opts *o,
                     jl_lund_node *out, int *count)
{
    int a, b;
    if (!jl_cluster_parents(c, k, &a, &b))
        return;
    if (jl_p4_pt2(c->p[a]) < jl_p4_pt2(c->p[b])) {
        int t = a;
        a = b;
        b = t;
    }
    jl_p4 j1 = c->p[a], j2 = c->p[b];
    /* the LundNet authors' LundCoordinates: Delta floored at 1e-6, psi from the unwrapped
     * phi difference (0 when it is 0), ln m = 1/2 ln |m^2| */
    double dy = jl_p4_rap(j2) - jl_p4_rap(j1), raw = jl_p4_phi(j2) - jl_p4_phi(j1);
    double dphi = raw > PI ? raw - 2 * PI : raw <= -PI ? raw + 2 * PI : raw;
    double delta = fmax(JL_LUND_DELTA_MIN, sqrt(dy * dy + dphi * dphi)), pt1 = jl_p4_pt(j1), pt2 = jl_p4_pt(j2);
    double m2 = fabs(jl_p4_m2(c->p[k]));
    jl_lund_node nd = {parent, ln_floor(pt2 / (pt1 + pt2)), log(delta), raw != 0 ? atan(dy / raw) : 0,
                       0.5 * log(fmax(m2, JL_LUND_TINY * JL_LUND_TINY)), ln_floor(pt2 * delta)};
    if (o->kt_cut && nd.ln_kt < o->ln_kt_min) {
        ref_walk(c, a, parent, o, out, count);
        return;
    }
    int self = (*count)++;
    out[self] = nd;
    ref_walk(c, a, self, o, out, count);
    ref_walk(c, b, self, o, out, count);
}

static int reference(const jl_p4 *p, int n, const jl_lund_opts *o, jl_lund_node *out)
{
    jl_jetdef def = {.p = JL_CAMBRIDGE, .r = JL_LUND_R, .strategy = JL_STRATEGY_PLAIN};
    jl_cluster *c = jl_cluster_run(p, n, &def);
    cr_assert(c, "%s", jl_last_error());
    int count = 0;
    if (c->n_jets > 0)
        ref_walk(c, c->jets[0].pseudojet, -1, o, out, &count);
    jl_cluster_free(c);
    return count;
}

/* n constituents: a collinear-enhanced jet (kind 0) or uniform in a 1 x 1 box (kind 1). */
static void random_jet(jl_p4 *p, int n, int kind, unsigned seed)
{
    srand(seed);
    for (int i = 0; i < n; i++) {
        double u = (rand() + 0.5) / ((double)RAND_MAX + 1);
        double x = pow(u, 3) + 1e-4, a = 2 * PI * rand() / RAND_MAX;
        double r = kind == 0 ? fmin(1, 0.02 / sqrt(x)) * sqrt(-2 * log((rand() + 0.5) / RAND_MAX))
                             : 0.5 * rand() / RAND_MAX;
        double y = r * cos(a) + (kind == 0 ? 0.0 : 2.0), phi = fmod(r * sin(a) + 2 * PI, 2 * PI);
        p[i] = ptyphi(500 * x, y, phi);
        if (i % 7 == 3) /* some massive constituents */
            p[i].E = sqrt(p[i].E * p[i].E + 0.14 * 0.14);
    }
}

Test(lund, dedicated_ca_gives_jl_cluster_run_tree)
{
    static const int sizes[] = {2, 3, 5, 17, 50, 64, 150, 400};
    int max = 400, total = 0;
    jl_p4 *p = malloc(sizeof *p * (size_t)max);
    jl_lund_node *got = malloc(sizeof *got * (size_t)max), *want = malloc(sizeof *want * (size_t)max);
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        for (int kind = 0; kind < 2; kind++) {
            for (unsigned seed = 1; seed <= 5; seed++) {
                int n = sizes[s];
                random_jet(p, n, kind, seed * 101 + (unsigned)n);
                for (int cut = 0; cut < 2; cut++) {
                    jl_lund_opts o = {.kt_cut = cut, .ln_kt_min = 0.5};
                    int ng = jl_lund_decluster(p, n, &o, got), nw = reference(p, n, &o, want);
                    cr_assert_eq(ng, nw, "n %d kind %d seed %u cut %d: %d nodes, reference %d", n,
                                 kind, seed, cut, ng, nw);
                    cr_assert(cut || ng == n - 1, "no cut: n - 1 nodes");
                    for (int i = 0; i < ng; i++) {
                        char what[96];
                        snprintf(what, sizeof what, "n %d kind %d seed %u cut %d node %d", n, kind,
                                 seed, cut, i);
                        assert_node(&got[i], want[i].parent, want[i].ln_z, want[i].ln_delta,
                                    want[i].psi, want[i].ln_m, want[i].ln_kt, what);
                    }
                    total += ng;
                }
            }
        }
    }
    cr_assert_gt(total, 5000);
    free(p);
    free(got);
    free(want);
}

/* --- graph batches ------------------------------------------------------------- */

/* Checks g's layout against per-jet jl_lund_decluster of the ragged jets p/off. */
static void check_graphs(const jl_lund_graphs *g, const jl_p4 *p, const int64_t *off, int64_t B,
                         const jl_lund_opts *o)
{
    int F = o->features ? o->features : 5;
    cr_assert_eq(g->n_jets, B);
    cr_assert_eq(g->x->shape[0], g->n_nodes);
    cr_assert_eq(g->x->shape[1], F);
    cr_assert_eq(g->src->shape[0], g->n_edges);
    cr_assert_eq(g->edge_offsets->shape[0], g->n_nodes + 1);
    const float *x = jl_data(g->x);
    const int64_t *go = jl_data(g->offsets), *par = jl_data(g->parent), *src = jl_data(g->src);
    const int64_t *dst = jl_data(g->dst), *eo = jl_data(g->edge_offsets);
    const int64_t *nc = jl_data(g->n_constituents);
    cr_assert_eq(go[0], 0);
    cr_assert_eq(eo[0], 0);
    cr_assert_eq(eo[g->n_nodes], g->n_edges);
    jl_lund_node *nd = malloc(sizeof *nd * 1024);
    int64_t roots = 0;
    for (int64_t b = 0; b < B; b++) {
        int64_t n = off[b + 1] - off[b];
        cr_assert_eq(nc[b], n);
        int want = jl_lund_decluster(p + off[b], n, o, nd);
        if (want == 0) { /* no declustering: one node of zeros, no edges */
            int64_t r = go[b];
            cr_assert_eq(go[b + 1] - r, 1, "jet %lld: a jet without declustering is one node", (long long)b);
            for (int f = 0; f < F; f++)
                cr_assert_eq(x[r * F + f], 0.0f, "jet %lld: the lone node is zeros", (long long)b);
            cr_assert_eq(par[r], -1);
            cr_assert_eq(eo[r + 1], eo[r], "jet %lld: the lone node has no edges", (long long)b);
            roots++;
            continue;
        }
        cr_assert_eq(go[b + 1] - go[b], want, "jet %lld: %lld nodes, want %d", (long long)b,
                     (long long)(go[b + 1] - go[b]), want);
        for (int i = 0; i < want; i++) {
            int64_t r = go[b] + i;
            float f5[5] = {(float)nd[i].ln_z, (float)nd[i].ln_delta, (float)nd[i].psi,
                           (float)nd[i].ln_m, (float)nd[i].ln_kt};
            float f3[3] = {f5[0], f5[1], f5[4]};
            cr_assert(memcmp(x + r * F, F == 5 ? f5 : f3, sizeof(float) * (size_t)F) == 0,
                      "jet %lld node %d: features", (long long)b, i);
            cr_assert_eq(par[r], nd[i].parent < 0 ? -1 : go[b] + nd[i].parent);
            roots += par[r] < 0;
            /* edges into r: from its parent first, then from its children in order */
            int64_t e = eo[r];
            if (par[r] >= 0) {
                cr_assert_eq(src[e], par[r]);
                cr_assert_eq(dst[e], r);
                e++;
            }
            for (int64_t c = r + 1; c < go[b + 1]; c++) {
                if (par[c] != r)
                    continue;
                cr_assert_lt(e, eo[r + 1], "node %lld: too few edges", (long long)r);
                cr_assert_eq(src[e], c);
                cr_assert_eq(dst[e], r);
                e++;
            }
            cr_assert_eq(e, eo[r + 1], "node %lld: edge count", (long long)r);
        }
    }
    cr_assert_eq(g->n_edges, 2 * (g->n_nodes - roots), "every tree edge both ways");
    free(nd);
}

/* B ragged jets with sizes cycling through 0, 1, 2, ..., 60. */
static jl_p4 *ragged_batch(int64_t B, int64_t *off)
{
    off[0] = 0;
    for (int64_t b = 0; b < B; b++)
        off[b + 1] = off[b] + b % 61;
    jl_p4 *p = malloc(sizeof *p * (size_t)(off[B] + 1));
    for (int64_t b = 0; b < B; b++)
        random_jet(p + off[b], (int)(off[b + 1] - off[b]), (int)(b % 2), (unsigned)b + 7);
    return p;
}

Test(lund, graph_batch_layout)
{
    int64_t B = 150, off[151];
    jl_p4 *p = ragged_batch(B, off);
    jl_lund_opts opts[] = {{0}, {.features = 3}, {.features = 5, .kt_cut = true, .ln_kt_min = 0.7}};
    for (size_t k = 0; k < sizeof opts / sizeof *opts; k++) {
        jl_lund_graphs g;
        cr_assert_eq(jl_lund_graphs_ragged(p, off, B, &opts[k], &g), JL_OK, "%s", jl_last_error());
        check_graphs(&g, p, off, B, &opts[k]);
        int64_t bound = 0;
        for (int64_t b = 0; b < B; b++)
            bound += JL_LUND_GRAPH_NODES(off[b + 1] - off[b]);
        if (opts[k].kt_cut)
            cr_assert(g.n_nodes > 0 && g.n_nodes < bound, "the cut drops some nodes, not all");
        else
            cr_assert_eq(g.n_nodes, bound, "n - 1 nodes per jet (1, of zeros, for sizes 0, 1 and 2 when cut)");
        jl_lund_graphs_free(&g);
        jl_lund_graphs_free(&g);
        cr_assert_null(g.x);
    }
    jl_lund_graphs g;
    cr_assert_eq(jl_lund_graphs_ragged(NULL, (int64_t[]){0}, 0, &(jl_lund_opts){0}, &g), JL_OK);
    cr_assert_eq(g.n_nodes, 0);
    cr_assert_eq(g.x->shape[0], 0);
    cr_assert_eq(g.offsets->shape[0], 1);
    jl_lund_graphs_free(&g);
    free(p);
}

Test(lund, atlas_input_equals_ragged_four_vectors)
{
    int64_t B = 40, C = 30, off[41] = {0};
    float *cols[4];
    for (int k = 0; k < 4; k++)
        cols[k] = calloc((size_t)(B * C), sizeof(float));
    jl_p4 *p = malloc(sizeof *p * (size_t)(B * C));
    srand(5);
    for (int64_t b = 0; b < B; b++) {
        int64_t n = b % (C + 1); /* 0 .. C real constituents, the rest padding */
        for (int64_t j = 0; j < n; j++) {
            float pt = (float)(1 + 300.0 * pow(rand() / (double)RAND_MAX, 3));
            float eta = (float)(0.6 * rand() / RAND_MAX - 0.3);
            float phi = (float)(3.0 + 0.6 * rand() / RAND_MAX);
            float E = (float)(pt * cosh(eta) * 1.001);
            int64_t at = b * C + j;
            cols[0][at] = pt, cols[1][at] = eta, cols[2][at] = phi, cols[3][at] = E;
            p[off[b] + j] = (jl_p4){(double)pt * cos((double)phi), (double)pt * sin((double)phi),
                                    (double)pt * sinh((double)eta), (double)E};
        }
        off[b + 1] = off[b] + n;
    }
    jl_tensor *t[4];
    for (int k = 0; k < 4; k++)
        t[k] = ref_tensor(2, (int64_t[]){B, C}, cols[k], false);
    jl_lund_opts o = {.features = 5};
    jl_lund_graphs g;
    cr_assert_eq(jl_lund_graphs_atlas(t[0], t[1], t[2], t[3], &o, &g), JL_OK, "%s", jl_last_error());
    check_graphs(&g, p, off, B, &o);
    jl_lund_graphs_free(&g);
    for (int k = 0; k < 4; k++) {
        jl_release(t[k]);
        free(cols[k]);
    }
    free(p);
}

Test(lund, same_graphs_for_any_thread_count)
{
    int64_t B = 600, off[601];
    jl_p4 *p = ragged_batch(B, off);
    int before = jl_get_num_threads();
    jl_lund_graphs g[2];
    jl_lund_opts o = {.kt_cut = true, .ln_kt_min = 0.2};
    for (int t = 0; t < 2; t++) {
        jl_set_num_threads(t == 0 ? 1 : 3);
        cr_assert_eq(jl_lund_graphs_ragged(p, off, B, &o, &g[t]), JL_OK);
    }
    jl_set_num_threads(before);
    jl_tensor *a[7] = {g[0].x, g[0].offsets, g[0].parent, g[0].src, g[0].dst, g[0].edge_offsets,
                       g[0].n_constituents};
    jl_tensor *b[7] = {g[1].x, g[1].offsets, g[1].parent, g[1].src, g[1].dst, g[1].edge_offsets,
                       g[1].n_constituents};
    for (int k = 0; k < 7; k++) {
        size_t bytes = (size_t)jl_numel(a[k]) * (a[k]->dtype == JL_F32 ? 4 : 8);
        cr_assert_eq(jl_numel(a[k]), jl_numel(b[k]));
        cr_assert(memcmp(jl_data(a[k]), jl_data(b[k]), bytes) == 0, "tensor %d differs", k);
    }
    jl_lund_graphs_free(&g[0]);
    jl_lund_graphs_free(&g[1]);
    free(p);
}
