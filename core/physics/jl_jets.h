/* jl_jets.h — particles, event files and generalised-kt jet clustering.
 *
 * Everything here works in double precision, GeV, with FastJet's conventions:
 * rapidity y from E and pz, azimuth phi in [0, 2pi), d_ij = min(pt_i^2p,
 * pt_j^2p) dR_ij^2 / R^2 and d_iB = pt_i^2p, E-scheme recombination, inclusive
 * jets with pt >= ptmin sorted by decreasing pt. tests/sh/test_cluster_fastjet.sh
 * checks the jets against FastJet itself.
 *
 *   jl_events *ev = jl_events_read("events.dat");        // NULL: jl_last_error()
 *   jl_jetdef def = {.p = JL_ANTIKT, .r = 1.0, .ptmin = 500};
 *   for (int64_t e = 0; e < ev->count; e++) {
 *       jl_cluster *c = jl_cluster_run(ev->p + ev->offsets[e],
 *                                      ev->offsets[e + 1] - ev->offsets[e], &def);
 *       for (int j = 0; c && j < c->n_jets; j++) printf("%g\n", c->jets[j].pt);
 *       jl_cluster_free(c);
 *   }
 *   jl_events_free(ev);
 */
#ifndef JL_JETS_H
#define JL_JETS_H

#include <stdint.h>

/* A four-momentum (GeV). */
typedef struct jl_p4 {
    double px, py, pz, E;
} jl_p4;

/* --- kinematics (cluster.c) ------------------------------------------------ */
/* The rapidity of a particle with pt == 0 and E == |pz|, as FastJet: +-(1e5 + |pz|). */
#define JL_MAX_RAP 1e5

double jl_p4_pt2(jl_p4 p);
double jl_p4_pt(jl_p4 p);
/* m^2 = (E + pz)(E - pz) - pt^2, FastJet's rounding; may be negative. */
double jl_p4_m2(jl_p4 p);
/* sqrt(max(m^2, 0)): tachyonic round-off gives 0, never NaN. */
double jl_p4_m(jl_p4 p);
/* Azimuth in [0, 2pi); 0 when pt == 0. */
double jl_p4_phi(jl_p4 p);
/* Rapidity 0.5 ln((E + pz)/(E - pz)), computed as FastJet does (from the safer
 * light-cone component, with max(m^2, 0)); +-(JL_MAX_RAP + |pz|) for pt == 0
 * and E == |pz|. Infinite only for unphysical input (E + |pz| == 0, pt > 0). */
double jl_p4_rap(jl_p4 p);
/* Pseudorapidity asinh(pz/pt); JL_MAX_RAP when pt == 0 (FastJet's value). */
double jl_p4_eta(jl_p4 p);
jl_p4 jl_p4_add(jl_p4 a, jl_p4 b);

/* --- event text files (events.c) ------------------------------------------- */
/* The format of Debian's fastjet-examples (*.dat):
 *   - one particle per line: `px py pz E` (GeV), numbers separated by blanks;
 *     further columns (a PDG id, a b-tag flag) are ignored;
 *   - a line starting with `#END` closes the current event (an event may be
 *     empty); any other line starting with `#` (e.g. `#SUBSTART`) is a comment;
 *     blank lines are ignored; particles after the last `#END` form a last event;
 *   - a file without any particle line is an error.
 * Errors name the file and the line: "events.dat:17: expected 4 numbers (px py
 * pz E), got 3". Every failure, a missing file included, is JL_EIO (JL_ENOMEM
 * when memory runs out). */
typedef struct jl_events {
    int64_t count;    /* number of events */
    int64_t *offsets; /* (count + 1): event e holds particles offsets[e] .. offsets[e+1]-1 */
    jl_p4 *p;         /* (offsets[count]) particles, in file order */
} jl_events;

/* Reads an event file. Returns a new jl_events the caller frees with
 * jl_events_free, or NULL with the error set. */
jl_events *jl_events_read(const char *path);
/* Frees ev and its arrays (NULL allowed). */
void jl_events_free(jl_events *ev);

