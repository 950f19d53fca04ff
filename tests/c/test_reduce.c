/* test_reduce.c — sum, mean, var, max, min, argmax, softmax and log_softmax
 * against naive double loops (odd sizes, strided inputs, every dim, negative
 * dims, keepdim both ways, all dims), every backward against central
 * differences, error messages, and no leaked tensors. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reference.h"

static int64_t live_at_start;
static void setup(void) { live_at_start = ref_live(); }
static void teardown(void) { cr_assert_eq(ref_live(), live_at_start, "tensors leaked"); }
TestSuite(reduce, .init = setup, .fini = teardown);

typedef enum { K_SUM, K_MEAN, K_VAR0, K_VAR1, K_MAX, K_MIN, K_SOFTMAX, K_LOG_SOFTMAX, K_COUNT } kind;
static const char *const kind_names[K_COUNT] = {"sum", "mean", "var0", "var1", "max", "min", "softmax", "log_softmax"};

/* a seen as (outer, n, inner) around dim (JL_ALL_DIMS: n = everything). */
static void split(const jl_tensor *a, int dim, int64_t *outer, int64_t *n, int64_t *inner)
{
    *outer = *inner = 1;
    *n = jl_numel(a);
    if (dim == JL_ALL_DIMS || a->ndim == 0) return;
    int d0 = dim < 0 ? dim + a->ndim : dim;
    for (int d = 0; d < a->ndim; d++) {
        if (d < d0) *outer *= a->shape[d];
        if (d > d0) *inner *= a->shape[d];
    }
    *n = a->shape[d0];
}

/* Naive reference: out (outer*inner) values, arg (outer*inner) positions for max/min,
 * or out (outer*n*inner) for softmax / log_softmax. */
static void naive(const jl_tensor *a, int dim, kind k, double *out, double *arg)
{
    int64_t outer, n, inner;
    split(a, dim, &outer, &n, &inner);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
#define AT(j) ref_at(a, (o * n + (j)) * inner + i)
            double s = 0, best = AT(0), ss = 0, m;
            int64_t at = 0;
            for (int64_t j = 0; j < n; j++) {
                double v = AT(j);
                s += v;
                if ((k == K_MAX || k == K_SOFTMAX || k == K_LOG_SOFTMAX) ? v > best : v < best) best = v, at = j;
            }
            m = s / (double)n;
            for (int64_t j = 0; j < n; j++) ss += (AT(j) - m) * (AT(j) - m);
            double e = 0;
            for (int64_t j = 0; j < n; j++) e += exp(AT(j) - best);
            int64_t r = o * inner + i;
            switch (k) {
            case K_SUM: out[r] = s; break;
            case K_MEAN: out[r] = m; break;
            case K_VAR0: out[r] = ss / (double)n; break;
            case K_VAR1: out[r] = ss / (double)(n - 1); break;
            case K_MAX:
            case K_MIN:
                out[r] = best;
                arg[r] = (double)at;
                break;
            default:
                for (int64_t j = 0; j < n; j++) {
                    double l = AT(j) - best - log(e);
                    out[(o * n + j) * inner + i] = k == K_SOFTMAX ? exp(l) : l;
                }
            }
#undef AT
        }
}

static jl_tensor *apply(kind k, jl_tensor *a, int dim, bool keepdim, jl_tensor **arg)
{
    switch (k) {
    case K_SUM: return jl_sum(a, dim, keepdim);
    case K_MEAN: return jl_mean(a, dim, keepdim);
    case K_VAR0: return jl_var(a, dim, keepdim, 0);
    case K_VAR1: return jl_var(a, dim, keepdim, 1);
    case K_MAX: return jl_max(a, dim, keepdim, arg);
    case K_MIN: return jl_min(a, dim, keepdim, arg);
    case K_SOFTMAX: return jl_softmax(a, dim);
    default: return jl_log_softmax(a, dim);
    }
}

/* The shape a reduction of a over dim must have. */
static int expected_shape(const jl_tensor *a, int dim, bool keepdim, kind k, int64_t *shape)
{
    if (k == K_SOFTMAX || k == K_LOG_SOFTMAX) {
        memcpy(shape, a->shape, sizeof(int64_t) * (size_t)a->ndim);
        return a->ndim;
    }
    int n = 0, d0 = dim == JL_ALL_DIMS ? -1 : (dim < 0 ? dim + a->ndim : dim);
    for (int d = 0; d < a->ndim; d++) {
        bool reduced = dim == JL_ALL_DIMS || d == d0;
        if (!reduced || keepdim) shape[n++] = reduced ? 1 : a->shape[d];
    }
    return n;
}

