/* gen_hadron.c — the generator's hadronisation and underlying event.
 *
 * Hadronisation: independent fragmentation (Field and Feynman, Nucl. Phys.
 * B136 (1978) 1), every final parton on its own. A light quark or gluon of
 * momentum P gives hadrons iteratively: each takes a fraction z of what is
 * left, z from f(z) = 1 - a + 3a(1 - z)² (a = 0.77, their fit), until less
 * than GEN_FRAG_PMIN is left (at least one hadron); multiplicity thus grows
 * like ln P, as the string picture's rapidity plateau does. The fractions are
 * rescaled to add up to one and every hadron gets a Gaussian transverse kick
 * (rms GEN_LIGHT_KT) relative to P, the kicks adding up to zero. The b of a
 * top decay first makes a B hadron carrying a fraction flat in [GEN_B_ZMIN,
 * GEN_B_ZMAX] (mean 0.75; LEP measured <x_B> ≈ 0.71), decayed at once into
 * GEN_B_NMIN..GEN_B_NMAX particles (isotropic momenta rescaled to the B
 * mass): pions, or in semileptonic decays (b → ℓνX, e or μ: GEN_B_SEMILEPTONIC)
 * one of them a neutrino, which leaves the event (no detector sees it; truth
 * jets leave neutrinos out too), the lepton counted as a pion; the rest of
 * the b's momentum fragments as a light quark. Hadrons are pions; a
 * third of them neutral (isospin), decayed at once to two photons, isotropic
 * in the pi0 frame, as a generator's stable final state has them.
 *
 * Four-momentum is conserved exactly: a final parton's hadrons are made in a
 * frame where the parton has its evolution energy e along +z (their
 * three-momenta add up to e ẑ); their invariant mass becomes the parton's
 * mass in the shower's kinematics (gen_shower_mass2), and once the shower has
 * placed the parton, gen_place_hadrons carries them onto it by a Lorentz
 * transformation. Hence a colour singlet (the W) keeps its mass through
 * hadronisation, while a QCD jet's mass grows by what its hadrons need.
 *
 * Underlying event: particles flat in η and φ in the square |Δη|, |Δφ| <
 * R + GEN_UE_MARGIN around the hard object, pT exponential with mean
 * GEN_UE_MEAN_PT, their number Poisson with mean GEN_UE_DENSITY × area /
 * GEN_UE_MEAN_PT: a transverse-momentum density of about 1 GeV per unit
 * η–φ area, as measured for the LHC's underlying event without pile-up.
 */
#include <math.h>

#include "gen_internal.h"
#include "jl_error.h"

/* PDG masses (GeV). */
#define GEN_MPI 0.13957  /* pi+- */
#define GEN_MPI0 0.13498 /* pi0 */
#define GEN_MB_HADRON 5.279 /* B0, B+ */
#define GEN_PI0_FRACTION (1.0 / 3.0)

/* Field-Feynman fragmentation. */
#define GEN_FF_A 0.77
#define GEN_FRAG_PMIN 3.0   /* GeV: the chain stops below this momentum (tuned: the
                               reference Pythia jets' multiplicity, tests/lua/test_gen.lua) */
#define GEN_LIGHT_KT 0.3    /* GeV, rms of a hadron's transverse momentum */
#define GEN_FRAG_MAX 64     /* hadrons per parton at most */
/* The b: a B hadron decayed into a few pions. */
#define GEN_B_ZMIN 0.6
#define GEN_B_ZMAX 0.9
#define GEN_B_NMIN 3
#define GEN_B_NMAX 5
#define GEN_B_DECAY_P 1.0   /* GeV, mean momentum of the B's products before rescaling */
#define GEN_B_SEMILEPTONIC 0.214 /* B(b → e ν X) + B(b → μ ν X), PDG: 10.7% each */

/* Underlying event. */
#define GEN_UE_DENSITY 1.0  /* GeV of pT per unit η–φ area */
#define GEN_UE_MEAN_PT 0.5  /* GeV */
#define GEN_UE_MARGIN 0.5   /* the square reaches R + margin from the axis */

