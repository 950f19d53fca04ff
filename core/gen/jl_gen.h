/* jl_gen.h — the built-in jet generator (DESIGN.md, Data: "Built-in generator").
 *
 * Boosted top (t → bW, W → qq̄′), W (W → qq̄′) and QCD (quark or gluon) jets in
 * a pT window, written in the ATLAS Top Tagging layout (jl_h5.h), all in C,
 * deterministic for a seed whatever the thread count:
 *
 *   jl_gen_config cfg;
 *   jl_gen_config_init(&cfg);                 // top vs QCD, 500:600 GeV, R = 1.0
 *   cfg.seed = 7;
 *   jl_gen_stats *st = jl_gen_stats_new();
 *   if (jl_gen_write(&cfg, 100000, "top500.h5", st) != JL_OK) puts(jl_last_error());
 *   jl_gen_summary s;
 *   jl_gen_summarize(st, &s);                 // mass peaks, multiplicities, AUC, speed
 *   jl_gen_stats_free(st);
 *
 * The chain for one jet (each step in its own file):
 *   gen_hard.c     the hard object at pT, rapidity y, azimuth phi: a top or W
 *                  with Breit-Wigner masses and exact two-body decays in the
 *                  rest frames, or a quark/gluon with a pT-dependent mix;
 *   gen_shower.c   an angular-ordered leading-log parton shower (q → qg,
 *                  g → gg, g → qq̄; running alpha_s; Sudakov veto algorithm)
 *                  off every coloured parton, with exact momentum conservation;
 *   gen_hadron.c   independent (Field-Feynman) fragmentation of every final
 *                  parton (a stable B hadron for a top's b), conserving
 *                  four-momentum, plus a uniform underlying event;
 *   gen_species.c  the hadron of each fragmentation step: π, K, p, n, η, ρ,
 *                  ω, K*, Λ at string-model rates, decayed with π0 and B
 *                  hadrons stable (Pythia's final state in the anchors' runs);
 *   gen_detector.c an η–φ calorimeter grid with stochastic and constant
 *                  resolution terms and a threshold, cells → massless clusters;
 *   gen_select.c   anti-kt jets (jl_jets.h), the leading jet, the pT and |η|
 *                  window, truth containment of the decay products; labels;
 *   gen_driver.c   attempts, threads, batches, the HDF5 writer;
 *   gen_report.c   summary statistics, the reference from real event files
 *                  and the realism checks.
 *
 * Selection (gen_select.c): a jet is kept when the leading anti-kt jet of the
 * generated final state has pT in [pt_min, pt_max) and |η| < eta_max, and, for
 * signal, when every decay product (b, q, q̄′ for the top; q, q̄′ for the W) lies
 * within ΔR < 0.75 R of the jet axis (ΔR in rapidity and azimuth, as FastJet).
 * Otherwise the jet is generated again from the next attempt's random numbers
 * (at most JL_GEN_MAX_ATTEMPTS). The window thus applies to the reconstructed
 * jet; the hard object's pT is drawn flat in a slightly wider window (see
 * gen_hard.c), so the kept jets' pT spectrum is close to flat in the window
 * (deciles equal within a few percent at 500-600 GeV) for signal and
 * background alike: pT carries next to no label information.
 *
 * Randomness: every draw for jet i, attempt a comes from Philox4x32-10
 * (jl_philox.h) keyed by the seed with counter {k, a, i, tag}, so a jet depends
 * on (seed, i, its label) only. Labels: exactly floor(n/2) signal jets (none
 * when signal is JL_GEN_NONE) placed by a seeded Fisher-Yates shuffle.
 *
 * Units: GeV in memory (jl_h5_jets), MeV on disk (the writer converts).
 * Errors are values (jl_error.h): JL_EARG for a bad configuration or an
 * unreachable selection, JL_ENOMEM, JL_EIO from the writer, JL_EINTR when
 * *cfg->interrupt becomes nonzero (checked between batches).
 */
