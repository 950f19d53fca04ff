/* test_gen.c — the built-in generator's internals (core/gen/gen_internal.h):
 * four-momentum conservation from the hard object through the shower and the
 * hadronisation, resonance masses surviving hadronisation, angular ordering
 * and the kt cut-off of every branching, the label shuffle, determinism per
 * jet index, the detector's energy bookkeeping, the summary statistics and
 * configuration errors. The physics distributions are checked in
 * tests/lua/test_gen.lua. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gen_internal.h"
#include "jl_error.h"

/* One attempt's hard process for jet `index` (jet frame, hadrons placed). */
static int hard(gen_work *w, jl_gen_signal process, double pt_min, double pt_max, uint64_t index,
                gen_event *ev)
{
    jl_gen_config cfg;
    jl_gen_config_init(&cfg);
    cfg.pt_min = pt_min;
    cfg.pt_max = pt_max;
    gen_rng r;
    gen_rng_init(&r, 1, index, 0);
    gen_work_reset(w);
    return gen_hard(w, &r, &cfg, process, ev);
}

static jl_p4 particle_sum(const gen_work *w)
{
    jl_p4 s = {0.0, 0.0, 0.0, 0.0};
    for (int i = 0; i < w->n_particle; i++) s = jl_p4_add(s, w->particle[i]);
    return s;
}

/* Every particle, neutrinos included, adds up to the hard object: momentum
 * (pT, 0, 0) in the jet frame and an energy fixed by its mass. */
static void check_conservation(jl_gen_signal process, double lo_mass, double hi_mass)
{
    gen_work *w = gen_work_new();
    cr_assert_not_null(w);
    int done = 0;
    for (uint64_t i = 0; i < 200; i++) {
        gen_event ev;
        int rc = hard(w, process, 500.0, 600.0, i, &ev);
        cr_assert(rc == JL_OK || rc == 1, "gen_hard: %d %s", rc, jl_last_error());
        if (rc) continue;
        done++;
        jl_p4 s = particle_sum(w);
        double tol = 1e-9 * ev.pt;
        cr_assert(fabs(s.px - ev.pt) < tol && fabs(s.py) < tol && fabs(s.pz) < tol,
                  "jet %d: momentum (%g, %g, %g) vs pT %g", (int)i, s.px, s.py, s.pz, ev.pt);
        double m = jl_p4_m(s);
        cr_assert(m >= lo_mass && m <= hi_mass, "jet %d: mass %g outside [%g, %g]", (int)i, m, lo_mass, hi_mass);
        for (int k = 0; k < w->n_particle; k++)
            cr_assert(w->particle[k].E >= gen_p3(w->particle[k]) * (1 - 1e-12), "particle %d spacelike", k);
    }
    cr_assert(done > 150, "only %d of 200 attempts made a hard object", done);
    gen_work_free(w);
}

Test(gen, qcd_conserves_four_momentum)
{
    /* a hard wide-angle emission can make the system heavy; the jet selection rejects those */
    check_conservation(JL_GEN_NONE, 0.0, 1e4);
}

Test(gen, w_hadrons_have_the_w_mass)
{
    /* A colour singlet keeps its Breit-Wigner mass (80.4 ± 10 widths) through shower and hadronisation. */
    check_conservation(JL_GEN_W, 80.4 - 21.0, 80.4 + 21.0);
}

Test(gen, top_system_conserves_four_momentum)
{
    /* The top radiates before decaying, so the system is heavier than the top. */
    check_conservation(JL_GEN_TOP, 172.5 - 14.0, 1e4);
}

