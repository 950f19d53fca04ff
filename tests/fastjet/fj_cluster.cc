// fj_cluster.cc — the FastJet side of tests/sh/test_cluster_fastjet.sh (tests only).
//
//   fj_cluster FILE.dat ALGO R PTMIN      ALGO: antikt | cambridge | kt
//
// Reads the event file with jetlab's rules (core/physics/jl_jets.h: `px py pz E` and
// any further columns per line, `#END` closes an event, other `#` lines and
// blank lines skipped), clusters each event with FastJet (E-scheme, Best
// strategy) and prints one JSON line per inclusive jet (pt >= PTMIN, by
// decreasing pt), the fields of `jetlab cluster --constituents`:
//   {"event":1,"pt":..,"eta":..,"phi":..,"m":..,"y":..,"n":..,"constituents":[1,5,...]}
// events and constituents 1-based, constituents ascending, m = sqrt(max(m2, 0))
// as jetlab reports it (FastJet's m() is negative for tachyonic round-off).
#include <fastjet/ClusterSequence.hh>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

using fastjet::PseudoJet;

static void print_jets(int event, const std::vector<PseudoJet> &particles,
                       const fastjet::JetDefinition &def, double ptmin)
{
    fastjet::ClusterSequence cs(particles, def);
    for (const PseudoJet &jet : fastjet::sorted_by_pt(cs.inclusive_jets(ptmin))) {
        std::vector<int> idx;
        for (const PseudoJet &c : jet.constituents())
            idx.push_back(c.user_index() + 1);
        std::sort(idx.begin(), idx.end());
        std::printf("{\"event\":%d,\"pt\":%.17g,\"eta\":%.17g,\"phi\":%.17g,\"m\":%.17g,"
                    "\"y\":%.17g,\"n\":%zu,\"constituents\":[",
                    event, jet.pt(), jet.eta(), jet.phi(), std::sqrt(std::max(jet.m2(), 0.0)),
                    jet.rap(), idx.size());
        for (size_t i = 0; i < idx.size(); i++)
            std::printf(i ? ",%d" : "%d", idx[i]);
        std::printf("]}\n");
    }
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        std::fprintf(stderr, "usage: fj_cluster FILE.dat antikt|cambridge|kt R PTMIN\n");
        return 2;
    }
    std::string algo = argv[2];
    fastjet::JetAlgorithm a;
    if (algo == "antikt")
        a = fastjet::antikt_algorithm;
    else if (algo == "cambridge")
        a = fastjet::cambridge_algorithm;
    else if (algo == "kt")
        a = fastjet::kt_algorithm;
    else {
        std::fprintf(stderr, "fj_cluster: unknown algorithm %s\n", argv[2]);
        return 2;
    }
    fastjet::ClusterSequence::set_fastjet_banner_stream(&std::cerr);
    fastjet::JetDefinition def(a, std::atof(argv[3]), fastjet::E_scheme, fastjet::Best);
    double ptmin = std::atof(argv[4]);

    std::ifstream in(argv[1]);
    if (!in) {
        std::fprintf(stderr, "fj_cluster: cannot open %s\n", argv[1]);
        return 1;
    }
    std::vector<PseudoJet> particles;
    std::string line;
    int event = 1;
    bool open = false; // an event has started (particles or not) since the last #END
    while (std::getline(in, line)) {
        size_t start = line.find_first_not_of(" \t\r\n");
        if (start == std::string::npos)
            continue;
        if (line[start] == '#') {
            if (line.compare(start, 4, "#END") == 0) {
                print_jets(event++, particles, def, ptmin);
                particles.clear();
                open = false;
            }
            continue;
        }
        std::istringstream s(line);
        double px, py, pz, E;
        if (!(s >> px >> py >> pz >> E)) {
            std::fprintf(stderr, "fj_cluster: bad line: %s\n", line.c_str());
            return 1;
        }
        PseudoJet p(px, py, pz, E);
        p.set_user_index((int)particles.size());
        particles.push_back(p);
        open = true;
    }
    if (open)
        print_jets(event, particles, def, ptmin);
    return 0;
}