#ifndef JL_GEN_H
#define JL_GEN_H

#include <stdbool.h>
#include <stdint.h>

#include "jl_h5.h"

typedef enum jl_gen_signal {
    JL_GEN_NONE = 0, /* every jet QCD (label 0) */
    JL_GEN_TOP = 1,  /* half t → bW → b qq̄′ (label 1), half QCD */
    JL_GEN_W = 2,    /* half W → qq̄′ (label 1), half QCD */
} jl_gen_signal;

typedef struct jl_gen_config {
    jl_gen_signal signal;
    double pt_min, pt_max;   /* jet pT window [pt_min, pt_max), GeV; 0 < pt_min < pt_max */
    double eta_max;          /* |η| of the jet below this (default 2.0) */
    double r;                /* anti-kt radius, 0.2 <= r <= 1.5 (default 1.0) */
    uint64_t seed;           /* default 1 */
    bool detector;           /* true (default): calorimeter clusters as constituents;
                               false: the final-state particles (particle level) */
    int64_t batch;           /* jets per batch when streaming to a file (default 4096) */
    volatile int *interrupt; /* optional: generation stops with JL_EINTR when *interrupt != 0 */
} jl_gen_config;

/* Sets the defaults: signal top, 500:600 GeV, eta_max 2, R 1.0, seed 1, detector on. */
void jl_gen_config_init(jl_gen_config *cfg);
/* JL_OK, or JL_EARG with a message naming the bad field. */
int jl_gen_config_check(const jl_gen_config *cfg);
/* "top", "w", "none"; and back (false for an unknown name). */
const char *jl_gen_signal_name(jl_gen_signal s);
bool jl_gen_parse_signal(const char *name, jl_gen_signal *out);

/* A generated jet is regenerated at most this many times before the run fails
 * (a pT window the chain cannot reach, e.g. 5:6 GeV). */
#define JL_GEN_MAX_ATTEMPTS 1000
/* Containment of signal decay products: ΔR(product, jet) < this × R. */
#define JL_GEN_CONTAINMENT 0.75

/* --- statistics ------------------------------------------------------------
 * Histograms per class (index = label: 0 QCD, 1 signal), filled as jets are
 * generated; memory is fixed whatever the number of jets. */
#define JL_GEN_MASS_BINS 3000 /* 1 GeV bins over [0, 3000) GeV, plus one overflow bin */
#define JL_GEN_MULT_BINS 512  /* constituent counts 0..511, plus one overflow bin */

typedef struct jl_gen_stats {
    int64_t jets[2];
    int64_t attempts[2];                   /* attempts summed over the jets */
    int64_t mass[2][JL_GEN_MASS_BINS + 1]; /* jet mass */
    int64_t mult[2][JL_GEN_MULT_BINS + 1]; /* constituents of the jet (all, not only the first 200) */
    double gen_seconds;                    /* wall time spent generating */
    double write_seconds;                  /* wall time spent in the HDF5 writer */
} jl_gen_stats;

/* A zeroed jl_gen_stats (owned; free with jl_gen_stats_free), or NULL (JL_ENOMEM). */
jl_gen_stats *jl_gen_stats_new(void);
void jl_gen_stats_free(jl_gen_stats *s);
/* Adds one jet (label 0 or 1, mass in GeV, constituent count, attempts >= 1). */
void jl_gen_stats_add(jl_gen_stats *s, int label, double mass, int64_t mult, int64_t attempts);

typedef struct jl_gen_class {
    int64_t n;          /* jets of the class */
    double mass_median; /* GeV, from the 1 GeV histogram, linear inside the bin */
    double mass_peak;   /* GeV: centre of the fullest 5 GeV bin (after 3-bin smoothing) */
    double mult_median; /* constituents */
    double attempts;    /* attempts per kept jet */
} jl_gen_class;