Test(gen, branchings_are_angular_ordered_above_the_cutoff)
{
    gen_work *w = gen_work_new();
    int branchings = 0;
    for (uint64_t i = 0; i < 50; i++) {
        gen_event ev;
        cr_assert_eq(hard(w, JL_GEN_NONE, 1000.0, 1100.0, i, &ev), JL_OK);
        for (int k = 0; k < w->n_parton; k++) {
            const gen_parton *a = &w->parton[k];
            if (a->child[0] < 0) continue;
            branchings++;
            cr_assert(a->xi <= a->xi_max, "branching at xi %g above its bound %g", a->xi, a->xi_max);
            for (int c = 0; c < 2; c++)
                cr_assert_float_eq(w->parton[a->child[c]].xi_max, a->xi, 1e-15);
            double kt = a->z * (1.0 - a->z) * a->e * sqrt(2.0 * a->xi);
            cr_assert(kt > 1.0, "branching with kt %g below the 1 GeV cut-off", kt);
            jl_p4 s = jl_p4_add(w->parton[a->child[0]].p, w->parton[a->child[1]].p);
            cr_assert(fabs(s.E - a->p.E) < 1e-9 * a->p.E && fabs(s.px - a->p.px) < 1e-9 * a->p.E,
                      "branching does not conserve four-momentum");
        }
    }
    cr_assert(branchings > 200, "only %d branchings in 50 TeV jets", branchings);
    gen_work_free(w);
}

Test(gen, same_index_same_particles)
{
    gen_work *a = gen_work_new(), *b = gen_work_new();
    gen_event ea, eb;
    for (uint64_t i = 0; i < 20; i++) {
        int ra = hard(a, JL_GEN_TOP, 500.0, 600.0, 1000 + i, &ea);
        /* b has served another jet before: scratch memory must not leak into the result */
        gen_event other;
        hard(b, JL_GEN_NONE, 900.0, 1000.0, i, &other);
        int rb = hard(b, JL_GEN_TOP, 500.0, 600.0, 1000 + i, &eb);
        cr_assert_eq(ra, rb);
        cr_assert_eq(a->n_particle, b->n_particle);
        cr_assert(memcmp(a->particle, b->particle, (size_t)a->n_particle * sizeof *a->particle) == 0);
    }
    gen_work_free(a);
    gen_work_free(b);
}

Test(gen, labels_exactly_half_and_seeded)
{
    jl_gen_config cfg;
    jl_gen_config_init(&cfg);
    const int64_t sizes[] = {1, 2, 7, 1000, 4097};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        int64_t n = sizes[s], ones = 0;
        uint8_t *l = gen_labels(&cfg, n);
        for (int64_t i = 0; i < n; i++) ones += l[i];
        cr_assert_eq(ones, n / 2, "n %d: %d signal labels", (int)n, (int)ones);
        uint8_t *again = gen_labels(&cfg, n);
        cr_assert(memcmp(l, again, (size_t)n) == 0);
        free(again);
        free(l);
    }
    cfg.signal = JL_GEN_NONE;
    uint8_t *l = gen_labels(&cfg, 100);
    for (int i = 0; i < 100; i++) cr_assert_eq(l[i], 0);
    free(l);
}

Test(gen, detector_keeps_energy_above_threshold)
{
    /* A few hard particles far apart: each fills one cell, smeared but positive. */
    gen_work *w = gen_work_new();
    gen_rng r;
    gen_rng_init(&r, 3, 0, 0);
    for (int k = 0; k < 5; k++) {
        double pt = 50.0 * (k + 1), eta = -1.0 + 0.5 * k, phi = 1.0 * k;
        cr_assert_eq(gen_add_particle(w, (jl_p4){pt * cos(phi), pt * sin(phi), pt * sinh(eta), pt * cosh(eta)}, 1),
                     JL_OK);
    }
    cr_assert_eq(gen_add_particle(w, (jl_p4){0.0, 0.0, 100.0, 100.0 + 1e-9}, 0), JL_OK); /* invisible */
    cr_assert_eq(gen_detector(w, &r), JL_OK);
    cr_assert_eq(w->n_cluster, 5);
    for (int k = 0; k < 5; k++) {
        const jl_p4 *c = &w->cluster[k];
        const jl_p4 *p = &w->particle[k];
        cr_assert(c->E > 0.0 && fabs(c->E - p->E) < 0.5 * p->E, "cluster energy %g vs %g", c->E, p->E);
        cr_assert_float_eq(jl_p4_eta(*c), jl_p4_eta(*p), 1e-5);
        cr_assert(fabs(jl_p4_m2(*c)) < 1e-6 * c->E * c->E, "clusters are massless");
    }
    /* The grid is clear again: the same particles give the same clusters. */
    gen_rng_init(&r, 3, 0, 0);
    jl_p4 first[5];
    memcpy(first, w->cluster, sizeof first);
    cr_assert_eq(gen_detector(w, &r), JL_OK);
    cr_assert(memcmp(first, w->cluster, sizeof first) == 0);
    gen_work_free(w);
}