static void assert_shape(const jl_tensor *t, int ndim, const int64_t *shape, const char *what)
{
    cr_assert_eq(t->ndim, ndim, "%s: rank %d, want %d", what, t->ndim, ndim);
    for (int d = 0; d < ndim; d++)
        cr_assert_eq(t->shape[d], shape[d], "%s: dim %d is %lld, want %lld", what, d, (long long)t->shape[d],
                     (long long)shape[d]);
}

/* Runs kind k over dim of a and compares shape, values (and arg positions). */
static void check_against_naive(kind k, jl_tensor *a, int dim, bool keepdim, double tol)
{
    int64_t outer, n, inner, shape[JL_MAX_DIMS];
    split(a, dim, &outer, &n, &inner);
    double *want = calloc((size_t)(outer * n * inner + 1), sizeof(double));
    double *want_arg = calloc((size_t)(outer * inner + 1), sizeof(double));
    naive(a, dim, k, want, want_arg);
    jl_tensor *idx = NULL;
    bool arg = k == K_MAX || k == K_MIN;
    jl_tensor *y = apply(k, a, dim, keepdim, arg ? &idx : NULL);
    char what[96];
    snprintf(what, sizeof what, "%s of %s over dim %d keepdim %d", kind_names[k], jl_shape_str(a), dim, keepdim);
    cr_assert_not_null(y, "%s: %s", what, jl_last_error());
    assert_shape(y, expected_shape(a, dim, keepdim, k, shape), shape, what);
    double err = ref_max_rel_diff_array(y, want);
    cr_assert_lt(err, tol, "%s: error %g", what, err);
    if (arg) {
        cr_assert_eq(idx->dtype, JL_I64, "%s", what);
        cr_assert_lt(ref_max_rel_diff_array(idx, want_arg), 1e-12, "%s: wrong arg positions", what);
        assert_shape(idx, y->ndim, y->shape, what);
    }
    jl_release(idx);
    jl_release(y);
    free(want);
    free(want_arg);
}

static const int dims3[] = {0, 1, 2, -1, -2, -3};

Test(reduce, every_kind_every_dim_against_naive)
{
    jl_tensor *a = ref_randn(3, (int64_t[]){5, 7, 9}, 1, false);
    for (int k = 0; k < K_COUNT; k++)
        for (int d = 0; d < 6; d++)
            for (int keep = 0; keep < 2; keep++) check_against_naive(k, a, dims3[d], keep, 1e-5);
    jl_release(a);
}

Test(reduce, non_contiguous_inputs)
{
    jl_tensor *base2 = ref_randn(2, (int64_t[]){9, 13}, 2, false);
    jl_tensor *t2 = jl_transpose(base2, 0, 1); /* (13, 9), strides (1, 13) */
    jl_tensor *base3 = ref_randn(3, (int64_t[]){3, 5, 11}, 3, false);
    jl_tensor *t3 = jl_transpose(base3, 0, 2); /* (11, 5, 3) */
    cr_assert(!jl_is_contiguous(t2) && !jl_is_contiguous(t3));
    for (int k = 0; k < K_COUNT; k++) {
        for (int d = -2; d < 2; d++)
            for (int keep = 0; keep < 2; keep++) check_against_naive(k, t2, d, keep, 1e-5);
        for (int d = 0; d < 6; d++) check_against_naive(k, t3, dims3[d], d % 2, 1e-5);
    }
    jl_release(t3);
    jl_release(base3);
    jl_release(t2);
    jl_release(base2);
}

Test(reduce, all_dims)
{
    jl_tensor *a = ref_randn(2, (int64_t[]){6, 11}, 4, false);
    jl_tensor *t = jl_transpose(a, 0, 1);
    for (int k = K_SUM; k <= K_MIN; k++)
        for (int keep = 0; keep < 2; keep++) {
            check_against_naive(k, a, JL_ALL_DIMS, keep, 1e-5);
            check_against_naive(k, t, JL_ALL_DIMS, keep, 1e-5);
        }
    jl_tensor *am = jl_argmax(t, JL_ALL_DIMS, false);
    double want_val, want_arg;
    naive(t, JL_ALL_DIMS, K_MAX, &want_val, &want_arg);
    cr_assert_eq(am->ndim, 0);
    cr_assert_eq(ref_at(am, 0), want_arg);
    jl_release(am);
    jl_release(t);
    jl_release(a);
}

