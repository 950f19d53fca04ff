/* test_cluster.c — the event reader (format, errors naming file:line) and
 * hand-checked clustering cases: merging within R, not beyond, the phi wrap,
 * E-scheme sums, merge order per algorithm, the history, ptmin, degenerate
 * particles. The comparison with FastJet on real events is
 * tests/sh/test_cluster_fastjet.sh. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jl_error.h"
#include "jl_jets.h"

#define TWOPI 6.283185307179586

/* Writes text to a fresh temporary file whose path goes to path (64 bytes). */
static void write_temp(char *path, const char *text)
{
    strcpy(path, "/tmp/jl_events_XXXXXX");
    int fd = mkstemp(path);
    cr_assert(fd >= 0, "mkstemp failed");
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
}

/* A massless particle from pt, rapidity, phi. */
static jl_p4 ptyphi(double pt, double y, double phi)
{
    return (jl_p4){pt * cos(phi), pt * sin(phi), pt * sinh(y), pt * cosh(y)};
}

static jl_cluster *run_with(const jl_p4 *p, int n, double algo, double r, double ptmin,
                            jl_strategy strategy)
{
    jl_jetdef def = {.p = algo, .r = r, .ptmin = ptmin, .strategy = strategy};
    jl_cluster *c = jl_cluster_run(p, n, &def);
    cr_assert(c, "cluster failed: %s", jl_last_error());
    return c;
}

static jl_cluster *run(const jl_p4 *p, int n, double algo, double r, double ptmin)
{
    return run_with(p, n, algo, r, ptmin, JL_STRATEGY_AUTO);
}

/* n massless particles with pt in [0.5, 100], |y| < ymax, any phi. */
static void random_event(jl_p4 *p, int n, double ymax, unsigned seed)
{
    srand(seed);
    for (int i = 0; i < n; i++) {
        double pt = 0.5 + 99.5 * rand() / RAND_MAX, y = ymax * (2.0 * rand() / RAND_MAX - 1);
        p[i] = ptyphi(pt, y, TWOPI * rand() / RAND_MAX);
    }
}

/* --- reader -------------------------------------------------------------- */

Test(events, reads_events_comments_and_extra_columns)
{
    char path[64];
    write_temp(path, "# header comment\n"
                     "\n"
                     "1 2 3 10\n"
                     "  -1.5e0\t0.5 -2 4.25 211\r\n"
                     "#SUBSTART\n"
                     "0 0 1 1\n"
                     "#END\n"
                     "#END\n"
                     "3 4 0 5 0 1\n"
                     "#END\n"
                     "   \n"
                     "7 0 0 7\n");
    jl_events *ev = jl_events_read(path);
    cr_assert(ev, "%s", jl_last_error());
    cr_assert_eq(ev->count, 4, "three #END-closed events (one empty) and a trailing one");
    int64_t want_offsets[] = {0, 3, 3, 4, 5};
    for (int i = 0; i <= 4; i++)
        cr_assert_eq(ev->offsets[i], want_offsets[i], "offsets[%d]", i);
    cr_assert_eq(ev->p[0].px, 1);
    cr_assert_eq(ev->p[0].E, 10);
    cr_assert_eq(ev->p[1].px, -1.5);
    cr_assert_eq(ev->p[1].py, 0.5);
    cr_assert_eq(ev->p[1].pz, -2);
    cr_assert_eq(ev->p[1].E, 4.25, "the PDG id column is ignored");
    cr_assert_eq(ev->p[3].E, 5);
    cr_assert_eq(ev->p[4].px, 7);
    jl_events_free(ev);
    unlink(path);
}

Test(events, no_trailing_event_after_last_end)
{
    char path[64];
    write_temp(path, "1 0 0 1\n#END\n# trailing comment\n\n");
    jl_events *ev = jl_events_read(path);
    cr_assert(ev, "%s", jl_last_error());
    cr_assert_eq(ev->count, 1);
    cr_assert_eq(ev->offsets[1], 1);
    jl_events_free(ev);
    unlink(path);
}

static void expect_read_error(const char *text, const char *suffix)
{
    char path[64], want[256];
    write_temp(path, text);
    jl_error_clear();
    cr_assert_null(jl_events_read(path));
    cr_assert_eq(jl_last_error_code(), JL_EIO);
    snprintf(want, sizeof want, "%s%s", path, suffix);
    cr_assert(strstr(jl_last_error(), want), "got \"%s\", want it to contain \"%s\"",
              jl_last_error(), want);
    unlink(path);
}

