/* jl_metrics.h — ROC curve and AUC for binary classifiers (metrics.c).
 *
 * One sort of the scores (radix sort on the f32 keys, O(N)), then one pass
 * accumulating signal and background weight from the highest score down; tied
 * scores are one point of the curve, so the result is exact on ties and
 * equals scikit-learn's roc_curve(drop_intermediate=False) / roc_auc_score,
 * sample weights included.
 *
 *   jl_tensor *es, *eb, *thr;
 *   double auc;
 *   if (jl_roc(scores, labels, NULL, 2, &es, &eb, &thr, &auc) < 0) puts(jl_last_error());
 *   ...
 *   jl_release(es); jl_release(eb); jl_release(thr);
 */
#ifndef JL_METRICS_H
#define JL_METRICS_H

#include "jl_tensor.h"

/* scores (N) — compared as f32 (other dtypes are converted; NaN is an error);
 * labels (N) of any dtype — an entry is signal when it equals `signal`, and
 * background otherwise; weights (N) or NULL for unit weights.
 * Both classes must carry positive total weight.
 *
 * Outputs (each may be NULL when not wanted), new +1 f32 CPU tensors of
 * P = (number of distinct scores) + 1 points, in decreasing threshold:
 *   eff_s (P)      signal efficiency ε_S = W_s(score >= thr) / W_s (TPR)
 *   eff_b (P)      background efficiency ε_B = W_b(score >= thr) / W_b (FPR)
 *   thresholds (P) the distinct scores, the first being +inf (the point (0, 0))
 * *auc (may be NULL) is the trapezoid area under (ε_B, ε_S), accumulated in
 * double. On failure nothing is allocated and the status is < 0. */
int jl_roc(jl_tensor *scores, jl_tensor *labels, jl_tensor *weights, double signal, jl_tensor **eff_s,
           jl_tensor **eff_b, jl_tensor **thresholds, double *auc);

/* JL_OK when every entry of labels (N, any dtype, any device) equals
 * background or signal; otherwise JL_EARG with "<what>: label <v> at position
 * <i> is neither background (<background>) nor signal (<signal>)", i counted
 * from 1, the first such entry. jl_roc itself takes any other value as
 * background; callers that know the convention check first. */
int jl_check_binary_labels(const char *what, jl_tensor *labels, double background, double signal);

#endif
