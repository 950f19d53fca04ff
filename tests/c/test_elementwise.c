/* test_elementwise.c — unary, binary (broadcasting), comparisons, where and
 * masked_fill against naive loops, and every backward against central differences. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "reference.h"

static int64_t live_at_start;
static void setup(void) { live_at_start = ref_live(); }
static void teardown(void) { cr_assert_eq(ref_live(), live_at_start, "tensors leaked"); }
TestSuite(elementwise, .init = setup, .fini = teardown);

typedef struct {
    jl_op op;
    double s0, s1;
    double (*ref)(double x, double s0, double s1);
} unary_case;

static double r_neg(double x, double a, double b) { return -x; }
static double r_exp(double x, double a, double b) { return exp(x); }
static double r_log(double x, double a, double b) { return log(fabs(x) + 0.5); }
static double r_sqrt(double x, double a, double b) { return sqrt(fabs(x) + 0.5); }
static double r_abs(double x, double a, double b) { return fabs(x); }
static double r_relu(double x, double a, double b) { return x > 0 ? x : 0; }
static double r_sigmoid(double x, double a, double b) { return 1 / (1 + exp(-x)); }
static double r_tanh(double x, double a, double b) { return tanh(x); }
static double r_pow(double x, double a, double b) { return pow(fabs(x) + 0.5, a); }
static double r_clamp(double x, double a, double b) { return x < a ? a : x > b ? b : x; }
static double r_affine(double x, double a, double b) { return x * a + b; }
static double r_rsub(double x, double a, double b) { return a - x; }
static double r_rdiv(double x, double a, double b) { return a / (fabs(x) + 0.5); }

static const unary_case unary_cases[] = {
    {JL_OP_neg, 0, 0, r_neg},       {JL_OP_exp, 0, 0, r_exp},        {JL_OP_log, 0, 0, r_log},
    {JL_OP_sqrt, 0, 0, r_sqrt},     {JL_OP_abs, 0, 0, r_abs},        {JL_OP_relu, 0, 0, r_relu},
    {JL_OP_sigmoid, 0, 0, r_sigmoid}, {JL_OP_tanh, 0, 0, r_tanh},    {JL_OP_pow_scalar, 2.5, 0, r_pow},
    {JL_OP_clamp, -0.5, 0.7, r_clamp}, {JL_OP_affine, -1.5, 0.25, r_affine}, {JL_OP_rsub_scalar, 3, 0, r_rsub},
    {JL_OP_rdiv_scalar, 2, 0, r_rdiv},
};

/* Ops that need a positive argument get |x| + 0.5, computed with jl ops. */
static bool needs_positive(jl_op op)
{
    return op == JL_OP_log || op == JL_OP_sqrt || op == JL_OP_pow_scalar || op == JL_OP_rdiv_scalar;
}

static jl_tensor *positive(jl_tensor *x)
{
    jl_tensor *a = jl_abs(x), *p = jl_affine(a, 1, 0.5);
    jl_release(a);
    return p;
}

static jl_tensor *apply_unary(jl_tensor **in, void *ctx)
{
    const unary_case *c = ctx;
    jl_tensor *x = needs_positive(c->op) ? positive(in[0]) : jl_retain(in[0]);
    jl_tensor *y = jl_unary(c->op, x, c->s0, c->s1);
    jl_release(x);
    return y;
}

Test(elementwise, unary_against_naive_loops_strided)
{
    jl_tensor *base = ref_randn(2, (int64_t[]){13, 9}, 11, false);
    jl_tensor *x = jl_transpose(base, 0, 1); /* non-contiguous input */
    for (size_t c = 0; c < sizeof unary_cases / sizeof *unary_cases; c++) {
        const unary_case *uc = &unary_cases[c];
        jl_tensor *y = apply_unary(&x, (void *)uc);
        cr_assert_not_null(y, "%s: %s", jl_op_name(uc->op), jl_last_error());
        for (int64_t i = 0; i < jl_numel(y); i++) {
            double want = uc->ref(ref_at(x, i), uc->s0, uc->s1);
            cr_assert_leq(fabs(ref_at(y, i) - want), 1e-5 * (1 + fabs(want)), "%s at %lld: %g vs %g",
                          jl_op_name(uc->op), (long long)i, ref_at(y, i), want);
        }
        jl_release(y);
    }
    jl_release(x);
    jl_release(base);
}

