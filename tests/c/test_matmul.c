/* test_matmul.c — matmul (2-D, batched with broadcast batch dims, 1-D operands,
 * transposed and strided views) and linear against naive double loops, their
 * backward against central differences, error messages, and no leaked tensors. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jl_parallel.h"
#include "reference.h"

static int64_t live_at_start;
static void setup(void) { live_at_start = ref_live(); }
static void teardown(void) { cr_assert_eq(ref_live(), live_at_start, "tensors leaked"); }
TestSuite(matmul, .init = setup, .fini = teardown);

/* Flat row-major position in t of the batch multi-index of out's batch entry p
 * (numpy broadcasting: t's leading dims align right, size-1 dims repeat). */
static int64_t batch_base(const jl_tensor *t, int nb, const int64_t *bshape, int64_t p)
{
    int tb = t->ndim - 2;
    int64_t base = 0, stride = t->shape[t->ndim - 2] * t->shape[t->ndim - 1];
    for (int j = nb - 1; j >= 0; j--) {
        int64_t idx = p % bshape[j];
        p /= bshape[j];
        int d = j - (nb - tb);
        if (d < 0) continue;
        if (t->shape[d] != 1) base += idx * stride;
        stride *= t->shape[d];
    }
    return base;
}

/* want (batch..., M, N) <- a (..., M, K) @ b (..., K, N), both at least 2-D; returns numel. */
static int64_t naive_matmul(const jl_tensor *a, const jl_tensor *b, double *want)
{
    int na = a->ndim - 2, nbb = b->ndim - 2, nb = na > nbb ? na : nbb;
    int64_t bshape[JL_MAX_DIMS], B = 1;
    for (int j = 0; j < nb; j++) {
        int da = j - (nb - na), db = j - (nb - nbb);
        int64_t x = da < 0 ? 1 : a->shape[da], y = db < 0 ? 1 : b->shape[db];
        bshape[j] = x == 1 ? y : x;
        B *= bshape[j];
    }
    int64_t M = a->shape[a->ndim - 2], K = a->shape[a->ndim - 1], N = b->shape[b->ndim - 1];
    for (int64_t p = 0; p < B; p++) {
        int64_t ba = batch_base(a, nb, bshape, p), bb = batch_base(b, nb, bshape, p);
        for (int64_t m = 0; m < M; m++)
            for (int64_t n = 0; n < N; n++) {
                double s = 0;
                for (int64_t k = 0; k < K; k++) s += ref_at(a, ba + m * K + k) * ref_at(b, bb + k * N + n);
                want[(p * M + m) * N + n] = s;
            }
    }
    return B * M * N;
}

static void assert_shape(const jl_tensor *t, int ndim, const int64_t *shape)
{
    cr_assert_eq(t->ndim, ndim, "rank %d, want %d", t->ndim, ndim);
    for (int d = 0; d < ndim; d++)
        cr_assert_eq(t->shape[d], shape[d], "dim %d is %lld, want %lld", d, (long long)t->shape[d],
                     (long long)shape[d]);
}

/* a @ b (at least 2-D) against the naive loop within tol; the result shape is given. */
static void check_matmul_tol(jl_tensor *a, jl_tensor *b, int ndim, const int64_t *shape, double tol)
{
    jl_tensor *y = jl_matmul(a, b);
    cr_assert_not_null(y, "%s @ %s: %s", jl_shape_str(a), jl_shape_str(b), jl_last_error());
    assert_shape(y, ndim, shape);
    double *want = malloc(sizeof(double) * (size_t)(jl_numel(y) + 1));
    naive_matmul(a, b, want);
    double err = ref_max_rel_diff_array(y, want);
    cr_assert_lt(err, tol, "%s @ %s: error %g", jl_shape_str(a), jl_shape_str(b), err);
    free(want);
    jl_release(y);
}

static void check_matmul(jl_tensor *a, jl_tensor *b, int ndim, const int64_t *shape)
{
    check_matmul_tol(a, b, ndim, shape, 1e-5);
}

#define SHAPE(...) (int64_t[]){__VA_ARGS__}
#define NDIM(...) (int)(sizeof(int64_t[]){__VA_ARGS__} / sizeof(int64_t))
#define RANDN(seed, ...) ref_randn(NDIM(__VA_ARGS__), SHAPE(__VA_ARGS__), seed, false)

