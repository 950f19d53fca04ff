/* cluster.c — four-momentum kinematics and generalised-kt clustering with
 * FastJet's conventions (see jl_jets.h).
 *
 * The algorithm is the O(N^2) nearest-neighbour scheme of FastJet's N2Plain
 * strategy: every active pseudojet caches its geometric nearest neighbour
 * (dR^2 < R^2) and its d_i = min(kt2_i, kt2_NN) * dR^2_NN (or kt2_i * R^2 when
 * it has none); a step takes the smallest d_i, merges or sends to the beam,
 * then refreshes only the neighbours that pointed at the two parents, and
 * compares every pseudojet with the new one. Active pseudojets live in a
 * compact array; a removed slot is filled with the last one. The scan order,
 * the strict comparisons and the slot bookkeeping follow N2Plain, so ties are
 * resolved the same way. Floating-point contraction is off in this file so
 * distances round as in a plain build of FastJet on any CPU.
 */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include "jl_error.h"
#include "jl_jets.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>

#define JL_PI 3.141592653589793238462643383279502884
#define JL_TWOPI 6.283185307179586476925286766559005768

/* --- kinematics ------------------------------------------------------------ */

double jl_p4_pt2(jl_p4 p) { return p.px * p.px + p.py * p.py; }

double jl_p4_pt(jl_p4 p) { return sqrt(jl_p4_pt2(p)); }

double jl_p4_m2(jl_p4 p) { return (p.E + p.pz) * (p.E - p.pz) - jl_p4_pt2(p); }

double jl_p4_m(jl_p4 p)
{
    double m2 = jl_p4_m2(p);
    return m2 > 0 ? sqrt(m2) : 0.0;
}

double jl_p4_phi(jl_p4 p)
{
    double phi = jl_p4_pt2(p) == 0.0 ? 0.0 : atan2(p.py, p.px);
    if (phi < 0.0)
        phi += JL_TWOPI;
    if (phi >= JL_TWOPI)
        phi -= JL_TWOPI;
    return phi;
}

double jl_p4_rap(jl_p4 p)
{
    double pt2 = jl_p4_pt2(p);
    if (pt2 == 0.0 && p.E == fabs(p.pz)) {
        double big = JL_MAX_RAP + fabs(p.pz);
        return p.pz >= 0.0 ? big : -big;
    }
    double m2 = jl_p4_m2(p);
    double plus = p.E + fabs(p.pz); /* the larger light-cone component */
    double rap = 0.5 * log((pt2 + (m2 > 0.0 ? m2 : 0.0)) / (plus * plus));
    return p.pz > 0.0 ? -rap : rap;
}

double jl_p4_eta(jl_p4 p)
{
    double pt = jl_p4_pt(p);
    if (pt == 0.0)
        return JL_MAX_RAP;
    return asinh(p.pz / pt);
}

jl_p4 jl_p4_add(jl_p4 a, jl_p4 b)
{
    return (jl_p4){a.px + b.px, a.py + b.py, a.pz + b.pz, a.E + b.E};
}

/* --- clustering ------------------------------------------------------------ */

/* An active pseudojet as the nearest-neighbour search sees it. */
typedef struct brief {
    double rap, phi;
    double kt2;     /* momentum factor pt^(2p) */
    double nn_dist; /* dR^2 to nn, or R^2 when nn < 0 */
    int nn;         /* slot of the nearest neighbour within R, -1 when none */
    int jet;        /* pseudojet index */
} brief;

typedef struct state {
    jl_cluster *c;
    brief *b;
    double *di; /* (active) d_i * R^2 of each slot */
    int active;
    double r2, inv_r2;
} state;

/* pt^(2p) with FastJet's special cases (kt, C/A, anti-kt, generalised kt). */
static double momentum_factor(double pt2, double p)
{
    if (p == JL_KT)
        return pt2;
    if (p == JL_CAMBRIDGE)
        return 1.0;
    if (p == JL_ANTIKT)
        return pt2 > 1e-300 ? 1.0 / pt2 : 1e300;
    if (p <= 0 && pt2 < 1e-300)
        pt2 = 1e-300;
    return pow(pt2, p);
}

static void set_brief(state *s, int slot, int jet)
{
    jl_p4 p = s->c->p[jet];
    s->b[slot] = (brief){
        .rap = jl_p4_rap(p),
        .phi = jl_p4_phi(p),
        .kt2 = momentum_factor(jl_p4_pt2(p), s->c->def.p),
        .nn_dist = s->r2,
        .nn = -1,
        .jet = jet,
    };
}

static inline double dist2(const brief *a, const brief *b)
{
    double dphi = fabs(a->phi - b->phi);
    double drap = a->rap - b->rap;
    if (dphi > JL_PI)
        dphi = JL_TWOPI - dphi;
    return dphi * dphi + drap * drap;
}