/* Appends a pion with three-momentum (px, py, pz): charged, or a pi0 decayed to γγ. */
static int add_pion(gen_work *w, gen_rng *r, double px, double py, double pz)
{
    double p2 = px * px + py * py + pz * pz;
    if (gen_uniform(r) >= GEN_PI0_FRACTION)
        return gen_add_particle(w, (jl_p4){px, py, pz, sqrt(p2 + GEN_MPI * GEN_MPI)}, 1);
    double e = sqrt(p2 + GEN_MPI0 * GEN_MPI0);
    double cos_t = gen_range(r, -1.0, 1.0), phi = gen_range(r, 0.0, GEN_TWO_PI);
    double sin_t = sqrt(1.0 - cos_t * cos_t), k = 0.5 * GEN_MPI0;
    jl_p4 g1 = {k * sin_t * cos(phi), k * sin_t * sin(phi), k * cos_t, k};
    jl_p4 g2 = {-g1.px, -g1.py, -g1.pz, k};
    double bx = px / e, by = py / e, bz = pz / e;
    int rc = gen_add_particle(w, gen_boost(g1, bx, by, bz), 1);
    return rc ? rc : gen_add_particle(w, gen_boost(g2, bx, by, bz), 1);
}

/* z of one Field-Feynman step, f(z) = 1 - a + 3a(1-z)², by rejection under
 * the constant 1 + 2a (f's maximum, at z = 0). */
static double ff_z(gen_rng *r)
{
    for (;;) {
        double z = gen_uniform(r), u = 1.0 - z;
        if (gen_uniform(r) * (1.0 + 2.0 * GEN_FF_A) < 1.0 - GEN_FF_A + 3.0 * GEN_FF_A * u * u) return z;
    }
}

/* A B hadron with momentum pb along +z decayed into n particles: isotropic
 * momenta (exponential magnitudes), shifted to add up to zero and scaled so
 * their energies add up to the B mass in its frame, then boosted. In a
 * semileptonic decay the first is a massless neutrino (invisible). */
static int b_hadron(gen_work *w, gen_rng *r, double pb, int n)
{
    int neutrino = gen_uniform(r) < GEN_B_SEMILEPTONIC;
    double q[GEN_B_NMAX][3], m2[GEN_B_NMAX], sum[3] = {0.0, 0.0, 0.0};
    for (int i = 0; i < n; i++) {
        double p = -GEN_B_DECAY_P * log(gen_uniform(r));
        double c = gen_range(r, -1.0, 1.0), phi = gen_range(r, 0.0, GEN_TWO_PI), s = sqrt(1.0 - c * c);
        q[i][0] = p * s * cos(phi), q[i][1] = p * s * sin(phi), q[i][2] = p * c;
        for (int k = 0; k < 3; k++) sum[k] += q[i][k];
        m2[i] = neutrino && i == 0 ? 0.0 : GEN_MPI * GEN_MPI;
    }
    double q2[GEN_B_NMAX];
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < 3; k++) q[i][k] -= sum[k] / n;
        q2[i] = q[i][0] * q[i][0] + q[i][1] * q[i][1] + q[i][2] * q[i][2];
    }
    /* Newton on f(s) = sum sqrt(s² q² + m²) - M_B: increasing and convex in s >= 0. */
    double s = 1.0;
    for (int it = 0; it < 50; it++) {
        double f = -GEN_MB_HADRON, df = 0.0;
        for (int i = 0; i < n; i++) {
            double e = sqrt(s * s * q2[i] + m2[i]);
            f += e;
            df += s * q2[i] / e;
        }
        if (fabs(f) < 1e-9 || df <= 0.0) break;
        s -= f / df;
        if (s < 0.0) s = 0.0;
    }
    double beta = pb / sqrt(pb * pb + GEN_MB_HADRON * GEN_MB_HADRON);
    for (int i = 0; i < n; i++) {
        jl_p4 p = {s * q[i][0], s * q[i][1], s * q[i][2], sqrt(s * s * q2[i] + m2[i])};
        int rc = gen_add_particle(w, gen_boost(p, 0.0, 0.0, beta), !(neutrino && i == 0));
        if (rc) return rc;
    }
    return JL_OK;
}

