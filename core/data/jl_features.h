/* jl_features.h — per-constituent features of jets (DESIGN.md, Data): the
 * ATLAS 7-feature recipe, standardisation statistics, checks of raw jets, and
 * degradation (smearing, undersampling) applied to jets before features.
 *
 *   jl_features_opts o = {.max_constituents = 80};
 *   jl_tensor *x = jl_atlas_features(pt, eta, phi, E, &o);        // x (N, 80, 7)
 *   jl_tensor *xr, *off;
 *   jl_atlas_features_ragged(pt, eta, phi, E, &o, &xr, &off, NULL); // xr (N_total, 7)
 *
 *   jl_degrade d = {.seed = 1, .n_steps = 2, .step = {
 *       {.kind = JL_DEGRADE_SMEAR, .sigma_pt = 0.1, .sigma_E = 0.1, .relative = true},
 *       {.kind = JL_DEGRADE_UNDERSAMPLE, .keep = 5, .mode = JL_KEEP_HARDEST}}};
 *   jl_degrade_apply(&d, pt, eta, phi, E, jets, false);             // in place
 *
 * Jets come as four (N, C) f32 CPU contiguous tensors in GeV (jl_h5_jets's
 * pt, eta, phi, E): constituents sorted by decreasing pT, padding (pt == 0,
 * with eta, phi, E == 0) at the end. A constituent is real when pt > 0.
 *
 * The recipe matches atlas_features of shared/peers/torch_peer.py exactly
 * (computed here in double, rounded to f32 at the end):
 *   1. centre on column 0 (the hardest): eta -= eta0; phi -= phi0, wrapped
 *      into [-pi, pi) as (phi + pi) mod 2pi - pi;
 *   2. rotate by alpha = atan2(phi1, eta1) + pi/2 (column 1 = the second
 *      hardest): eta' = eta cos a + phi sin a, phi' = -eta sin a + phi cos a,
 *      which puts the second hardest on the -phi axis;
 *   3. flip eta' when the third hardest (column 2) has eta' < 0;
 *   4. x = [eta', phi', log pt, log E, log(pt / sum pt), log(E / sum E),
 *      sqrt(eta'^2 + phi'^2)], sums over the real constituents of the first
 *      max_constituents columns; padded entries stay exactly 0.
 * Like the peer, columns 1 and 2 are used whatever they hold: in a jet with
 * fewer than 3 real constituents a padding entry (eta = phi = 0) sets the
 * rotation or the flip, which moves no real constituent off its place (the
 * hardest sits at the origin, a lone second hardest on the eta' = 0 axis).
 * Columns past C count as padding. Units: log pt and log E are of the values
 * given (GeV from jl_h5); the peer reads MeV, so its log pt and log E are
 * ln 1000 larger, a constant that standardisation removes.
 */
#ifndef JL_FEATURES_H
#define JL_FEATURES_H

#include <stdbool.h>
#include <stdint.h>

#include "jl_jet_tensors.h"
#include "jl_tensor.h"

#define JL_FEATURES 7

/* Per-feature standardisation applied to real constituents: (x - mean) / std.
 * std > 0 (jl_moments_finish floors it at JL_STD_FLOOR). */
typedef struct jl_standardize {
    double mean[JL_FEATURES], std[JL_FEATURES];
} jl_standardize;

#define JL_STD_FLOOR 1e-6

typedef struct jl_features_opts {
    int64_t max_constituents;          /* columns used; <= 0 or > C: all C */
    const jl_standardize *standardize; /* NULL: raw features (borrowed) */
    bool serial;                       /* only the calling thread (no pool job) */
} jl_features_opts;

/* Padded features: returns x (N, C', 7) f32, +1, C' = columns used; rows of
 * padded entries are 0. pt, eta, phi, E (N, C) f32 CPU contiguous. */
jl_tensor *jl_atlas_features(jl_tensor *pt, jl_tensor *eta, jl_tensor *phi, jl_tensor *E,
                             const jl_features_opts *o);

/* Ragged features of the real constituents only: *x (N_total, 7) f32 and
 * *offsets (N + 1) i64 (jet i owns rows offsets[i] .. offsets[i+1]-1), and
 * when coords is not NULL *coords (N_total, 2) f32 = raw (eta', phi'), i.e.
 * features 1 and 2 before standardisation (ParticleNet's coordinates). Each
 * output is a +1 the caller owns; on failure all are NULL. */
