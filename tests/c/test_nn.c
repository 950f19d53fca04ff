/* test_nn.c — jl_batch_norm against a naive double loop (training and eval,
 * with and without affine parameters, strided x, many chunks of rows, large
 * offsets), the running-statistics update against PyTorch's formula, every
 * backward (x, weight, bias; training and eval; x without grad) against
 * central differences, error messages naming shapes, and no leaked tensors. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jl_parallel.h"
#include "reference.h"

#define SHAPE(...) ((const int64_t[]){__VA_ARGS__})
#define EPS 1e-5

static int64_t live_at_start;
static void setup(void) { live_at_start = ref_live(); }
static void teardown(void) { cr_assert_eq(ref_live(), live_at_start, "tensors leaked"); }
TestSuite(nn, .init = setup, .fini = teardown);

/* Per-channel mean and biased variance of x (N, C) in double. */
static void naive_stats(const jl_tensor *x, double *mean, double *var)
{
    int64_t N = x->shape[0], C = x->shape[1];
    for (int64_t c = 0; c < C; c++) {
        double s = 0, ss = 0;
        for (int64_t r = 0; r < N; r++) s += ref_at(x, r * C + c);
        mean[c] = s / (double)N;
        for (int64_t r = 0; r < N; r++) ss += (ref_at(x, r * C + c) - mean[c]) * (ref_at(x, r * C + c) - mean[c]);
        var[c] = ss / (double)N;
    }
}

/* expected (N, C) <- (x - mean) / sqrt(var + eps) * w + b; w, b may be NULL. */
static void naive_normalise(const jl_tensor *x, const double *mean, const double *var, const jl_tensor *w,
                            const jl_tensor *b, double *expected)
{
    int64_t N = x->shape[0], C = x->shape[1];
    for (int64_t r = 0; r < N; r++)
        for (int64_t c = 0; c < C; c++) {
            double y = (ref_at(x, r * C + c) - mean[c]) / sqrt(var[c] + EPS);
            expected[r * C + c] = y * (w ? ref_at(w, c) : 1.0) + (b ? ref_at(b, c) : 0.0);
        }
}

/* Training-mode forward of x against the naive loop, affine or not, to tol. */
static void check_training_forward(jl_tensor *x, bool affine, double tol)
{
    int64_t N = x->shape[0], C = x->shape[1];
    jl_tensor *w = affine ? ref_randn(1, SHAPE(C), 5, false) : NULL;
    jl_tensor *b = affine ? ref_randn(1, SHAPE(C), 6, false) : NULL;
    double *mean = malloc(sizeof(double) * (size_t)C), *var = malloc(sizeof(double) * (size_t)C);
    double *expected = malloc(sizeof(double) * (size_t)(N * C));
    naive_stats(x, mean, var);
    naive_normalise(x, mean, var, w, b, expected);
    jl_tensor *y = jl_batch_norm(x, w, b, NULL, NULL, true, 0.1, EPS);
    cr_assert_not_null(y, "%s", jl_last_error());
    cr_assert_eq(y->ndim, 2);
    cr_assert(y->shape[0] == N && y->shape[1] == C);
    double err = ref_max_rel_diff_array(y, expected);
    cr_assert_lt(err, tol, "x %s affine %d: error %g", jl_shape_str(x), affine, err);
    free(mean);
    free(var);
    free(expected);
    jl_release(y);
    jl_release(w);
    jl_release(b);
}

Test(nn, batch_norm_training_forward_matches_naive_loop)
{
    const int64_t shapes[][2] = {{2, 1}, {7, 3}, {1000, 5}, {3, 300}, {200003, 3}, {4097, 67}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int affine = 0; affine < 2; affine++) {
            jl_tensor *x = ref_randn(2, shapes[s], 11 + s, false);
            check_training_forward(x, affine, 2e-5);
            jl_release(x);
        }
}

