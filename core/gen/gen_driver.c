/* gen_driver.c — the generator's driver: configuration, one jet's attempts,
 * batches over the thread pool, and the two outputs (tensors, HDF5 file).
 *
 * Jets of a batch run in parallel (jl_parallel_for), each worker range with
 * its own gen_work; jet i only ever uses the random numbers of (seed, i,
 * attempt), so the output does not depend on the thread count. Statistics are
 * added serially after each batch. A worker's error message lives in its own
 * thread; the caller regenerates the first failing jet on its own thread to
 * report the same message.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gen_internal.h"
#include "jl_error.h"
#include "jl_parallel.h"

/* --- configuration ------------------------------------------------------- */

void jl_gen_config_init(jl_gen_config *cfg)
{
    *cfg = (jl_gen_config){.signal = JL_GEN_TOP,
                           .pt_min = 500.0,
                           .pt_max = 600.0,
                           .eta_max = 2.0,
                           .r = 1.0,
                           .seed = 1,
                           .detector = true,
                           .batch = 4096};
}

int jl_gen_config_check(const jl_gen_config *cfg)
{
    if (cfg->signal != JL_GEN_NONE && cfg->signal != JL_GEN_TOP && cfg->signal != JL_GEN_W)
        return JL_FAIL("gen: unknown signal %d", (int)cfg->signal);
    if (!(cfg->pt_min > 0.0) || !(cfg->pt_max > cfg->pt_min) || !isfinite(cfg->pt_max))
        return JL_FAIL("gen: the pT window must have 0 < min < max, got %g:%g", cfg->pt_min, cfg->pt_max);
    if (!(cfg->eta_max > 0.0 && cfg->eta_max <= 4.0))
        return JL_FAIL("gen: eta_max must be in (0, 4], got %g", cfg->eta_max);
    if (!(cfg->r >= 0.2 && cfg->r <= 1.5)) return JL_FAIL("gen: R must be in [0.2, 1.5], got %g", cfg->r);
    if (cfg->batch < 1) return JL_FAIL("gen: batch must be >= 1, got %lld", (long long)cfg->batch);
    return JL_OK;
}

static const char *const signal_names[] = {"none", "top", "w"};

const char *jl_gen_signal_name(jl_gen_signal s) { return (unsigned)s < 3 ? signal_names[s] : "unknown"; }

bool jl_gen_parse_signal(const char *name, jl_gen_signal *out)
{
    for (int k = 0; k < 3; k++) {
        if (strcmp(name, signal_names[k]) == 0) {
            *out = (jl_gen_signal)k;
            return true;
        }
    }
    return false;
}

/* --- workspace ------------------------------------------------------------ */

int gen_reserve(void **array, int *cap, int need, size_t size)
{
    if (need <= *cap) return JL_OK;
    int grown = *cap ? *cap : 64;
    while (grown < need) grown *= 2;
    void *p = realloc(*array, (size_t)grown * size);
    if (!p) return JL_FAIL_CODE(JL_ENOMEM, "gen: out of memory (%d items of %zu bytes)", grown, size);
    *array = p;
    *cap = grown;
    return JL_OK;
}

int gen_add_particle(gen_work *w, jl_p4 p, int visible)
{
    if (w->n_particle == w->cap_particle) {
        int cap = w->cap_particle;
        if (gen_reserve((void **)&w->particle, &w->cap_particle, w->n_particle + 1, sizeof *w->particle) ||
            gen_reserve((void **)&w->visible, &cap, w->n_particle + 1, sizeof *w->visible))
            return JL_ENOMEM;
    }
    w->visible[w->n_particle] = (uint8_t)(visible != 0);
    w->particle[w->n_particle++] = p;
    return JL_OK;
}

gen_work *gen_work_new(void)
{
    gen_work *w = calloc(1, sizeof *w);
    if (!w) {
        JL_FAIL_CODE(JL_ENOMEM, "gen: out of memory for a workspace");
        return NULL;
    }
    if (gen_detector_alloc(w)) {
        gen_work_free(w);
        return NULL;
    }
    return w;
}

void gen_work_free(gen_work *w)
{
    if (!w) return;
    free(w->parton);
    free(w->particle);
    free(w->visible);
    free(w->cluster);
    free(w->cell_e);
    free(w->cell_de);
    free(w->cell_dp);
    free(w->touched);
    free(w->rank);
    free(w);
}

void gen_work_reset(gen_work *w)
{
    w->n_parton = 0;
    w->n_particle = 0;
    w->n_cluster = 0;
}

/* --- one jet -------------------------------------------------------------- */

/* Generates jet `index` with label `label` into row `row` of out; *attempts
 * gets the attempts used. JL_OK or an error. */