Test(reduce, large_rows_and_columns_across_threads)
{
    /* inner 1001 spans several column blocks; 300 rows split across workers */
    jl_tensor *a = ref_randn(2, (int64_t[]){300, 1001}, 5, false);
    jl_tensor *b = ref_randn(3, (int64_t[]){3, 517, 300}, 6, false);
    const kind kinds[] = {K_SUM, K_VAR1, K_MAX, K_SOFTMAX, K_LOG_SOFTMAX};
    for (size_t c = 0; c < sizeof kinds / sizeof *kinds; c++) {
        check_against_naive(kinds[c], a, -1, false, 1e-5);
        check_against_naive(kinds[c], a, 0, true, 1e-5);
        check_against_naive(kinds[c], b, 1, false, 1e-5);
    }
    jl_release(b);
    jl_release(a);
}

Test(reduce, sum_is_accurate_over_a_million_elements)
{
    int64_t n = 1000003;
    float *v = malloc(sizeof(float) * (size_t)n);
    double want = 0;
    for (int64_t i = 0; i < n; i++) {
        v[i] = 0.1f + (float)(i % 7) * 1e-3f;
        want += v[i];
    }
    jl_tensor *a = ref_tensor(1, &n, v, false);
    jl_tensor *s = jl_sum(a, JL_ALL_DIMS, false);
    jl_tensor *m = jl_mean(a, 0, false);
    cr_assert_lt(fabs(ref_at(s, 0) - want) / want, 1e-6, "sum %.9g, want %.9g", ref_at(s, 0), want);
    cr_assert_lt(fabs(ref_at(m, 0) - want / (double)n), 1e-7);
    jl_release(m);
    jl_release(s);
    jl_release(a);
    free(v);
}

Test(reduce, ties_pick_the_first_position_and_nan_wins)
{
    const float v[] = {1, 3, 3, 0, 2, 2, 2, 2, 5, NAN, 7, NAN};
    jl_tensor *a = ref_tensor(2, (int64_t[]){3, 4}, v, false);
    jl_tensor *t = jl_transpose(a, 0, 1); /* columns: the inner > 1 path */
    const int64_t max_at[] = {1, 0, 1}, min_at[] = {3, 0, 1};
    for (int pass = 0; pass < 2; pass++) {
        jl_tensor *mi = NULL, *ni = NULL;
        jl_tensor *mx = pass ? jl_max(t, 0, false, &mi) : jl_max(a, 1, false, &mi);
        jl_tensor *mn = pass ? jl_min(t, 0, false, &ni) : jl_min(a, 1, false, &ni);
        for (int r = 0; r < 3; r++) {
            cr_assert_eq(ref_at(mi, r), max_at[r], "pass %d row %d", pass, r);
            cr_assert_eq(ref_at(ni, r), min_at[r], "pass %d row %d", pass, r);
        }
        cr_assert_eq(ref_at(mx, 0), 3);
        cr_assert_eq(ref_at(mn, 0), 0);
        cr_assert(isnan(ref_at(mx, 2)) && isnan(ref_at(mn, 2)));
        jl_release(mi);
        jl_release(ni);
        jl_release(mx);
        jl_release(mn);
    }
    jl_release(t);
    jl_release(a);
}

Test(reduce, integer_dtypes)
{
    const int64_t v64[] = {5, -2, 9, 1 << 30, 1 << 30, 3};
    const int32_t v32[] = {4, -8, 4, 7, 7, -1};
    const uint8_t v8[] = {200, 200, 200, 1, 2, 3};
    jl_tensor *a64 = jl_from_host(JL_I64, 2, (int64_t[]){2, 3}, v64);
    jl_tensor *a32 = jl_from_host(JL_I32, 2, (int64_t[]){2, 3}, v32);
    jl_tensor *a8 = jl_from_host(JL_U8, 2, (int64_t[]){2, 3}, v8);

    jl_tensor *s64 = jl_sum(a64, 1, false), *s32 = jl_sum(a32, 0, false), *s8 = jl_sum(a8, JL_ALL_DIMS, false);
    cr_assert(s64->dtype == JL_I64 && s32->dtype == JL_I64 && s8->dtype == JL_I64);
    cr_assert_eq(((int64_t *)jl_data(s64))[0], 12);
    cr_assert_eq(((int64_t *)jl_data(s64))[1], 2LL * (1 << 30) + 3);
    cr_assert_eq(((int64_t *)jl_data(s32))[1], -1);
    cr_assert_eq(((int64_t *)jl_data(s8))[0], 606);

    jl_tensor *idx = NULL;
    jl_tensor *m32 = jl_max(a32, 1, true, &idx);
    cr_assert_eq(m32->dtype, JL_I32);
    cr_assert_eq(((int32_t *)jl_data(m32))[0], 4);
    cr_assert_eq(((int32_t *)jl_data(m32))[1], 7);
    cr_assert_eq(((int64_t *)jl_data(idx))[0], 0);
    cr_assert_eq(((int64_t *)jl_data(idx))[1], 0);
    jl_tensor *n8 = jl_min(a8, 0, false, NULL);
    cr_assert_eq(((uint8_t *)jl_data(n8))[2], 3);
    jl_tensor *am = jl_argmax(a64, 0, false);
    cr_assert_eq(((int64_t *)jl_data(am))[0], 1);
    cr_assert_eq(((int64_t *)jl_data(am))[2], 0);

    cr_assert_null(jl_mean(a64, 0, false));
    cr_assert(strstr(jl_last_error(), "mean") && strstr(jl_last_error(), "i64"), "%s", jl_last_error());
    cr_assert_null(jl_softmax(a32, 0));
    cr_assert(strstr(jl_last_error(), "softmax"), "%s", jl_last_error());

    jl_tensor *all[] = {s64, s32, s8, idx, m32, n8, am, a64, a32, a8};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) jl_release(all[i]);
}