int jl_atlas_features_ragged(jl_tensor *pt, jl_tensor *eta, jl_tensor *phi, jl_tensor *E,
                             const jl_features_opts *o, jl_tensor **x, jl_tensor **offsets,
                             jl_tensor **coords);

/* The same for one jet on raw arrays, for callers that build their own
 * buffers (the loader): writes n_real rows of 7 into rows and, when not
 * NULL, n_real pairs into coords; returns n_real. pt, eta, phi, E (c);
 * rows (min(c, max_constituents), 7); coords (same, 2). */
int64_t jl_jet_features(const float *pt, const float *eta, const float *phi, const float *E, int64_t c,
                        const jl_features_opts *o, float *rows, float *coords);

/* --- standardisation statistics ------------------------------------------ */

/* Running per-feature moments over real constituents (Chan et al.'s parallel
 * update, in double): count rows seen, mean, m2 = sum of squared deviations. */
typedef struct jl_moments {
    int64_t count;
    double mean[JL_FEATURES], m2[JL_FEATURES];
} jl_moments;

/* Adds the rows of x (N_total, 7) f32 CPU (ragged features: real
 * constituents only) to m. */
int jl_moments_add(jl_moments *m, jl_tensor *x);
/* mean and std (sample, n - 1) of each feature, std floored at JL_STD_FLOOR;
 * needs count >= 2. */
int jl_moments_finish(const jl_moments *m, jl_standardize *out);

/* --- raw jets ------------------------------------------------------------ */

typedef enum {
    JL_JET_OK = 0,
    JL_JET_INVALID, /* a NaN or infinite value, or a real constituent with E <= 0 */
    JL_JET_EMPTY,   /* no real constituent */
} jl_jet_check_result;

/* Classifies one jet; pt, eta, phi, E (c). */
jl_jet_check_result jl_jet_check(const float *pt, const float *eta, const float *phi, const float *E,
                                 int64_t c);

/* --- degradation (degrade.c) --------------------------------------------- */

typedef enum { JL_DEGRADE_SMEAR = 1, JL_DEGRADE_UNDERSAMPLE } jl_degrade_kind;
typedef enum { JL_KEEP_HARDEST = 0, JL_KEEP_RANDOM } jl_keep_mode;

typedef struct jl_degrade_step {
    jl_degrade_kind kind;
    /* smear: pt' = pt (1 + sigma_pt z) when relative, pt + sigma_pt z (GeV)
     * otherwise; the same for E with its own z. */
    double sigma_pt, sigma_E;
    bool relative;
    /* undersample: keep `keep` (>= 1) real constituents */
    int64_t keep;
    jl_keep_mode mode;
} jl_degrade_step;

#define JL_DEGRADE_MAX_STEPS 4
/* Draws per value before smearing gives up and clips (see degrade.c). */
#define JL_SMEAR_TRIES 8
/* The clip: a smeared value never drops below this fraction of its original. */
#define JL_SMEAR_FLOOR 1e-3

/* Steps applied in order. Random numbers are keyed by (seed, jet index,
 * step, constituent), so a jet is degraded the same way whatever the batch,
 * the chunk, the thread count or the epoch it comes in. */
typedef struct jl_degrade {
    uint64_t seed;
    int n_steps;
    jl_degrade_step step[JL_DEGRADE_MAX_STEPS];
} jl_degrade;

/* Checks the steps' parameters (sigmas >= 0 and finite, keep >= 1, known kinds). */
int jl_degrade_check(const jl_degrade *d);

/* Degrades jets in place: pt, eta, phi, E (N, C) f32 CPU contiguous; jets
 * (N) i64 = each jet's index in its file (the random key). Real constituents
 * only; the output keeps the input's conventions (sorted by decreasing pT,
 * padding zero). serial: only the calling thread. */
int jl_degrade_apply(const jl_degrade *d, jl_tensor *pt, jl_tensor *eta, jl_tensor *phi, jl_tensor *E,
                     jl_tensor *jets, bool serial);

/* The same for one jet on raw arrays (c columns), jet = its file index. */
void jl_degrade_jet(const jl_degrade *d, uint64_t jet, float *pt, float *eta, float *phi, float *E,
                    int64_t c);

#endif
