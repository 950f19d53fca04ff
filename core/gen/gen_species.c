/* gen_species.c — the hadrons one fragmentation step makes, and their decays.
 *
 * A primary hadron's species is drawn from string-model flavour rates, as the
 * anchors' Pythia 8 runs (tune 4C, ../shared/anchors/jetsgame-runs) make them:
 *  - a baryon with probability GEN_P_BARYON (diquark breaks, StringFlav:probQQtoQ
 *    = 0.09 per break, both the baryon and the antibaryon it makes): p, n, or Λ;
 *  - a strange meson with GEN_P_STRANGE (s quarks at StringFlav:probStoUD = 0.19
 *    of u or d), a vector K* with GEN_P_KSTAR (mesonSvector = 0.725 : 1);
 *  - otherwise a light meson, a vector (ρ, ω) with GEN_P_UD_VECTOR
 *    (mesonUDvector = 0.62 : 1), else a pseudoscalar: π±, π0 or η (GEN_P_ETA
 *    of the neutral ones: η suppression etaSup = 0.63 and the η's s s̄ part).
 * Isospin picks the charge states (u and d alike).
 *
 * Decays are those of a generator whose π0 and B hadrons are stable (the
 * anchors' settings): ρ → ππ, ω → π+π−π0 (or π0γ), η → γγ, 3π0 or π+π−π0,
 * K* → Kπ, K0 → K0S or K0L (K0L stable, K0S → ππ), Λ → pπ− or nπ0, with
 * PDG branching fractions (rounded; the small channels folded into the
 * nearest large one). Two-body decays are isotropic in the rest frame;
 * three-body decays are flat in phase space (the pair mass m12 drawn with
 * weight p*(M → m12 m3) · q*(m12 → m1 m2), by rejection). ρ and K* masses
 * follow Breit-Wigners cut to their open phase space. Every decay conserves
 * four-momentum exactly, so a parton's hadrons keep the momentum they were
 * given and their energies define its mass (gen_hadron.c).
 *
 * What it changes against pions alone: the final state holds the masses a
 * tagger sees in Pythia jets (kaons and nucleons, about 7% of the particles
 * each; photons about 5%, from η and ω only) and the resonances' pairs and
 * triplets, whose invariant masses are the resonance masses.
 */
#include <math.h>

#include "gen_internal.h"
#include "jl_error.h"

/* Species: masses (GeV, PDG) and widths of the broad ones. */
enum {
    SP_GAMMA,
    SP_PI_CH,
    SP_PI0,
    SP_ETA,
    SP_RHO_CH,
    SP_RHO0,
    SP_OMEGA,
    SP_K_CH,
    SP_K0,
    SP_K0L,
    SP_K0S,
    SP_KSTAR_CH,
    SP_KSTAR0,
    SP_PROTON,
    SP_NEUTRON,
    SP_LAMBDA,
    SP_COUNT
};
static const double MASS[SP_COUNT] = {
    [SP_GAMMA] = 0.0,      [SP_PI_CH] = 0.13957,  [SP_PI0] = 0.13498,     [SP_ETA] = 0.54786,
    [SP_RHO_CH] = 0.77526, [SP_RHO0] = 0.77526,   [SP_OMEGA] = 0.78266,   [SP_K_CH] = 0.49368,
    [SP_K0] = 0.49761,     [SP_K0L] = 0.49761,    [SP_K0S] = 0.49761,     [SP_KSTAR_CH] = 0.89167,
    [SP_KSTAR0] = 0.89555, [SP_PROTON] = 0.93827, [SP_NEUTRON] = 0.93957, [SP_LAMBDA] = 1.11568,
};
static const double WIDTH[SP_COUNT] = {
    [SP_RHO_CH] = 0.1491, [SP_RHO0] = 0.1491, [SP_KSTAR_CH] = 0.0508, [SP_KSTAR0] = 0.0473};

/* Primary rates (see the top of the file). */
#define GEN_P_BARYON 0.115
#define GEN_P_STRANGE 0.15
#define GEN_P_KSTAR (0.725 / 1.725)
#define GEN_P_UD_VECTOR (0.62 / 1.62)
#define GEN_P_ETA 0.35
#define GEN_P_LAMBDA 0.2 /* of the baryons; the rest p and n alike */

