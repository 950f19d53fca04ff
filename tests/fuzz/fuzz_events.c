/* fuzz_events.c — libFuzzer harness for the event text reader
 * (jl_events_read, core/physics/events.c) and, on what it reads, the clustering
 * (jl_cluster_run, core/physics/cluster.c): mutated `px py pz E` files.
 *
 * Events of at most 64 particles are clustered (anti-kt R = 0.4, kt R = 1.0
 * and C/A R = 0.8 from the first byte), the first 16 events only: clustering
 * is O(n^2) and the reader is the target. A failure must leave a message,
 * NaN/Inf input included (jl_cluster_run refuses them).
 *
 * Seeds: tests/fuzz/corpus/events (snippets of Debian's fastjet-examples
 * files and hand-written edge cases).
 */
#include <math.h>

#include "fuzz_common.h"
#include "jl_jets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_temp_path(".dat");
    fuzz_write_file(path, data, size);

    jl_events *ev = jl_events_read(path);
    if (!ev) {
        fuzz_check_message("jl_events_read");
        return 0;
    }
    if (ev->count < 1 || ev->offsets[0] != 0) fuzz_fail("jl_events_read: bad event table");
    for (int64_t e = 0; e < ev->count; e++)
        if (ev->offsets[e + 1] < ev->offsets[e]) fuzz_fail("jl_events_read: offsets decrease at event %lld", (long long)e);

    static const double algorithms[3][2] = {{JL_ANTIKT, 0.4}, {JL_KT, 1.0}, {JL_CAMBRIDGE, 0.8}};
    int a = size ? data[0] % 3 : 0;
    jl_jetdef def = {.p = algorithms[a][0], .r = algorithms[a][1], .ptmin = 0.0,
                     .strategy = (jl_strategy)(size ? data[size - 1] % 3 : 0)};
    for (int64_t e = 0; e < ev->count && e < 16; e++) {
        int64_t n = ev->offsets[e + 1] - ev->offsets[e];
        if (n > 64) continue;
        jl_cluster *c = jl_cluster_run(ev->p + ev->offsets[e], n, &def);
        if (!c) {
            fuzz_check_message("jl_cluster_run");
            continue;
        }
        int in_jets = 0;
        for (int j = 0; j < c->n_jets; j++) {
            in_jets += c->jets[j].n;
            if (!isfinite(c->jets[j].pt)) fuzz_fail("jl_cluster_run: a jet with pt %g", c->jets[j].pt);
        }
        if (in_jets != c->n_particles) fuzz_fail("jl_cluster_run: %d of %d particles in jets", in_jets, c->n_particles);
        jl_cluster_free(c);
    }
    jl_events_free(ev);
    jl_error_clear();
    return 0;
}
