/* cluster.c — four-momentum kinematics and generalised-kt clustering with
 * FastJet's conventions (see jl_jets.h).
 *
 * Both strategies are FastJet's nearest-neighbour scheme: every active
 * pseudojet caches its geometric nearest neighbour (dR^2 < R^2) and its
 * d_i = min(kt2_i, kt2_NN) * dR^2_NN (or kt2_i * R^2 when it has none); a step
 * takes the smallest d_i, merges or sends to the beam, then refreshes only the
 * pseudojets that pointed at the two parents and compares the others with the
 * new one. N2Plain keeps the active pseudojets in one compact array (a removed
 * slot is filled with the last one) and compares with all of them; its scan
 * order, strict comparisons and slot bookkeeping follow FastJet's N2Plain, so
 * ties are resolved the same way. N2Tiled looks only in the 3x3 tiles around a
 * pseudojet. Floating-point contraction is off in this file so distances round
 * as in a plain build of FastJet on any CPU. */
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
    if (phi < 0.0) phi += JL_TWOPI;
    if (phi >= JL_TWOPI) phi -= JL_TWOPI;
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
    if (pt == 0.0) return JL_MAX_RAP;
    return asinh(p.pz / pt);
}

jl_p4 jl_p4_add(jl_p4 a, jl_p4 b) { return (jl_p4){a.px + b.px, a.py + b.py, a.pz + b.pz, a.E + b.E}; }

/* --- clustering: shared pieces ---------------------------------------------- */

/* An active pseudojet as the nearest-neighbour search sees it. */
typedef struct brief {
    double rap, phi;
    double kt2;     /* momentum factor pt^(2p) */
    double nn_dist; /* dR^2 to nn, or R^2 when nn < 0 */
    int nn;         /* index of the nearest neighbour within R, -1 when none */
    int jet;        /* pseudojet index */
} brief;

/* pt^(2p) with FastJet's special cases (kt, C/A, anti-kt, generalised kt). */
static double momentum_factor(double pt2, double p)
{
    if (p == JL_KT) return pt2;
    if (p == JL_CAMBRIDGE) return 1.0;
    if (p == JL_ANTIKT) return pt2 > 1e-300 ? 1.0 / pt2 : 1e300;
    if (p <= 0 && pt2 < 1e-300) pt2 = 1e-300;
    return pow(pt2, p);
}

/* A merged pseudojet's rapidity: the inputs are checked to have finite ones,
 * but a sum with negative energies can still have E + |pz| <= 0 (0/0 or
 * log of infinity); it then takes the beam value, as a pt = 0, E = |pz| one. */
static double merged_rapidity(jl_p4 p)
{
    double rap = jl_p4_rap(p);
    if (isfinite(rap)) return rap;
    return p.pz >= 0.0 ? JL_MAX_RAP + fabs(p.pz) : -(JL_MAX_RAP + fabs(p.pz));
}

static brief make_brief(const jl_cluster *c, int jet, double r2)
{
    jl_p4 p = c->p[jet];
    return (brief){
        .rap = merged_rapidity(p),
        .phi = jl_p4_phi(p),
        .kt2 = momentum_factor(jl_p4_pt2(p), c->def.p),
        .nn_dist = r2,
        .nn = -1,
        .jet = jet,
    };
}

static inline double dist2(const brief *a, const brief *b)
{
    double dphi = fabs(a->phi - b->phi);
    double drap = a->rap - b->rap;
    if (dphi > JL_PI) dphi = JL_TWOPI - dphi;
    return dphi * dphi + drap * drap;
}

/* d_i * R^2 of entry i: min(kt2_i, kt2_nn) * dR^2_nn, or kt2_i * R^2 without a neighbour. */
static inline double brief_di(const brief *all, int i)
{
    const brief *b = &all[i];
    double kt2 = b->kt2;
    if (b->nn >= 0 && all[b->nn].kt2 < kt2) kt2 = all[b->nn].kt2;
    return b->nn_dist * kt2;
}

/* Position of the first smallest of n >= 1 values. */
static int argmin(const double *v, int n, double *min)
{
    int pos = 0;
    double m = v[0];
    for (int i = 1; i < n; i++) {
        if (v[i] < m) {
            pos = i;
            m = v[i];
        }
    }
    *min = m;
    return pos;
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
    if (child >= 0) c->made_by[child] = s;
}