Test(events, bad_line_names_file_and_line)
{
    expect_read_error("# c\n1 2 3 4\n1 2 3\n", ":3: expected 4 numbers (px py pz E), got 3");
    expect_read_error("1 2 x 4\n", ":1: expected 4 numbers (px py pz E), got 2");
    expect_read_error("1 2 3 4\n\n1,2,3,4\n", ":3: expected 4 numbers (px py pz E), got 0");
    expect_read_error("1 nan 3 4\n", ":1: column 2 is not a finite number");
}

Test(events, empty_file_is_an_error)
{
    expect_read_error("", ": no particles");
    expect_read_error("# only comments\n\n#END\n", ": no particles");
}

Test(events, missing_file_is_eio_with_path)
{
    jl_error_clear();
    cr_assert_null(jl_events_read("/nonexistent/dir/events.dat"));
    cr_assert_eq(jl_last_error_code(), JL_EIO);
    cr_assert(strstr(jl_last_error(), "/nonexistent/dir/events.dat: cannot open"), "%s",
              jl_last_error());
}

/* --- kinematics ------------------------------------------------------------ */

Test(kinematics, pt_eta_phi_m_rapidity)
{
    jl_p4 p = {3, 4, 12, 14}; /* pt 5, |p| 13, m^2 = 196 - 169 = 27 */
    cr_assert_float_eq(jl_p4_pt(p), 5, 1e-12);
    cr_assert_float_eq(jl_p4_m(p), sqrt(27), 1e-12);
    cr_assert_float_eq(jl_p4_eta(p), asinh(12.0 / 5), 1e-12);
    cr_assert_float_eq(jl_p4_rap(p), 0.5 * log(26.0 / 2.0), 1e-12);
    cr_assert_float_eq(jl_p4_phi(p), atan2(4, 3), 1e-12);
    jl_p4 q = {0, -1, -1, 2};
    cr_assert_float_eq(jl_p4_phi(q), 1.5 * M_PI, 1e-12, "phi in [0, 2pi)");
    cr_assert_float_eq(jl_p4_rap(q), 0.5 * log(1.0 / 3.0), 1e-12);
    jl_p4 tachyon = {3, 4, 0, 4.9};
    cr_assert_eq(jl_p4_m(tachyon), 0, "negative m^2 gives m = 0");
    cr_assert(isfinite(jl_p4_rap(tachyon)));
}

Test(kinematics, zero_pt_particles_have_finite_values)
{
    jl_p4 up = {0, 0, 5, 5}, down = {0, 0, -2, 2}, rest = {0, 0, 0, 1};
    cr_assert_eq(jl_p4_rap(up), JL_MAX_RAP + 5);
    cr_assert_eq(jl_p4_rap(down), -(JL_MAX_RAP + 2));
    cr_assert_eq(jl_p4_phi(up), 0);
    cr_assert_eq(jl_p4_eta(down), JL_MAX_RAP, "FastJet's convention for pt = 0");
    cr_assert_eq(jl_p4_rap(rest), 0);
    cr_assert_eq(jl_p4_m(rest), 1);
}

/* --- clustering ----------------------------------------------------------- */

Test(cluster, two_particles_within_r_merge_with_e_scheme)
{
    jl_p4 p[2] = {ptyphi(100, 0.1, 1.0), ptyphi(50, 0.25, 1.1)};
    jl_p4 sum = {p[0].px + p[1].px, p[0].py + p[1].py, p[0].pz + p[1].pz, p[0].E + p[1].E};
    double algos[] = {JL_ANTIKT, JL_CAMBRIDGE, JL_KT};
    for (int a = 0; a < 3; a++) {
        jl_cluster *c = run(p, 2, algos[a], 0.4, 0);
        cr_assert_eq(c->n_jets, 1, "dR = 0.18 < R merges (p = %g)", algos[a]);
        const jl_jet *j = &c->jets[0];
        cr_assert_eq(j->n, 2);
        cr_assert_eq(j->constituents[0], 0);
        cr_assert_eq(j->constituents[1], 1);
        cr_assert_eq(j->p.px, sum.px);
        cr_assert_eq(j->p.E, sum.E);
        cr_assert_float_eq(j->pt, jl_p4_pt(sum), 1e-12);
        cr_assert_float_eq(j->m, sqrt(jl_p4_m2(sum)), 1e-12);
        cr_assert(j->m > 1, "two massless particles at an angle make a massive jet");
        cr_assert_eq(j->pseudojet, 2);
        jl_cluster_free(c);
    }
}