Test(matmul, two_d_odd_sizes)
{
    jl_tensor *a = RANDN(1, 7, 13), *b = RANDN(2, 13, 5);
    check_matmul(a, b, 2, SHAPE(7, 5));
    jl_tensor *c = RANDN(3, 17, 1), *d = RANDN(4, 1, 9);
    check_matmul(c, d, 2, SHAPE(17, 9)); /* K = 1: an outer product */
    jl_tensor *e = RANDN(5, 1, 1), *f = RANDN(6, 1, 1);
    check_matmul(e, f, 2, SHAPE(1, 1));
    jl_tensor *g = RANDN(7, 300, 257), *h = RANDN(8, 257, 129);
    check_matmul(g, h, 2, SHAPE(300, 129));
    jl_tensor *all[] = {a, b, c, d, e, f, g, h};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) jl_release(all[i]);
}

/* GEMMs large enough for the pool to split them (kernels/cpu/gemm.c): by rows
 * (M >= N), by columns (N > M), by batch entries, with transposed operands;
 * each against the naive loop at 1, 2 and 3 threads, and bit-identical when
 * repeated at one thread count (the split depends on the count only; OpenBLAS
 * blocks rows differently in a part than in the whole, so the last bits may
 * differ between counts). */
Test(matmul, pool_split_gemms_are_correct_and_repeatable)
{
    jl_tensor *ra = RANDN(1, 301, 200), *rb = RANDN(2, 200, 47);  /* rows: 2.8 M multiply-adds */
    jl_tensor *ca = RANDN(3, 19, 200), *cb = RANDN(4, 200, 517);  /* columns: 2.0 M */
    jl_tensor *ba = RANDN(5, 4, 70, 90), *bb = RANDN(6, 4, 90, 66); /* 4 batch entries: 1.7 M */
    jl_tensor *xa = RANDN(7, 200, 301), *xb = RANDN(8, 47, 200);
    jl_tensor *ta = jl_transpose(xa, 0, 1), *tb = jl_transpose(xb, 0, 1); /* (301, 200), (200, 47) */
    jl_tensor *pairs[][2] = {{ra, rb}, {ca, cb}, {ba, bb}, {ta, rb}, {ra, tb}, {ta, tb}};
    int threads_before = jl_get_num_threads();
    for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++) {
        jl_tensor *a = pairs[i][0], *b = pairs[i][1];
        for (int t = 1; t <= 3; t++) {
            jl_set_num_threads(t);
            jl_tensor *y = jl_matmul(a, b), *again = jl_matmul(a, b);
            cr_assert(y && again, "%s", jl_last_error());
            check_matmul_tol(a, b, y->ndim, y->shape, 5e-5); /* K = 200 float32 terms of size ~1 */
            cr_assert_eq(memcmp(jl_data(y), jl_data(again), sizeof(float) * (size_t)jl_numel(y)), 0,
                         "pair %zu at %d threads: two runs differ", i, t);
            jl_release(y);
            jl_release(again);
        }
    }
    jl_set_num_threads(threads_before);
    jl_tensor *all[] = {ra, rb, ca, cb, ba, bb, xa, xb, ta, tb};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) jl_release(all[i]);
}

Test(matmul, transposed_and_strided_views)
{
    jl_tensor *xa = RANDN(1, 13, 7), *xb = RANDN(2, 5, 13);
    jl_tensor *a = RANDN(3, 7, 13), *b = RANDN(4, 13, 5);
    jl_tensor *at = jl_transpose(xa, 0, 1), *bt = jl_transpose(xb, 0, 1); /* column-major (7, 13), (13, 5) */
    check_matmul(at, b, 2, SHAPE(7, 5));
    check_matmul(a, bt, 2, SHAPE(7, 5));
    check_matmul(at, bt, 2, SHAPE(7, 5));

    jl_tensor *wide = RANDN(5, 13, 10);
    jl_tensor *narrow = jl_narrow(wide, 1, 2, 5); /* (13, 5), row stride 10 */
    check_matmul(a, narrow, 2, SHAPE(7, 5));

    jl_tensor *pairs = RANDN(6, 7, 13, 2);
    jl_tensor *every_other = jl_select(pairs, 2, 1); /* (7, 13), strides (26, 2): copied */
    check_matmul(every_other, b, 2, SHAPE(7, 5));

    jl_tensor *col = RANDN(7, 7, 1);
    jl_tensor *bcast = jl_expand(col, 2, SHAPE(7, 13)); /* stride 0 in the last dim: copied */
    check_matmul(bcast, b, 2, SHAPE(7, 5));

    jl_tensor *all[] = {xa, xb, a, b, at, bt, wide, narrow, pairs, every_other, col, bcast};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) jl_release(all[i]);
}