Test(elementwise, unary_large_parallel_matches_serial)
{
    jl_tensor *x = ref_randn(1, (int64_t[]){300001}, 12, false);
    jl_tensor *y = jl_sigmoid(x);
    for (int64_t i = 0; i < jl_numel(x); i += 997)
        cr_assert_leq(fabs(ref_at(y, i) - r_sigmoid(ref_at(x, i), 0, 0)), 1e-6);
    cr_assert_leq(fabs(ref_at(y, 300000) - r_sigmoid(ref_at(x, 300000), 0, 0)), 1e-6);
    jl_release(y);
    jl_release(x);
}

Test(elementwise, unary_backward_central_differences)
{
    for (size_t c = 0; c < sizeof unary_cases / sizeof *unary_cases; c++) {
        const unary_case *uc = &unary_cases[c];
        jl_tensor *x = ref_randn(2, (int64_t[]){3, 5}, 20 + c, true);
        /* keep relu/abs/clamp inputs away from their kinks */
        float *p = jl_data(x);
        for (int i = 0; i < 15; i++)
            if (fabsf(p[i]) < 0.1f || fabsf(p[i] + 0.5f) < 0.1f || fabsf(p[i] - 0.7f) < 0.1f) p[i] += 0.3f;
        double err = ref_gradcheck(apply_unary, 1, &x, (void *)uc);
        cr_assert_lt(err, 1e-2, "%s backward error %g", jl_op_name(uc->op), err);
        jl_release(x);
    }
}

typedef double (*binary_ref)(double, double);
static double b_add(double x, double y) { return x + y; }
static double b_sub(double x, double y) { return x - y; }
static double b_mul(double x, double y) { return x * y; }
static double b_div(double x, double y) { return x / y; }
static double b_max(double x, double y) { return x > y ? x : y; }
static double b_min(double x, double y) { return x < y ? x : y; }

static const struct {
    jl_op op;
    binary_ref ref;
} binary_cases[] = {{JL_OP_add, b_add}, {JL_OP_sub, b_sub}, {JL_OP_mul, b_mul},
                    {JL_OP_div, b_div}, {JL_OP_maximum, b_max}, {JL_OP_minimum, b_min}};

Test(elementwise, binary_broadcasting_against_naive_loops)
{
    jl_tensor *a = ref_randn(3, (int64_t[]){2, 3, 4}, 31, false);
    jl_tensor *b = ref_randn(2, (int64_t[]){3, 1}, 32, false);
    for (size_t c = 0; c < sizeof binary_cases / sizeof *binary_cases; c++) {
        jl_tensor *y = jl_binary(binary_cases[c].op, a, b);
        cr_assert_not_null(y);
        cr_assert_eq(y->ndim, 3);
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 3; j++)
                for (int k = 0; k < 4; k++) {
                    double want = binary_cases[c].ref(ref_at(a, i * 12 + j * 4 + k), ref_at(b, j));
                    cr_assert_leq(fabs(ref_at(y, i * 12 + j * 4 + k) - want), 1e-6 * (1 + fabs(want)));
                }
        jl_release(y);
    }
    jl_release(b);
    jl_release(a);
}

Test(elementwise, broadcast_mismatch_names_op_and_shapes)
{
    jl_tensor *a = ref_randn(2, (int64_t[]){2, 3}, 1, false), *b = ref_randn(1, (int64_t[]){4}, 2, false);
    cr_assert_null(jl_add(a, b));
    cr_assert(strstr(jl_last_error(), "add") && strstr(jl_last_error(), "(2, 3)") && strstr(jl_last_error(), "(4)"),
              "%s", jl_last_error());
    jl_tensor *i = jl_zeros(JL_I64, 1, (int64_t[]){3}, JL_CPU);
    cr_assert_null(jl_add(a, i));
    cr_assert(strstr(jl_last_error(), "dtypes differ") != NULL, "%s", jl_last_error());
    cr_assert_null(jl_exp(i));
    jl_release(i);
    jl_release(b);
    jl_release(a);
}

static jl_tensor *apply_binary(jl_tensor **in, void *ctx)
{
    jl_op op = *(jl_op *)ctx;
    return jl_binary(op, in[0], in[1]);
}