Test(cluster, particles_beyond_r_stay_apart_sorted_by_pt)
{
    jl_p4 p[2] = {ptyphi(30, 0.0, 0.0), ptyphi(80, 0.5, 0.0)};
    jl_cluster *c = run(p, 2, JL_ANTIKT, 0.4, 0);
    cr_assert_eq(c->n_jets, 2, "dR = 0.5 > R = 0.4");
    cr_assert_float_eq(c->jets[0].pt, 80, 1e-9);
    cr_assert_eq(c->jets[0].constituents[0], 1);
    cr_assert_float_eq(c->jets[1].pt, 30, 1e-9);
    cr_assert_float_eq(c->jets[0].y, 0.5, 1e-12);
    jl_cluster_free(c);

    c = run(p, 2, JL_ANTIKT, 0.6, 0);
    cr_assert_eq(c->n_jets, 1, "same pair, R = 0.6");
    jl_cluster_free(c);
}

Test(cluster, phi_wraps_around)
{
    jl_p4 p[2] = {ptyphi(40, 0, 0.1), ptyphi(40, 0, TWOPI - 0.1)};
    jl_cluster *c = run(p, 2, JL_CAMBRIDGE, 0.4, 0);
    cr_assert_eq(c->n_jets, 1, "dphi = 0.2 across 0");
    cr_assert(c->jets[0].phi >= 0 && c->jets[0].phi < TWOPI);
    cr_assert(c->jets[0].phi < 1e-9 || c->jets[0].phi > TWOPI - 1e-9, "phi = %g", c->jets[0].phi);
    jl_cluster_free(c);
}

Test(cluster, merge_order_and_history_follow_the_algorithm)
{
    /* A hard particle and two soft ones: kt merges the soft pair first (d = 1 * 0.2^2),
     * anti-kt merges the hard one with its nearer soft neighbour first. */
    jl_p4 p[3] = {ptyphi(100, 0, 0), ptyphi(1, 0.5, 0), ptyphi(1, 0.7, 0)};
    jl_cluster *kt = run(p, 3, JL_KT, 1.0, 0);
    cr_assert_eq(kt->n_steps, 3);
    cr_assert_eq(kt->n_pseudojets, 5);
    cr_assert_eq(kt->steps[0].parent1, 1);
    cr_assert_eq(kt->steps[0].parent2, 2);
    cr_assert_eq(kt->steps[0].child, 3);
    cr_assert_float_eq(kt->steps[0].dij, 1.0 * 0.04, 1e-9, "d = min(pt^2) dR^2 / R^2");
    cr_assert_eq(kt->steps[1].parent1, 0);
    cr_assert_eq(kt->steps[1].parent2, 3);
    cr_assert_eq(kt->steps[2].parent2, JL_CLUSTER_BEAM);
    cr_assert_eq(kt->steps[2].parent1, 4);
    int a, b;
    cr_assert(jl_cluster_parents(kt, 4, &a, &b));
    cr_assert_eq(a, 0);
    cr_assert_eq(b, 3);
    cr_assert_not(jl_cluster_parents(kt, 1, &a, &b), "inputs have no parents");
    cr_assert_eq(kt->made_by[3], 0);
    cr_assert_eq(kt->made_by[0], -1);
    jl_cluster_free(kt);

    jl_cluster *akt = run(p, 3, JL_ANTIKT, 1.0, 0);
    cr_assert_eq(akt->steps[0].parent1, 0);
    cr_assert_eq(akt->steps[0].parent2, 1);
    cr_assert_float_eq(akt->steps[0].dij, 0.25 / (100.0 * 100.0), 1e-12);
    cr_assert_eq(akt->n_jets, 1);
    cr_assert_eq(akt->jets[0].n, 3);
    cr_assert_float_eq(akt->steps[2].dij, 1.0 / jl_p4_pt2(akt->jets[0].p), 1e-15,
                       "beam distance pt^-2");
    jl_cluster_free(akt);
}