/* --- clustering (cluster.c) ------------------------------------------------- */
/* Values of jl_jetdef.p for the three named algorithms; any other finite p is
 * the generalised kt algorithm (FastJet's genkt_algorithm). */
#define JL_KT 1.0
#define JL_CAMBRIDGE 0.0
#define JL_ANTIKT (-1.0)

/* How nearest neighbours are searched; every strategy gives the same jets
 * unless distances tie exactly, where each breaks the tie its own way. */
typedef enum {
    JL_STRATEGY_AUTO = 0, /* FastJet's Best choice between the two below */
    JL_STRATEGY_PLAIN,    /* all pairs (N2Plain): ties as FastJet's N2Plain */
    JL_STRATEGY_TILED,    /* 3x3 tiles of size >= R (N2Tiled idea); PLAIN when R > 2pi/3 */
} jl_strategy;

typedef struct jl_jetdef {
    double p;             /* momentum exponent: JL_KT, JL_CAMBRIDGE, JL_ANTIKT or any finite value */
    double r;             /* jet radius R > 0 */
    double ptmin;         /* inclusive jets keep pt >= ptmin (FastJet's inclusive_jets) */
    jl_strategy strategy; /* JL_STRATEGY_AUTO when zero-initialised */
} jl_jetdef;

/* One inclusive jet. */
typedef struct jl_jet {
    jl_p4 p;
    double pt, y, eta, phi, m; /* jl_p4_pt(p), jl_p4_rap(p), ... */
    int pseudojet;             /* its index among the cluster's pseudojets */
    int n;                     /* number of constituents */
    const int *constituents;   /* (n) input particle indices, 0-based, ascending; owned by the cluster */
} jl_jet;

/* One clustering step, in the order they happened. */
typedef struct jl_cluster_step {
    int parent1; /* pseudojet index */
    int parent2; /* pseudojet index > parent1, or JL_CLUSTER_BEAM (parent1 became a jet) */
    int child;   /* the pseudojet made by the merge, or JL_CLUSTER_BEAM */
    double dij;  /* d_ij (merge) or d_iB (beam) of the step, in FastJet's normalisation */
} jl_cluster_step;
#define JL_CLUSTER_BEAM (-1)

/* The whole clustering of one event. Pseudojets 0 .. n_particles-1 are the
 * inputs (in input order); each merge appends one, so merge k makes pseudojet
 * n_particles + k. Every pseudojet is used exactly once as a parent, by a merge
 * or a beam step. */
typedef struct jl_cluster {
    jl_jetdef def;
    int n_particles;
    int n_pseudojets;       /* n_particles + number of merges */
    jl_p4 *p;               /* (n_pseudojets) four-momenta */
    int *made_by;           /* (n_pseudojets) the step that made it, -1 for inputs */
    int n_steps;            /* n_particles (merges + beam steps) */
    jl_cluster_step *steps; /* (n_steps) */
    int n_jets;
    jl_jet *jets;           /* (n_jets) inclusive jets, pt >= ptmin, decreasing pt */
    int *constituent_store; /* backing store of the jets' constituent lists */
} jl_cluster;

/* Clusters n particles (n >= 0; NaN/Inf components, R <= 0 or a non-finite p
 * are JL_EARG errors naming the particle or parameter). Cached nearest
 * neighbours, O(n^2) time at worst (a cheap O(n) minimum scan per step; the
 * neighbour updates stay within the 3x3 tiles for the tiled strategy), O(n)
 * memory. Returns a new jl_cluster the caller frees with jl_cluster_free, or
 * NULL with the error set. */
jl_cluster *jl_cluster_run(const jl_p4 *particles, int64_t n, const jl_jetdef *def);
/* Frees c and everything it owns (NULL allowed). */
void jl_cluster_free(jl_cluster *c);
/* The two parents of pseudojet k (for declustering): returns 1 and sets *a, *b
 * (a < b) when k was made by a merge, 0 for an input particle. */
int jl_cluster_parents(const jl_cluster *c, int k, int *a, int *b);

#endif