static inline double slot_di(const state *s, int i)
{
    const brief *b = &s->b[i];
    double kt2 = b->kt2;
    if (b->nn >= 0 && s->b[b->nn].kt2 < kt2)
        kt2 = s->b[b->nn].kt2;
    return b->nn_dist * kt2;
}

/* Nearest neighbour of slot i among slots [0, end) except i itself. */
static void find_nn(state *s, int i, int end)
{
    brief *bi = &s->b[i];
    double best = s->r2;
    int nn = -1;
    for (int j = 0; j < end; j++) {
        if (j == i)
            continue;
        double d = dist2(bi, &s->b[j]);
        if (d < best) {
            best = d;
            nn = j;
        }
    }
    bi->nn = nn;
    bi->nn_dist = best;
}

/* Nearest neighbour of slot i among slots [0, i), updating theirs on the way. */
static void find_nn_crosscheck(state *s, int i)
{
    brief *bi = &s->b[i];
    double best = s->r2;
    int nn = -1;
    for (int j = 0; j < i; j++) {
        brief *bj = &s->b[j];
        double d = dist2(bi, bj);
        if (d < best) {
            best = d;
            nn = j;
        }
        if (d < bj->nn_dist) {
            bj->nn_dist = d;
            bj->nn = i;
        }
    }
    bi->nn = nn;
    bi->nn_dist = best;
}

static void add_step(jl_cluster *c, int a, int b, int child, double dij)
{
    int s = c->n_steps++;
    if (b != JL_CLUSTER_BEAM && b < a) {
        int t = a;
        a = b;
        b = t;
    }
    c->steps[s] = (jl_cluster_step){a, b, child, dij};
    if (child >= 0)
        c->made_by[child] = s;
}

/* One step: the smallest d_i merges its slot with its neighbour or ends it as a jet. */
static void cluster_step(state *s)
{
    jl_cluster *c = s->c;
    int a = 0;
    double dmin = s->di[0];
    for (int i = 1; i < s->active; i++) {
        if (s->di[i] < dmin) {
            a = i;
            dmin = s->di[i];
        }
    }
    dmin *= s->inv_r2; /* d_i was kept times R^2 */
    int b = s->b[a].nn;
    if (b >= 0) {
        if (a < b) { /* the merged pseudojet takes the lower slot */
            int t = a;
            a = b;
            b = t;
        }
        int k = c->n_pseudojets++;
        c->p[k] = jl_p4_add(c->p[s->b[a].jet], c->p[s->b[b].jet]);
        add_step(c, s->b[a].jet, s->b[b].jet, k, dmin);
        set_brief(s, b, k);
    } else {
        add_step(c, s->b[a].jet, JL_CLUSTER_BEAM, JL_CLUSTER_BEAM, dmin);
    }

    int tail = --s->active;
    s->b[a] = s->b[tail];
    s->di[a] = s->di[tail];
    for (int i = 0; i < s->active; i++) {
        brief *bi = &s->b[i];
        if (bi->nn == a || (b >= 0 && bi->nn == b)) {
            find_nn(s, i, s->active);
            s->di[i] = slot_di(s, i);
        }
        if (b >= 0 && i != b) {
            double d = dist2(bi, &s->b[b]);
            if (d < bi->nn_dist) {
                bi->nn_dist = d;
                bi->nn = b;
                s->di[i] = slot_di(s, i);
            }
            if (d < s->b[b].nn_dist) {
                s->b[b].nn_dist = d;
                s->b[b].nn = i;
            }
        }
        if (bi->nn == tail)
            bi->nn = a;
    }
    if (b >= 0)
        s->di[b] = slot_di(s, b);
}

static int cmp_int(const void *x, const void *y)
{
    int a = *(const int *)x, b = *(const int *)y;
    return (a > b) - (a < b);
}

static int cmp_jet(const void *x, const void *y)
{
    const jl_jet *a = x, *b = y;
    double pa = jl_p4_pt2(a->p), pb = jl_p4_pt2(b->p);
    if (pa != pb)
        return pa < pb ? 1 : -1;
    return (a->pseudojet > b->pseudojet) - (a->pseudojet < b->pseudojet);
}

/* The inclusive jets (beam steps with pt >= ptmin), their kinematics and
 * constituents. stack is scratch of n_pseudojets ints. */
