/* test_loss.c — fused cross-entropy against a naive double loop (every
 * reduction, with and without per-sample weights, strided logits), its
 * backward against central differences, label and shape errors; SGD, Adam and
 * AdamW single and repeated updates against naive C versions of torch.optim's
 * formulas; version bumps, the sum of squares, and no leaked tensors. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "reference.h"

static int64_t live_at_start;
static void setup(void) { live_at_start = ref_live(); }
static void teardown(void) { cr_assert_eq(ref_live(), live_at_start, "tensors leaked"); }
TestSuite(loss, .init = setup, .fini = teardown);

#define B 7
#define K 5

static const int64_t label_values[B] = {0, 4, 2, 2, 1, 3, 0};
static const float weight_values[B] = {0.5f, 1.0f, 2.0f, 0.25f, 1.5f, 0.75f, 3.0f};

static jl_tensor *labels_tensor(void) { return jl_from_host(JL_I64, 1, (int64_t[]){B}, label_values); }
static jl_tensor *weights_tensor(void) { return ref_tensor(1, (int64_t[]){B}, weight_values, false); }

/* naive: per-sample loss of logits row r (flat row-major values) */
static double naive_loss(const jl_tensor *logits, int64_t r, int64_t y)
{
    double m = -INFINITY, s = 0;
    for (int64_t j = 0; j < K; j++) m = fmax(m, ref_at(logits, r * K + j));
    for (int64_t j = 0; j < K; j++) s += exp(ref_at(logits, r * K + j) - m);
    return m + log(s) - ref_at(logits, r * K + y);
}

/* expected (B) for none, else one value */
static void naive_ce(const jl_tensor *logits, const float *w, jl_reduction red, double *out)
{
    double num = 0, den = 0;
    for (int64_t r = 0; r < B; r++) {
        double wr = w ? w[r] : 1.0, l = naive_loss(logits, r, label_values[r]);
        if (red == JL_REDUCTION_NONE) out[r] = wr * l;
        num += wr * l;
        den += wr;
    }
    if (red == JL_REDUCTION_SUM) out[0] = num;
    if (red == JL_REDUCTION_MEAN) out[0] = num / den;
}

Test(loss, cross_entropy_matches_naive_loop)
{
    jl_tensor *labels = labels_tensor(), *w = weights_tensor();
    jl_tensor *dense = ref_randn(2, (int64_t[]){B, K}, 3, false);
    jl_tensor *raw = ref_randn(2, (int64_t[]){K, B}, 4, false);
    jl_tensor *strided = jl_transpose(raw, 0, 1); /* non-contiguous (B, K) */
    jl_tensor *inputs[2] = {dense, strided};
    for (int v = 0; v < 2; v++)
        for (int red = 0; red <= JL_REDUCTION_NONE; red++)
            for (int weighted = 0; weighted < 2; weighted++) {
                jl_tensor *out = jl_cross_entropy(inputs[v], labels, weighted ? w : NULL, (jl_reduction)red);
                cr_assert_not_null(out, "%s", jl_last_error());
                double expected[B];
                naive_ce(inputs[v], weighted ? weight_values : NULL, (jl_reduction)red, expected);
                cr_assert_eq(out->ndim, red == JL_REDUCTION_NONE ? 1 : 0);
                double err = ref_max_rel_diff_array(out, expected);
                cr_assert_lt(err, 1e-6, "view %d reduction %d weighted %d: err %g", v, red, weighted, err);
                jl_release(out);
            }
    jl_release(strided);
    jl_release(raw);
    jl_release(dense);
    jl_release(labels);
    jl_release(w);
}

