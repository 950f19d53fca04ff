/* gen_shower.c — the generator's parton shower: leading-log, angular-ordered,
 * running alpha_s, Sudakov veto algorithm, exact four-momentum conservation.
 *
 * Evolution (Marchesini-Webber style, as in early HERWIG): a parton of energy E
 * branches a → b c at xi = 1 - cos(theta_bc) and energy fraction z = E_b/E_a
 * with probability
 *     dP = alpha_s(kt) / (2 pi) · P(z) dz · dxi / xi,   kt = z (1 - z) E sqrt(2 xi),
 * P(z) the leading-order splitting functions
 *     q → q g   C_F (1 + z²) / (1 - z)                 (z: the quark)
 *     g → g g   C_A [z/(1-z) + (1-z)/z + z(1-z)]        (over all z: the two gluons are told apart)
 *     g → q q̄   n_f T_R [z² + (1-z)²]
 * down from the angular-ordering bound xi_max (the parent's branching angle,
 * or the start angle the hard process gives) to the cut-off kt > Q0 = 2 GeV.
 * The next xi comes from the veto algorithm: trial branchings from the
 * overestimates 2 C_F/(1-z), C_A [1/z + 1/(1-z)] and n_f T_R on the z range
 * allowed at the current xi, with alpha_s(Q0) ≥ alpha_s(kt), then accepted
 * with probability (true/overestimate). A massive b (top decays) radiates
 * only outside its dead cone, theta > m_b/E (a sharp cut, the quasi-collinear
 * suppression's leading effect); so does a top before it decays (dead cone
 * m_t/E). g → qq̄ makes b b̄ one time in n_f: massive b quarks with their
 * dead cone, hadronised as B hadrons (gen_hadron.c); the rest massless.
 *
 * Kinematics (the recoil scheme): the tree is evolved with massless
 * energies; final partons get the invariant mass of their hadrons
 * (gen_hadron.c; a top its own), then masses are computed bottom-up,
 *     m_a² = t_a + m_b²/z + m_c²/(1 - z),   t_a = 2 z (1 - z) E_a² xi_a,
 * and momenta are placed top-down in light-cone variables along the parent's
 * direction n: b⁺ = z P⁺, b_⊥ = -c_⊥ = k_⊥ with |k_⊥|² = z (1 - z) t_a,
 * b⁻ = (k_⊥² + m_b²)/b⁺ and c = P - b. Every branching conserves
 * four-momentum exactly; the tree's invariant mass is absorbed by the root,
 * whose four-momentum the hard process fixes (gen_hard.c).
 */
#include <math.h>
#include <stdlib.h>

#include "gen_internal.h"
#include "jl_error.h"

/* QCD colour factors. */
#define GEN_CF (4.0 / 3.0)
#define GEN_CA 3.0
#define GEN_TR 0.5
/* Active flavours: in alpha_s's running and in g → qq̄ (u d s c massless; b massive, see below). */
#define GEN_NF 5

/* One-loop running, n_f = 5: alpha_s(Q) = 1 / (b0 ln(Q²/Λ²)), b0 = (33 - 2 n_f) / (12 pi),
 * with Λ = 0.18 GeV, HERWIG 6's effective shower Λ (QCDLAM; JETSET's LEP
 * tune has PARJ(81) = 0.29 GeV). It gives alpha_s(m_Z) = 0.132: above the
 * MS-bar 0.118, as a coherent-branching shower with alpha_s(kt) needs
 * (Catani, Marchesini, Webber, Nucl. Phys. B349 (1991) 635: Λ_MC ≈ 1.57
 * Λ_MSbar at two loops) to stand in for missing higher orders. Λ and the
 * cut-off Q0 below are set against Pythia 8 QCD jets in the anchors'
 * settings at 500-600 GeV (bench/generator_realism.lua: mean jet mass
 * within 4%, multiplicity within 8%, mean ln Δ of the declusterings within 0.01). */
#define GEN_B0 ((33.0 - 2.0 * GEN_NF) / (12.0 * GEN_PI))
#define GEN_LAMBDA 0.18

/* The cut-off: no branching with kt below Q0 (GeV), near the hadronisation
 * scale; below it the hadrons' own transverse momenta take over, and a
 * gluon's softer radiation is carried by its two fragmentation chains
 * (gen_hadron.c; tuned with them to Pythia 8 quark and gluon jets'
 * multiplicities: 1.5 GeV before gluons fragmented as string kinks). */
