/* gen_internal.h — what the generator's files (core/gen_*.c) share (internal).
 *
 * One jet attempt runs on one thread with one gen_work (scratch memory, reused
 * from jet to jet) and one gen_rng (the Philox stream of that jet attempt):
 *
 *   gen_rng r;
 *   gen_rng_init(&r, cfg->seed, jet_index, attempt);
 *   gen_work_reset(w);
 *   gen_event ev;
 *   gen_hard(w, &r, cfg, process, &ev);        // partons showered, hadronised, placed
 *   gen_to_lab(w, &ev); gen_underlying_event(w, &r, cfg, &ev);
 *   gen_detector(w, &r);                        // or gen_particles_as_clusters(w)
 *   ... gen_select.c clusters w->cluster and applies the selection
 *
 * Conventions: GeV; four-momenta are jl_p4 (jl_jets.h). The hard object is
 * built in the "jet frame" (rapidity 0, azimuth 0: momentum along +x) and the
 * final state is then rotated and boosted along z to the drawn (y, phi), so the
 * substructure (ΔR distances, pT fractions) does not depend on the rapidity.
 */
#ifndef JL_GEN_INTERNAL_H
#define JL_GEN_INTERNAL_H

#include <stdint.h>

#include "jl_gen.h"
#include "jl_jets.h"
#include "jl_philox.h"

#define GEN_PI 3.14159265358979323846
#define GEN_TWO_PI 6.28318530717958647693

/* --- random numbers ------------------------------------------------------ */
/* Counter word 3 of every generator block carries this tag (xor the high half
 * of the jet index), so the generator's words never coincide with those of
 * the tensor RNG (ops_random.c uses word 3 = 0) for the same seed. */
#define GEN_STREAM_TAG 0x67656E00u /* "gen\0" */
/* The jet index of the stream that shuffles the labels. */
#define GEN_LABEL_STREAM UINT64_MAX

typedef struct gen_rng {
    uint64_t seed, jet;
    uint32_t attempt;
    uint32_t block; /* next counter block */
    uint32_t buf[4];
    int pos;        /* next unused word of buf; 4 when empty */
    int has_normal; /* Box-Muller gives two normals: the second waits here */
    double normal;
} gen_rng;

static inline void gen_rng_init(gen_rng *r, uint64_t seed, uint64_t jet, uint32_t attempt)
{
    *r = (gen_rng){.seed = seed, .jet = jet, .attempt = attempt, .pos = 4};
}

static inline uint32_t gen_u32(gen_rng *r)
{
    if (r->pos == 4) {
        jl_philox4x32 ctr = {
            {r->block++, r->attempt, (uint32_t)r->jet, GEN_STREAM_TAG ^ (uint32_t)(r->jet >> 32)}};
        jl_philox4x32 out = jl_philox4x32_10(ctr, (uint32_t)r->seed, (uint32_t)(r->seed >> 32));
        for (int k = 0; k < 4; k++) r->buf[k] = out.v[k];
        r->pos = 0;
    }
    return r->buf[r->pos++];
}

/* Uniform in the open interval (0, 1). */
static inline double gen_uniform(gen_rng *r) { return jl_philox_open01(gen_u32(r)); }

/* Uniform in [lo, hi). */
static inline double gen_range(gen_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * (double)(gen_u32(r) >> 8) * 0x1p-24;
}

/* A standard normal. */
static inline double gen_normal(gen_rng *r)
{
    if (r->has_normal) {
        r->has_normal = 0;
        return r->normal;
    }
    double z0, z1;
    jl_philox_box_muller(gen_u32(r), gen_u32(r), &z0, &z1);
    r->normal = z1;
    r->has_normal = 1;
    return z0;
}

/* --- partons (the shower tree) ------------------------------------------- */
enum { GEN_GLUON = 0, GEN_QUARK = 1, GEN_BQUARK = 2, GEN_TOP = 3 };

/* One parton of a shower tree. Branched partons have two children (child[0]
 * takes the energy fraction z); final partons have child[0] == -1. Children
 * always come after their parent in w->parton. */