Test(reduce, softmax_is_stable_and_normalised)
{
    jl_tensor *a = ref_randn(2, (int64_t[]){4, 37}, 7, false);
    jl_tensor *big = jl_affine(a, 1000.0, 500.0);
    for (int d = 0; d < 2; d++) {
        check_against_naive(K_SOFTMAX, big, d, false, 1e-5);
        check_against_naive(K_LOG_SOFTMAX, big, d, false, 1e-4);
        jl_tensor *y = jl_softmax(big, d), *s = jl_sum(y, d, false);
        for (int64_t i = 0; i < jl_numel(s); i++) cr_assert_lt(fabs(ref_at(s, i) - 1), 1e-5);
        jl_release(s);
        jl_release(y);
    }
    jl_release(big);
    jl_release(a);
}

Test(reduce, scalar_and_empty_inputs)
{
    jl_tensor *x = ref_tensor(0, NULL, (float[]){2.5f}, false);
    jl_tensor *s = jl_sum(x, 0, false), *sm = jl_softmax(x, -1), *mx = jl_max(x, JL_ALL_DIMS, true, NULL);
    cr_assert(s->ndim == 0 && ref_at(s, 0) == 2.5);
    cr_assert(sm->ndim == 0 && ref_at(sm, 0) == 1.0);
    cr_assert(mx->ndim == 0 && ref_at(mx, 0) == 2.5);
    cr_assert_null(jl_sum(x, 1, false));

    jl_tensor *e = jl_zeros(JL_F32, 2, (int64_t[]){0, 3}, JL_CPU);
    jl_tensor *es = jl_sum(e, 0, false), *em = jl_mean(e, 0, true), *er = jl_sum(e, 1, false);
    assert_shape(es, 1, (int64_t[]){3}, "sum over an empty dim");
    assert_shape(em, 2, (int64_t[]){1, 3}, "mean over an empty dim");
    assert_shape(er, 1, (int64_t[]){0}, "sum of an empty tensor over a full dim");
    cr_assert(ref_at(es, 2) == 0 && isnan(ref_at(em, 1)));
    cr_assert_null(jl_max(e, 0, false, NULL));
    cr_assert(strstr(jl_last_error(), "max") && strstr(jl_last_error(), "(0, 3)"), "%s", jl_last_error());
    cr_assert_null(jl_argmax(e, JL_ALL_DIMS, false));
    cr_assert(strstr(jl_last_error(), "max") && strstr(jl_last_error(), "(0, 3)"), "%s", jl_last_error());

    jl_tensor *all[] = {x, s, sm, mx, e, es, em, er};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) jl_release(all[i]);
}

Test(reduce, bad_dims_name_the_op_the_dim_and_the_shape)
{
    jl_tensor *a = ref_randn(2, (int64_t[]){2, 3}, 8, false);
    struct {
        kind k;
        int dim;
        const char *name, *dim_text;
    } cases[] = {{K_SUM, 2, "sum", "dim 2"},        {K_MEAN, -3, "mean", "dim -3"},
                 {K_VAR1, 5, "var", "dim 5"},       {K_MAX, -4, "max", "dim -4"},
                 {K_MIN, 2, "min", "dim 2"},        {K_SOFTMAX, 2, "softmax", "dim 2"},
                 {K_LOG_SOFTMAX, -3, "log_softmax", "dim -3"}, {K_SOFTMAX, JL_ALL_DIMS, "softmax", "dim"}};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        jl_tensor *idx = NULL;
        jl_tensor *y = apply(cases[c].k, a, cases[c].dim, false, &idx);
        cr_assert_null(y, "%s dim %d should fail", cases[c].name, cases[c].dim);
        cr_assert_null(idx);
        const char *msg = jl_last_error();
        cr_assert(strstr(msg, cases[c].name) && strstr(msg, cases[c].dim_text) && strstr(msg, "(2, 3)"),
                  "message: %s", msg);
    }
    cr_assert_null(jl_argmax(a, 2, false));
    cr_assert(strstr(jl_last_error(), "dim 2") && strstr(jl_last_error(), "(2, 3)"), "%s", jl_last_error());
    cr_assert_null(jl_var(a, 0, false, -1));
    cr_assert(strstr(jl_last_error(), "var") && strstr(jl_last_error(), "correction"), "%s", jl_last_error());
    jl_release(a);
}

