/* gen_detector.c — the generator's calorimeter: particles → cells → clusters.
 *
 * A projective grid of GEN_CELL_ETA × 2pi/GEN_CELL_NPHI (≈ 0.1 × 0.1) cells over
 * |η| < GEN_CALO_ETA (the ATLAS calorimeters' reach). Every particle leaves
 * its whole energy in the cell at its (η, φ): no magnetic field, one response
 * for photons and hadrons. Each cell's energy is then smeared with the
 * resolution σ/E = a/√E ⊕ c (a = 50%, c = 3%: a hadronic calorimeter, as the
 * issue gives), Gaussian, redrawn while negative (a cell still negative after
 * GEN_SMEAR_TRIES draws reads zero). Cells above GEN_CALO_THRESHOLD become
 * massless clusters, with pT = E / cosh η, at the energy-weighted mean (η, φ)
 * of what they received: as topological clustering's barycentres do, which
 * undoes the lateral spread of real showers (spreading a particle's energy
 * over cells and keeping cell centres would add about 2σ² E_jet² to every
 * jet's mass squared, a bias a calibrated calorimeter does not have).
 */
#include <math.h>
#include <stdlib.h>

#include "gen_internal.h"
#include "jl_error.h"

#define GEN_CALO_ETA 4.9
#define GEN_CELL_ETA 0.1
#define GEN_CELL_NPHI 64
#define GEN_CELL_NETA 98 /* 2 × 4.9 / 0.1 */
#define GEN_CELLS (GEN_CELL_NETA * GEN_CELL_NPHI)
#define GEN_CELL_PHI (GEN_TWO_PI / GEN_CELL_NPHI)

#define GEN_CALO_STOCHASTIC 0.50 /* a, in GeV^1/2 */
#define GEN_CALO_CONSTANT 0.03   /* c */
#define GEN_CALO_THRESHOLD 0.5   /* GeV, on the smeared cell energy */
#define GEN_SMEAR_TRIES 16

int gen_detector_alloc(gen_work *w)
{
    w->cell_e = calloc(GEN_CELLS, sizeof *w->cell_e);
    w->cell_de = calloc(GEN_CELLS, sizeof *w->cell_de);
    w->cell_dp = calloc(GEN_CELLS, sizeof *w->cell_dp);
    w->touched = malloc(GEN_CELLS * sizeof *w->touched);
    if (!w->cell_e || !w->cell_de || !w->cell_dp || !w->touched)
        return JL_FAIL_CODE(JL_ENOMEM, "gen: out of memory for the calorimeter grid");
    return JL_OK;
}

/* The smeared energy of a cell that received e > 0. */
static double smear(gen_rng *r, double e)
{
    double sigma =
        sqrt(GEN_CALO_STOCHASTIC * GEN_CALO_STOCHASTIC / e + GEN_CALO_CONSTANT * GEN_CALO_CONSTANT);
    for (int k = 0; k < GEN_SMEAR_TRIES; k++) {
        double s = e * (1.0 + sigma * gen_normal(r));
        if (s > 0.0) return s;
    }
    return 0.0;
}

int gen_detector(gen_work *w, gen_rng *r)
{
    w->n_touched = 0;
    for (int i = 0; i < w->n_particle; i++) {
        jl_p4 p = w->particle[i];
        double eta = jl_p4_eta(p);
        if (!w->visible[i] || !(fabs(eta) < GEN_CALO_ETA) || !(p.E > 0.0)) continue;
        double phi = jl_p4_phi(p); /* [0, 2pi) */
        int ie = (int)((eta + GEN_CALO_ETA) / GEN_CELL_ETA);
        int ip = (int)(phi / GEN_CELL_PHI);
        if (ie >= GEN_CELL_NETA) ie = GEN_CELL_NETA - 1;
        if (ip >= GEN_CELL_NPHI) ip = GEN_CELL_NPHI - 1;
        int cell = ie * GEN_CELL_NPHI + ip;
        if (w->cell_e[cell] == 0.0f) w->touched[w->n_touched++] = cell;
        /* Offsets from the cell's low edges, energy-weighted. */
        w->cell_e[cell] += (float)p.E;
        w->cell_de[cell] += (float)(p.E * (eta + GEN_CALO_ETA - ie * GEN_CELL_ETA));
        w->cell_dp[cell] += (float)(p.E * (phi - ip * GEN_CELL_PHI));
    }
    w->n_cluster = 0;
    int rc = gen_reserve((void **)&w->cluster, &w->cap_cluster, w->n_touched, sizeof *w->cluster);
    for (int k = 0; k < w->n_touched; k++) {
        int cell = w->touched[k];
        double e = w->cell_e[cell];
        double eta = (cell / GEN_CELL_NPHI) * GEN_CELL_ETA - GEN_CALO_ETA + w->cell_de[cell] / e;
        double phi = (cell % GEN_CELL_NPHI) * GEN_CELL_PHI + w->cell_dp[cell] / e;
        w->cell_e[cell] = w->cell_de[cell] = w->cell_dp[cell] = 0.0f;
        double s = smear(r, e);
        if (rc || s <= GEN_CALO_THRESHOLD) continue;
        double pt = s / cosh(eta);
        w->cluster[w->n_cluster++] = (jl_p4){pt * cos(phi), pt * sin(phi), pt * sinh(eta), s};
    }
    return rc;
}

int gen_particles_as_clusters(gen_work *w)
{
    int rc = gen_reserve((void **)&w->cluster, &w->cap_cluster, w->n_particle, sizeof *w->cluster);
    if (rc) return rc;
    w->n_cluster = 0;
    for (int i = 0; i < w->n_particle; i++)
        if (w->visible[i]) w->cluster[w->n_cluster++] = w->particle[i];
    return JL_OK;
}