typedef struct gen_parton {
    int type; /* GEN_GLUON, GEN_QUARK (massless u d s c b), GEN_BQUARK (the massive b of a
                         top decay), GEN_TOP (radiates before it decays; never hadronised) */
    int child[2];
    double e;             /* energy in the evolution (massless kinematics), GeV */
    double xi_max;        /* angular ordering: its branchings have xi = 1 - cos(theta) below this */
    double z, xi;         /* its branching: energy fraction of child[0], 1 - cos(opening angle) */
    double azimuth;       /* of child[0]'s transverse momentum around the parent, radians */
    double m2;            /* invariant mass squared: a final parton's is that of its hadrons
                         (or the top's own); a branched one's follows from its branching */
    jl_p4 p;              /* four-momentum after gen_shower_place */
    int hadron, n_hadron; /* a final parton's hadrons: w->particle[hadron .. hadron+n_hadron) */
} gen_parton;

/* --- one jet's scratch memory -------------------------------------------- */
typedef struct gen_work {
    gen_parton *parton;
    int n_parton, cap_parton;
    jl_p4 *particle;  /* final-state particles (hadrons, photons, neutrinos, underlying event) */
    uint8_t *visible; /* (cap_particle) 0 for a neutrino: no detector, no truth jet sees it */
    int n_particle, cap_particle;
    jl_p4 *cluster; /* the clustering input: calorimeter clusters or particles */
    int n_cluster, cap_cluster;
    /* calorimeter grid (gen_detector.c): energy, energy-weighted offsets inside the cell */
    float *cell_e, *cell_de, *cell_dp;
    int *touched; /* cells with a deposit, to clear and read them */
    int n_touched;
    struct gen_ranked *rank; /* constituent sort (gen_select.c) */
    int cap_rank;
} gen_work;

/* A zeroed workspace (owned; gen_work_free) or NULL (JL_ENOMEM set). */
gen_work *gen_work_new(void);
void gen_work_free(gen_work *w);
/* Forgets the partons and particles of the last attempt (keeps the memory). */
void gen_work_reset(gen_work *w);
/* Grows *array (element size `size`, capacity *cap) to hold `need`; JL_OK or JL_ENOMEM. */
int gen_reserve(void **array, int *cap, int need, size_t size);
/* Appends a particle, visible or not (a neutrino); JL_OK or JL_ENOMEM. */
int gen_add_particle(gen_work *w, jl_p4 p, int visible);

/* --- kinematics (gen_hard.c) ---------------------------------------------- */
/* Boost of p by velocity (bx, by, bz), |b| < 1. */
jl_p4 gen_boost(jl_p4 p, double bx, double by, double bz);
/* Two unit vectors e1, e2 completing the unit vector n to a right-handed basis. */
void gen_basis(const double n[3], double e1[3], double e2[3]);
/* |p| of the three-momentum. */
double gen_p3(jl_p4 p);
/* ΔR in rapidity and azimuth between a four-momentum and a direction (y, phi). */
double gen_delta_r(jl_p4 p, double y, double phi);
/* Two-body decay at rest of a mass M into masses m1, m2: particle 1 along the
 * direction at polar angle acos(cos_t), azimuth phi around `axis` (a unit
 * vector); particle 2 opposite. Returns 0 (and leaves p1, p2 alone) when M < m1 + m2. */
int gen_decay_at_rest(double M, double m1, double m2, double cos_t, double phi, const double axis[3],
                      jl_p4 *p1, jl_p4 *p2);

/* --- the hard process (gen_hard.c) --------------------------------------- */
/* What gen_hard produced besides the partons. */
typedef struct gen_event {
    double pt, y, phi; /* the hard object's drawn pT, rapidity, azimuth */
    int n_products;    /* decay products to contain: 3 (top), 2 (W), 0 (QCD) */
    jl_p4 product[3];  /* b, q, q̄′ (jet frame until gen_to_lab, then lab) */
} gen_event;

/* Draws the hard object of `process` (JL_GEN_TOP, JL_GEN_W or JL_GEN_NONE for
 * QCD) for cfg's window, decays it, showers and hadronises every coloured
 * parton and places everything in the jet frame (hadrons in w->particle). Returns JL_OK, 1 when this attempt must be
 * abandoned (a shower too massive for its resonance), or JL_ENOMEM. */
int gen_hard(gen_work *w, gen_rng *r, const jl_gen_config *cfg, jl_gen_signal process, gen_event *ev);
/* Rotates and boosts the particles and the decay products from the jet frame to ev's (y, phi). */
void gen_to_lab(gen_work *w, gen_event *ev);