/* Decays nest at most this deep (K* → K0 → K0S → ππ). */
#define GEN_DECAY_DEPTH 4

static int pick_primary(gen_rng *r)
{
    double u = gen_uniform(r);
    if (u < GEN_P_BARYON) {
        double v = gen_uniform(r);
        return v < GEN_P_LAMBDA ? SP_LAMBDA : v < 0.5 * (1.0 + GEN_P_LAMBDA) ? SP_PROTON : SP_NEUTRON;
    }
    if (u < GEN_P_BARYON + GEN_P_STRANGE) {
        int vector = gen_uniform(r) < GEN_P_KSTAR, charged = gen_uniform(r) < 0.5;
        return vector ? (charged ? SP_KSTAR_CH : SP_KSTAR0) : (charged ? SP_K_CH : SP_K0);
    }
    double v = gen_uniform(r);
    if (gen_uniform(r) < GEN_P_UD_VECTOR) /* ρ+, ρ−, and the neutral u ū / d d̄ as ρ0 or ω */
        return v < 0.5 ? SP_RHO_CH : v < 0.75 ? SP_RHO0 : SP_OMEGA;
    if (v < 0.5) return SP_PI_CH;
    return gen_uniform(r) < GEN_P_ETA ? SP_ETA : SP_PI0;
}

/* A mass for the species: the pole, or a Breit-Wigner in [lo, hi]. */
static double draw_mass(gen_rng *r, int sp, double lo, double hi)
{
    double g = WIDTH[sp], m = MASS[sp];
    if (g == 0.0) return m;
    double a = atan(2.0 * (lo - m) / g), b = atan(2.0 * (hi - m) / g);
    return m + 0.5 * g * tan(gen_range(r, a, b));
}

/* Momentum of either daughter of M → m1 m2 at rest (0 when closed). */
static double two_body_p(double M, double m1, double m2)
{
    double s1 = M * M - (m1 + m2) * (m1 + m2), s2 = M * M - (m1 - m2) * (m1 - m2);
    return s1 > 0.0 ? sqrt(s1 * s2) / (2.0 * M) : 0.0;
}

static int emit(gen_work *w, gen_rng *r, int sp, double M, jl_p4 p, int depth);

/* Isotropic M → m1 m2 of a parent with four-momentum p (mass M), daughters emitted. */
static int two_body(gen_work *w, gen_rng *r, jl_p4 p, double M, int sp1, double m1, int sp2, double m2,
                    int depth)
{
    static const double z_axis[3] = {0.0, 0.0, 1.0};
    jl_p4 d1, d2;
    gen_decay_at_rest(M, m1, m2, gen_range(r, -1.0, 1.0), gen_range(r, 0.0, GEN_TWO_PI), z_axis, &d1, &d2);
    double bx = p.px / p.E, by = p.py / p.E, bz = p.pz / p.E;
    int rc = emit(w, r, sp1, m1, gen_boost(d1, bx, by, bz), depth + 1);
    return rc ? rc : emit(w, r, sp2, m2, gen_boost(d2, bx, by, bz), depth + 1);
}

/* M → 1 2 3 flat in phase space: the (1 2) pair mass by rejection, then two
 * two-body decays. The pair is a pseudo-species (-1): decayed at once. */
static int three_body(gen_work *w, gen_rng *r, jl_p4 p, double M, const int sp[3], int depth)
{
    double m1 = MASS[sp[0]], m2 = MASS[sp[1]], m3 = MASS[sp[2]];
    double lo = m1 + m2, hi = M - m3;
    double bound = two_body_p(M, lo, m3) * two_body_p(hi, m1, m2);
    double m12;
    do m12 = gen_range(r, lo, hi);
    while (gen_uniform(r) * bound > two_body_p(M, m12, m3) * two_body_p(m12, m1, m2));
    static const double z_axis[3] = {0.0, 0.0, 1.0};
    jl_p4 pair, d3;
    gen_decay_at_rest(M, m12, m3, gen_range(r, -1.0, 1.0), gen_range(r, 0.0, GEN_TWO_PI), z_axis, &pair, &d3);
    double bx = p.px / p.E, by = p.py / p.E, bz = p.pz / p.E;
    pair = gen_boost(pair, bx, by, bz);
    int rc = emit(w, r, sp[2], m3, gen_boost(d3, bx, by, bz), depth + 1);
    return rc ? rc : two_body(w, r, pair, m12, sp[0], m1, sp[1], m2, depth);
}

