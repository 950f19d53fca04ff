/* degrade.c — seeded degradation of jets before features (DESIGN.md,
 * Degradation): Gaussian smearing of pT and E, undersampling to n
 * constituents.
 *
 * Randomness: every draw is one Philox4x32-10 block with key = seed and
 * counter {constituent, jet low, jet high, tag}, tag = step << 24 | purpose
 * << 16 | attempt. A jet's degradation therefore depends only on (seed, its
 * index in the file), never on batching, chunking, threads or epoch.
 *
 * Smearing (real constituents only): pt' = pt (1 + sigma_pt z1) (relative)
 * or pt + sigma_pt z1 (absolute, GeV), E' likewise with an independent z2
 * (Box-Muller on the block's words 0, 1 for pt and 2, 3 for E).
 *   - Never negative or NaN: a draw giving a value <= 0 is redrawn (next
 *     attempt's block), up to JL_SMEAR_TRIES draws; the smeared value is then
 *     the Gaussian truncated at 0. If every draw fails (probability
 *     P(z < -1/sigma)^8: 1e-13 at sigma = 0.5, 4e-7 at sigma = 1) the value
 *     is clipped; in all cases the result is at least JL_SMEAR_FLOOR (1e-3)
 *     times the original value, so log features stay bounded.
 *   - Physical four-vectors: E' is raised to pt' cosh(eta) when below it, so
 *     |p| <= E (mass^2 >= 0), which implies E' >= pt'. For massless
 *     clusters (E = pt cosh eta, as in ATLAS's) this biases E upwards: E' is
 *     the larger of the two smeared magnitudes.
 *   - Constituents are then re-sorted by decreasing pt'.
 * Undersampling keeps `keep` of the real constituents: the hardest ones, or
 * a uniformly random subset (Knuth's selection sampling, which keeps pT
 * order); the others become padding (all four values 0). Jets with no more
 * than `keep` real constituents are unchanged.
 */
#include <math.h>
#include <string.h>

#include "jl_error.h"
#include "jl_features.h"
#include "jl_parallel.h"
#include "jl_philox.h"

enum { PURPOSE_SMEAR = 1, PURPOSE_KEEP = 2 };

static jl_philox4x32 draw(uint64_t seed, uint64_t jet, int step, int purpose, int attempt, int64_t j)
{
    uint32_t tag = (uint32_t)step << 24 | (uint32_t)purpose << 16 | (uint32_t)attempt;
    jl_philox4x32 ctr = {{(uint32_t)j, (uint32_t)jet, (uint32_t)(jet >> 32), tag}};
    return jl_philox4x32_10(ctr, (uint32_t)seed, (uint32_t)(seed >> 32));
}

int jl_degrade_check(const jl_degrade *d)
{
    if (d->n_steps < 0 || d->n_steps > JL_DEGRADE_MAX_STEPS)
        return JL_FAIL("degrade: %d steps, at most %d allowed", d->n_steps, JL_DEGRADE_MAX_STEPS);
    for (int s = 0; s < d->n_steps; s++) {
        const jl_degrade_step *st = &d->step[s];
        if (st->kind == JL_DEGRADE_SMEAR) {
            if (!(st->sigma_pt >= 0) || !(st->sigma_E >= 0) || !isfinite(st->sigma_pt) ||
                !isfinite(st->sigma_E))
                return JL_FAIL("smear: sigmas must be finite and >= 0, got pt = %g, E = %g", st->sigma_pt,
                               st->sigma_E);
        } else if (st->kind == JL_DEGRADE_UNDERSAMPLE) {
            if (st->keep < 1) return JL_FAIL("undersample: keep must be >= 1, got %lld", (long long)st->keep);
            if (st->mode != JL_KEEP_HARDEST && st->mode != JL_KEEP_RANDOM)
                return JL_FAIL("undersample: unknown mode %d", (int)st->mode);
        } else {
            return JL_FAIL("degrade: step %d has unknown kind %d", s + 1, (int)st->kind);
        }
    }
    return JL_OK;
}

/* One smeared magnitude (see the file comment); which = 0 for pt, 1 for E. */
static double smear_value(double x, double sigma, bool relative, uint64_t seed, uint64_t jet, int step,
                          int64_t j, int which)
{
    double lowest = x * JL_SMEAR_FLOOR, y = lowest;
    if (sigma == 0) return x;
    for (int a = 0; a < JL_SMEAR_TRIES; a++) {
        jl_philox4x32 r = draw(seed, jet, step, PURPOSE_SMEAR, a, j);
        double z, unused;
        jl_philox_box_muller(r.v[2 * which], r.v[2 * which + 1], &z, &unused);
        double v = relative ? x * (1.0 + sigma * z) : x + sigma * z;
        if (v > 0) {
            y = v;
            break;
        }
    }
    return y > lowest ? y : lowest;
}

