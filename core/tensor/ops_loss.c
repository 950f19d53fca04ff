/* ops_loss.c — fused softmax cross-entropy with per-sample weights.
 *
 * The kernel gives the per-sample losses l (B); weighting and the reduction
 * are ordinary ops run with grad mode off, and one autograd node covers the
 * whole computation. Its backward needs only the logits, the labels and a
 * per-row scale s (B), d(output)/d(l_r):
 *
 *   none: s = w        sum: s = w        mean: s = w / sum(w)  (1/B unweighted)
 *
 * so grad_logits[r] = (softmax(logits[r]) - onehot(labels[r])) * g_r * s_r,
 * g being the incoming gradient broadcast to (B). The weighted mean
 * sum(w l) / sum(w) is the mean over the (weighted) sample, as the ATLAS
 * training weights need; torch's per-class `weight=` is a different thing.
 */
#include <stdlib.h>

#include "jl_ops.h"

static int check_inputs(const jl_tensor *logits, const jl_tensor *labels, const jl_tensor *weights,
                        jl_reduction reduction)
{
    if ((unsigned)reduction > JL_REDUCTION_NONE)
        return JL_FAIL("cross_entropy: unknown reduction %d", (int)reduction);
    if (logits->dtype != JL_F32 || logits->ndim != 2)
        return JL_FAIL("cross_entropy: logits must be f32 of shape (B, K), got %s %s",
                       jl_dtype_name(logits->dtype), jl_shape_str(logits));
    int64_t B = logits->shape[0];
    if (logits->shape[1] < 1)
        return JL_FAIL("cross_entropy: logits %s have no classes", jl_shape_str(logits));
    if (labels->dtype != JL_I64 || labels->ndim != 1 || labels->shape[0] != B)
        return JL_FAIL("cross_entropy: labels must be i64 of shape (%lld) for logits %s, got %s %s",
                       (long long)B, jl_shape_str(logits), jl_dtype_name(labels->dtype),
                       jl_shape_str(labels));
    if (weights && (weights->dtype != JL_F32 || weights->ndim != 1 || weights->shape[0] != B))
        return JL_FAIL("cross_entropy: weights must be f32 of shape (%lld) for logits %s, got %s %s",
                       (long long)B, jl_shape_str(logits), jl_dtype_name(weights->dtype),
                       jl_shape_str(weights));
    jl_device dev = jl_device_of(logits);
    if (jl_device_of(labels) != dev || (weights && jl_device_of(weights) != dev))
        return JL_FAIL_CODE(JL_EDEVICE, "cross_entropy: logits, labels and weights must be on one device");
    return JL_OK;
}

/* Every label in 0..K-1, checked on the host; the error names the first bad one. */
static int check_labels(jl_tensor *labels, int64_t K)
{
    jl_tensor *host = jl_to_device(labels, JL_CPU);
    jl_tensor *flat = host ? jl_contiguous(host) : NULL;
    jl_release(host);
    if (!flat) return jl_error_wrap("cross_entropy");
    const int64_t *v = jl_data(flat);
    int rc = JL_OK;
    for (int64_t r = 0; r < jl_numel(flat) && rc == JL_OK; r++)
        if (v[r] < 0 || v[r] >= K)
            rc = JL_FAIL("cross_entropy: label %lld (row %lld) out of range for %lld classes (0..%lld)",
                         (long long)v[r], (long long)r, (long long)K, (long long)(K - 1));
    jl_release(flat);
    return rc;
}

/* saved: 0 logits, 1 labels, 2 row scale (absent: the constant s[0]) */
static int cross_entropy_backward(jl_node *node, jl_tensor *g, jl_tensor **grad_inputs)
{
    jl_tensor *logits = jl_node_saved(node, 0);
    jl_tensor *labels = logits ? jl_node_saved(node, 1) : NULL;
    jl_tensor *scale = labels && node->n_saved > 2 ? jl_node_saved(node, 2) : NULL;
    if (!labels || (node->n_saved > 2 && !scale)) return jl_last_error_code();
    int64_t B = logits->shape[0];
    jl_tensor *gb = jl_expand(g, 1, &B);
    jl_tensor *rows = !gb ? NULL : scale ? jl_mul(gb, scale) : jl_affine(gb, node->s[0], 0.0);
    jl_tensor *rows_c = rows ? jl_contiguous(rows) : NULL;
    jl_tensor *out = rows_c ? jl_empty_like(logits) : NULL;
    int rc = out ? JL_OK : jl_last_error_code();
    if (out) {
        jl_kargs k = {.op = JL_OP_cross_entropy_backward,
                      .out = jl_view_of(out),
                      .a = jl_view_of(logits),
                      .b = jl_view_of(labels),
                      .c = jl_view_of(rows_c)};
        rc = jl_run(jl_device_of(out), &k);
    }
    jl_release(gb);
    jl_release(rows);
    jl_release(rows_c);
    if (rc != JL_OK) {
        jl_release(out);
        return rc;
    }
    grad_inputs[0] = out;
    return JL_OK;
}

