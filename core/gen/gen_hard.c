/* gen_hard.c — the generator's hard process: a boosted top or W decaying to
 * quarks, or a QCD quark/gluon, showered (gen_shower.c) and placed.
 *
 * The hard object is made in the jet frame (momentum (pT, 0, 0): rapidity 0,
 * azimuth 0), its pT drawn flat in [GEN_PT_LOW · pt_min, GEN_PT_HIGH · pt_max]
 * (the reconstructed jet must land in [pt_min, pt_max); gen_select.c), its
 * rapidity flat in |y| < eta_max and its azimuth flat; gen_to_lab moves the
 * final state there at the end.
 *
 * Top: t → b W⁺ then W → q q̄′. Masses from Breit-Wigner distributions (cut at
 * GEN_BW_CUT widths), two-body decays in the rest frames: the b isotropic in
 * the top frame (unpolarised top), the W's decay angle in the W frame,
 * measured from the W's direction in the top frame, from the Standard Model
 * helicity fractions (F0, FL, FR) of t → bW. W jets: the W (from an
 * unspecified production) decays isotropically.
 * Showers start from angles set by colour coherence (after azimuthal
 * averaging, a massless emitter i with colour partner j radiates with dξ/ξ,
 * ξ = 1 - cos θ, inside the cone θ < θ_ij), and the decay products shower in
 * their parent's rest frame, as HERWIG does:
 *  - the W's q and q̄′, a colour singlet back to back in the W frame: θ < π
 *    there (GEN_W_THETA_MAX; the cone of their opening angle);
 *  - the b, colour-connected to the top at rest in the top frame: the
 *    antenna of a massless b and a static top is (1/ξ - 1/2) dξ over ξ < 2,
 *    which has the soft logarithm of dξ/ξ up to ξ = 2/e (GEN_B_THETA_MAX);
 *  - a QCD parton, in the jet frame: θ < π/2 (GEN_QCD_THETA_MAX). Its colour
 *    partner recoils at Δφ ≈ π, so the cone would reach π; radiation beyond
 *    π/2 never enters a jet of R <= 1.5 and only lowers the jet's pT, which
 *    the selection on the jet's pT absorbs, so it is not generated.
 * The top itself radiates before it decays (in the jet frame, θ < π/2,
 * outside its dead cone m_t/E_t); it decays with the momentum it keeps.
 * The quarks of a decay get virtual masses from their showers: the decay is
 * done once with on-shell masses (to give the showers their rest-frame
 * energies), the showers evolve, and the decay is redone with the same angles
 * and the showered masses; each tree is placed in its rest frame and boosted
 * to the jet frame, so four-momentum is conserved through the chain. Showers
 * too massive for their resonance are evolved again (GEN_SHOWER_TRIES).
 */
#include <math.h>

#include "gen_internal.h"
#include "jl_error.h"

/* PDG-rounded masses and widths (GeV), as the issue gives them. */
#define GEN_MTOP 172.5
#define GEN_GTOP 1.4
#define GEN_MW 80.4
#define GEN_GW 2.1
/* Breit-Wigner masses are kept within this many widths of the pole. */
#define GEN_BW_CUT 10.0

/* W helicity fractions in t → bW at NNLO: F0 = 0.687, FL = 0.311, FR = 0.0017
 * (Czarnecki, Körner, Piclum, Phys. Rev. D 81 (2010) 111503). */
#define GEN_W_F0 0.687
#define GEN_W_FL 0.311

/* The hard pT range, relative to the jet window: jets lose a few percent of the
 * parton pT out of the cone; the margin lets every jet pT in the window come
 * from a hard pT on either side of it. */
#define GEN_PT_LOW 0.95
#define GEN_PT_HIGH 1.10

/* Showers' starting angles (see the top of the file). */
#define GEN_QCD_THETA_MAX (GEN_PI / 2.0)
#define GEN_W_THETA_MAX GEN_PI                /* xi_max = 2, in the W frame */
#define GEN_B_THETA_MAX acos(1.0 - 2.0 / M_E) /* xi_max = 2/e ≈ 0.74, in the top frame */

/* Quark fraction of QCD jets: f_q = 0.5 + 0.22 ln(pT / 500 GeV), kept in
 * [0.2, 0.85] — a rough fit to the leading-order dijet fractions at √s = 13-14
 * TeV (about 50/50 at 500 GeV, 65% quarks at 1 TeV, 80% at 2 TeV: quarks
 * dominate as the parton momentum fractions grow). */