Test(matmul, batched_with_broadcast_batch_dims)
{
    jl_tensor *a = RANDN(1, 3, 7, 13), *b = RANDN(2, 3, 13, 5);
    check_matmul(a, b, 3, SHAPE(3, 7, 5));

    jl_tensor *c = RANDN(3, 2, 1, 4, 3), *d = RANDN(4, 5, 3, 6);
    check_matmul(c, d, 4, SHAPE(2, 5, 4, 6));

    jl_tensor *w = RANDN(5, 13, 5); /* shared right operand: one GEMM of 4*7 rows */
    jl_tensor *x = RANDN(6, 4, 7, 13);
    check_matmul(x, w, 3, SHAPE(4, 7, 5));

    jl_tensor *m = RANDN(7, 7, 13); /* shared left operand */
    jl_tensor *bb = RANDN(8, 4, 13, 5);
    check_matmul(m, bb, 3, SHAPE(4, 7, 5));

    jl_tensor *xt_base = RANDN(9, 3, 13, 7);
    jl_tensor *xt = jl_transpose(xt_base, 1, 2); /* batched, column-major */
    check_matmul(xt, b, 3, SHAPE(3, 7, 5));

    jl_tensor *bs_base = RANDN(10, 7, 3, 13);
    jl_tensor *bs = jl_transpose(bs_base, 0, 1); /* (3, 7, 13), row stride 39 */
    check_matmul(bs, b, 3, SHAPE(3, 7, 5));
    check_matmul(bs, w, 3, SHAPE(3, 7, 5)); /* rows do not fold: batched */

    jl_tensor *p = RANDN(11, 1, 3, 4, 5), *q = RANDN(12, 2, 1, 5, 6); /* batch dims (0, s) and (s, 0) */
    check_matmul(p, q, 4, SHAPE(2, 3, 4, 6));

    jl_tensor *all[] = {a, b, c, d, w, x, m, bb, xt_base, xt, bs_base, bs, p, q};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) jl_release(all[i]);
}

/* One-dimensional operands: the result of the promoted product, squeezed. */
static void check_1d(jl_tensor *a, jl_tensor *b, int ndim, const int64_t *shape)
{
    jl_tensor *a2 = a->ndim == 1 ? jl_unsqueeze(a, 0) : jl_retain(a);
    jl_tensor *b2 = b->ndim == 1 ? jl_unsqueeze(b, 1) : jl_retain(b);
    double *want = malloc(sizeof(double) * 4096);
    naive_matmul(a2, b2, want);
    jl_tensor *y = jl_matmul(a, b);
    cr_assert_not_null(y, "%s", jl_last_error());
    assert_shape(y, ndim, shape);
    cr_assert_lt(ref_max_rel_diff_array(y, want), 1e-5);
    free(want);
    jl_release(y);
    jl_release(a2);
    jl_release(b2);
}

Test(matmul, one_d_operands_numpy_style)
{
    jl_tensor *v = RANDN(1, 13), *m = RANDN(2, 13, 5), *mt = RANDN(3, 7, 13), *u = RANDN(4, 13);
    jl_tensor *bm = RANDN(5, 4, 13, 5), *bmt = RANDN(6, 4, 7, 13);
    check_1d(v, m, 1, SHAPE(5));
    check_1d(mt, v, 1, SHAPE(7));
    check_1d(v, u, 0, NULL);
    check_1d(v, bm, 2, SHAPE(4, 5));
    check_1d(bmt, v, 2, SHAPE(4, 7));
    jl_tensor *all[] = {v, m, mt, u, bm, bmt};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) jl_release(all[i]);
}

Test(matmul, empty_dims)
{
    jl_tensor *a = jl_zeros(JL_F32, 2, SHAPE(3, 0), JL_CPU), *b = jl_zeros(JL_F32, 2, SHAPE(0, 4), JL_CPU);
    jl_tensor *y = jl_matmul(a, b);
    assert_shape(y, 2, SHAPE(3, 4));
    for (int i = 0; i < 12; i++) cr_assert_eq(ref_at(y, i), 0.0);
    jl_tensor *c = jl_zeros(JL_F32, 2, SHAPE(0, 5), JL_CPU), *d = RANDN(1, 5, 2);
    jl_tensor *z = jl_matmul(c, d);
    assert_shape(z, 2, SHAPE(0, 2));
    jl_tensor *all[] = {a, b, y, c, d, z};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) jl_release(all[i]);
}