Test(gen, summary_statistics)
{
    jl_gen_stats *s = jl_gen_stats_new();
    /* signal at 170..180, QCD at 0..99: disjoint, so a window gives AUC 1 */
    for (int i = 0; i < 100; i++) {
        jl_gen_stats_add(s, 1, 170.0 + 0.1 * i, 10 + i % 3, 2);
        jl_gen_stats_add(s, 0, (double)i, 20, 1);
    }
    jl_gen_summary out;
    jl_gen_summarize(s, &out);
    cr_assert_eq(out.cls[1].n, 100);
    cr_assert_float_eq(out.cls[1].mass_median, 175.0, 0.6);
    cr_assert_float_eq(out.cls[1].mass_peak, 172.5, 1e-9);
    cr_assert_float_eq(out.cls[1].mult_median, 11.0, 1e-9);
    cr_assert_float_eq(out.cls[1].attempts, 2.0, 1e-12);
    cr_assert_float_eq(out.cls[0].mult_median, 20.0, 1e-9);
    cr_assert_float_eq(out.auc, 1.0, 1e-12);
    /* identical distributions: 1/2 */
    jl_gen_stats *t = jl_gen_stats_new();
    for (int i = 0; i < 100; i++) {
        jl_gen_stats_add(t, 1, (double)i, 5, 1);
        jl_gen_stats_add(t, 0, (double)i, 5, 1);
    }
    jl_gen_summarize(t, &out);
    cr_assert(out.auc >= 0.5 && out.auc < 0.56, "AUC of identical classes %g", out.auc);
    jl_gen_stats_free(s);
    jl_gen_stats_free(t);
}

Test(gen, configuration_errors)
{
    jl_gen_config cfg;
    jl_gen_config_init(&cfg);
    cr_assert_eq(jl_gen_config_check(&cfg), JL_OK);
    cfg.pt_max = cfg.pt_min;
    cr_assert_eq(jl_gen_config_check(&cfg), JL_EARG);
    cr_assert(strstr(jl_last_error(), "pT window"));
    jl_gen_config_init(&cfg);
    cfg.r = 0.0;
    cr_assert_eq(jl_gen_config_check(&cfg), JL_EARG);
    jl_h5_jets j;
    jl_gen_config_init(&cfg);
    cr_assert_eq(jl_gen_jets(&cfg, -1, &j, NULL), JL_EARG);
    cr_assert_null(j.pt);
    cr_assert_eq(jl_gen_write(&cfg, 0, "/tmp/never.h5", NULL), JL_EARG);
    jl_gen_signal sig;
    cr_assert(jl_gen_parse_signal("w", &sig) && sig == JL_GEN_W);
    cr_assert(!jl_gen_parse_signal("higgs", &sig));
    cr_assert_str_eq(jl_gen_signal_name(JL_GEN_TOP), "top");
    /* A run that stops on the interrupt flag. */
    volatile int stop = 1;
    cfg.interrupt = &stop;
    cr_assert_eq(jl_gen_jets(&cfg, 10, &j, NULL), JL_EINTR);
}