#define GEN_FQ_500 0.5
#define GEN_FQ_SLOPE 0.22
#define GEN_FQ_MIN 0.2
#define GEN_FQ_MAX 0.85

/* Showers of one decay are evolved again at most this many times when their
 * masses do not fit into the resonance's. */
#define GEN_SHOWER_TRIES 10

/* --- kinematics ------------------------------------------------------------ */

double gen_p3(jl_p4 p) { return sqrt(p.px * p.px + p.py * p.py + p.pz * p.pz); }

void gen_basis(const double n[3], double e1[3], double e2[3])
{
    if (fabs(n[2]) < 0.9) { /* n × z, normalised */
        double s = hypot(n[0], n[1]);
        e1[0] = n[1] / s, e1[1] = -n[0] / s, e1[2] = 0.0;
    } else { /* n × x */
        double s = hypot(n[1], n[2]);
        e1[0] = 0.0, e1[1] = n[2] / s, e1[2] = -n[1] / s;
    }
    e2[0] = n[1] * e1[2] - n[2] * e1[1];
    e2[1] = n[2] * e1[0] - n[0] * e1[2];
    e2[2] = n[0] * e1[1] - n[1] * e1[0];
}

jl_p4 gen_boost(jl_p4 p, double bx, double by, double bz)
{
    double b2 = bx * bx + by * by + bz * bz;
    if (b2 <= 0.0) return p;
    double gamma = 1.0 / sqrt(1.0 - b2);
    double bp = bx * p.px + by * p.py + bz * p.pz;
    double k = (gamma - 1.0) * bp / b2 + gamma * p.E;
    return (jl_p4){p.px + k * bx, p.py + k * by, p.pz + k * bz, gamma * (p.E + bp)};
}

double gen_delta_r(jl_p4 p, double y, double phi)
{
    double dy = jl_p4_rap(p) - y;
    double dphi = fabs(jl_p4_phi(p) - phi);
    if (dphi > GEN_PI) dphi = GEN_TWO_PI - dphi;
    return sqrt(dy * dy + dphi * dphi);
}

/* A mass from a Breit-Wigner of pole m and width g, cut at GEN_BW_CUT widths. */
static double breit_wigner(gen_rng *r, double m, double g)
{
    double a = atan(2.0 * GEN_BW_CUT);
    return m + 0.5 * g * tan(gen_range(r, -a, a));
}

int gen_decay_at_rest(double M, double m1, double m2, double cos_t, double phi, const double axis[3],
                      jl_p4 *p1, jl_p4 *p2)
{
    double s1 = M * M - (m1 + m2) * (m1 + m2), s2 = M * M - (m1 - m2) * (m1 - m2);
    if (s1 < 0.0) return 0;
    double p = sqrt(s1 * s2) / (2.0 * M);
    double u[3], v[3];
    gen_basis(axis, u, v);
    double sin_t = sqrt(fmax(0.0, 1.0 - cos_t * cos_t));
    double a = sin_t * cos(phi), b = sin_t * sin(phi);
    double d[3];
    for (int k = 0; k < 3; k++) d[k] = a * u[k] + b * v[k] + cos_t * axis[k];
    *p1 = (jl_p4){p * d[0], p * d[1], p * d[2], sqrt(p * p + m1 * m1)};
    *p2 = (jl_p4){-p * d[0], -p * d[1], -p * d[2], sqrt(p * p + m2 * m2)};
    return 1;
}

/* The angles of a resonance decay chain, drawn once and reused when the
 * decay is redone with showered masses. */
typedef struct decay_angles {
    double cos1, phi1; /* t → bW: b direction in the top frame (unused for a W jet) */
    double cos2, phi2; /* W → q q̄′: q̄′ direction in the W frame, from the W's flight direction */
} decay_angles;

/* A decay chain in the rest frames: for a top, b and W in the top frame;
 * q and q̄′ in the W frame (the W's flight direction in its parent's frame
 * is the axis; for a W jet the parent frame is the jet frame). */
typedef struct decay_chain {
    jl_p4 b, w;    /* top frame (top only) */
    jl_p4 q, qbar; /* W frame */
} decay_chain;

/* Fills c for resonance mass mres (mt for a top, mw for a W) moving with
 * four-momentum `res` in the jet frame, daughter masses m[] (b, q, q̄′ or q,
 * q̄′). Returns 0 when the masses do not fit. */