/* Adds the particle of species sp, mass M and four-momentum p, or decays it
 * (see the top of the file). */
static int emit(gen_work *w, gen_rng *r, int sp, double M, jl_p4 p, int depth)
{
    if (depth >= GEN_DECAY_DEPTH) return gen_add_particle(w, p, 1);
    double u = gen_uniform(r);
    switch (sp) {
    case SP_ETA:
        if (u < 0.42) return two_body(w, r, p, M, SP_GAMMA, 0.0, SP_GAMMA, 0.0, depth);
        return three_body(w, r, p, M,
                          u < 0.75 ? (const int[3]){SP_PI0, SP_PI0, SP_PI0}
                                   : (const int[3]){SP_PI_CH, SP_PI_CH, SP_PI0},
                          depth);
    case SP_RHO_CH: return two_body(w, r, p, M, SP_PI_CH, MASS[SP_PI_CH], SP_PI0, MASS[SP_PI0], depth);
    case SP_RHO0: return two_body(w, r, p, M, SP_PI_CH, MASS[SP_PI_CH], SP_PI_CH, MASS[SP_PI_CH], depth);
    case SP_OMEGA:
        if (u < 0.09) return two_body(w, r, p, M, SP_PI0, MASS[SP_PI0], SP_GAMMA, 0.0, depth);
        return three_body(w, r, p, M, (const int[3]){SP_PI_CH, SP_PI_CH, SP_PI0}, depth);
    case SP_K0: return emit(w, r, u < 0.5 ? SP_K0S : SP_K0L, M, p, depth + 1);
    case SP_K0S:
        if (u < 0.69) return two_body(w, r, p, M, SP_PI_CH, MASS[SP_PI_CH], SP_PI_CH, MASS[SP_PI_CH], depth);
        return two_body(w, r, p, M, SP_PI0, MASS[SP_PI0], SP_PI0, MASS[SP_PI0], depth);
    case SP_KSTAR_CH:
        if (u < 2.0 / 3.0) return two_body(w, r, p, M, SP_K0, MASS[SP_K0], SP_PI_CH, MASS[SP_PI_CH], depth);
        return two_body(w, r, p, M, SP_K_CH, MASS[SP_K_CH], SP_PI0, MASS[SP_PI0], depth);
    case SP_KSTAR0:
        if (u < 2.0 / 3.0)
            return two_body(w, r, p, M, SP_K_CH, MASS[SP_K_CH], SP_PI_CH, MASS[SP_PI_CH], depth);
        return two_body(w, r, p, M, SP_K0, MASS[SP_K0], SP_PI0, MASS[SP_PI0], depth);
    case SP_LAMBDA:
        if (u < 0.64)
            return two_body(w, r, p, M, SP_PROTON, MASS[SP_PROTON], SP_PI_CH, MASS[SP_PI_CH], depth);
        return two_body(w, r, p, M, SP_NEUTRON, MASS[SP_NEUTRON], SP_PI0, MASS[SP_PI0], depth);
    default: return gen_add_particle(w, p, 1);
    }
}

/* The heaviest two-body final state of each broad species: its Breit-Wigner
 * starts above it, so every channel is open. */
static double threshold(int sp)
{
    switch (sp) {
    case SP_RHO_CH: return MASS[SP_PI_CH] + MASS[SP_PI0];
    case SP_RHO0: return 2.0 * MASS[SP_PI_CH];
    case SP_KSTAR_CH: return MASS[SP_K0] + MASS[SP_PI_CH];
    case SP_KSTAR0: return MASS[SP_K_CH] + MASS[SP_PI_CH];
    default: return MASS[sp];
    }
}

int gen_add_hadron(gen_work *w, gen_rng *r, double px, double py, double pz)
{
    int sp = pick_primary(r);
    double m = draw_mass(r, sp, threshold(sp) + 1e-3, MASS[sp] + 3.0 * WIDTH[sp]);
    return emit(w, r, sp, m, (jl_p4){px, py, pz, sqrt(px * px + py * py + pz * pz + m * m)}, 0);
}