/* The hadrons of one final parton of type `type` with momentum e along +z. */
static int hadronise_parton(gen_work *w, gen_rng *r, double e, int type)
{
    double left = 1.0; /* fraction of the momentum not yet given to hadrons */
    if (type == GEN_BQUARK) {
        double zb = gen_range(r, GEN_B_ZMIN, GEN_B_ZMAX);
        int nb = GEN_B_NMIN + (int)(gen_uniform(r) * (GEN_B_NMAX - GEN_B_NMIN + 1));
        int rc = b_hadron(w, r, zb * e, nb);
        if (rc) return rc;
        left -= zb;
    }
    double x[GEN_FRAG_MAX], k1[GEN_FRAG_MAX], k2[GEN_FRAG_MAX], chain = 0.0;
    int n = 0;
    do {
        double z = ff_z(r);
        x[n++] = z * left;
        chain += z * left;
        left *= 1.0 - z;
    } while (left * e > GEN_FRAG_PMIN && n < GEN_FRAG_MAX);
    /* Kicks adding up to zero; the remainder shared in proportion. */
    double sigma = n > 1 ? GEN_LIGHT_KT / sqrt(2.0) : 0.0, s1 = 0.0, s2 = 0.0;
    for (int i = 0; i < n; i++) {
        k1[i] = sigma * gen_normal(r);
        k2[i] = sigma * gen_normal(r);
        s1 += k1[i];
        s2 += k2[i];
    }
    for (int i = 0; i < n; i++) {
        int rc = add_pion(w, r, k1[i] - s1 / n, k2[i] - s2 / n, e * x[i] * (chain + left) / chain);
        if (rc) return rc;
    }
    return JL_OK;
}

int gen_hadronise_tree(gen_work *w, gen_rng *r, int root, int end)
{
    for (int i = root; i < end; i++) {
        gen_parton *a = &w->parton[i];
        if (a->child[0] >= 0 || a->type == GEN_TOP) continue;
        int first = w->n_particle;
        int rc = hadronise_parton(w, r, a->e, a->type);
        if (rc) return rc;
        a = &w->parton[i];
        a->hadron = first;
        a->n_hadron = w->n_particle - first;
        double energy = 0.0;
        for (int k = first; k < w->n_particle; k++) energy += w->particle[k].E;
        a->m2 = (energy - a->e) * (energy + a->e);
    }
    return JL_OK;
}

void gen_place_hadrons(gen_work *w, int root, int end)
{
    for (int i = root; i < end; i++) {
        const gen_parton *a = &w->parton[i];
        if (a->child[0] >= 0 || a->n_hadron == 0) continue;
        jl_p4 *h = w->particle + a->hadron;
        /* The hadrons' frame → their rest frame (a boost along z). */
        double energy = 0.0;
        for (int k = 0; k < a->n_hadron; k++) energy += h[k].E;
        double bz = -a->e / energy;
        /* Rest frame → the placed parton: z onto its direction, then its boost. */
        jl_p4 P = a->p;
        double pmag = gen_p3(P);
        double n[3] = {0.0, 0.0, 1.0}, e1[3], e2[3];
        if (pmag > 0.0) n[0] = P.px / pmag, n[1] = P.py / pmag, n[2] = P.pz / pmag;
        gen_basis(n, e1, e2);
        for (int k = 0; k < a->n_hadron; k++) {
            jl_p4 q = gen_boost(h[k], 0.0, 0.0, bz);
            jl_p4 rot = {q.px * e1[0] + q.py * e2[0] + q.pz * n[0], q.px * e1[1] + q.py * e2[1] + q.pz * n[1],
                         q.px * e1[2] + q.py * e2[2] + q.pz * n[2], q.E};
            h[k] = gen_boost(rot, P.px / P.E, P.py / P.E, P.pz / P.E);
        }
    }
}

/* Poisson(mean) by multiplying uniforms (Knuth); mean stays below a few hundred. */
static int poisson(gen_rng *r, double mean)
{
    double limit = exp(-mean), prod = gen_uniform(r);
    int n = 0;
    while (prod > limit) {
        prod *= gen_uniform(r);
        n++;
    }
    return n;
}

int gen_underlying_event(gen_work *w, gen_rng *r, const jl_gen_config *cfg, const gen_event *ev)
{
    double half = cfg->r + GEN_UE_MARGIN;
    int n = poisson(r, GEN_UE_DENSITY * (2.0 * half) * (2.0 * half) / GEN_UE_MEAN_PT);
    for (int i = 0; i < n; i++) {
        double eta = ev->y + gen_range(r, -half, half);
        double phi = ev->phi + gen_range(r, -half, half);
        double pt = -GEN_UE_MEAN_PT * log(gen_uniform(r));
        int rc = add_pion(w, r, pt * cos(phi), pt * sin(phi), pt * sinh(eta));
        if (rc) return rc;
    }
    return JL_OK;
}