static int decay_chain_at(int top, jl_p4 res, double mres, double mw, const double m[3],
                          const decay_angles *a, decay_chain *c)
{
    static const double z_axis[3] = {0.0, 0.0, 1.0};
    jl_p4 w = res;
    if (top && !gen_decay_at_rest(mres, m[0], mw, a->cos1, a->phi1, z_axis, &c->b, &c->w)) return 0;
    if (top) w = c->w;
    double pw = gen_p3(w);
    double axis[3] = {w.px / pw, w.py / pw, w.pz / pw};
    const double *mq = top ? m + 1 : m;
    return gen_decay_at_rest(mw, mq[1], mq[0], a->cos2, a->phi2, axis, &c->qbar, &c->q);
}

/* Boosts every parton of the tree [root, end) by (bx, by, bz). */
static void boost_tree(gen_work *w, int root, int end, jl_p4 frame)
{
    double bx = frame.px / frame.E, by = frame.py / frame.E, bz = frame.pz / frame.E;
    for (int i = root; i < end; i++) w->parton[i].p = gen_boost(w->parton[i].p, bx, by, bz);
}

/* cos(theta*) of the q̄′ (the charged lepton's analogue) in the W frame for a
 * W from a top decay: longitudinal (3/4)(1 - c²) with F0, left-handed
 * (3/8)(1 - c)² with FL, right-handed (3/8)(1 + c)² otherwise. */
static double w_helicity_cos(gen_rng *r)
{
    double h = gen_uniform(r);
    if (h < GEN_W_F0) {
        for (;;) { /* 1 - c² by rejection, 2/3 efficient */
            double c = gen_range(r, -1.0, 1.0);
            if (gen_uniform(r) < 1.0 - c * c) return c;
        }
    }
    double c = 1.0 - 2.0 * cbrt(gen_uniform(r)); /* (1 - c)²: CDF 1 - ((1 - c)/2)³ */
    return h < GEN_W_F0 + GEN_W_FL ? c : -c;
}

/* Hadronises the evolved tree [root, w->n_parton) and places it with the
 * three-momentum of p3_only (its energy follows from the tree's mass); a top
 * leaf must already have its m2. JL_OK or JL_ENOMEM. */
static int finish_tree(gen_work *w, gen_rng *r, int root, jl_p4 p3_only)
{
    int end = w->n_parton;
    int rc = gen_hadronise_tree(w, r, root, end);
    if (rc) return rc;
    double m2 = gen_shower_mass2(w, root, end);
    p3_only.E = sqrt(p3_only.px * p3_only.px + p3_only.py * p3_only.py + p3_only.pz * p3_only.pz + m2);
    gen_shower_place(w, root, end, p3_only);
    gen_place_hadrons(w, root, end);
    return JL_OK;
}

/* A resonance (top: b, q, q̄′; W: q, q̄′) with pT along x. Returns JL_OK, 1
 * (give up this attempt) or an error. */
