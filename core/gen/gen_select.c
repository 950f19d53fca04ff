/* gen_select.c — the generator's jet finding, selection and labels.
 *
 * The clustering input (calorimeter clusters, or particles at particle level)
 * goes through anti-kt with radius R (jl_cluster_run, jl_jets.h); the leading
 * (highest-pT) jet is the candidate. It is kept when pt_min <= pT < pt_max,
 * |η| < eta_max and, for signal, every truth decay product lies within ΔR <
 * JL_GEN_CONTAINMENT × R of the jet axis (rapidity–azimuth distance, the
 * clustering's metric; as the ATLAS top-tagging labels require). Kept jets
 * are written with their constituents sorted by decreasing pT (ties: input
 * order), the first `columns` of them, zero-padded; φ in (-pi, pi] as in the
 * ATLAS files.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gen_internal.h"
#include "jl_error.h"

/* A constituent in the pT sort. */
typedef struct gen_ranked {
    double pt;
    int index;
} gen_ranked;

static int by_decreasing_pt(const void *a, const void *b)
{
    const gen_ranked *x = a, *y = b;
    if (x->pt != y->pt) return x->pt < y->pt ? 1 : -1;
    return (x->index > y->index) - (x->index < y->index);
}

/* φ in (-pi, pi]. */
static double signed_phi(double phi) { return phi > GEN_PI ? phi - GEN_TWO_PI : phi; }

int gen_select(gen_work *w, const jl_gen_config *cfg, const gen_event *ev, const gen_out *out, int64_t row)
{
    jl_jetdef def = {.p = JL_ANTIKT, .r = cfg->r, .ptmin = 0.0};
    jl_cluster *c = jl_cluster_run(w->cluster, w->n_cluster, &def);
    if (!c) return jl_last_error_code() ? jl_last_error_code() : JL_ENOMEM;
    int kept = c->n_jets > 0;
    const jl_jet *jet = kept ? &c->jets[0] : NULL;
    if (kept) kept = jet->pt >= cfg->pt_min && jet->pt < cfg->pt_max && fabs(jet->eta) < cfg->eta_max;
    for (int k = 0; kept && k < ev->n_products; k++)
        kept = gen_delta_r(ev->product[k], jet->y, jet->phi) < JL_GEN_CONTAINMENT * cfg->r;
    if (!kept) {
        jl_cluster_free(c);
        return 0;
    }

    int n = jet->n;
    if (gen_reserve((void **)&w->rank, &w->cap_rank, n, sizeof *w->rank)) {
        jl_cluster_free(c);
        return JL_ENOMEM;
    }
    gen_ranked *rank = w->rank;
    for (int i = 0; i < n; i++) {
        int k = jet->constituents[i];
        rank[i] = (gen_ranked){jl_p4_pt(w->cluster[k]), k};
    }
    qsort(rank, (size_t)n, sizeof *rank, by_decreasing_pt);

    int64_t cols = out->columns, base = row * cols;
    int64_t keep = n < cols ? n : cols;
    for (int64_t i = 0; i < keep; i++) {
        jl_p4 p = w->cluster[rank[i].index];
        out->pt[base + i] = (float)rank[i].pt;
        out->eta[base + i] = (float)jl_p4_eta(p);
        out->phi[base + i] = (float)signed_phi(jl_p4_phi(p));
        out->e[base + i] = (float)p.E;
    }
    size_t pad = (size_t)(cols - keep) * sizeof(float);
    memset(out->pt + base + keep, 0, pad);
    memset(out->eta + base + keep, 0, pad);
    memset(out->phi + base + keep, 0, pad);
    memset(out->e + base + keep, 0, pad);
    out->jet_pt[row] = (float)jet->pt;
    out->jet_eta[row] = (float)jet->eta;
    out->jet_phi[row] = (float)signed_phi(jet->phi);
    out->jet_m[row] = (float)jet->m;
    out->mult[row] = n;
    jl_cluster_free(c);
    return 1;
}

uint8_t *gen_labels(const jl_gen_config *cfg, int64_t n)
{
    uint8_t *label = malloc(n > 0 ? (size_t)n : 1);
    if (!label) {
        JL_FAIL_CODE(JL_ENOMEM, "gen: out of memory for %lld labels", (long long)n);
        return NULL;
    }
    int64_t signal = cfg->signal == JL_GEN_NONE ? 0 : n / 2;
    for (int64_t i = 0; i < n; i++) label[i] = i < signal;
    /* Fisher-Yates from the label stream. */
    gen_rng r;
    gen_rng_init(&r, cfg->seed, GEN_LABEL_STREAM, 0);
    for (int64_t i = n - 1; i > 0; i--) {
        uint64_t x = ((uint64_t)gen_u32(&r) << 32) | gen_u32(&r);
        int64_t j = (int64_t)jl_philox_below(x, (uint64_t)i + 1);
        uint8_t t = label[i];
        label[i] = label[j];
        label[j] = t;
    }
    return label;
}