/* Stable insertion sort of the real constituents by decreasing pt (padding
 * stays last); nearly sorted after smearing, so close to linear. */
static void sort_by_pt(float *pt, float *eta, float *phi, float *E, int64_t n)
{
    for (int64_t i = 1; i < n; i++) {
        float p = pt[i], e = eta[i], f = phi[i], en = E[i];
        int64_t k = i;
        for (; k > 0 && pt[k - 1] < p; k--) {
            pt[k] = pt[k - 1];
            eta[k] = eta[k - 1];
            phi[k] = phi[k - 1];
            E[k] = E[k - 1];
        }
        pt[k] = p;
        eta[k] = e;
        phi[k] = f;
        E[k] = en;
    }
}

static int64_t count_real(const float *pt, int64_t c)
{
    int64_t n = 0;
    while (n < c && pt[n] > 0) n++;
    return n;
}

static void smear_jet(const jl_degrade_step *st, uint64_t seed, int step, uint64_t jet, float *pt, float *eta,
                      float *phi, float *E, int64_t n)
{
    for (int64_t j = 0; j < n; j++) {
        double p = smear_value(pt[j], st->sigma_pt, st->relative, seed, jet, step, j, 0);
        double e = smear_value(E[j], st->sigma_E, st->relative, seed, jet, step, j, 1);
        double pz_bound = p * cosh(eta[j]);
        pt[j] = (float)p;
        E[j] = (float)(e > pz_bound ? e : pz_bound);
    }
    sort_by_pt(pt, eta, phi, E, n);
}

static void undersample_jet(const jl_degrade_step *st, uint64_t seed, int step, uint64_t jet, float *pt,
                            float *eta, float *phi, float *E, int64_t n)
{
    if (n <= st->keep) return;
    int64_t kept = st->keep;
    if (st->mode == JL_KEEP_RANDOM) {
        int64_t needed = st->keep;
        kept = 0;
        for (int64_t j = 0; j < n && needed > 0; j++) {
            double u = (double)draw(seed, jet, step, PURPOSE_KEEP, 0, j).v[0] * 0x1p-32;
            if (u * (double)(n - j) < (double)needed) {
                pt[kept] = pt[j];
                eta[kept] = eta[j];
                phi[kept] = phi[j];
                E[kept] = E[j];
                kept++;
                needed--;
            }
        }
    }
    size_t rest = (size_t)(n - kept) * sizeof(float);
    memset(pt + kept, 0, rest);
    memset(eta + kept, 0, rest);
    memset(phi + kept, 0, rest);
    memset(E + kept, 0, rest);
}

void jl_degrade_jet(const jl_degrade *d, uint64_t jet, float *pt, float *eta, float *phi, float *E, int64_t c)
{
    for (int s = 0; s < d->n_steps; s++) {
        const jl_degrade_step *st = &d->step[s];
        int64_t n = count_real(pt, c);
        if (st->kind == JL_DEGRADE_SMEAR) smear_jet(st, d->seed, s, jet, pt, eta, phi, E, n);
        else undersample_jet(st, d->seed, s, jet, pt, eta, phi, E, n);
    }
}

typedef struct {
    const jl_degrade *d;
    float *pt, *eta, *phi, *E;
    const int64_t *jets;
    int64_t c;
} degrade_ctx;

static void degrade_body(void *arg, int64_t begin, int64_t end)
{
    const degrade_ctx *g = arg;
    for (int64_t i = begin; i < end; i++) {
        int64_t o = i * g->c;
        jl_degrade_jet(g->d, (uint64_t)g->jets[i], g->pt + o, g->eta + o, g->phi + o, g->E + o, g->c);
    }
}

int jl_degrade_apply(const jl_degrade *d, jl_tensor *pt, jl_tensor *eta, jl_tensor *phi, jl_tensor *E,
                     jl_tensor *jets, bool serial)
{
    int rc = jl_jets_check_args("degrade", pt, eta, phi, E);
    if (rc != JL_OK) return rc;
    if ((rc = jl_degrade_check(d)) != JL_OK) return rc;
    int64_t n = pt->shape[0];
    if (jets->dtype != JL_I64 || jl_device_of(jets) != JL_CPU || !jl_is_contiguous(jets) || jets->ndim != 1 ||
        jets->shape[0] != n)
        return JL_FAIL("degrade: jets must be a contiguous i64 CPU tensor (%lld), got %s %s", (long long)n,
                       jl_dtype_name(jets->dtype), jl_shape_str(jets));
    degrade_ctx g = {d, jl_data(pt), jl_data(eta), jl_data(phi), jl_data(E), jl_data(jets), pt->shape[1]};
    if (serial) degrade_body(&g, 0, n);
    else jl_parallel_for(n, JL_GRAIN_ELEMENTS / (g.c * 16 + 1) + 1, degrade_body, &g);
    pt->storage->version++;
    eta->storage->version++;
    phi->storage->version++;
    E->storage->version++;
    return JL_OK;
}