typedef struct jl_gen_summary {
    jl_gen_class cls[2];    /* [0] QCD, [1] signal; NaN statistics for an empty class */
    double auc;             /* best jet-mass-window AUC of signal vs QCD (NaN if a class is empty) */
    double window_centre;   /* its window centre, GeV */
    double jets_per_second; /* jets / gen_seconds */
} jl_gen_summary;

/* Summarises s. The mass-window AUC: for each centre c on a 1 GeV grid the
 * score -|m - c| (a window around c whose width sweeps the ROC) gives an AUC
 * (ties count one half); the best c is kept. */
void jl_gen_summarize(const jl_gen_stats *s, jl_gen_summary *out);

/* --- generation ------------------------------------------------------------ */
/* Generates n >= 0 jets in memory: out gets (n, 200) constituents and the
 * jet-level tensors, labels i64, weights 1 (owned by the caller: free with
 * jl_h5_jets_free; left all NULL on failure). stats may be NULL; otherwise
 * the jets are added to it. */
int jl_gen_jets(const jl_gen_config *cfg, int64_t n, jl_h5_jets *out, jl_gen_stats *stats);
/* Generates n >= 1 jets into an ATLAS-layout file at path, cfg->batch jets at
 * a time (memory bounded by one batch); the file appears only when complete. */
int jl_gen_write(const jl_gen_config *cfg, int64_t n, const char *path, jl_gen_stats *stats);

/* --- realism checks ---------------------------------------------------------
 * The reference events: Pythia 6 dijets with pT-hat > 1 TeV at the LHC,
 * shipped by Debian's fastjet-examples. */
#define JL_GEN_REFERENCE_FILE "/usr/share/doc/fastjet-examples/examples/Pythia-PtMin1000-LHC-10ev.dat"

/* The reference: jets of a real event file (fastjet-examples' .dat format)
 * clustered as the generator does (anti-kt, cfg->r), the `leading` hardest
 * jets of each event kept when their pT is in cfg's window and |η| <
 * cfg->eta_max. Fills n, mass_median and mult_median (exact medians of the
 * kept jets; NaN when none), the rest 0. JL_EIO when the file cannot be read. */
int jl_gen_reference(const char *path, const jl_gen_config *cfg, int leading, jl_gen_class *out);

/* Where the checks' numbers come from (DESIGN.md and issue "built-in generator"). */
#define JL_GEN_TOP_PEAK_LO 160.0 /* top jets' mass peak, GeV */
#define JL_GEN_TOP_PEAK_HI 190.0
#define JL_GEN_W_PEAK_LO 70.0 /* W jets' mass peak, GeV */
#define JL_GEN_W_PEAK_HI 90.0
#define JL_GEN_AUC_LO 0.75 /* top vs QCD mass-window AUC at 500-600 GeV: hard, not trivial */
#define JL_GEN_AUC_HI 0.92
#define JL_GEN_REF_TOLERANCE 0.25 /* QCD medians within 25% of the real events' */

typedef struct jl_gen_check {
    const char *name; /* static, e.g. "signal mass peak" */
    double value, lo, hi;
    bool pass; /* lo <= value <= hi */
} jl_gen_check;

/* The checks that apply to a run of cfg with summary s (up to 4 into out;
 * returns how many):
 *  - signal mass peak: top in [160, 190] GeV, W in [70, 90] GeV;
 *  - mass-window AUC in [0.75, 0.92]: top vs QCD with the window inside
 *    [450, 700] GeV (the study's 500-600 GeV);
 *  - QCD median multiplicity and median mass within 25% of the reference's,
 *    when ref is given (ref->n >= 5) and `qcd` holds QCD jets generated with
 *    the reference's selection (pass the particle-level summary here: the
 *    reference events are particles, not calorimeter clusters). */
int jl_gen_checks(const jl_gen_config *cfg, const jl_gen_summary *s, const jl_gen_class *qcd,
                  const jl_gen_class *ref, jl_gen_check *out, int max);

#endif
