/* gen_report.c — the generator's summary statistics, the reference from real
 * event files, and the realism checks (jl_gen.h gives the numbers).
 *
 * Everything works on fixed histograms (jl_gen_stats), so a summary of a
 * million jets costs the same memory as one of a hundred.
 */
#include <math.h>
#include <stdlib.h>

#include "gen_internal.h"
#include "jl_error.h"

/* The mass peak is looked for in bins this wide (GeV), smoothed over 3 bins. */
#define GEN_PEAK_BIN 5

jl_gen_stats *jl_gen_stats_new(void)
{
    jl_gen_stats *s = calloc(1, sizeof *s);
    if (!s) JL_FAIL_CODE(JL_ENOMEM, "gen: out of memory for statistics");
    return s;
}

void jl_gen_stats_free(jl_gen_stats *s) { free(s); }

void jl_gen_stats_add(jl_gen_stats *s, int label, double mass, int64_t mult, int64_t attempts)
{
    int c = label ? 1 : 0;
    int64_t mb = mass >= 0.0 && mass < JL_GEN_MASS_BINS ? (int64_t)mass : mass < 0.0 ? 0 : JL_GEN_MASS_BINS;
    int64_t nb = mult >= 0 && mult < JL_GEN_MULT_BINS ? mult : mult < 0 ? 0 : JL_GEN_MULT_BINS;
    s->jets[c]++;
    s->attempts[c] += attempts;
    s->mass[c][mb]++;
    s->mult[c][nb]++;
}

/* The median of a histogram of unit-width bins [k, k + 1): linear inside the
 * bin (continuous values), or the order statistic (integer values: bin k holds
 * the value k exactly). NaN when empty. */
static double hist_median(const int64_t *h, int bins, int integer)
{
    int64_t n = 0;
    for (int k = 0; k < bins; k++) n += h[k];
    if (n == 0) return NAN;
    if (integer) {
        /* Mean of the values of ranks floor((n+1)/2) and ceil((n+1)/2), 1-based. */
        int64_t lo_rank = (n + 1) / 2, hi_rank = n / 2 + 1, cum = 0;
        double lo = NAN, hi = NAN;
        for (int k = 0; k < bins; k++) {
            cum += h[k];
            if (isnan(lo) && cum >= lo_rank) lo = k;
            if (isnan(hi) && cum >= hi_rank) hi = k;
        }
        return 0.5 * (lo + hi);
    }
    double half = 0.5 * (double)n, cum = 0.0;
    for (int k = 0; k < bins; k++) {
        if (h[k] && cum + (double)h[k] >= half) return k + (half - cum) / (double)h[k];
        cum += (double)h[k];
    }
    return bins;
}

/* Centre of the fullest GEN_PEAK_BIN-wide bin after [1 2 1]/4 smoothing. */
static double hist_peak(const int64_t *h, int bins)
{
    enum { COARSE = JL_GEN_MASS_BINS / GEN_PEAK_BIN };
    double coarse[COARSE] = {0};
    for (int k = 0; k < bins; k++) coarse[k / GEN_PEAK_BIN] += (double)h[k];
    int best = -1;
    double best_v = 0.0;
    for (int k = 0; k < COARSE; k++) {
        double v = 2.0 * coarse[k] + (k > 0 ? coarse[k - 1] : 0.0) + (k + 1 < COARSE ? coarse[k + 1] : 0.0);
        if (v > best_v) best_v = v, best = k;
    }
    return best < 0 ? NAN : (best + 0.5) * GEN_PEAK_BIN;
}

/* AUC of the score -|m - c| for a window centre c at a bin edge: bins at
 * equal distance on both sides of c form one distance class; signal above
 * background when closer, half a count on ties; the overflow bin is farthest. */
static double window_auc(const int64_t *sig, const int64_t *bkg, int bins, int c, double ns, double nb)
{
    int far = c > bins - c ? c : bins - c;
    double b_beyond = (double)bkg[bins], auc = 0.0; /* background farther than the current class */
    for (int j = far - 1; j >= 0; j--) {
        double s = 0.0, b = 0.0;
        if (c + j < bins) s += (double)sig[c + j], b += (double)bkg[c + j];
        if (c - 1 - j >= 0) s += (double)sig[c - 1 - j], b += (double)bkg[c - 1 - j];
        auc += s * (b_beyond + 0.5 * b);
        b_beyond += b;
    }
    auc += 0.5 * (double)sig[bins] * (double)bkg[bins];
    return auc / (ns * nb);
}