static int gen_one(gen_work *w, const jl_gen_config *cfg, int label, uint64_t index, const gen_out *out,
                   int64_t row, int64_t *attempts)
{
    jl_gen_signal process = label ? cfg->signal : JL_GEN_NONE;
    for (uint32_t a = 0; a < JL_GEN_MAX_ATTEMPTS; a++) {
        gen_rng r;
        gen_rng_init(&r, cfg->seed, index, a);
        gen_work_reset(w);
        gen_event ev;
        int rc = gen_hard(w, &r, cfg, process, &ev);
        if (rc == 1) continue;
        if (rc) return rc;
        gen_to_lab(w, &ev);
        rc = gen_underlying_event(w, &r, cfg, &ev);
        if (!rc) rc = cfg->detector ? gen_detector(w, &r) : gen_particles_as_clusters(w);
        if (!rc) rc = gen_select(w, cfg, &ev, out, row);
        if (rc < 0) return rc;
        if (rc == 1) {
            *attempts = a + 1;
            return JL_OK;
        }
    }
    return JL_FAIL("gen: jet %llu (%s): no jet passed the selection in %d attempts "
                   "(pT %g:%g GeV, |eta| < %g, R = %g)",
                   (unsigned long long)index, label ? jl_gen_signal_name(cfg->signal) : "qcd",
                   JL_GEN_MAX_ATTEMPTS, cfg->pt_min, cfg->pt_max, cfg->eta_max, cfg->r);
}

/* --- batches -------------------------------------------------------------- */

typedef struct gen_batch {
    const jl_gen_config *cfg;
    const uint8_t *label; /* (n) labels of the whole run */
    int64_t first;        /* index of the batch's first jet */
    gen_out out;          /* rows of the batch */
    int64_t *attempts;    /* (rows) */
    int *status;          /* (rows) */
} gen_batch;

