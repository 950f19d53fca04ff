// fj_lund.cc — the FastJet side of tests/sh/test_lund_fastjet.sh (tests only).
//
//   fj_lund FILE.dat R PTMIN [LN_KT_MIN]
//
// For each event of FILE.dat (fj_events.hh): anti-kt jets (E-scheme, Best
// strategy) with pt >= PTMIN, by decreasing pt; each jet's constituents (in
// event order) re-clustered with JetDefinition(cambridge_algorithm,
// JetDefinition::max_allowable_R) as fjcontrib's LundGenerator does, the
// hardest jet declustered recursively along both branches with has_parents,
// j1 the harder by pt2 (swapped only when j1.pt2() < j2.pt2()), nodes
// depth-first with the harder branch first. Prints the lines of `jetlab lund
// --events`, the features as core/physics/jl_lund.h defines them:
//   {"event":1,"pt":..,"m":..,"n":..,"nodes":[[parent,lnz,lnDelta,psi,lnm,lnkt],...]}
// With LN_KT_MIN, a declustering with ln kt < LN_KT_MIN is no node and only its
// harder branch is followed.
#include "fj_events.hh"

#include <fastjet/ClusterSequence.hh>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <vector>

using fastjet::PseudoJet;

static const double tiny = 1e-12; // JL_LUND_TINY

struct node {
    int parent;
    double lnz, lndelta, psi, lnm, lnkt;
};

static double ln_floor(double x) { return std::log(x > tiny ? x : tiny); }

static void walk(const PseudoJet &pair, int parent, bool cut, double ln_kt_min, std::vector<node> &out)
{
    PseudoJet j1, j2;
    if (!pair.has_parents(j1, j2))
        return;
    if (j1.pt2() < j2.pt2())
        std::swap(j1, j2);
    // the LundNet authors' LundCoordinates (fdreyer/LundNet JetTree.py)
    double delta = std::max(1e-6, j1.delta_R(j2));
    double dy = j1.rap() - j2.rap(), dphi = j1.phi() - j2.phi(); // phi in [0, 2pi), not wrapped
    node n;
    n.parent = parent;
    n.lnz = ln_floor(j2.pt() / (j1.pt() + j2.pt()));
    n.lndelta = std::log(delta);
    n.psi = dphi != 0 ? std::atan(dy / dphi) : 0.0;
    n.lnm = 0.5 * std::log(std::max(std::fabs(pair.m2()), tiny * tiny));
    n.lnkt = ln_floor(j2.pt() * delta);
    if (cut && n.lnkt < ln_kt_min) {
        walk(j1, parent, cut, ln_kt_min, out);
        return;
    }
    int self = (int)out.size();
    out.push_back(n);
    walk(j1, self, cut, ln_kt_min, out);
    walk(j2, self, cut, ln_kt_min, out);
}

int main(int argc, char **argv)
{
    if (argc != 4 && argc != 5) {
        std::fprintf(stderr, "usage: fj_lund FILE.dat R PTMIN [LN_KT_MIN]\n");
        return 2;
    }
    fastjet::ClusterSequence::set_fastjet_banner_stream(&std::cerr);
    fastjet::JetDefinition antikt(fastjet::antikt_algorithm, std::atof(argv[2]), fastjet::E_scheme,
                                  fastjet::Best);
    fastjet::JetDefinition ca(fastjet::cambridge_algorithm, fastjet::JetDefinition::max_allowable_R);
    double ptmin = std::atof(argv[3]);
    bool cut = argc == 5;
    double ln_kt_min = cut ? std::atof(argv[4]) : 0.0;

    return fj_read_events(argv[1], [&](int event, const std::vector<PseudoJet> &particles) {
        fastjet::ClusterSequence cs(particles, antikt);
        for (const PseudoJet &jet : fastjet::sorted_by_pt(cs.inclusive_jets(ptmin))) {
            std::vector<int> idx;
            for (const PseudoJet &c : jet.constituents())
                idx.push_back(c.user_index());
            std::sort(idx.begin(), idx.end());
            std::vector<PseudoJet> cons;
            for (int i : idx)
                cons.push_back(particles[i]);
            std::vector<node> nodes;
            fastjet::ClusterSequence recluster(cons, ca);
            std::vector<PseudoJet> all = fastjet::sorted_by_pt(recluster.inclusive_jets());
            if (!all.empty())
                walk(all[0], -1, cut, ln_kt_min, nodes);
            std::printf("{\"event\":%d,\"pt\":%.17g,\"m\":%.17g,\"n\":%zu,\"nodes\":[", event,
                        jet.pt(), std::sqrt(std::max(jet.m2(), 0.0)), cons.size());
            for (size_t i = 0; i < nodes.size(); i++) {
                const node &n = nodes[i];
                std::printf("%s[%d,%.17g,%.17g,%.17g,%.17g,%.17g]", i ? "," : "", n.parent, n.lnz,
                            n.lndelta, n.psi, n.lnm, n.lnkt);
            }
            std::printf("]}\n");
        }
    });
}