Test(nn, batch_norm_strided_input_and_large_offsets)
{
    jl_tensor *xt = ref_randn(2, SHAPE(6, 513), 12, false);
    jl_tensor *x = jl_transpose(xt, 0, 1); /* (513, 6), column-major */
    check_training_forward(x, true, 2e-5);
    jl_release(x);
    jl_release(xt);

    /* values around 1000 with spread 0.01: a one-pass E[x^2] - E[x]^2 in f32 gives O(1)
     * errors (even negative variances); what remains is the mean's rounding to f32
     * (ulp 6e-5 at 1000, i.e. ~3e-3 of the spread) */
    jl_tensor *noise = ref_randn(2, SHAPE(50000, 4), 13, false);
    jl_tensor *shifted = jl_affine(noise, 0.01, 1000.0);
    check_training_forward(shifted, true, 1e-2);
    jl_release(noise);
    jl_release(shifted);
}

Test(nn, batch_norm_eval_uses_running_statistics)
{
    int64_t N = 9, C = 4;
    jl_tensor *x = ref_randn(2, SHAPE(N, C), 14, false);
    jl_tensor *w = ref_randn(1, SHAPE(C), 15, false), *b = ref_randn(1, SHAPE(C), 16, false);
    float rm_values[] = {0.5f, -1.0f, 2.0f, 0.0f}, rv_values[] = {1.0f, 0.25f, 4.0f, 0.01f};
    jl_tensor *rm = ref_tensor(1, SHAPE(C), rm_values, false), *rv = ref_tensor(1, SHAPE(C), rv_values, false);
    double mean[4], var[4], expected[36];
    for (int c = 0; c < C; c++) mean[c] = rm_values[c], var[c] = rv_values[c];
    naive_normalise(x, mean, var, w, b, expected);
    jl_tensor *y = jl_batch_norm(x, w, b, rm, rv, false, 0.1, EPS);
    cr_assert_not_null(y, "%s", jl_last_error());
    cr_assert_lt(ref_max_rel_diff_array(y, expected), 1e-5);
    /* eval leaves the running buffers alone */
    for (int c = 0; c < C; c++) {
        cr_assert_eq(ref_at(rm, c), rm_values[c]);
        cr_assert_eq(ref_at(rv, c), rv_values[c]);
    }
    /* one row is fine in eval */
    jl_tensor *row = jl_narrow(x, 0, 0, 1);
    jl_tensor *y1 = jl_batch_norm(row, w, b, rm, rv, false, 0.1, EPS);
    cr_assert_not_null(y1, "%s", jl_last_error());
    cr_assert_lt(ref_max_rel_diff_array(y1, expected), 1e-5);
    jl_release(y1);
    jl_release(row);
    jl_release(y);
    jl_release(x);
    jl_release(w);
    jl_release(b);
    jl_release(rm);
    jl_release(rv);
}

Test(nn, batch_norm_running_statistics_follow_pytorch)
{
    int64_t N = 37, C = 5;
    double m = 0.1;
    jl_tensor *x = ref_randn(2, SHAPE(N, C), 17, false);
    jl_tensor *rm = ref_randn(1, SHAPE(C), 18, false);
    jl_tensor *rv0 = ref_randn(1, SHAPE(C), 19, false), *rv = jl_abs(rv0);
    double mean[5], var[5], want_mean[5], want_var[5];
    naive_stats(x, mean, var);
    for (int c = 0; c < C; c++) {
        want_mean[c] = (1 - m) * ref_at(rm, c) + m * mean[c];
        want_var[c] = (1 - m) * ref_at(rv, c) + m * var[c] * (double)N / (double)(N - 1);
    }
    jl_tensor *y = jl_batch_norm(x, NULL, NULL, rm, rv, true, m, EPS);
    cr_assert_not_null(y, "%s", jl_last_error());
    cr_assert_lt(ref_max_rel_diff_array(rm, want_mean), 1e-6);
    cr_assert_lt(ref_max_rel_diff_array(rv, want_var), 1e-6);
    /* training normalises with the batch's biased variance, whatever the buffers hold */
    double expected[37 * 5];
    naive_normalise(x, mean, var, NULL, NULL, expected);
    cr_assert_lt(ref_max_rel_diff_array(y, expected), 2e-5);
    /* momentum 1 makes the buffers the batch statistics exactly */
    jl_release(y);
    y = jl_batch_norm(x, NULL, NULL, rm, rv, true, 1.0, EPS);
    for (int c = 0; c < C; c++) want_var[c] = var[c] * (double)N / (double)(N - 1);
    cr_assert_lt(ref_max_rel_diff_array(rm, mean), 1e-6);
    cr_assert_lt(ref_max_rel_diff_array(rv, want_var), 1e-6);
    jl_release(y);
    jl_release(x);
    jl_release(rm);
    jl_release(rv0);
    jl_release(rv);
}

