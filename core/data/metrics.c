/* metrics.c — ROC curve and AUC (see jl_metrics.h).
 *
 * Scores become order-preserving u32 keys (sign-flipped IEEE bits, -0 folded
 * into +0), sorted with a three-pass LSD radix sort carrying the sample index;
 * the curve is then one pass from the highest key down, closing a point
 * whenever the key changes, so tied scores are one point.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jl_metrics.h"
#include "jl_ops.h"

#define RADIX_BITS 8
#define RADIX_SIZE (1u << RADIX_BITS)

/* Ascending u32 order of the keys is ascending float order. */
static uint32_t float_key(float f)
{
    uint32_t u;
    if (f == 0.0f) f = 0.0f; /* -0 and +0 tie */
    memcpy(&u, &f, sizeof u);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

static float key_float(uint32_t k)
{
    uint32_t u = (k & 0x80000000u) ? (k & 0x7fffffffu) : ~k;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* One sample for the sort: its key and its weight as signal or as background. */
typedef struct item {
    uint32_t key;
    float ws, wb;
} item;

/* Sorts a (n) by key ascending; tmp (n) is scratch. Stable, four 8-bit passes. */
static void radix_sort(item *a, item *tmp, int64_t n)
{
    for (int shift = 0; shift < 32; shift += RADIX_BITS) {
        int64_t count[RADIX_SIZE + 1] = {0};
        for (int64_t i = 0; i < n; i++) count[((a[i].key >> shift) & (RADIX_SIZE - 1)) + 1]++;
        for (uint32_t b = 0; b < RADIX_SIZE; b++) count[b + 1] += count[b];
        for (int64_t i = 0; i < n; i++) tmp[count[(a[i].key >> shift) & (RADIX_SIZE - 1)]++] = a[i];
        item *t = a;
        a = tmp, tmp = t;
    }
    /* an even number of passes: the result is back in the caller's array */
}

static int check_vector(const char *what, const jl_tensor *t, int64_t n)
{
    if (t->ndim != 1) return JL_FAIL("roc: %s must be 1-D, got shape %s", what, jl_shape_str(t));
    if (t->shape[0] != n)
        return JL_FAIL("roc: %s has %lld entries but scores have %lld", what, (long long)t->shape[0],
                       (long long)n);
    return JL_OK;
}

/* A fresh contiguous CPU copy of t as dtype (+1), or NULL. */
static jl_tensor *host_copy(jl_tensor *t, jl_dtype dtype)
{
    jl_tensor *h = jl_to_device(t, JL_CPU);
    jl_tensor *c = h ? jl_to_dtype(h, dtype) : NULL;
    jl_release(h);
    return c;
}

/* u8 (n), 1 where labels == signal (compared in the labels' dtype); +1 or NULL. */
static jl_tensor *signal_mask(jl_tensor *labels, double signal)
{
    jl_tensor *h = jl_to_device(labels, JL_CPU);
    jl_tensor *v = h ? jl_scalar_like(h, signal) : NULL;
    jl_tensor *m = v ? jl_compare(JL_OP_eq, h, v) : NULL;
    jl_tensor *c = m ? jl_contiguous(m) : NULL;
    jl_release(h), jl_release(v), jl_release(m);
    return c;
}

int jl_check_binary_labels(const char *what, jl_tensor *labels, double background, double signal)
{
    bool grad_mode = jl_set_grad_enabled(false);
    jl_tensor *h = jl_to_device(labels, JL_CPU);
    jl_tensor *c = h ? jl_contiguous(h) : NULL;
    jl_set_grad_enabled(grad_mode);
    jl_release(h);
    if (!c) return jl_last_error_code() < 0 ? jl_last_error_code() : JL_ENOMEM;
    int64_t n = jl_numel(c);
    const void *d = jl_data(c);
    int rc = JL_OK;
    for (int64_t i = 0; i < n; i++) {
        double v;
        switch (c->dtype) {
        case JL_F32: v = ((const float *)d)[i]; break;
        case JL_I32: v = ((const int32_t *)d)[i]; break;
        case JL_I64: v = (double)((const int64_t *)d)[i]; break;
        default: v = ((const uint8_t *)d)[i]; break;
        }
        if (v != background && v != signal) {
            rc = JL_FAIL("%s: label %g at position %lld is neither background (%g) nor signal (%g)", what, v,
                         (long long)i + 1, background, signal);
            break;
        }
    }
    jl_release(c);
    return rc;
}

static jl_tensor *vector_f32(const float *values, int64_t n)
{
    return jl_from_host(JL_F32, 1, (int64_t[]){n}, values);
}

int jl_roc(jl_tensor *scores, jl_tensor *labels, jl_tensor *weights, double signal, jl_tensor **eff_s,
           jl_tensor **eff_b, jl_tensor **thresholds, double *auc)
{
    if (scores->ndim != 1) return JL_FAIL("roc: scores must be 1-D, got shape %s", jl_shape_str(scores));
    int64_t n = scores->shape[0];
    if (n == 0) return JL_FAIL("roc: no scores (empty tensor)");
    if (check_vector("labels", labels, n) < 0) return JL_EARG;
    if (weights && check_vector("weights", weights, n) < 0) return JL_EARG;

    if (eff_s) *eff_s = NULL;
    if (eff_b) *eff_b = NULL;
    if (thresholds) *thresholds = NULL;
    int rc = JL_OK;
    bool grad_mode = jl_set_grad_enabled(false);
    jl_tensor *sc = host_copy(scores, JL_F32), *mask = sc ? signal_mask(labels, signal) : NULL;
    jl_tensor *wc = mask && weights ? host_copy(weights, JL_F32) : NULL;
    jl_set_grad_enabled(grad_mode);
    item *items = malloc((size_t)n * 2 * sizeof *items); /* items, then radix scratch */
    /* the curve: cumulative weights and thresholds, at most n + 1 points */
    double *cs = malloc((size_t)(n + 1) * sizeof *cs), *cb = malloc((size_t)(n + 1) * sizeof *cb);
    float *thr = malloc((size_t)(n + 1) * sizeof *thr);
    float *es = malloc((size_t)(n + 1) * sizeof *es), *eb = malloc((size_t)(n + 1) * sizeof *eb);
    if (!sc || !mask || (weights && !wc)) {
        rc = jl_error_wrap("roc");
        goto done;
    }
    if (!items || !cs || !cb || !thr || !es || !eb) {
        rc = JL_FAIL_CODE(JL_ENOMEM, "roc: out of memory for %lld scores", (long long)n);
        goto done;
    }

    const float *sv = jl_data(sc), *wv = wc ? jl_data(wc) : NULL;
    const uint8_t *is_signal = jl_data(mask);
    for (int64_t i = 0; i < n; i++) {
        if (isnan(sv[i])) {
            rc = JL_FAIL("roc: score %lld is NaN", (long long)i + 1);
            goto done;
        }
        float w = wv ? wv[i] : 1.0f;
        items[i] = (item){float_key(sv[i]), is_signal[i] ? w : 0.0f, is_signal[i] ? 0.0f : w};
    }
    radix_sort(items, items + n, n);

    int64_t p = 0;
    double s = 0, b = 0;
    cs[p] = cb[p] = 0;
    thr[p++] = INFINITY;
    for (int64_t j = n - 1; j >= 0; j--) {
        s += items[j].ws;
        b += items[j].wb;
        if (j == 0 || items[j - 1].key != items[j].key) {
            cs[p] = s, cb[p] = b;
            thr[p++] = key_float(items[j].key);
        }
    }
    if (!(s > 0) || !(b > 0)) {
        rc = JL_FAIL("roc: %s has no weight (total %g; labels equal to %g are signal, all others background)",
                     s > 0 ? "the background" : "the signal", s > 0 ? b : s, signal);
        goto done;
    }

    double area = 0;
    for (int64_t k = 1; k < p; k++) area += (cb[k] - cb[k - 1]) * (cs[k] + cs[k - 1]);
    if (auc) *auc = area / (2 * s * b);

    for (int64_t k = 0; k < p; k++) {
        es[k] = (float)(cs[k] / s);
        eb[k] = (float)(cb[k] / b);
    }
    if (eff_s) *eff_s = vector_f32(es, p);
    if (eff_b) *eff_b = vector_f32(eb, p);
    if (thresholds) *thresholds = vector_f32(thr, p);
    if ((eff_s && !*eff_s) || (eff_b && !*eff_b) || (thresholds && !*thresholds)) {
        rc = jl_last_error_code();
        if (eff_s) jl_release(*eff_s), *eff_s = NULL;
        if (eff_b) jl_release(*eff_b), *eff_b = NULL;
        if (thresholds) jl_release(*thresholds), *thresholds = NULL;
    }

done:
    jl_release(sc), jl_release(mask), jl_release(wc);
    free(items), free(cs), free(cb), free(thr), free(es), free(eb);
    return rc;
}
