/* jl_lund.h — Lund-plane declustering of jets into graphs (DESIGN.md, "Lund
 * plane"): the input of LundNet.
 *
 *   jl_lund_node nodes[JL_LUND_MAX_NODES(50)];
 *   int n = jl_lund_decluster(constituents, 50, &(jl_lund_opts){0}, nodes);  // < 0: jl_last_error()
 *
 *   jl_lund_graphs g;                                  // a whole batch, parallel over jets
 *   if (jl_lund_graphs_atlas(pt, eta, phi, E, &(jl_lund_opts){.features = 5}, &g) == JL_OK) {
 *       ... g.x (N, 5), g.offsets (B+1), g.src/g.dst (E), g.edge_offsets (N+1), g.parent (N) ...
 *       jl_lund_graphs_free(&g);
 *   }
 *
 * --- the tree ---------------------------------------------------------------
 * The constituents of a jet (in the order given) are re-clustered with
 * Cambridge/Aachen, E-scheme, R = JL_LUND_R (FastJet's
 * JetDefinition::max_allowable_R, as fjcontrib's LundGenerator), which puts
 * every constituent into one jet; the hardest inclusive jet is declustered
 * (for finite rapidities it is the only one). The clustering is a C/A
 * dedicated to jets (lund.c) with the nearest-neighbour scheme and slot
 * bookkeeping of jl_cluster_run's N2Plain strategy, which gives the same tree
 * (tests/c/test_lund.c); FastJet picks another strategy for large R, and the
 * trees differ only where two distances tie exactly.
 *
 * The tree is walked from the root, following BOTH branches (primary and
 * secondary Lund planes). At a pseudojet P with parents, j1 is the harder
 * parent and j2 the softer: j1 is the parent with the larger pt^2, and on an
 * exact tie the one made first (lower pseudojet index: FastJet's
 * has_parents(j1, j2) followed by `if (j1.pt2() < j2.pt2()) swap`). Each such
 * declustering is one node; nodes are emitted depth-first in preorder, the
 * harder branch before the softer: node(P), then the subtree of j1, then the
 * subtree of j2. A jet of n constituents gives n - 1 nodes (0 for n <= 1).
 *
 * --- node features (y = rapidity, phi = azimuth in [0, 2pi), jl_p4_rap/phi) ---
 * The conventions of the LundNet authors (fdreyer/LundNet JetTree.py), whose
 * published models read these features:
 *   Delta = max(JL_LUND_DELTA_MIN, sqrt(dy^2 + dphi^2)),  dy = y1 - y2,  dphi = |phi1 - phi2|
 *           folded into [0, pi] (FastJet's j1.delta_R(j2), floored at 1e-6)
 *   z     = pt2 / (pt1 + pt2)
 *   kt    = pt2 * Delta
 *   ln m  = 1/2 ln |m^2(j1 + j2)|                 (the mass of P; |m^2| floored at JL_LUND_TINY^2)
 *   psi   = atan((y1 - y2) / (phi1 - phi2)) with FastJet's phi in [0, 2pi) NOT wrapped
 *           (a pair across phi = 0 has a phi difference near +-2pi); 0 when phi1 == phi2
 *   ln x  = log(max(x, JL_LUND_TINY)) for x = z, kt: every feature is finite.
 * LundNet5 rows: [ln z, ln Delta, psi, ln m, ln kt]; LundNet3 rows: [ln z, ln Delta, ln kt].
 * GeV in, so m and kt are in GeV.
 *
 * --- the ln kt cut ------------------------------------------------------------
 * With opts.kt_cut, a declustering with ln kt < opts.ln_kt_min is not a node,
 * and only its harder branch j1 is followed (the softer subtree is dropped);
 * the next node found along j1 takes the dropped node's parent (-1 when no
 * node was emitted above it). The nodes still form one tree (cuts never branch),
 * possibly empty.
 *
 * --- graph batch layout (jl_lund_graphs), 0-based, all CPU contiguous -------
 *   x            (N, F) f32   node features, jets one after the other
 *   offsets      (B + 1) i64  jet b owns nodes offsets[b] .. offsets[b+1]-1
 *   parent       (N) i64      global index of the parent node, -1 for each jet's root
 *   src, dst     (E) i64      directed edges src -> dst, global node indices; every
 *                             tree edge appears in both directions (E = 2 (N - roots)),
 *                             grouped by dst (CSR): the edges into node i are
 *                             edge_offsets[i] .. edge_offsets[i+1]-1, first the
 *                             one from its parent (if any), then those from its
 *                             children in node order; jet b's edges are
 *                             edge_offsets[offsets[b]] .. edge_offsets[offsets[b+1]]-1
 *   edge_offsets (N + 1) i64  CSR over dst (src is the neighbour list, as jl_knn's nbr)
 *   n_constituents (B) i64    constituents of each jet (pt > 0 ones for ATLAS input)
 * A jet without a declustering (n <= 1 constituent, or everything cut) is one node
 * of zeros (parent -1, no edges), as in the LundNet authors' graphs (JetTree.state);
 * jl_lund_decluster gives 0 nodes for it.
 * For LundNet's message passing, theta(x_dst - x_src) + phi(x_src) averaged over
 * the edges into each node: gather rows src and dst, then a segment mean over
 * edge_offsets (every node but a lone root has at least one incoming edge); the
 * mean over a jet's nodes is a segment mean over offsets.
 *
 * Speed: about 20 us per jet of 50 constituents on one core (bench/lund_speed.lua).
 */