#define GEN_Q0 2.0
/* On-shell masses: the b pole mass (PDG: 4.78 GeV, rounded); the top's (its
 * dead cone; its final mass is its Breit-Wigner mass, set by gen_hard.c);
 * light quarks and gluons massless. */
#define GEN_MB 4.8
#define GEN_MT 172.5

static double alphas(double kt) { return 1.0 / (GEN_B0 * 2.0 * log(kt / GEN_LAMBDA)); }

double gen_parton_mass(int type) { return type == GEN_BQUARK ? GEN_MB : type == GEN_TOP ? GEN_MT : 0.0; }

int gen_shower_root(gen_work *w, int type, double e, double theta_max)
{
    if (gen_reserve((void **)&w->parton, &w->cap_parton, w->n_parton + 1, sizeof *w->parton)) return -1;
    int i = w->n_parton++;
    double m = gen_parton_mass(type);
    w->parton[i] =
        (gen_parton){.type = type, .child = {-1, -1}, .e = e, .xi_max = 1.0 - cos(theta_max), .m2 = m * m};
    return i;
}

/* The z range where kt = z (1-z) e sqrt(2 xi) > Q0 is possible; false when empty. */
static int z_range(double e, double xi, double *zlo, double *zhi)
{
    double eps = GEN_Q0 / (e * sqrt(2.0 * xi));
    if (eps >= 0.25) return 0;
    *zlo = 0.5 * (1.0 - sqrt(1.0 - 4.0 * eps));
    *zhi = 1.0 - *zlo;
    return 1;
}

/* Channels of a branching. */
enum { BRANCH_QQG, BRANCH_GGG, BRANCH_GQQ };

/* Finds the first branching of parton i below its xi_max with the veto
 * algorithm. Returns 1 and sets *channel, *z, *xi when it branches, 0 when it
 * reaches the cut-off. */
static int next_branching(const gen_parton *p, gen_rng *r, int *channel, double *z, double *xi_out)
{
    const double alphas_max = alphas(GEN_Q0);
    const int quark = p->type != GEN_GLUON;
    const double dead_cone2 = quark ? pow(gen_parton_mass(p->type) / p->e, 2) : 0.0;
    double xi = p->xi_max, zlo, zhi;
    while (z_range(p->e, xi, &zlo, &zhi)) {
        /* Overestimated z-integrals of the channels at the current (widest) z range. */
        double i_q = quark ? 2.0 * GEN_CF * log((1.0 - zlo) / (1.0 - zhi)) : 0.0;
        double i_gg = quark ? 0.0 : 2.0 * GEN_CA * log(zhi / zlo);
        double i_qq = quark ? 0.0 : GEN_NF * GEN_TR * (zhi - zlo);
        double total = i_q + i_gg + i_qq;
        /* Trial xi from the overestimated Sudakov: (xi'/xi)^(alpha_max total / 2 pi) = u. */
        xi *= exp(log(gen_uniform(r)) * 2.0 * GEN_PI / (alphas_max * total));
        /* z from the overestimate on the old range; below the cut-off kt at the
         * new xi the trial is vetoed, and the loop ends when no z is left. */
        double weight, zz, u = gen_uniform(r);
        int ch;
        if (quark) {
            ch = BRANCH_QQG;
            zz = 1.0 - (1.0 - zlo) * pow((1.0 - zhi) / (1.0 - zlo), u);
            weight = 0.5 * (1.0 + zz * zz);
        } else if (gen_uniform(r) * total < i_gg) {
            ch = BRANCH_GGG;
            zz = zlo * pow(zhi / zlo, u); /* from 1/z; mirrored half the time: 1/(1-z) */
            if (gen_uniform(r) < 0.5) zz = 1.0 - zz;
            double over = 1.0 / zz + 1.0 / (1.0 - zz);
            weight = (over - 2.0 + zz * (1.0 - zz)) / over;
        } else {
            ch = BRANCH_GQQ;
            zz = zlo + (zhi - zlo) * u;
            weight = zz * zz + (1.0 - zz) * (1.0 - zz);
        }
        double kt = zz * (1.0 - zz) * p->e * sqrt(2.0 * xi);
        if (kt <= GEN_Q0 || 2.0 * xi < dead_cone2) continue;
        weight *= alphas(kt) / alphas_max;
        if (gen_uniform(r) < weight) {
            *channel = ch;
            *z = zz;
            *xi_out = xi;
            return 1;
        }
    }
    return 0;
}