static int resonance(gen_work *w, gen_rng *r, jl_gen_signal process, double pt, gen_event *ev)
{
    const int top = process == JL_GEN_TOP;
    const int n = top ? 3 : 2;
    double mw = breit_wigner(r, GEN_MW, GEN_GW);
    double mres = top ? breit_wigner(r, GEN_MTOP, GEN_GTOP) : mw;
    decay_angles a;
    a.cos1 = gen_range(r, -1.0, 1.0);
    a.phi1 = gen_range(r, 0.0, GEN_TWO_PI);
    a.cos2 = top ? w_helicity_cos(r) : gen_range(r, -1.0, 1.0);
    a.phi2 = gen_range(r, 0.0, GEN_TWO_PI);
    jl_p4 res = {pt, 0.0, 0.0, sqrt(pt * pt + mres * mres)};

    if (top) { /* the top radiates, then decays with what is left */
        int root = gen_shower_root(w, GEN_TOP, res.E, GEN_QCD_THETA_MAX);
        if (root < 0) return JL_ENOMEM;
        int rc = gen_shower_evolve(w, r, root);
        if (rc) return rc;
        int leaf = root;
        while (w->parton[leaf].child[0] >= 0) leaf = w->parton[leaf].child[0];
        w->parton[leaf].m2 = mres * mres;
        rc = finish_tree(w, r, root, res);
        if (rc) return rc;
        res = w->parton[leaf].p;
    }

    /* On-shell decay: the rest-frame energies the showers start from. */
    const int type3[3] = {GEN_BQUARK, GEN_QUARK, GEN_QUARK};
    const int *type = top ? type3 : type3 + 1;
    double m[3] = {0.0, 0.0, 0.0};
    if (top) m[0] = gen_parton_mass(GEN_BQUARK);
    decay_chain c;
    if (!decay_chain_at(top, res, mres, mw, m, &a, &c)) return 1;
    jl_p4 rest[3] = {c.b, c.q, c.qbar};
    const jl_p4 *p = top ? rest : rest + 1;
    double theta[3] = {GEN_B_THETA_MAX, GEN_W_THETA_MAX, GEN_W_THETA_MAX};
    const double *th = top ? theta : theta + 1;

    int first = w->n_parton, first_particle = w->n_particle, root[3];
    for (int tries = 0;; tries++) {
        if (tries == GEN_SHOWER_TRIES) return 1;
        w->n_parton = first;
        w->n_particle = first_particle;
        for (int k = 0; k < n; k++) {
            root[k] = gen_shower_root(w, type[k], p[k].E, th[k]);
            if (root[k] < 0) return JL_ENOMEM;
            int rc = gen_shower_evolve(w, r, root[k]);
            if (!rc) rc = gen_hadronise_tree(w, r, root[k], w->n_parton);
            if (rc) return rc;
        }
        for (int k = 0; k < n; k++)
            m[k] = sqrt(gen_shower_mass2(w, root[k], k + 1 < n ? root[k + 1] : w->n_parton));
        /* The same angles with the showered masses; the decays must stay open. */
        if (decay_chain_at(top, res, mres, mw, m, &a, &c)) break;
    }
    jl_p4 placed[3] = {c.b, c.q, c.qbar};
    const jl_p4 *q = top ? placed : placed + 1;
    for (int k = 0; k < n; k++) {
        int end = k + 1 < n ? root[k + 1] : w->n_parton;
        gen_shower_place(w, root[k], end, q[k]);
        int is_b = top && k == 0;
        if (!is_b) boost_tree(w, root[k], end, top ? c.w : res); /* W frame → parent frame */
        if (top) boost_tree(w, root[k], end, res);               /* top frame → jet frame */
        gen_place_hadrons(w, root[k], end);
        ev->product[k] = w->parton[root[k]].p;
    }
    ev->n_products = n;
    return JL_OK;
}

/* A QCD quark or gluon at pT along x. */
static int qcd_parton(gen_work *w, gen_rng *r, double pt)
{
    double fq = GEN_FQ_500 + GEN_FQ_SLOPE * log(pt / 500.0);
    fq = fq < GEN_FQ_MIN ? GEN_FQ_MIN : fq > GEN_FQ_MAX ? GEN_FQ_MAX : fq;
    int type = gen_uniform(r) < fq ? GEN_QUARK : GEN_GLUON;
    int root = gen_shower_root(w, type, pt, GEN_QCD_THETA_MAX);
    if (root < 0) return JL_ENOMEM;
    int rc = gen_shower_evolve(w, r, root);
    return rc ? rc : finish_tree(w, r, root, (jl_p4){pt, 0.0, 0.0, 0.0});
}

int gen_hard(gen_work *w, gen_rng *r, const jl_gen_config *cfg, jl_gen_signal process, gen_event *ev)
{
    *ev = (gen_event){0};
    ev->pt = gen_range(r, GEN_PT_LOW * cfg->pt_min, GEN_PT_HIGH * cfg->pt_max);
    ev->y = gen_range(r, -cfg->eta_max, cfg->eta_max);
    ev->phi = gen_range(r, 0.0, GEN_TWO_PI);
    if (process == JL_GEN_NONE) return qcd_parton(w, r, ev->pt);
    return resonance(w, r, process, ev->pt, ev);
}

/* Rotation by phi about z, then a boost along z to rapidity y. */
static jl_p4 to_lab(jl_p4 p, double c, double s, double ch, double sh)
{
    double px = c * p.px - s * p.py, py = s * p.px + c * p.py;
    return (jl_p4){px, py, ch * p.pz + sh * p.E, ch * p.E + sh * p.pz};
}

void gen_to_lab(gen_work *w, gen_event *ev)
{
    double c = cos(ev->phi), s = sin(ev->phi), ch = cosh(ev->y), sh = sinh(ev->y);
    for (int i = 0; i < w->n_particle; i++) w->particle[i] = to_lab(w->particle[i], c, s, ch, sh);
    for (int k = 0; k < ev->n_products; k++) ev->product[k] = to_lab(ev->product[k], c, s, ch, sh);
}