Test(cluster, ptmin_keeps_jets_at_or_above)
{
    jl_p4 p[3] = {ptyphi(100, 0, 0), ptyphi(50, 2, 2), ptyphi(10, -2, 4)};
    jl_cluster *c = run(p, 3, JL_ANTIKT, 0.4, 50);
    cr_assert_eq(c->n_jets, 2, "pt >= ptmin, as FastJet's inclusive_jets");
    cr_assert_eq(c->n_steps, 3, "the history keeps every jet");
    jl_cluster_free(c);
}

Test(cluster, every_particle_in_exactly_one_jet_and_momentum_conserved)
{
    enum { N = 500 };
    jl_p4 p[N];
    random_event(p, N, 3, 7);
    jl_p4 total = {0, 0, 0, 0};
    for (int i = 0; i < N; i++)
        total = jl_p4_add(total, p[i]);
    double algos[] = {JL_ANTIKT, JL_CAMBRIDGE, JL_KT, 0.5};
    for (int a = 0; a < 4; a++) {
        jl_cluster *c = run(p, N, algos[a], 0.7, 0);
        int seen[N] = {0}, count = 0;
        jl_p4 sum = {0, 0, 0, 0};
        for (int j = 0; j < c->n_jets; j++) {
            if (j > 0)
                cr_assert(c->jets[j].pt <= c->jets[j - 1].pt, "sorted by decreasing pt");
            sum = jl_p4_add(sum, c->jets[j].p);
            for (int k = 0; k < c->jets[j].n; k++) {
                int i = c->jets[j].constituents[k];
                if (k > 0)
                    cr_assert(i > c->jets[j].constituents[k - 1], "ascending");
                seen[i]++;
                count++;
            }
        }
        cr_assert_eq(count, N);
        for (int i = 0; i < N; i++)
            cr_assert_eq(seen[i], 1, "particle %d in one jet", i);
        cr_assert_float_eq(sum.E, total.E, 1e-9 * total.E);
        cr_assert_float_eq(sum.px, total.px, 1e-9 * total.E);
        cr_assert_eq(c->n_steps, N);
        jl_cluster_free(c);
    }
}

Test(cluster, tiled_and_plain_strategies_give_the_same_merges_and_jets)
{
    enum { N = 1500 };
    static jl_p4 p[N];
    int sizes[] = {2, 40, 400, N};
    double radii[] = {0.05, 0.4, 1.0, 2.5}; /* 0.05: many tiles, capped; 2.5: too few phi tiles */
    double algos[] = {JL_ANTIKT, JL_CAMBRIDGE, JL_KT};
    for (int si = 0; si < 4; si++) {
        random_event(p, sizes[si], 5, 11 + si);
        p[0] = ptyphi(1e-3, 40, 1); /* far forward: lands in the edge rapidity row */
        for (int ri = 0; ri < 4; ri++) {
            for (int a = 0; a < 3; a++) {
                jl_cluster *x = run_with(p, sizes[si], algos[a], radii[ri], 0, JL_STRATEGY_PLAIN);
                jl_cluster *y = run_with(p, sizes[si], algos[a], radii[ri], 0, JL_STRATEGY_TILED);
                /* Beam steps tie (all C/A beam distances are 1) and may come in
                 * another order; the merges and the jets may not differ. */
                int sx = 0, sy = 0;
                for (;;) {
                    while (sx < x->n_steps && x->steps[sx].child < 0)
                        sx++;
                    while (sy < y->n_steps && y->steps[sy].child < 0)
                        sy++;
                    if (sx == x->n_steps || sy == y->n_steps)
                        break;
                    const jl_cluster_step *u = &x->steps[sx++], *v = &y->steps[sy++];
                    cr_assert(u->parent1 == v->parent1 && u->parent2 == v->parent2 &&
                                  u->child == v->child && u->dij == v->dij,
                              "n %d R %g p %g: merge %d differs", sizes[si], radii[ri], algos[a],
                              u->child);
                }
                cr_assert_eq(x->n_pseudojets, y->n_pseudojets);
                cr_assert_eq(x->n_jets, y->n_jets);
                for (int j = 0; j < x->n_jets; j++) {
                    cr_assert_eq(x->jets[j].pseudojet, y->jets[j].pseudojet);
                    cr_assert_eq(x->jets[j].pt, y->jets[j].pt);
                }
                jl_cluster_free(x);
                jl_cluster_free(y);
            }
        }
    }
}