/* --- the parton shower (gen_shower.c) ------------------------------------ */
/* Appends a parton (a shower root) of type and energy e whose branchings are
 * bounded by opening angle theta_max; returns its index or -1 (JL_ENOMEM).
 * Its m2 (and that of every parton the evolution makes) starts as its type's
 * on-shell mass squared. */
int gen_shower_root(gen_work *w, int type, double e, double theta_max);
/* Evolves the parton at `root` (and all it makes) down to the cut-off; the
 * tree is w->parton[root .. w->n_parton). JL_OK or JL_ENOMEM. */
int gen_shower_evolve(gen_work *w, gen_rng *r, int root);
/* Fills m2 bottom-up for the branched partons of the tree [root, end) from
 * their branchings and their children's m2 (final partons keep theirs);
 * returns the root's m2. */
double gen_shower_mass2(gen_work *w, int root, int end);
/* Gives the root the four-momentum p (its mass must be the root's m2) and
 * every descendant its momentum, conserving four-momentum at every branching. */
void gen_shower_place(gen_work *w, int root, int end, jl_p4 p);
/* The on-shell mass of a final parton of this type, GeV. */
double gen_parton_mass(int type);

/* --- hadronisation and underlying event (gen_hadron.c) ------------------- */
/* Hadronises every final parton of the evolved tree [root, end) but a top:
 * its hadrons (pi0 decayed to two photons) go to w->particle, made in a
 * frame where the parton has momentum e along +z, and their invariant mass
 * squared becomes its m2. Call before gen_shower_mass2. JL_OK or JL_ENOMEM. */
int gen_hadronise_tree(gen_work *w, gen_rng *r, int root, int end);
/* Once the tree is placed, moves each final parton's hadrons onto it (a
 * Lorentz transformation: their total four-momentum becomes the parton's). */
void gen_place_hadrons(gen_work *w, int root, int end);
/* Adds the underlying event (lab frame) around ev's direction. JL_OK or JL_ENOMEM. */
int gen_underlying_event(gen_work *w, gen_rng *r, const jl_gen_config *cfg, const gen_event *ev);

/* --- hadron species and decays (gen_species.c) ---------------------------- */
/* Appends what one fragmentation step makes with three-momentum (px, py, pz):
 * a hadron of a drawn species, or its decay products (four-momentum conserved;
 * π0 and B hadrons stable). JL_OK or JL_ENOMEM. */
int gen_add_hadron(gen_work *w, gen_rng *r, double px, double py, double pz);

/* --- detector (gen_detector.c) ------------------------------------------- */
/* Deposits the visible particles in the calorimeter and fills w->cluster with the
 * massless clusters of the cells above threshold. JL_OK or JL_ENOMEM. */
int gen_detector(gen_work *w, gen_rng *r);
/* Particle level: w->cluster = the visible particles. JL_OK or JL_ENOMEM. */
int gen_particles_as_clusters(gen_work *w);
/* Allocates the calorimeter grid of a workspace. JL_OK or JL_ENOMEM. */
int gen_detector_alloc(gen_work *w);

/* --- selection and labels (gen_select.c) --------------------------------- */
/* One kept jet, written into row `row` of the output arrays. */
typedef struct gen_out {
    int64_t columns;                           /* constituent columns of a row */
    float *pt, *eta, *phi, *e;                 /* (rows, columns) */
    float *jet_pt, *jet_eta, *jet_phi, *jet_m; /* (rows) */
    int64_t *mult;                             /* (rows) constituents of the jet, all of them */
} gen_out;

/* Clusters w->cluster, takes the leading jet and applies the selection of
 * jl_gen.h; a kept jet goes to row `row` of out. Returns 1 (kept), 0
 * (rejected: try again), or JL_ENOMEM / JL_EARG (clustering failed). */
int gen_select(gen_work *w, const jl_gen_config *cfg, const gen_event *ev, const gen_out *out, int64_t row);
/* n labels, exactly n/2 (rounded down) signal unless cfg->signal is NONE,
 * in a seeded random order; owned by the caller (free), or NULL (JL_ENOMEM). */
uint8_t *gen_labels(const jl_gen_config *cfg, int64_t n);

#endif