void jl_gen_summarize(const jl_gen_stats *s, jl_gen_summary *out)
{
    for (int c = 0; c < 2; c++) {
        jl_gen_class *k = &out->cls[c];
        k->n = s->jets[c];
        k->mass_median = hist_median(s->mass[c], JL_GEN_MASS_BINS + 1, 0);
        k->mass_peak = hist_peak(s->mass[c], JL_GEN_MASS_BINS);
        k->mult_median = hist_median(s->mult[c], JL_GEN_MULT_BINS + 1, 1);
        k->attempts = k->n ? (double)s->attempts[c] / (double)k->n : NAN;
    }
    out->auc = NAN;
    out->window_centre = NAN;
    if (s->jets[0] && s->jets[1]) {
        double best = -1.0;
        int best_c = 0;
        for (int c = 0; c <= JL_GEN_MASS_BINS; c++) {
            double a = window_auc(s->mass[1], s->mass[0], JL_GEN_MASS_BINS, c, (double)s->jets[1],
                                  (double)s->jets[0]);
            if (a > best) best = a, best_c = c;
        }
        out->auc = best;
        out->window_centre = best_c;
    }
    double n = (double)(s->jets[0] + s->jets[1]);
    out->jets_per_second = s->gen_seconds > 0.0 ? n / s->gen_seconds : NAN;
}

/* --- the reference -------------------------------------------------------- */

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of n values (sorts them); NaN when n == 0. */
static double median(double *v, int64_t n)
{
    if (n == 0) return NAN;
    qsort(v, (size_t)n, sizeof *v, by_value);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int jl_gen_reference(const char *path, const jl_gen_config *cfg, int leading, jl_gen_class *out)
{
    *out = (jl_gen_class){0};
    if (leading < 1) return JL_FAIL("gen: reference: leading must be >= 1, got %d", leading);
    jl_events *ev = jl_events_read(path);
    if (!ev) return jl_last_error_code();
    double *mass = malloc((size_t)(ev->count * leading + 1) * sizeof *mass);
    double *mult = malloc((size_t)(ev->count * leading + 1) * sizeof *mult);
    int rc = mass && mult ? JL_OK : JL_FAIL_CODE(JL_ENOMEM, "gen: reference: out of memory");
    int64_t n = 0;
    jl_jetdef def = {.p = JL_ANTIKT, .r = cfg->r, .ptmin = 0.0};
    for (int64_t e = 0; rc == JL_OK && e < ev->count; e++) {
        jl_cluster *c = jl_cluster_run(ev->p + ev->offsets[e], ev->offsets[e + 1] - ev->offsets[e], &def);
        if (!c) {
            rc = jl_last_error_code();
            break;
        }
        for (int j = 0; j < c->n_jets && j < leading; j++) {
            const jl_jet *jet = &c->jets[j];
            if (jet->pt >= cfg->pt_min && jet->pt < cfg->pt_max && fabs(jet->eta) < cfg->eta_max) {
                mass[n] = jet->m;
                mult[n] = jet->n;
                n++;
            }
        }
        jl_cluster_free(c);
    }
    if (rc == JL_OK) {
        out->n = n;
        out->mass_median = median(mass, n);
        out->mult_median = median(mult, n);
        out->mass_peak = NAN;
        out->attempts = NAN;
    }
    free(mass);
    free(mult);
    jl_events_free(ev);
    return rc;
}

/* --- checks --------------------------------------------------------------- */

static int add_check(jl_gen_check *out, int n, int max, const char *name, double value, double lo, double hi)
{
    if (n < max) out[n] = (jl_gen_check){name, value, lo, hi, value >= lo && value <= hi};
    return n + 1;
}

int jl_gen_checks(const jl_gen_config *cfg, const jl_gen_summary *s, const jl_gen_class *qcd,
                  const jl_gen_class *ref, jl_gen_check *out, int max)
{
    int n = 0;
    if (cfg->signal == JL_GEN_TOP && s->cls[1].n > 0)
        n = add_check(out, n, max, "top mass peak (GeV)", s->cls[1].mass_peak, JL_GEN_TOP_PEAK_LO,
                      JL_GEN_TOP_PEAK_HI);
    if (cfg->signal == JL_GEN_W && s->cls[1].n > 0)
        n = add_check(out, n, max, "W mass peak (GeV)", s->cls[1].mass_peak, JL_GEN_W_PEAK_LO,
                      JL_GEN_W_PEAK_HI);
    if (cfg->signal == JL_GEN_TOP && cfg->pt_min >= 450.0 && cfg->pt_max <= 700.0 && !isnan(s->auc))
        n = add_check(out, n, max, "top vs QCD mass-window AUC", s->auc, JL_GEN_AUC_LO, JL_GEN_AUC_HI);
    if (qcd && ref && ref->n >= 5 && qcd->n > 0) {
        double t = JL_GEN_REF_TOLERANCE;
        n = add_check(out, n, max, "QCD median multiplicity / reference", qcd->mult_median / ref->mult_median,
                      1.0 - t, 1.0 + t);
        n = add_check(out, n, max, "QCD median mass / reference", qcd->mass_median / ref->mass_median,
                      1.0 - t, 1.0 + t);
    }
    return n < max ? n : max;
}