/* Large enough that the pool splits the rows (and the updates' elements). */
Test(loss, cross_entropy_large_batch_runs_in_parallel)
{
    const int64_t rows = 20000, classes = 10;
    jl_tensor *x = ref_randn(2, (int64_t[]){rows, classes}, 31, true);
    jl_tensor *labels = jl_tensor_new(JL_I64, 1, &rows, JL_CPU);
    int64_t *lv = jl_data(labels);
    for (int64_t r = 0; r < rows; r++) lv[r] = (r * 7) % classes;
    jl_tensor *per = jl_cross_entropy(x, labels, NULL, JL_REDUCTION_NONE);
    jl_tensor *mean = jl_cross_entropy(x, labels, NULL, JL_REDUCTION_MEAN);
    cr_assert(per && mean, "%s", jl_last_error());
    double worst = 0, total = 0;
    for (int64_t r = 0; r < rows; r++) {
        double m = -INFINITY, s = 0;
        for (int64_t j = 0; j < classes; j++) m = fmax(m, ref_at(x, r * classes + j));
        for (int64_t j = 0; j < classes; j++) s += exp(ref_at(x, r * classes + j) - m);
        double l = m + log(s) - ref_at(x, r * classes + lv[r]);
        total += l;
        worst = fmax(worst, fabs(ref_at(per, r) - l) / (1 + fabs(l)));
    }
    cr_assert_lt(worst, 1e-6);
    cr_assert_lt(fabs(ref_at(mean, 0) - total / rows), 1e-6);
    cr_assert_eq(jl_backward(mean, NULL), JL_OK, "%s", jl_last_error());
    double gsum = 0;
    for (int64_t i = 0; i < rows * classes; i++) gsum += ref_at(x->grad, i);
    cr_assert_lt(fabs(gsum), 1e-6, "each row's gradient sums to zero");
    jl_release(per);
    jl_release(mean);
    jl_release(labels);
    jl_release(x);
}

Test(loss, cross_entropy_is_stable_for_large_logits)
{
    const float big[2 * 3] = {1000.f, 0.f, -1000.f, -500.f, 500.f, 499.f};
    const int64_t y[2] = {0, 2};
    jl_tensor *logits = ref_tensor(2, (int64_t[]){2, 3}, big, false);
    jl_tensor *labels = jl_from_host(JL_I64, 1, (int64_t[]){2}, y);
    jl_tensor *out = jl_cross_entropy(logits, labels, NULL, JL_REDUCTION_NONE);
    cr_assert_not_null(out, "%s", jl_last_error());
    double expected[2] = {0.0, 1.0 + log1p(exp(-1.0))};
    cr_assert_lt(ref_max_rel_diff_array(out, expected), 1e-6);
    jl_release(out);
    jl_release(labels);
    jl_release(logits);
}

typedef struct ce_case {
    jl_tensor *labels, *weights;
    jl_reduction reduction;
} ce_case;

static jl_tensor *ce_fn(jl_tensor **inputs, void *ctx)
{
    const ce_case *c = ctx;
    return jl_cross_entropy(inputs[0], c->labels, c->weights, c->reduction);
}

Test(loss, cross_entropy_backward_matches_central_differences)
{
    jl_tensor *labels = labels_tensor(), *w = weights_tensor();
    for (int red = 0; red <= JL_REDUCTION_NONE; red++)
        for (int weighted = 0; weighted < 2; weighted++) {
            jl_tensor *x = ref_randn(2, (int64_t[]){B, K}, 11 + red, true);
            ce_case c = {labels, weighted ? w : NULL, (jl_reduction)red};
            double err = ref_gradcheck(ce_fn, 1, &x, &c);
            cr_assert_lt(err, 2e-3, "reduction %d weighted %d: err %g", red, weighted, err);
            jl_release(x);
        }
    jl_release(labels);
    jl_release(w);
}

Test(loss, cross_entropy_gradient_is_softmax_minus_onehot)
{
    jl_tensor *labels = labels_tensor(), *w = weights_tensor();
    jl_tensor *x = ref_randn(2, (int64_t[]){B, K}, 21, true);
    jl_tensor *loss = jl_cross_entropy(x, labels, w, JL_REDUCTION_MEAN);
    cr_assert_eq(jl_backward(loss, NULL), JL_OK, "%s", jl_last_error());
    double wsum = 0, expected[B * K];
    for (int r = 0; r < B; r++) wsum += weight_values[r];
    for (int64_t r = 0; r < B; r++) {
        double m = -INFINITY, s = 0;
        for (int j = 0; j < K; j++) m = fmax(m, ref_at(x, r * K + j));
        for (int j = 0; j < K; j++) s += exp(ref_at(x, r * K + j) - m);
        for (int j = 0; j < K; j++)
            expected[r * K + j] = (exp(ref_at(x, r * K + j) - m) / s - (j == label_values[r])) *
                                  weight_values[r] / wsum;
    }
    cr_assert_lt(ref_max_rel_diff_array(x->grad, expected), 1e-6);
    jl_release(loss);
    jl_release(x);
    jl_release(labels);
    jl_release(w);
}