static void batch_range(void *ctx, int64_t begin, int64_t end)
{
    gen_batch *b = ctx;
    gen_work *w = gen_work_new();
    for (int64_t i = begin; i < end; i++)
        b->status[i] = w ? gen_one(w, b->cfg, b->label[b->first + i], (uint64_t)(b->first + i), &b->out, i,
                                   &b->attempts[i])
                         : JL_ENOMEM;
    gen_work_free(w);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Generates rows [0, count) of `out` = jets first .. first+count-1 of the run,
 * and adds them to stats (may be NULL). */
static int run_batch(const jl_gen_config *cfg, const uint8_t *label, int64_t first, int64_t count,
                     const gen_out *out, jl_gen_stats *stats)
{
    int64_t *attempts = malloc((size_t)count * sizeof *attempts);
    int *status = malloc((size_t)count * sizeof *status);
    if (!attempts || !status) {
        free(attempts);
        free(status);
        return JL_FAIL_CODE(JL_ENOMEM, "gen: out of memory for a batch of %lld jets", (long long)count);
    }
    gen_batch b = {cfg, label, first, *out, attempts, status};
    double t0 = now();
    jl_parallel_for(count, 8, batch_range, &b);
    double t1 = now();
    int rc = JL_OK;
    for (int64_t i = 0; i < count && rc == JL_OK; i++) {
        if (status[i] == JL_OK) continue;
        /* Again on this thread, for the message (deterministic: same numbers). */
        gen_work *w = gen_work_new();
        rc = w ? gen_one(w, cfg, label[first + i], (uint64_t)(first + i), out, i, &attempts[i]) : JL_ENOMEM;
        gen_work_free(w);
        if (rc == JL_OK)
            rc = JL_FAIL_CODE(status[i], "gen: jet %lld failed on a worker thread (code %d)",
                              (long long)(first + i) + 1, status[i]);
    }
    if (rc == JL_OK && stats) {
        stats->gen_seconds += t1 - t0;
        for (int64_t i = 0; i < count; i++)
            jl_gen_stats_add(stats, label[first + i], out->jet_m[i], out->mult[i], attempts[i]);
    }
    free(attempts);
    free(status);
    return rc;
}

/* A batch of n jets as tensors (zero-filled constituents), with out pointing
 * at their rows and mult at a fresh array (owned by the caller). */
static int batch_new(int64_t n, jl_h5_jets *j, gen_out *out)
{
    memset(j, 0, sizeof *j);
    const int64_t cols = JL_H5_ATLAS_COLUMNS;
    int64_t shape2[2] = {n, cols}, shape1[1] = {n};
    j->n = n;
    j->c = cols;
    j->pt = jl_zeros(JL_F32, 2, shape2, JL_CPU);
    j->eta = jl_zeros(JL_F32, 2, shape2, JL_CPU);
    j->phi = jl_zeros(JL_F32, 2, shape2, JL_CPU);
    j->E = jl_zeros(JL_F32, 2, shape2, JL_CPU);
    j->jet_pt = jl_zeros(JL_F32, 1, shape1, JL_CPU);
    j->jet_eta = jl_zeros(JL_F32, 1, shape1, JL_CPU);
    j->jet_phi = jl_zeros(JL_F32, 1, shape1, JL_CPU);
    j->jet_m = jl_zeros(JL_F32, 1, shape1, JL_CPU);
    j->labels = jl_zeros(JL_I64, 1, shape1, JL_CPU);
    j->weights = jl_full(JL_F32, 1, shape1, 1.0, JL_CPU);
    int64_t *mult = malloc((size_t)(n > 0 ? n : 1) * sizeof *mult);
    if (!j->pt || !j->eta || !j->phi || !j->E || !j->jet_pt || !j->jet_eta || !j->jet_phi || !j->jet_m ||
        !j->labels || !j->weights || !mult) {
        free(mult);
        jl_h5_jets_free(j);
        return jl_last_error_code() ? jl_last_error_code() : JL_ENOMEM;
    }
    *out = (gen_out){cols,
                     jl_data(j->pt),
                     jl_data(j->eta),
                     jl_data(j->phi),
                     jl_data(j->E),
                     jl_data(j->jet_pt),
                     jl_data(j->jet_eta),
                     jl_data(j->jet_phi),
                     jl_data(j->jet_m),
                     mult};
    return JL_OK;
}

/* Rows [r0, r0 + count) of a batch as a gen_out. */
static gen_out rows_from(const gen_out *o, int64_t r0)
{
    int64_t c = o->columns * r0;
    return (gen_out){o->columns,     o->pt + c,       o->eta + c,      o->phi + c,    o->e + c,
                     o->jet_pt + r0, o->jet_eta + r0, o->jet_phi + r0, o->jet_m + r0, o->mult + r0};
}

static int interrupted(const jl_gen_config *cfg)
{
    return cfg->interrupt && *cfg->interrupt ? JL_FAIL_CODE(JL_EINTR, "gen: interrupted") : JL_OK;
}

/* Fills the labels tensor of a batch from the run's labels. */
static void copy_labels(jl_h5_jets *j, const uint8_t *label, int64_t first)
{
    int64_t *l = jl_data(j->labels);
    for (int64_t i = 0; i < j->n; i++) l[i] = label[first + i];
}

int jl_gen_jets(const jl_gen_config *cfg, int64_t n, jl_h5_jets *out, jl_gen_stats *stats)
{
    memset(out, 0, sizeof *out);
    int rc = jl_gen_config_check(cfg);
    if (rc) return rc;
    if (n < 0) return JL_FAIL("gen: the number of jets must be >= 0, got %lld", (long long)n);
    uint8_t *label = gen_labels(cfg, n);
    if (!label) return JL_ENOMEM;
    jl_h5_jets j;
    gen_out o;
    rc = batch_new(n, &j, &o);
    if (rc) {
        free(label);
        return rc;
    }
    for (int64_t s = 0; rc == JL_OK && s < n; s += cfg->batch) {
        rc = interrupted(cfg);
        gen_out part = rows_from(&o, s);
        if (!rc) rc = run_batch(cfg, label, s, n - s < cfg->batch ? n - s : cfg->batch, &part, stats);
    }
    if (rc == JL_OK) {
        copy_labels(&j, label, 0);
        *out = j;
    } else {
        jl_h5_jets_free(&j);
    }
    free(o.mult);
    free(label);
    return rc;
}

int jl_gen_write(const jl_gen_config *cfg, int64_t n, const char *path, jl_gen_stats *stats)
{
    int rc = jl_gen_config_check(cfg);
    if (rc) return rc;
    if (n < 1) return JL_FAIL("gen: the number of jets must be >= 1, got %lld", (long long)n);
    uint8_t *label = gen_labels(cfg, n);
    if (!label) return JL_ENOMEM;
    jl_h5_writer *w = jl_h5_writer_open(path);
    if (!w) {
        free(label);
        return jl_last_error_code();
    }
    for (int64_t s = 0; rc == JL_OK && s < n; s += cfg->batch) {
        int64_t count = n - s < cfg->batch ? n - s : cfg->batch;
        jl_h5_jets j;
        gen_out o;
        rc = interrupted(cfg);
        if (!rc) rc = batch_new(count, &j, &o);
        if (rc) break;
        rc = run_batch(cfg, label, s, count, &o, stats);
        if (!rc) {
            copy_labels(&j, label, s);
            double t0 = now();
            rc = jl_h5_writer_write(w, &j);
            if (stats) stats->write_seconds += now() - t0;
        }
        free(o.mult);
        jl_h5_jets_free(&j);
    }
    free(label);
    if (rc) {
        jl_h5_writer_discard(w);
        return rc;
    }
    double t0 = now();
    rc = jl_h5_writer_close(w);
    if (stats) stats->write_seconds += now() - t0;
    return rc;
}