/* --- backward ------------------------------------------------------------- */

typedef struct {
    kind k;
    int dim;
    bool keepdim, transpose;
} grad_case;

static jl_tensor *grad_fn(jl_tensor **in, void *ctx)
{
    const grad_case *c = ctx;
    jl_tensor *x = c->transpose ? jl_transpose(in[0], 0, 1) : jl_retain(in[0]);
    jl_tensor *y = apply(c->k, x, c->dim, c->keepdim, NULL);
    jl_release(x);
    return y;
}

/* x (5, 6) with well separated values (steps of 0.25) in a scrambled order, so the
 * gradient check's perturbation never changes a max or min. */
static jl_tensor *separated(bool requires_grad)
{
    float v[30];
    for (int i = 0; i < 30; i++) v[i] = (float)((i * 17) % 30) * 0.25f - 3.0f;
    return ref_tensor(2, (int64_t[]){5, 6}, v, requires_grad);
}

Test(reduce, backward_central_differences)
{
    const int dims[] = {0, 1, -1, JL_ALL_DIMS};
    for (int k = 0; k < K_COUNT; k++)
        for (int d = 0; d < 4; d++)
            for (int variant = 0; variant < 4; variant++) {
                bool softmax = k == K_SOFTMAX || k == K_LOG_SOFTMAX;
                if (softmax && dims[d] == JL_ALL_DIMS) continue;
                grad_case c = {k, dims[d], variant & 1, variant & 2};
                jl_tensor *x = k == K_MAX || k == K_MIN ? separated(true)
                                                        : ref_randn(2, (int64_t[]){5, 6}, 40 + k, true);
                double err = ref_gradcheck(grad_fn, 1, &x, &c);
                cr_assert_lt(err, 1e-2, "%s dim %d keepdim %d transpose %d: error %g", kind_names[k], c.dim,
                             c.keepdim, c.transpose, err);
                jl_release(x);
            }
}

Test(reduce, max_backward_routes_to_the_first_of_ties)
{
    jl_tensor *x = ref_tensor(2, (int64_t[]){2, 3}, (float[]){3, 3, 1, -1, 4, 4}, true);
    jl_tensor *y = jl_max(x, 1, false, NULL), *s = jl_sum(y, JL_ALL_DIMS, false);
    cr_assert_eq(jl_backward(s, NULL), JL_OK, "%s", jl_last_error());
    const double want[] = {1, 0, 0, 0, 1, 0};
    cr_assert_lt(ref_max_rel_diff_array(x->grad, want), 1e-12);
    jl_release(s);
    jl_release(y);
    jl_release(x);
}

Test(reduce, argmax_and_indices_carry_no_graph)
{
    jl_tensor *x = ref_randn(2, (int64_t[]){4, 5}, 9, true);
    jl_tensor *idx = NULL;
    jl_tensor *am = jl_argmax(x, 1, false), *mx = jl_max(x, 1, false, &idx);
    cr_assert(!am->requires_grad && am->grad_fn == NULL);
    cr_assert(!idx->requires_grad && mx->requires_grad);
    cr_assert_lt(ref_max_rel_diff(am, idx), 1e-12);
    jl_release(mx);
    jl_release(idx);
    jl_release(am);
    jl_release(x);
}

Test(reduce, var_backward_after_in_place_change_is_refused)
{
    jl_tensor *x = ref_randn(1, (int64_t[]){7}, 10, true);
    jl_tensor *v = jl_var(x, 0, false, 1);
    bool was = jl_set_grad_enabled(false);
    cr_assert_eq(jl_fill_(x, 1.0), JL_OK, "%s", jl_last_error());
    jl_set_grad_enabled(was);
    cr_assert_neq(jl_backward(v, NULL), JL_OK);
    cr_assert(strstr(jl_last_error(), "var"), "%s", jl_last_error());
    jl_release(v);
    jl_release(x);
}