Test(loss, cross_entropy_errors_name_the_problem)
{
    jl_tensor *x = ref_randn(2, (int64_t[]){2, 3}, 1, false);
    const int64_t bad[2] = {1, 3};
    jl_tensor *labels = jl_from_host(JL_I64, 1, (int64_t[]){2}, bad);
    cr_assert_null(jl_cross_entropy(x, labels, NULL, JL_REDUCTION_MEAN));
    const char *msg = jl_last_error();
    cr_assert(strstr(msg, "label 3") && strstr(msg, "3 classes"), "%s", msg);

    jl_tensor *short_labels = jl_from_host(JL_I64, 1, (int64_t[]){1}, bad);
    cr_assert_null(jl_cross_entropy(x, short_labels, NULL, JL_REDUCTION_MEAN));
    cr_assert(strstr(jl_last_error(), "labels") && strstr(jl_last_error(), "(2, 3)"), "%s", jl_last_error());

    jl_tensor *flabels = jl_zeros(JL_F32, 1, (int64_t[]){2}, JL_CPU);
    cr_assert_null(jl_cross_entropy(x, flabels, NULL, JL_REDUCTION_MEAN));
    cr_assert(strstr(jl_last_error(), "i64"), "%s", jl_last_error());

    jl_tensor *w3 = jl_zeros(JL_F32, 1, (int64_t[]){3}, JL_CPU);
    const int64_t ok[2] = {0, 2};
    jl_tensor *good = jl_from_host(JL_I64, 1, (int64_t[]){2}, ok);
    cr_assert_null(jl_cross_entropy(x, good, w3, JL_REDUCTION_MEAN));
    cr_assert(strstr(jl_last_error(), "weights"), "%s", jl_last_error());
    jl_release(w3);
    jl_release(good);
    jl_release(flabels);
    jl_release(short_labels);
    jl_release(labels);
    jl_release(x);
}

/* ------------------------------------------------------------- optimizers */

#define N 37

/* naive torch.optim.SGD on doubles; buf may be NULL when momentum == 0 */
static void naive_sgd(double *p, const double *g0, double *buf, bool fresh, const jl_sgd_config *c)
{
    for (int i = 0; i < N; i++) {
        double g = g0[i] + c->weight_decay * p[i], d = g;
        if (c->momentum != 0) {
            buf[i] = fresh ? g : c->momentum * buf[i] + (1 - c->dampening) * g;
            d = c->nesterov ? g + c->momentum * buf[i] : buf[i];
        }
        p[i] -= c->lr * d;
    }
}

static void naive_adam(double *p, const double *g0, double *m, double *v, int t, const jl_adam_config *c)
{
    for (int i = 0; i < N; i++) {
        double g = g0[i];
        if (c->decoupled) p[i] *= 1 - c->lr * c->weight_decay;
        else g += c->weight_decay * p[i];
        m[i] = c->beta1 * m[i] + (1 - c->beta1) * g;
        v[i] = c->beta2 * v[i] + (1 - c->beta2) * g * g;
        double denom = sqrt(v[i]) / sqrt(1 - pow(c->beta2, t)) + c->eps;
        p[i] -= c->lr / (1 - pow(c->beta1, t)) * m[i] / denom;
    }
}

static void to_doubles(const jl_tensor *t, double *out)
{
    for (int64_t i = 0; i < jl_numel(t); i++) out[i] = ref_at(t, i);
}