/* Found by fuzz_events: particles with negative energies, each with a finite
 * rapidity, can sum to a pseudojet with E + |pz| <= 0, whose rapidity was 0/0;
 * the tiled search then turned the NaN into a tile number (undefined
 * behaviour). Such a pseudojet now takes the beam rapidity. */
Test(cluster, merges_with_negative_energies_stay_finite)
{
    jl_p4 event[] = {{0.5, 0, 3, -1}, {-0.5, 0, -3, -1}, {0.1, 0.1, 0, 0.5}, {3, 1, 0, 4}, {0, 0.2, 1, -0.9}};
    for (int i = 0; i < 5; i++) cr_assert(isfinite(jl_p4_rap(event[i])), "particle %d", i + 1);
    for (jl_strategy s = JL_STRATEGY_AUTO; s <= JL_STRATEGY_TILED; s++) {
        jl_cluster *c = run_with(event, 5, JL_ANTIKT, 0.4, 0.0, s);
        int in_jets = 0;
        for (int j = 0; j < c->n_jets; j++) in_jets += c->jets[j].n;
        cr_assert_eq(in_jets, 5, "strategy %d: %d of 5 particles in jets", (int)s, in_jets);
        jl_cluster_free(c);
    }
}

Test(cluster, zero_pt_and_empty_inputs)
{
    jl_p4 p[4] = {{0, 0, 3, 3}, {0, 0, 2, 2}, {0, 0, -1, 1}, {1, 0, 0, 1}};
    double algos[] = {JL_ANTIKT, JL_CAMBRIDGE, JL_KT, -2.0};
    for (int a = 0; a < 8; a++) {
        jl_cluster *c = run_with(p, 4, algos[a % 4], 0.4, 0,
                                 a < 4 ? JL_STRATEGY_PLAIN : JL_STRATEGY_TILED);
        for (int j = 0; j < c->n_jets; j++) {
            const jl_jet *jet = &c->jets[j];
            cr_assert(isfinite(jet->pt) && isfinite(jet->y) && isfinite(jet->eta) &&
                      isfinite(jet->phi) && isfinite(jet->m), "jet %d finite (p = %g)", j,
                      algos[a % 4]);
        }
        for (int s = 0; s < c->n_steps; s++)
            cr_assert(!isnan(c->steps[s].dij));
        jl_cluster_free(c);
    }
    jl_cluster *c = run(NULL, 0, JL_ANTIKT, 0.4, 0);
    cr_assert_eq(c->n_jets, 0);
    cr_assert_eq(c->n_steps, 0);
    jl_cluster_free(c);
}

Test(cluster, bad_arguments_are_errors)
{
    jl_p4 p[2] = {{1, 0, 0, 1}, {NAN, 0, 0, 1}};
    jl_jetdef def = {.p = JL_ANTIKT, .r = 0.4};
    jl_error_clear();
    cr_assert_null(jl_cluster_run(p, 2, &def));
    cr_assert_eq(jl_last_error_code(), JL_EARG);
    cr_assert(strstr(jl_last_error(), "particle 2 has a non-finite component"), "%s", jl_last_error());

    jl_p4 unphysical = {1, 0, 0, 0}; /* E + |pz| = 0 with pt > 0 */
    cr_assert_null(jl_cluster_run(&unphysical, 1, &def));
    cr_assert(strstr(jl_last_error(), "particle 1 "), "%s", jl_last_error());

    jl_jetdef bad_r = {.p = JL_KT, .r = 0};
    cr_assert_null(jl_cluster_run(p, 1, &bad_r));
    cr_assert(strstr(jl_last_error(), "R must be"), "%s", jl_last_error());
    jl_jetdef bad_ptmin = {.p = JL_KT, .r = 1, .ptmin = -1};
    cr_assert_null(jl_cluster_run(p, 1, &bad_ptmin));
    cr_assert(strstr(jl_last_error(), "ptmin"), "%s", jl_last_error());
    jl_jetdef bad_p = {.p = INFINITY, .r = 1};
    cr_assert_null(jl_cluster_run(p, 1, &bad_p));
    cr_assert(strstr(jl_last_error(), "p must be finite"), "%s", jl_last_error());
}