static void collect_jets(jl_cluster *c, int *stack)
{
    double ptmin2 = c->def.ptmin * c->def.ptmin;
    for (int s = 0; s < c->n_steps; s++) {
        const jl_cluster_step *st = &c->steps[s];
        if (st->parent2 != JL_CLUSTER_BEAM || jl_p4_pt2(c->p[st->parent1]) < ptmin2)
            continue;
        jl_p4 p = c->p[st->parent1];
        c->jets[c->n_jets++] = (jl_jet){
            .p = p,
            .pt = jl_p4_pt(p),
            .y = jl_p4_rap(p),
            .eta = jl_p4_eta(p),
            .phi = jl_p4_phi(p),
            .m = jl_p4_m(p),
            .pseudojet = st->parent1,
        };
    }
    qsort(c->jets, (size_t)c->n_jets, sizeof *c->jets, cmp_jet);

    int used = 0;
    for (int j = 0; j < c->n_jets; j++) {
        jl_jet *jet = &c->jets[j];
        int *out = c->constituent_store + used, n = 0, top = 0;
        stack[top++] = jet->pseudojet;
        while (top > 0) {
            int k = stack[--top], a, b;
            if (jl_cluster_parents(c, k, &a, &b)) {
                stack[top++] = a;
                stack[top++] = b;
            } else {
                out[n++] = k;
            }
        }
        qsort(out, (size_t)n, sizeof *out, cmp_int);
        jet->n = n;
        jet->constituents = out;
        used += n;
    }
}

static int check_input(const jl_p4 *in, int64_t n, const jl_jetdef *def)
{
    if (!def)
        return JL_FAIL("cluster: no jet definition");
    if (!(def->r > 0) || !isfinite(def->r))
        return JL_FAIL("cluster: R must be a finite number > 0, got %g", def->r);
    if (!isfinite(def->p))
        return JL_FAIL("cluster: p must be finite, got %g", def->p);
    if (!(def->ptmin >= 0) || !isfinite(def->ptmin))
        return JL_FAIL("cluster: ptmin must be a finite number >= 0, got %g", def->ptmin);
    if (n < 0 || n > INT_MAX / 2)
        return JL_FAIL("cluster: particle count %lld out of range", (long long)n);
    if (n > 0 && !in)
        return JL_FAIL("cluster: particles is NULL");
    for (int64_t i = 0; i < n; i++) {
        jl_p4 p = in[i];
        if (!isfinite(p.px) || !isfinite(p.py) || !isfinite(p.pz) || !isfinite(p.E))
            return JL_FAIL("cluster: particle %lld has a non-finite component (%g %g %g %g)",
                           (long long)i, p.px, p.py, p.pz, p.E);
        if (!isfinite(jl_p4_rap(p)))
            return JL_FAIL("cluster: particle %lld (%g %g %g %g) has no finite rapidity "
                           "(E < |pz| with pt = 0, or E + |pz| = 0)",
                           (long long)i, p.px, p.py, p.pz, p.E);
    }
    return JL_OK;
}

jl_cluster *jl_cluster_run(const jl_p4 *in, int64_t n64, const jl_jetdef *def)
{
    if (check_input(in, n64, def))
        return NULL;
    int n = (int)n64;
    size_t np = (size_t)(n > 0 ? 2 * n - 1 : 1); /* inputs + at most n - 1 merges */
    size_t ns = (size_t)(n > 0 ? n : 1);
    jl_cluster *c = calloc(1, sizeof *c);
    brief *b = malloc(ns * sizeof *b);
    double *di = malloc(ns * sizeof *di);
    int *stack = malloc(np * sizeof *stack);
    if (c) {
        c->p = malloc(np * sizeof *c->p);
        c->made_by = malloc(np * sizeof *c->made_by);
        c->steps = malloc(ns * sizeof *c->steps);
        c->jets = malloc(ns * sizeof *c->jets);
        c->constituent_store = malloc(ns * sizeof *c->constituent_store);
    }
    if (!c || !b || !di || !stack || !c->p || !c->made_by || !c->steps || !c->jets ||
        !c->constituent_store) {
        JL_FAIL_CODE(JL_ENOMEM, "cluster: out of memory for %d particles", n);
        jl_cluster_free(c);
        free(b);
        free(di);
        free(stack);
        return NULL;
    }
    c->def = *def;
    c->n_particles = n;
    c->n_pseudojets = n;
    state s = {.c = c, .b = b, .di = di, .active = n, .r2 = def->r * def->r};
    s.inv_r2 = 1.0 / s.r2;
    for (int i = 0; i < n; i++) {
        c->p[i] = in[i];
        c->made_by[i] = -1;
        set_brief(&s, i, i);
    }
    for (int i = 1; i < n; i++)
        find_nn_crosscheck(&s, i);
    for (int i = 0; i < n; i++)
        di[i] = slot_di(&s, i);
    while (s.active > 0)
        cluster_step(&s);
    collect_jets(c, stack);
    free(b);
    free(di);
    free(stack);
    return c;
}

void jl_cluster_free(jl_cluster *c)
{
    if (!c)
        return;
    free(c->p);
    free(c->made_by);
    free(c->steps);
    free(c->jets);
    free(c->constituent_store);
    free(c);
}

int jl_cluster_parents(const jl_cluster *c, int k, int *a, int *b)
{
    if (k < c->n_particles || k >= c->n_pseudojets)
        return 0;
    const jl_cluster_step *st = &c->steps[c->made_by[k]];
    *a = st->parent1;
    *b = st->parent2;
    return 1;
}