/* ctx: {training, affine}; in: x, weight, bias, running_mean, running_var */
typedef struct bn_case {
    bool training, affine;
} bn_case;

static jl_tensor *bn_fn(jl_tensor **in, void *ctx)
{
    const bn_case *c = ctx;
    return jl_batch_norm(in[0], c->affine ? in[1] : NULL, c->affine ? in[2] : NULL, in[3], in[4], c->training,
                         0.1, EPS);
}

static void gradcheck_bn(int64_t N, int64_t C, bool training, bool affine)
{
    jl_tensor *rv0 = ref_randn(1, SHAPE(C), 24, false);
    jl_tensor *in[5] = {ref_randn(2, SHAPE(N, C), 20, true), ref_randn(1, SHAPE(C), 21, affine),
                        ref_randn(1, SHAPE(C), 22, affine), ref_randn(1, SHAPE(C), 23, false),
                        jl_affine(rv0, 0.5, 1.5)};
    in[4]->requires_grad = false;
    bn_case c = {training, affine};
    double err = ref_gradcheck(bn_fn, 5, in, &c);
    cr_assert_lt(err, 1e-2, "batch_norm (%lld, %lld) training %d affine %d: error %g", (long long)N, (long long)C,
                 training, affine, err);
    for (int i = 0; i < 5; i++) jl_release(in[i]);
    jl_release(rv0);
}

Test(nn, batch_norm_backward_central_differences)
{
    gradcheck_bn(6, 3, true, true);
    gradcheck_bn(6, 3, true, false);
    gradcheck_bn(2, 4, true, true);
    gradcheck_bn(11, 2, true, true);
    gradcheck_bn(6, 3, false, true);
    gradcheck_bn(5, 2, false, false);
}

/* Without grad on x, the parameters' gradients are the same as with it. */
Test(nn, batch_norm_parameter_grads_without_input_grad)
{
    jl_tensor *x = ref_randn(2, SHAPE(40, 3), 30, false);
    jl_tensor *w = ref_randn(1, SHAPE(3), 31, true), *b = ref_randn(1, SHAPE(3), 32, true);
    jl_tensor *gy = ref_randn(2, SHAPE(40, 3), 33, false);
    jl_tensor *grads[2][2];
    for (int with_x = 0; with_x < 2; with_x++) {
        x->requires_grad = with_x;
        jl_tensor *y = jl_batch_norm(x, w, b, NULL, NULL, true, 0.1, EPS);
        cr_assert_not_null(y, "%s", jl_last_error());
        cr_assert_eq(jl_backward(y, gy), JL_OK, "%s", jl_last_error());
        cr_assert_eq(x->grad != NULL, with_x);
        grads[with_x][0] = w->grad;
        grads[with_x][1] = b->grad;
        w->grad = b->grad = NULL;
        jl_release(x->grad);
        x->grad = NULL;
        jl_release(y);
    }
    cr_assert_lt(ref_max_rel_diff(grads[0][0], grads[1][0]), 1e-6);
    cr_assert_lt(ref_max_rel_diff(grads[0][1], grads[1][1]), 1e-6);
    /* grad bias = sum of gy over rows */
    jl_tensor *sum = jl_sum(gy, 0, false);
    cr_assert_lt(ref_max_rel_diff(grads[0][1], sum), 1e-5);
    jl_release(sum);
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) jl_release(grads[i][j]);
    jl_release(x);
    jl_release(w);
    jl_release(b);
    jl_release(gy);
}

