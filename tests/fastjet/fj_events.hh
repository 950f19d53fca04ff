// fj_events.hh — the event-file reader of the FastJet test helpers (tests only).
//
//   fj_read_events(path, [](int event, std::vector<fastjet::PseudoJet> &particles) { ... });
//
// jetlab's rules (core/physics/jl_jets.h): `px py pz E` and any further columns per
// line, `#END` closes an event (which may be empty), other `#` lines and blank
// lines are skipped, particles after the last `#END` form a last event. Each
// particle's user_index is its 0-based position in its event; events are
// numbered from 1. Returns 0, or 1 after printing why the file is unreadable.
#ifndef FJ_EVENTS_HH
#define FJ_EVENTS_HH

#include <fastjet/PseudoJet.hh>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

template <class F> int fj_read_events(const char *path, F on_event)
{
    std::ifstream in(path);
    if (!in) {
        std::fprintf(stderr, "cannot open %s\n", path);
        return 1;
    }
    std::vector<fastjet::PseudoJet> particles;
    std::string line;
    int event = 1;
    bool open = false; // an event has started (particles or not) since the last #END
    while (std::getline(in, line)) {
        size_t start = line.find_first_not_of(" \t\r\n");
        if (start == std::string::npos)
            continue;
        if (line[start] == '#') {
            if (line.compare(start, 4, "#END") == 0) {
                on_event(event++, particles);
                particles.clear();
                open = false;
            }
            continue;
        }
        std::istringstream s(line);
        double px, py, pz, E;
        if (!(s >> px >> py >> pz >> E)) {
            std::fprintf(stderr, "%s: bad line: %s\n", path, line.c_str());
            return 1;
        }
        fastjet::PseudoJet p(px, py, pz, E);
        p.set_user_index((int)particles.size());
        particles.push_back(p);
        open = true;
    }
    if (open)
        on_event(event, particles);
    return 0;
}

#endif