Test(elementwise, binary_backward_with_broadcast)
{
    jl_op ops[] = {JL_OP_add, JL_OP_sub, JL_OP_mul, JL_OP_div, JL_OP_maximum, JL_OP_minimum, JL_OP_pow};
    for (size_t c = 0; c < sizeof ops / sizeof *ops; c++) {
        jl_tensor *a = ref_randn(3, (int64_t[]){2, 3, 4}, 40 + c, true);
        jl_tensor *b = ref_randn(2, (int64_t[]){3, 1}, 50 + c, true);
        if (ops[c] == JL_OP_div || ops[c] == JL_OP_pow) { /* keep b away from 0 and a positive for pow */
            float *pb = jl_data(b), *pa = jl_data(a);
            for (int i = 0; i < 3; i++) pb[i] = 1.0f + fabsf(pb[i]);
            if (ops[c] == JL_OP_pow)
                for (int i = 0; i < 24; i++) pa[i] = 0.5f + fabsf(pa[i]);
        }
        if (ops[c] == JL_OP_maximum || ops[c] == JL_OP_minimum) { /* no ties within the step */
            float *pa = jl_data(a), *pb = jl_data(b);
            for (int i = 0; i < 24; i++)
                for (int j = 0; j < 3; j++)
                    if (fabsf(pa[i] - pb[j]) < 0.05f) pa[i] += 0.2f;
        }
        double err = ref_gradcheck(apply_binary, 2, (jl_tensor *[]){a, b}, &ops[c]);
        cr_assert_lt(err, 1e-2, "%s backward error %g", jl_op_name(ops[c]), err);
        jl_release(a);
        jl_release(b);
    }
}

Test(elementwise, integer_arithmetic_and_comparisons)
{
    jl_tensor *a = jl_arange(JL_I64, 0, 6, 1, JL_CPU), *b = jl_full(JL_I64, 0, NULL, 3, JL_CPU);
    jl_tensor *s = jl_add(a, b), *lt = jl_compare(JL_OP_lt, a, b), *ge = jl_compare(JL_OP_ge, a, b);
    cr_assert_eq(s->dtype, JL_I64);
    cr_assert_eq(lt->dtype, JL_U8);
    for (int i = 0; i < 6; i++) {
        cr_assert_eq(ref_at(s, i), i + 3);
        cr_assert_eq(ref_at(lt, i), i < 3);
        cr_assert_eq(ref_at(ge, i), i >= 3);
    }
    jl_release(ge);
    jl_release(lt);
    jl_release(s);
    jl_release(b);
    jl_release(a);
}

static jl_tensor *apply_where(jl_tensor **in, void *ctx)
{
    return jl_where((jl_tensor *)ctx, in[0], in[1]);
}

static jl_tensor *apply_masked_fill(jl_tensor **in, void *ctx)
{
    return jl_masked_fill(in[0], (jl_tensor *)ctx, -2.0);
}

Test(elementwise, where_and_masked_fill)
{
    jl_tensor *a = ref_randn(2, (int64_t[]){3, 4}, 60, true), *b = ref_randn(1, (int64_t[]){4}, 61, true);
    jl_tensor *zero = jl_full(JL_F32, 0, NULL, 0, JL_CPU);
    jl_tensor *cond = jl_compare(JL_OP_gt, a, zero);
    jl_tensor *w = jl_where(cond, a, b), *m = jl_masked_fill(a, cond, -2.0);
    for (int i = 0; i < 12; i++) {
        cr_assert_eq(ref_at(w, i), ref_at(a, i) > 0 ? ref_at(a, i) : ref_at(b, i % 4));
        cr_assert_eq(ref_at(m, i), ref_at(a, i) > 0 ? -2.0 : ref_at(a, i));
    }
    cr_assert_lt(ref_gradcheck(apply_where, 2, (jl_tensor *[]){a, b}, cond), 1e-2);
    cr_assert_lt(ref_gradcheck(apply_masked_fill, 1, &a, cond), 1e-2);
    cr_assert_null(jl_where(a, a, b), "a float condition is an error");
    cr_assert(strstr(jl_last_error(), "u8") != NULL);
    jl_release(m);
    jl_release(w);
    jl_release(cond);
    jl_release(zero);
    jl_release(b);
    jl_release(a);
}