static void expect_error(jl_tensor *y, const char *fragment)
{
    cr_assert_null(y, "expected an error containing \"%s\"", fragment);
    cr_assert(strstr(jl_last_error(), fragment), "message \"%s\" lacks \"%s\"", jl_last_error(), fragment);
}

Test(nn, batch_norm_errors_name_the_shapes)
{
    jl_tensor *x = ref_randn(2, SHAPE(8, 4), 40, false), *w5 = ref_randn(1, SHAPE(5), 41, false);
    jl_tensor *c4 = ref_randn(1, SHAPE(4), 42, false), *x3 = ref_randn(3, SHAPE(2, 4, 3), 43, false);
    jl_tensor *row = jl_narrow(x, 0, 0, 1);
    jl_tensor *xi = jl_to_dtype(x, JL_I64);
    expect_error(jl_batch_norm(x, w5, NULL, NULL, NULL, true, 0.1, EPS),
                 "batch_norm: weight has shape (5) but x (8, 4) has 4 channels");
    expect_error(jl_batch_norm(x, NULL, w5, NULL, NULL, true, 0.1, EPS), "bias has shape (5)");
    expect_error(jl_batch_norm(x, NULL, NULL, c4, w5, true, 0.1, EPS), "running_var has shape (5)");
    expect_error(jl_batch_norm(x3, NULL, NULL, NULL, NULL, true, 0.1, EPS), "x must be (N, C), got shape (2, 4, 3)");
    expect_error(jl_batch_norm(xi, NULL, NULL, NULL, NULL, true, 0.1, EPS), "x must be f32, got i64");
    expect_error(jl_batch_norm(x, NULL, NULL, c4, NULL, true, 0.1, EPS), "must be given together");
    expect_error(jl_batch_norm(x, NULL, NULL, NULL, NULL, false, 0.1, EPS), "eval mode needs running_mean");
    expect_error(jl_batch_norm(row, NULL, NULL, NULL, NULL, true, 0.1, EPS),
                 "more than one row per channel, got x of shape (1, 4)");
    expect_error(jl_batch_norm(x, NULL, NULL, NULL, NULL, true, 1.5, EPS), "momentum must be in [0, 1]");
    expect_error(jl_batch_norm(x, NULL, NULL, NULL, NULL, true, 0.1, -1), "eps must be >= 0");
    jl_release(x);
    jl_release(w5);
    jl_release(c4);
    jl_release(x3);
    jl_release(row);
    jl_release(xi);
}

/* The same input gives bit-identical output whatever the thread count. */
Test(nn, batch_norm_does_not_depend_on_threads)
{
    jl_tensor *x = ref_randn(2, SHAPE(300001, 3), 50, true);
    jl_tensor *gy = ref_randn(2, SHAPE(300001, 3), 51, false);
    jl_tensor *outs[2], *grads[2];
    int threads = jl_get_num_threads();
    for (int i = 0; i < 2; i++) {
        jl_set_num_threads(i == 0 ? 1 : 4);
        outs[i] = jl_batch_norm(x, NULL, NULL, NULL, NULL, true, 0.1, EPS);
        cr_assert_not_null(outs[i], "%s", jl_last_error());
        cr_assert_eq(jl_backward(outs[i], gy), JL_OK, "%s", jl_last_error());
        grads[i] = x->grad;
        x->grad = NULL;
    }
    jl_set_num_threads(threads);
    const float *a = jl_data(outs[0]), *b = jl_data(outs[1]);
    cr_assert_eq(memcmp(a, b, sizeof(float) * 900003), 0);
    cr_assert_eq(memcmp(jl_data(grads[0]), jl_data(grads[1]), sizeof(float) * 900003), 0);
    for (int i = 0; i < 2; i++) {
        jl_release(outs[i]);
        jl_release(grads[i]);
    }
    jl_release(x);
    jl_release(gy);
}