int gen_shower_evolve(gen_work *w, gen_rng *r, int root)
{
    /* Children are appended after their parents, so one pass in index order
     * decides every parton of the tree exactly once. */
    for (int i = root; i < w->n_parton; i++) {
        int channel;
        double z, xi;
        if (!next_branching(&w->parton[i], r, &channel, &z, &xi)) continue;
        if (gen_reserve((void **)&w->parton, &w->cap_parton, w->n_parton + 2, sizeof *w->parton))
            return JL_ENOMEM;
        gen_parton *a = &w->parton[i];
        /* g → qq̄ makes a b b̄ pair one time in GEN_NF: massive b quarks (dead cone, B hadrons). */
        int flavour = channel == BRANCH_GQQ && gen_uniform(r) * GEN_NF < 1.0 ? GEN_BQUARK : GEN_QUARK;
        int type_b = channel == BRANCH_QQG ? a->type : channel == BRANCH_GGG ? GEN_GLUON : flavour;
        int type_c = channel == BRANCH_GQQ ? flavour : GEN_GLUON;
        a->z = z;
        a->xi = xi;
        a->azimuth = gen_range(r, 0.0, GEN_TWO_PI);
        a->child[0] = w->n_parton;
        a->child[1] = w->n_parton + 1;
        /* Angular ordering: both children branch at angles below this one. */
        double mb = gen_parton_mass(type_b), mc = gen_parton_mass(type_c);
        w->parton[w->n_parton++] =
            (gen_parton){.type = type_b, .child = {-1, -1}, .e = z * a->e, .xi_max = xi, .m2 = mb * mb};
        w->parton[w->n_parton++] = (gen_parton){
            .type = type_c, .child = {-1, -1}, .e = (1.0 - z) * a->e, .xi_max = xi, .m2 = mc * mc};
    }
    return JL_OK;
}

double gen_shower_mass2(gen_work *w, int root, int end)
{
    for (int i = end - 1; i >= root; i--) {
        gen_parton *a = &w->parton[i];
        if (a->child[0] < 0) continue;
        double t = 2.0 * a->z * (1.0 - a->z) * a->e * a->e * a->xi;
        a->m2 = t + w->parton[a->child[0]].m2 / a->z + w->parton[a->child[1]].m2 / (1.0 - a->z);
    }
    return w->parton[root].m2;
}

/* Splits a (momentum a->p, mass² a->m2) into its two children, light-cone
 * fraction z along a's direction (see the top of the file). */
static void split(gen_parton *a, gen_parton *b, gen_parton *c)
{
    jl_p4 P = a->p;
    double pmag = gen_p3(P);
    double n[3] = {P.px / pmag, P.py / pmag, P.pz / pmag};
    double e1[3], e2[3];
    gen_basis(n, e1, e2);

    double z = a->z;
    double kt2 = z * (1.0 - z) * a->m2 - (1.0 - z) * b->m2 - z * c->m2;
    if (kt2 < 0.0) kt2 = 0.0; /* round-off only: analytically z (1-z) t_a >= 0 */
    double kt = sqrt(kt2);
    double plus = z * (P.E + pmag);
    double minus = (kt2 + b->m2) / plus;
    double along = 0.5 * (plus - minus);
    double k1 = kt * cos(a->azimuth), k2 = kt * sin(a->azimuth);
    b->p = (jl_p4){along * n[0] + k1 * e1[0] + k2 * e2[0], along * n[1] + k1 * e1[1] + k2 * e2[1],
                   along * n[2] + k1 * e1[2] + k2 * e2[2], 0.5 * (plus + minus)};
    c->p = (jl_p4){P.px - b->p.px, P.py - b->p.py, P.pz - b->p.pz, P.E - b->p.E};
}

void gen_shower_place(gen_work *w, int root, int end, jl_p4 p)
{
    w->parton[root].p = p;
    for (int i = root; i < end; i++) {
        gen_parton *a = &w->parton[i];
        if (a->child[0] >= 0) split(a, &w->parton[a->child[0]], &w->parton[a->child[1]]);
    }
}