/* want (rows, F_out) <- x (rows, F_in) W^T + bias, x read flat */
static void naive_linear(const jl_tensor *x, const jl_tensor *w, const jl_tensor *bias, double *want)
{
    int64_t f_out = w->shape[0], f_in = w->shape[1], rows = jl_numel(x) / f_in;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t o = 0; o < f_out; o++) {
            double s = bias ? ref_at(bias, o) : 0;
            for (int64_t i = 0; i < f_in; i++) s += ref_at(x, r * f_in + i) * ref_at(w, o * f_in + i);
            want[r * f_out + o] = s;
        }
}

static void check_linear(jl_tensor *x, jl_tensor *w, jl_tensor *bias)
{
    jl_tensor *y = jl_linear(x, w, bias);
    cr_assert_not_null(y, "%s", jl_last_error());
    int64_t shape[JL_MAX_DIMS];
    memcpy(shape, x->shape, sizeof shape);
    shape[x->ndim - 1] = w->shape[0];
    assert_shape(y, x->ndim, shape);
    double *want = malloc(sizeof(double) * (size_t)(jl_numel(y) + 1));
    naive_linear(x, w, bias, want);
    cr_assert_lt(ref_max_rel_diff_array(y, want), 1e-5);
    free(want);
    jl_release(y);
}

Test(matmul, linear_forward)
{
    jl_tensor *x = RANDN(1, 4, 6, 5), *w = RANDN(2, 3, 5), *bias = RANDN(3, 3);
    check_linear(x, w, bias);
    check_linear(x, w, NULL);
    jl_tensor *v = RANDN(4, 5);
    check_linear(v, w, bias);
    jl_tensor *xt_base = RANDN(5, 6, 4, 5);
    jl_tensor *xt = jl_transpose(xt_base, 0, 1); /* (4, 6, 5), leading dims do not fold */
    check_linear(xt, w, bias);
    jl_tensor *wt_base = RANDN(6, 5, 3);
    jl_tensor *wt = jl_transpose(wt_base, 0, 1); /* column-major weight */
    check_linear(x, wt, bias);
    jl_tensor *big_x = RANDN(7, 250, 37), *big_w = RANDN(8, 19, 37), *big_b = RANDN(9, 19);
    check_linear(big_x, big_w, big_b);
    jl_tensor *all[] = {x, w, bias, v, xt_base, xt, wt_base, wt, big_x, big_w, big_b};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) jl_release(all[i]);
}

/* --- backward ------------------------------------------------------------- */

enum { T_NONE = 0, T_A = 1, T_B = 2 };

static jl_tensor *matmul_fn(jl_tensor **in, void *ctx)
{
    int flags = *(const int *)ctx;
    jl_tensor *a = flags & T_A ? jl_transpose(in[0], -1, -2) : jl_retain(in[0]);
    jl_tensor *b = flags & T_B ? jl_transpose(in[1], -1, -2) : jl_retain(in[1]);
    jl_tensor *y = jl_matmul(a, b);
    jl_release(a);
    jl_release(b);
    return y;
}

static void gradcheck_matmul(int na, const int64_t *sa, int nb, const int64_t *sb, int flags)
{
    jl_tensor *in[2] = {ref_randn(na, sa, 21, true), ref_randn(nb, sb, 22, true)};
    double err = ref_gradcheck(matmul_fn, 2, in, &flags);
    cr_assert_lt(err, 1e-2, "matmul %s @ %s (flags %d): error %g", jl_shape_str(in[0]), jl_shape_str(in[1]), flags,
                 err);
    jl_release(in[0]);
    jl_release(in[1]);
}

Test(matmul, matmul_backward_central_differences)
{
    gradcheck_matmul(2, SHAPE(3, 4), 2, SHAPE(4, 5), T_NONE);
    gradcheck_matmul(2, SHAPE(4, 3), 2, SHAPE(5, 4), T_A | T_B);
    gradcheck_matmul(3, SHAPE(2, 3, 4), 3, SHAPE(2, 4, 5), T_NONE);
    gradcheck_matmul(4, SHAPE(2, 1, 3, 4), 3, SHAPE(3, 4, 2), T_NONE);
    gradcheck_matmul(3, SHAPE(2, 3, 4), 2, SHAPE(4, 5), T_NONE); /* folded rows */
    gradcheck_matmul(3, SHAPE(2, 4, 3), 2, SHAPE(5, 4), T_A | T_B);
    gradcheck_matmul(2, SHAPE(3, 4), 3, SHAPE(2, 4, 5), T_NONE);
    gradcheck_matmul(1, SHAPE(4), 2, SHAPE(4, 5), T_NONE);
    gradcheck_matmul(2, SHAPE(3, 4), 1, SHAPE(4), T_NONE);
    gradcheck_matmul(1, SHAPE(4), 1, SHAPE(4), T_NONE);
    gradcheck_matmul(1, SHAPE(4), 3, SHAPE(2, 4, 3), T_NONE);
}