#ifndef JL_LUND_H
#define JL_LUND_H

#include <stdbool.h>
#include <stdint.h>

#include "jl_jets.h"
#include "jl_tensor.h"

/* The re-clustering radius (FastJet's JetDefinition::max_allowable_R). */
#define JL_LUND_R 1000.0
/* Floor of the arguments of the logarithms (see "node features"). */
#define JL_LUND_TINY 1e-12
#define JL_LUND_DELTA_MIN 1e-6
/* The most nodes a jet of n constituents gives. */
#define JL_LUND_MAX_NODES(n) ((n) > 1 ? (n)-1 : 0)
/* Nodes of a jet of n constituents in a graph batch, at most: one more than none. */
#define JL_LUND_GRAPH_NODES(n) ((n) > 2 ? (n)-1 : 1)

typedef struct jl_lund_opts {
    int features;     /* 5 (LundNet5) or 3 (LundNet3); 0 means 5. Graphs only */
    bool kt_cut;      /* apply ln_kt_min (false: every declustering is a node) */
    double ln_kt_min; /* with kt_cut: declusterings with ln kt < ln_kt_min are dropped (kt in GeV) */
} jl_lund_opts;

/* One declustering, in double precision. */
typedef struct jl_lund_node {
    int parent; /* index of the parent node within the jet, -1 for the root */
    double ln_z, ln_delta, psi, ln_m, ln_kt;
} jl_lund_node;

/* Declusters one jet of n constituents p (n) (four-vectors in GeV; finite, as
 * jl_cluster_run requires) into out, which has room for JL_LUND_MAX_NODES(n)
 * nodes. Returns the number of nodes written (>= 0), or a negative status
 * with the error set (JL_EARG for bad input, JL_ENOMEM). Borrows everything. */
int jl_lund_decluster(const jl_p4 *p, int64_t n, const jl_lund_opts *o, jl_lund_node *out);

/* A batch of Lund graphs (layout above). Every tensor is a +1 reference owned
 * by the struct: free them with jl_lund_graphs_free. */
typedef struct jl_lund_graphs {
    int64_t n_jets, n_nodes, n_edges;
    int features;
    jl_tensor *x;              /* (N, features) f32 */
    jl_tensor *offsets;        /* (B + 1) i64 */
    jl_tensor *parent;         /* (N) i64 */
    jl_tensor *src, *dst;      /* (E) i64 */
    jl_tensor *edge_offsets;   /* (N + 1) i64 */
    jl_tensor *n_constituents; /* (B) i64 */
} jl_lund_graphs;

/* Graphs of n_jets jets given as ragged four-vectors: p (offsets[n_jets]) in
 * GeV, jet b = p[offsets[b] .. offsets[b+1]-1] (offsets (n_jets + 1),
 * non-decreasing, offsets[0] = 0). Parallel over jets (jl_parallel_for).
 * Fills *out (overwritten; all NULL on failure) and returns JL_OK, or a
 * status with the error naming the jet (numbered from 1, as the constituents
 * and particles in every message). Borrows p and offsets. */
int jl_lund_graphs_ragged(const jl_p4 *p, const int64_t *offsets, int64_t n_jets, const jl_lund_opts *o,
                          jl_lund_graphs *out);

/* Graphs of the jets of an ATLAS-style batch: pt, eta, phi, E (B, C) f32 CPU
 * contiguous in GeV (jl_h5_jets), a constituent is real when pt > 0 (anything
 * else than pt == 0 or pt > 0 is an error), four-vector px = pt cos phi,
 * py = pt sin phi, pz = pt sinh eta, E, in column order. Otherwise as
 * jl_lund_graphs_ragged. Borrows the tensors. */
int jl_lund_graphs_atlas(jl_tensor *pt, jl_tensor *eta, jl_tensor *phi, jl_tensor *E, const jl_lund_opts *o,
                         jl_lund_graphs *out);

/* Releases every tensor of g and sets them to NULL (idempotent). */
void jl_lund_graphs_free(jl_lund_graphs *g);

#endif