Test(loss, sgd_matches_torch_formula)
{
    const jl_sgd_config configs[] = {
        {.lr = 0.1},
        {.lr = 0.05, .momentum = 0.9},
        {.lr = 0.05, .momentum = 0.9, .dampening = 0.3, .weight_decay = 1e-2},
        {.lr = 0.02, .momentum = 0.8, .weight_decay = 5e-2, .nesterov = true},
    };
    for (size_t ci = 0; ci < sizeof configs / sizeof configs[0]; ci++) {
        const jl_sgd_config *c = &configs[ci];
        jl_tensor *p = ref_randn(1, (int64_t[]){N}, 5, true);
        jl_tensor *buf = jl_zeros(JL_F32, 1, (int64_t[]){N}, JL_CPU);
        double ep[N], eb[N] = {0}, g[N];
        to_doubles(p, ep);
        uint64_t v0 = p->storage->version;
        for (int step = 0; step < 4; step++) {
            jl_tensor *grad = ref_randn(1, (int64_t[]){N}, 100 + step, false);
            to_doubles(grad, g);
            naive_sgd(ep, g, eb, step == 0, c);
            cr_assert_eq(jl_sgd_update_(p, grad, c->momentum != 0 ? buf : NULL, step == 0, c), JL_OK, "%s",
                         jl_last_error());
            jl_release(grad);
        }
        cr_assert_eq(p->storage->version, v0 + 4);
        cr_assert_lt(ref_max_rel_diff_array(p, ep), 1e-6, "config %zu", ci);
        if (c->momentum != 0) cr_assert_lt(ref_max_rel_diff_array(buf, eb), 1e-6, "config %zu", ci);
        jl_release(buf);
        jl_release(p);
    }
}

Test(loss, adam_and_adamw_match_torch_formula)
{
    const jl_adam_config configs[] = {
        {.lr = 1e-2, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8},
        {.lr = 1e-2, .beta1 = 0.8, .beta2 = 0.99, .eps = 1e-6, .weight_decay = 0.1},
        {.lr = 3e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.05, .decoupled = true},
    };
    for (size_t ci = 0; ci < sizeof configs / sizeof configs[0]; ci++) {
        const jl_adam_config *c = &configs[ci];
        jl_tensor *p = ref_randn(2, (int64_t[]){N, 1}, 6, true);
        jl_tensor *m = jl_zeros(JL_F32, 2, (int64_t[]){N, 1}, JL_CPU);
        jl_tensor *v = jl_zeros(JL_F32, 2, (int64_t[]){N, 1}, JL_CPU);
        double ep[N], em[N] = {0}, ev[N] = {0}, g[N];
        to_doubles(p, ep);
        for (int t = 1; t <= 5; t++) {
            jl_tensor *grad = ref_randn(2, (int64_t[]){N, 1}, 200 + t, false);
            to_doubles(grad, g);
            naive_adam(ep, g, em, ev, t, c);
            cr_assert_eq(jl_adam_update_(p, grad, m, v, t, c), JL_OK, "%s", jl_last_error());
            jl_release(grad);
        }
        cr_assert_lt(ref_max_rel_diff_array(p, ep), 1e-6, "config %zu", ci);
        cr_assert_lt(ref_max_rel_diff_array(m, em), 1e-6, "config %zu", ci);
        cr_assert_lt(ref_max_rel_diff_array(v, ev), 1e-6, "config %zu", ci);
        jl_release(m);
        jl_release(v);
        jl_release(p);
    }
}

Test(loss, adam_large_parameter_runs_in_parallel)
{
    const int64_t n = 300000;
    jl_tensor *p = ref_randn(1, &n, 41, true), *g = ref_randn(1, &n, 42, false);
    jl_tensor *m = jl_zeros(JL_F32, 1, &n, JL_CPU), *v = jl_zeros(JL_F32, 1, &n, JL_CPU);
    jl_tensor *p0 = jl_clone(p);
    jl_adam_config c = {.lr = 1e-2, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.1, .decoupled = true};
    cr_assert_eq(jl_adam_update_(p, g, m, v, 1, &c), JL_OK, "%s", jl_last_error());
    double worst = 0;
    for (int64_t i = 0; i < n; i++) {
        /* first step: m/(1-b1) = g, sqrt(v/(1-b2)) = |g|, so p -= lr * g / (|g| + eps) after the decay */
        double gi = ref_at(g, i), want = ref_at(p0, i) * (1 - 1e-3) - 1e-2 * gi / (fabs(gi) + 1e-8);
        worst = fmax(worst, fabs(ref_at(p, i) - want));
    }
    cr_assert_lt(worst, 1e-6);
    jl_release(p0);
    jl_release(m);
    jl_release(v);
    jl_release(g);
    jl_release(p);
}