/* Records the merge of pseudojets ja and jb (E-scheme); returns the new pseudojet. */
static int merge(jl_cluster *c, int ja, int jb, double dij)
{
    int k = c->n_pseudojets++;
    c->p[k] = jl_p4_add(c->p[ja], c->p[jb]);
    add_step(c, ja, jb, k, dij);
    return k;
}

/* --- N2Plain: every active pseudojet in one compact array ------------------ */

typedef struct plain {
    jl_cluster *c;
    brief *b;   /* (active) */
    double *di; /* (active) brief_di of each slot */
    int active;
    double r2;
} plain;

/* Nearest neighbour of slot i among slots [0, end) except i itself. */
static void plain_find_nn(plain *s, int i, int end)
{
    brief *bi = &s->b[i];
    double best = s->r2;
    int nn = -1;
    for (int j = 0; j < end; j++) {
        if (j == i) continue;
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
static void plain_find_nn_crosscheck(plain *s, int i)
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

/* One step: the smallest d_i merges its slot with its neighbour or ends it as
 * a jet; the last slot fills the freed one. */
static void plain_step(plain *s)
{
    jl_cluster *c = s->c;
    double dmin;
    int a = argmin(s->di, s->active, &dmin);
    dmin *= 1.0 / s->r2; /* FastJet multiplies by its 1/R^2 */
    int b = s->b[a].nn;
    if (b >= 0) {
        if (a < b) { /* the merged pseudojet takes the lower slot */
            int t = a;
            a = b;
            b = t;
        }
        int k = merge(c, s->b[a].jet, s->b[b].jet, dmin);
        s->b[b] = make_brief(c, k, s->r2);
    } else {
        add_step(c, s->b[a].jet, JL_CLUSTER_BEAM, JL_CLUSTER_BEAM, dmin);
    }

    int tail = --s->active;
    s->b[a] = s->b[tail];
    s->di[a] = s->di[tail];
    for (int i = 0; i < s->active; i++) {
        brief *bi = &s->b[i];
        if (bi->nn == a || (b >= 0 && bi->nn == b)) {
            plain_find_nn(s, i, s->active);
            s->di[i] = brief_di(s->b, i);
        }
        if (b >= 0 && i != b) {
            double d = dist2(bi, &s->b[b]);
            if (d < bi->nn_dist) {
                bi->nn_dist = d;
                bi->nn = b;
                s->di[i] = brief_di(s->b, i);
            }
            if (d < s->b[b].nn_dist) {
                s->b[b].nn_dist = d;
                s->b[b].nn = i;
            }
        }
        if (bi->nn == tail) bi->nn = a;
    }
    if (b >= 0) s->di[b] = brief_di(s->b, b);
}

static int plain_run(jl_cluster *c, double r2)
{
    int n = c->n_particles;
    plain s = {.c = c, .active = n, .r2 = r2};
    s.b = malloc((size_t)n * sizeof *s.b);
    s.di = malloc((size_t)n * sizeof *s.di);
    if (!s.b || !s.di) {
        free(s.b);
        free(s.di);
        return JL_FAIL_CODE(JL_ENOMEM, "cluster: out of memory for %d particles", n);
    }
    for (int i = 0; i < n; i++) s.b[i] = make_brief(c, i, r2);
    for (int i = 1; i < n; i++) plain_find_nn_crosscheck(&s, i);
    for (int i = 0; i < n; i++) s.di[i] = brief_di(s.b, i);
    while (s.active > 0) plain_step(&s);
    free(s.b);
    free(s.di);
    return JL_OK;
}

/* --- N2Tiled: neighbours searched in the 3x3 tiles around a pseudojet -------
 * Tiles at least R wide in y and phi, so a neighbour within R is in the same
 * or an adjacent tile (phi wraps; the first and last rapidity rows extend to
 * infinity). Entries keep their index for the whole run (a merge reuses the
 * lower one); tiles hold doubly linked lists of entries; the d_i live in a
 * compact array scanned for its minimum, as in N2Plain. */

typedef struct tiled {
    jl_cluster *c;
    brief *b;                         /* (n) entries */
    int *tile, *prev, *next, *di_pos; /* (n) per entry */
    double *di;                       /* (active) */
    int *di_entry;                    /* (active) the entry of each d_i */
    int active;
    int *head; /* (ny * nphi) first entry of a tile, -1 when empty */
    int *seen; /* (ny * nphi) stamp of the last step that listed the tile */
    int stamp;
    int ny, nphi;
    double ymin, ywidth, phiwidth, r2;
} tiled;

static int tile_of(const tiled *t, const brief *b)
{
    double fy = (b->rap - t->ymin) / t->ywidth, fp = b->phi / t->phiwidth;
    int iy = !(fy >= 0) ? 0 : fy >= t->ny ? t->ny - 1 : (int)fy; /* NaN would make (int) undefined */
    int ip = !(fp >= 0) ? 0 : fp >= t->nphi ? t->nphi - 1 : (int)fp;
    return iy * t->nphi + ip;
}

/* The tile and its (up to) 8 neighbours; returns how many. */
static int neighbourhood(const tiled *t, int tile, int out[9])
{
    int iy = tile / t->nphi, ip = tile % t->nphi, n = 0;
    for (int y = iy - 1; y <= iy + 1; y++) {
        if (y < 0 || y >= t->ny) continue;
        for (int dp = -1; dp <= 1; dp++) out[n++] = y * t->nphi + (ip + dp + t->nphi) % t->nphi;
    }
    return n;
}

static void tile_insert(tiled *t, int e)
{
    int tile = t->tile[e] = tile_of(t, &t->b[e]);
    t->prev[e] = -1;
    t->next[e] = t->head[tile];
    if (t->head[tile] >= 0) t->prev[t->head[tile]] = e;
    t->head[tile] = e;
}

static void tile_remove(tiled *t, int e)
{
    if (t->prev[e] >= 0) t->next[t->prev[e]] = t->next[e];
    else t->head[t->tile[e]] = t->next[e];
    if (t->next[e] >= 0) t->prev[t->next[e]] = t->prev[e];
}

static void tiled_find_nn(tiled *t, int e)
{
    int tiles[9], nt = neighbourhood(t, t->tile[e], tiles);
    brief *be = &t->b[e];
    double best = t->r2;
    int nn = -1;
    for (int k = 0; k < nt; k++) {
        for (int j = t->head[tiles[k]]; j >= 0; j = t->next[j]) {
            if (j == e) continue;
            double d = dist2(be, &t->b[j]);
            if (d < best) {
                best = d;
                nn = j;
            }
        }
    }
    be->nn = nn;
    be->nn_dist = best;
}

/* Appends the not yet listed tiles around `tile` to list; returns the new count. */
static int list_tiles(tiled *t, int tile, int *list, int n)
{
    int tiles[9], nt = neighbourhood(t, tile, tiles);
    for (int k = 0; k < nt; k++) {
        if (t->seen[tiles[k]] != t->stamp) {
            t->seen[tiles[k]] = t->stamp;
            list[n++] = tiles[k];
        }
    }
    return n;
}

static void tiled_step(tiled *t)
{
    jl_cluster *c = t->c;
    double dmin;
    int a = t->di_entry[argmin(t->di, t->active, &dmin)];
    dmin *= 1.0 / t->r2;
    int b = t->b[a].nn, list[27], nl = 0;
    t->stamp++;
    nl = list_tiles(t, t->tile[a], list, nl);
    if (b >= 0) {
        nl = list_tiles(t, t->tile[b], list, nl);
        if (a < b) { /* the merged pseudojet takes the lower entry */
            int tmp = a;
            a = b;
            b = tmp;
        }
        int k = merge(c, t->b[a].jet, t->b[b].jet, dmin);
        tile_remove(t, b);
        t->b[b] = make_brief(c, k, t->r2);
        tile_insert(t, b);
        nl = list_tiles(t, t->tile[b], list, nl);
    } else {
        add_step(c, t->b[a].jet, JL_CLUSTER_BEAM, JL_CLUSTER_BEAM, dmin);
    }
    tile_remove(t, a);
    int pos = t->di_pos[a], last = --t->active;
    t->di[pos] = t->di[last];
    t->di_entry[pos] = t->di_entry[last];
    t->di_pos[t->di_entry[pos]] = pos;

    for (int k = 0; k < nl; k++) {
        for (int i = t->head[list[k]]; i >= 0; i = t->next[i]) {
            brief *bi = &t->b[i];
            if (bi->nn == a || (b >= 0 && bi->nn == b)) {
                tiled_find_nn(t, i);
                t->di[t->di_pos[i]] = brief_di(t->b, i);
            }
            if (b >= 0 && i != b) {
                double d = dist2(bi, &t->b[b]);
                if (d < bi->nn_dist) {
                    bi->nn_dist = d;
                    bi->nn = b;
                    t->di[t->di_pos[i]] = brief_di(t->b, i);
                }
                if (d < t->b[b].nn_dist) {
                    t->b[b].nn_dist = d;
                    t->b[b].nn = i;
                }
            }
        }
    }
    if (b >= 0) t->di[t->di_pos[b]] = brief_di(t->b, b);
}

/* Tile size and grid for n particles: at least R, and no more than about 4n
 * tiles. Returns 0 when phi would have fewer than 3 tiles (R > 2pi/3). */
static int tiled_grid(tiled *t, double r, int n)
{
    double lo = HUGE_VAL, hi = -HUGE_VAL;
    for (int i = 0; i < n; i++) {
        double y = t->b[i].rap;
        if (fabs(y) < JL_MAX_RAP) { /* pt = 0 particles sit in the edge rows */
            lo = y < lo ? y : lo;
            hi = y > hi ? y : hi;
        }
    }
    if (lo > hi) lo = hi = 0;
    double size = r, span = hi - lo, budget = 4.0 * n + 64;
    if ((span / size + 1) * (JL_TWOPI / size) > budget) size = sqrt((span + size) * JL_TWOPI / budget);
    t->nphi = (int)(JL_TWOPI / size);
    if (t->nphi < 3) return 0;
    t->phiwidth = JL_TWOPI / t->nphi;
    t->ny = span >= size ? (int)(span / size) : 1;
    t->ywidth = span >= size ? span / t->ny : size;
    t->ymin = lo;
    return 1;
}

/* Returns JL_OK, an error, or 1 when the grid cannot be tiled (use N2Plain). */
static int tiled_run(jl_cluster *c, double r2)
{
    int n = c->n_particles;
    tiled t = {.c = c, .active = n, .r2 = r2};
    t.b = malloc((size_t)n * sizeof *t.b);
    int *ints = malloc((size_t)n * 5 * sizeof *ints);
    t.di = malloc((size_t)n * sizeof *t.di);
    int rc = t.b && ints && t.di ? JL_OK : -1;
    if (rc == JL_OK) {
        for (int i = 0; i < n; i++) t.b[i] = make_brief(c, i, r2);
        rc = tiled_grid(&t, sqrt(r2), n) ? JL_OK : 1;
    }
    if (rc == JL_OK) {
        size_t ntiles = (size_t)t.ny * (size_t)t.nphi;
        t.head = malloc(ntiles * sizeof *t.head);
        t.seen = calloc(ntiles, sizeof *t.seen);
        rc = t.head && t.seen ? JL_OK : -1;
        for (size_t k = 0; rc == JL_OK && k < ntiles; k++) t.head[k] = -1;
    }
    if (rc == JL_OK) {
        t.tile = ints;
        t.prev = ints + n;
        t.next = ints + 2 * n;
        t.di_pos = ints + 3 * n;
        t.di_entry = ints + 4 * n;
        for (int i = n - 1; i >= 0; i--) /* lists in input order */
            tile_insert(&t, i);
        for (int i = 0; i < n; i++) {
            tiled_find_nn(&t, i);
            t.di_pos[i] = t.di_entry[i] = i;
        }
        for (int i = 0; i < n; i++) t.di[i] = brief_di(t.b, i);
        while (t.active > 0) tiled_step(&t);
    }
    free(t.b);
    free(ints);
    free(t.di);
    free(t.head);
    free(t.seen);
    if (rc < 0) return JL_FAIL_CODE(JL_ENOMEM, "cluster: out of memory for %d particles", n);
    return rc;
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
    if (pa != pb) return pa < pb ? 1 : -1;
    return (a->pseudojet > b->pseudojet) - (a->pseudojet < b->pseudojet);
}

/* The inclusive jets (beam steps with pt >= ptmin), their kinematics and
 * constituents. stack is scratch of n_pseudojets ints. */
static void collect_jets(jl_cluster *c, int *stack)
{
    double ptmin2 = c->def.ptmin * c->def.ptmin;
    for (int s = 0; s < c->n_steps; s++) {
        const jl_cluster_step *st = &c->steps[s];
        if (st->parent2 != JL_CLUSTER_BEAM || jl_p4_pt2(c->p[st->parent1]) < ptmin2) continue;
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
    if (!def) return JL_FAIL("cluster: no jet definition");
    if (!(def->r > 0) || !isfinite(def->r))
        return JL_FAIL("cluster: R must be a finite number > 0, got %g", def->r);
    if (!isfinite(def->p)) return JL_FAIL("cluster: p must be finite, got %g", def->p);
    if (!(def->ptmin >= 0) || !isfinite(def->ptmin))
        return JL_FAIL("cluster: ptmin must be a finite number >= 0, got %g", def->ptmin);
    if (n < 0 || n > INT_MAX / 2) return JL_FAIL("cluster: particle count %lld out of range", (long long)n);
    if (n > 0 && !in) return JL_FAIL("cluster: particles is NULL");
    for (int64_t i = 0; i < n; i++) {
        jl_p4 p = in[i];
        if (!isfinite(p.px) || !isfinite(p.py) || !isfinite(p.pz) || !isfinite(p.E))
            return JL_FAIL("cluster: particle %lld has a non-finite component (%g %g %g %g)",
                           (long long)i + 1, p.px, p.py, p.pz, p.E);
        if (!isfinite(jl_p4_rap(p)))
            return JL_FAIL("cluster: particle %lld (%g %g %g %g) has no finite rapidity "
                           "(E < |pz| with pt = 0, or E + |pz| = 0)",
                           (long long)i + 1, p.px, p.py, p.pz, p.E);
    }
    return JL_OK;
}

/* FastJet's choice between N2Plain and N2Tiled for its Best strategy. */
static int use_tiles(const jl_jetdef *def, int n)
{
    if (def->strategy == JL_STRATEGY_PLAIN) return 0;
    if (def->strategy == JL_STRATEGY_TILED) return 1;
    double r = def->r < 0.1 ? 0.1 : def->r;
    return (r * 3.3 < 1.0 ? r * 3.3 : 1.0) * n > 30;
}

jl_cluster *jl_cluster_run(const jl_p4 *in, int64_t n64, const jl_jetdef *def)
{
    if (check_input(in, n64, def)) return NULL;
    int n = (int)n64;
    size_t np = (size_t)(n > 0 ? 2 * n - 1 : 1); /* inputs + at most n - 1 merges */
    size_t ns = (size_t)(n > 0 ? n : 1);
    jl_cluster *c = calloc(1, sizeof *c);
    int *stack = malloc(np * sizeof *stack);
    if (c) {
        c->p = malloc(np * sizeof *c->p);
        c->made_by = malloc(np * sizeof *c->made_by);
        c->steps = malloc(ns * sizeof *c->steps);
        c->jets = malloc(ns * sizeof *c->jets);
        c->constituent_store = malloc(ns * sizeof *c->constituent_store);
    }
    if (!c || !stack || !c->p || !c->made_by || !c->steps || !c->jets || !c->constituent_store) {
        JL_FAIL_CODE(JL_ENOMEM, "cluster: out of memory for %d particles", n);
        jl_cluster_free(c);
        free(stack);
        return NULL;
    }
    c->def = *def;
    c->n_particles = n;
    c->n_pseudojets = n;
    for (int i = 0; i < n; i++) {
        c->p[i] = in[i];
        c->made_by[i] = -1;
    }
    double r2 = def->r * def->r;
    int rc = use_tiles(def, n) ? tiled_run(c, r2) : 1;
    if (rc == 1) rc = plain_run(c, r2);
    if (rc != JL_OK) {
        jl_cluster_free(c);
        free(stack);
        return NULL;
    }
    collect_jets(c, stack);
    free(stack);
    return c;
}

void jl_cluster_free(jl_cluster *c)
{
    if (!c) return;
    free(c->p);
    free(c->made_by);
    free(c->steps);
    free(c->jets);
    free(c->constituent_store);
    free(c);
}

int jl_cluster_parents(const jl_cluster *c, int k, int *a, int *b)
{
    if (k < c->n_particles || k >= c->n_pseudojets) return 0;
    const jl_cluster_step *st = &c->steps[c->made_by[k]];
    *a = st->parent1;
    *b = st->parent2;
    return 1;
}