static jl_tensor *linear_fn(jl_tensor **in, void *ctx)
{
    bool with_bias = *(const bool *)ctx;
    return jl_linear(in[0], in[1], with_bias ? in[2] : NULL);
}

Test(matmul, linear_backward_central_differences)
{
    const int64_t *shapes[] = {SHAPE(6, 5), SHAPE(2, 3, 5), SHAPE(5)};
    const int ranks[] = {2, 3, 1};
    for (int s = 0; s < 3; s++)
        for (int with_bias = 0; with_bias < 2; with_bias++) {
            jl_tensor *in[3] = {ref_randn(ranks[s], shapes[s], 31, true), ref_randn(2, SHAPE(4, 5), 32, true),
                                ref_randn(1, SHAPE(4), 33, true)};
            bool wb = with_bias;
            double err = ref_gradcheck(linear_fn, with_bias ? 3 : 2, in, &wb);
            cr_assert_lt(err, 1e-2, "linear x %s bias %d: error %g", jl_shape_str(in[0]), with_bias, err);
            for (int i = 0; i < 3; i++) jl_release(in[i]);
        }
}

Test(matmul, linear_backward_only_where_needed)
{
    jl_tensor *x = RANDN(1, 6, 5), *w = ref_randn(2, SHAPE(4, 5), 2, true);
    jl_tensor *y = jl_linear(x, w, NULL), *s = jl_sum(y, JL_ALL_DIMS, false);
    cr_assert_eq(jl_backward(s, NULL), JL_OK, "%s", jl_last_error());
    cr_assert_null(x->grad);
    cr_assert_not_null(w->grad);
    for (int64_t o = 0; o < 4; o++)
        for (int64_t i = 0; i < 5; i++) {
            double want = 0;
            for (int64_t r = 0; r < 6; r++) want += ref_at(x, r * 5 + i);
            cr_assert_lt(fabs(ref_at(w->grad, o * 5 + i) - want), 1e-5);
        }
    jl_release(s);
    jl_release(y);
    jl_release(w);
    jl_release(x);
}

/* --- errors --------------------------------------------------------------- */

static void assert_message(const char *a, const char *b, const char *c)
{
    const char *msg = jl_last_error();
    cr_assert(strstr(msg, a) && strstr(msg, b) && (!c || strstr(msg, c)), "message: %s", msg);
}

Test(matmul, errors_name_the_op_and_both_shapes)
{
    jl_tensor *a = RANDN(1, 3, 4), *b = RANDN(2, 5, 2), *c = RANDN(3, 2, 3, 4), *d = RANDN(4, 3, 4, 5);
    jl_tensor *s = ref_tensor(0, NULL, (float[]){1}, false), *v = RANDN(5, 5);
    jl_tensor *i64 = jl_zeros(JL_I64, 2, SHAPE(4, 2), JL_CPU);

    cr_assert_null(jl_matmul(a, b));
    assert_message("matmul: shapes (3, 4) and (5, 2)", "do not align", "(4 vs 5)");
    cr_assert_null(jl_matmul(c, d));
    assert_message("matmul", "(2, 3, 4)", "(3, 4, 5)");
    cr_assert_null(jl_matmul(s, a));
    assert_message("matmul", "()", "(3, 4)");
    cr_assert_null(jl_matmul(a, v));
    assert_message("matmul", "(3, 4)", jl_shape_str(v));
    cr_assert_null(jl_matmul(a, i64));
    assert_message("matmul", "i64", "(4, 2)");

    jl_tensor *w = RANDN(6, 3, 5), *bias = RANDN(7, 4);
    cr_assert_null(jl_linear(a, w, NULL));
    assert_message("linear", "(3, 4)", "(3, 5)");
    cr_assert_null(jl_linear(v, w, bias));
    assert_message("linear", "bias", "(4)");
    cr_assert_null(jl_linear(v, v, NULL));
    assert_message("linear", "weight", "2-D");
    cr_assert_null(jl_linear(s, w, NULL));
    assert_message("linear", "input", "()");

    jl_tensor *all[] = {a, b, c, d, s, v, i64, w, bias};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) jl_release(all[i]);
}