Test(loss, updates_accept_strided_grads_and_refuse_bad_state)
{
    jl_tensor *p = ref_randn(2, (int64_t[]){3, 4}, 7, true);
    jl_tensor *graw = ref_randn(2, (int64_t[]){4, 3}, 8, false);
    jl_tensor *g = jl_transpose(graw, 0, 1);
    jl_tensor *expected = jl_affine(g, -0.5, 0.0), *p0 = jl_clone(p);
    jl_tensor *want = jl_add(p0, expected);
    jl_sgd_config c = {.lr = 0.5};
    cr_assert_eq(jl_sgd_update_(p, g, NULL, true, &c), JL_OK, "%s", jl_last_error());
    cr_assert_lt(ref_max_rel_diff(p, want), 1e-6);

    c.momentum = 0.9;
    cr_assert_neq(jl_sgd_update_(p, g, NULL, true, &c), JL_OK);
    cr_assert(strstr(jl_last_error(), "momentum buffer"), "%s", jl_last_error());
    c.nesterov = true;
    c.dampening = 0.1;
    jl_tensor *buf = jl_zeros_like(p);
    cr_assert_neq(jl_sgd_update_(p, g, buf, true, &c), JL_OK);
    cr_assert(strstr(jl_last_error(), "Nesterov"), "%s", jl_last_error());

    jl_tensor *small = jl_zeros(JL_F32, 1, (int64_t[]){12}, JL_CPU);
    jl_adam_config a = {.lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
    cr_assert_neq(jl_adam_update_(p, g, small, buf, 1, &a), JL_OK);
    cr_assert(strstr(jl_last_error(), "exp_avg") && strstr(jl_last_error(), "(12)"), "%s", jl_last_error());
    cr_assert_neq(jl_adam_update_(p, g, buf, buf, 0, &a), JL_OK);
    cr_assert(strstr(jl_last_error(), "step"), "%s", jl_last_error());
    jl_release(small);
    jl_release(buf);
    jl_release(want);
    jl_release(p0);
    jl_release(expected);
    jl_release(g);
    jl_release(graw);
    jl_release(p);
}

Test(loss, update_invalidates_saved_graph)
{
    jl_tensor *p = ref_randn(1, (int64_t[]){N}, 9, true);
    jl_tensor *y = jl_mul(p, p);
    jl_tensor *s = jl_sum(y, JL_ALL_DIMS, false);
    jl_tensor *g = ref_randn(1, (int64_t[]){N}, 10, false);
    jl_sgd_config c = {.lr = 0.1};
    cr_assert_eq(jl_sgd_update_(p, g, NULL, true, &c), JL_OK, "%s", jl_last_error());
    cr_assert_neq(jl_backward(s, NULL), JL_OK);
    jl_release(g);
    jl_release(s);
    jl_release(y);
    jl_release(p);
}

Test(loss, sum_squares_over_tensors)
{
    jl_tensor *a = ref_randn(2, (int64_t[]){3, 5}, 12, false), *b = ref_randn(1, (int64_t[]){4}, 13, false);
    double want = 0, got = -1;
    for (int i = 0; i < 15; i++) want += ref_at(a, i) * ref_at(a, i);
    for (int i = 0; i < 4; i++) want += ref_at(b, i) * ref_at(b, i);
    cr_assert_eq(jl_sum_squares(2, (jl_tensor *[]){a, b}, &got), JL_OK, "%s", jl_last_error());
    cr_assert_lt(fabs(got - want) / want, 1e-6);
    jl_release(a);
    jl_release(b);
}