/* Per-sample losses l (B) of contiguous logits and labels; +1. */
static jl_tensor *per_sample(jl_tensor *logits, jl_tensor *labels)
{
    jl_tensor *l = jl_tensor_new(JL_F32, 1, logits->shape, jl_device_of(logits));
    if (!l) return NULL;
    jl_kargs k = {
        .op = JL_OP_cross_entropy, .out = jl_view_of(l), .a = jl_view_of(logits), .b = jl_view_of(labels)};
    if (jl_run(jl_device_of(l), &k) != JL_OK) {
        jl_release(l);
        return NULL;
    }
    return l;
}

/* The reduced loss from l (B) and w (B or NULL); *scale (+1, may stay NULL) and
 * *const_scale receive the backward's row scale. Runs without recording. */
static jl_tensor *reduce_loss(jl_tensor *l, jl_tensor *w, jl_reduction reduction, jl_tensor **scale,
                              double *const_scale)
{
    *const_scale = 1.0;
    if (reduction == JL_REDUCTION_MEAN && !w) {
        *const_scale = 1.0 / (double)l->shape[0];
        return jl_mean(l, JL_ALL_DIMS, false);
    }
    jl_tensor *wl = w ? jl_mul(l, w) : jl_retain(l);
    if (!wl || reduction == JL_REDUCTION_NONE) {
        *scale = w ? jl_retain(w) : NULL;
        return wl;
    }
    jl_tensor *total = jl_sum(wl, JL_ALL_DIMS, false);
    jl_release(wl);
    if (!total || reduction == JL_REDUCTION_SUM) {
        *scale = w ? jl_retain(w) : NULL;
        return total;
    }
    jl_tensor *wsum = jl_sum(w, JL_ALL_DIMS, false);
    jl_tensor *mean = wsum ? jl_div(total, wsum) : NULL;
    *scale = wsum ? jl_div(w, wsum) : NULL;
    jl_release(total);
    jl_release(wsum);
    if (!*scale) {
        jl_release(mean);
        return NULL;
    }
    return mean;
}

/* out: scalar for mean/sum, (B) for none <- cross-entropy of logits (B, K) at labels (B) */
jl_tensor *jl_cross_entropy(jl_tensor *logits, jl_tensor *labels, jl_tensor *weights, jl_reduction reduction)
{
    if (check_inputs(logits, labels, weights, reduction) != JL_OK) return NULL;
    if (check_labels(labels, logits->shape[1]) != JL_OK) return NULL;
    bool was_enabled = jl_set_grad_enabled(false);
    jl_tensor *lc = jl_contiguous(logits);
    jl_tensor *yc = lc ? jl_contiguous(labels) : NULL;
    jl_tensor *l = yc ? per_sample(lc, yc) : NULL;
    jl_tensor *scale = NULL;
    double const_scale = 1.0;
    jl_tensor *out = l ? reduce_loss(l, weights, reduction, &scale, &const_scale) : NULL;
    jl_set_grad_enabled(was_enabled);
    jl_release(l);

    jl_node *node = NULL;
    if (out && jl_needs_graph(1, &logits)) {
        jl_tensor *scale_c = scale ? jl_contiguous(scale) : NULL;
        node = !scale || scale_c ? jl_node_new("cross_entropy", cross_entropy_backward, 1, &logits) : NULL;
        if (node && (jl_node_save(node, lc) < 0 || jl_node_save(node, yc) < 0 ||
                     (scale_c && jl_node_save(node, scale_c) < 0))) {
            jl_node_release(node);
            node = NULL;
        }
        jl_release(scale_c);
        if (node) {
            node->s[0] = const_scale;
            jl_attach(out, node);
        } else {
            jl_release(out);
            out = NULL;
        }
    }
    jl_release(scale);
    jl_release(lc);
    jl_release(yc);
    return out;
}
