/* test_autograd.c — the tape: accumulation, diamonds, freed graphs, in-place
 * detection, no_grad, and the backward of every view and copy op. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "reference.h"

static int64_t live_at_start;
static void setup(void) { live_at_start = ref_live(); }
static void teardown(void)
{
    cr_assert_eq(ref_live(), live_at_start, "tensors leaked");
    cr_assert_eq(jl_stats_get().nodes, 0, "graph nodes leaked");
}
TestSuite(autograd, .init = setup, .fini = teardown);

Test(autograd, relu_sum_gives_indicator)
{
    jl_tensor *a = ref_randn(2, (int64_t[]){3, 4}, 1, true);
    jl_tensor *r = jl_relu(a), *s = jl_sum(r, JL_ALL_DIMS, false);
    cr_assert_eq(jl_backward(s, NULL), JL_OK, "%s", jl_last_error());
    for (int i = 0; i < 12; i++) cr_assert_eq(ref_at(a->grad, i), ref_at(a, i) > 0 ? 1.0 : 0.0);
    jl_release(s);
    jl_release(r);
    jl_release(a);
}

Test(autograd, accumulates_over_two_backwards_and_diamonds)
{
    jl_tensor *a = ref_randn(1, (int64_t[]){5}, 2, true);
    for (int round = 0; round < 2; round++) {
        /* y = sum(a*a + a): dy/da = 2a + 1, a used on two paths */
        jl_tensor *sq = jl_mul(a, a), *y = jl_add(sq, a), *s = jl_sum(y, 0, false);
        cr_assert_eq(jl_backward(s, NULL), JL_OK);
        jl_release(s);
        jl_release(y);
        jl_release(sq);
    }
    for (int i = 0; i < 5; i++) cr_assert_float_eq(ref_at(a->grad, i), 2 * (2 * ref_at(a, i) + 1), 1e-5);
    jl_release(a);
}

Test(autograd, second_backward_through_freed_graph_is_an_error)
{
    jl_tensor *a = ref_randn(1, (int64_t[]){3}, 3, true);
    jl_tensor *e = jl_exp(a), *s = jl_sum(e, 0, false);
    cr_assert_eq(jl_backward(s, NULL), JL_OK);
    cr_assert_neq(jl_backward(s, NULL), JL_OK);
    cr_assert(strstr(jl_last_error(), "freed") != NULL, "%s", jl_last_error());
    jl_release(s);
    jl_release(e);
    jl_release(a);
}

Test(autograd, inplace_change_of_saved_tensor_is_detected)
{
    jl_tensor *a = ref_randn(1, (int64_t[]){3}, 4, true);
    jl_tensor *e = jl_exp(a), *d = jl_detach(e);
    jl_tensor *s = jl_sum(e, 0, false);
    jl_fill_(d, 1.0); /* exp saved its output, which shares storage with d */
    cr_assert_neq(jl_backward(s, NULL), JL_OK);
    cr_assert(strstr(jl_last_error(), "modified in place") != NULL, "%s", jl_last_error());
    jl_release(s);
    jl_release(d);
    jl_release(e);
    jl_release(a);
}

Test(autograd, no_grad_records_nothing)
{
    jl_tensor *a = ref_randn(1, (int64_t[]){3}, 5, true);
    bool was = jl_set_grad_enabled(false);
    jl_tensor *e = jl_exp(a);
    jl_set_grad_enabled(was);
    cr_assert_null(e->grad_fn);
    cr_assert_not(e->requires_grad);
    cr_assert_neq(jl_backward(e, NULL), JL_OK);
    cr_assert_neq(jl_fill_(a, 0), JL_OK, "in-place write into a leaf requiring grad is refused");
    jl_release(e);
    jl_release(a);
}

Test(autograd, nonscalar_root_needs_a_gradient)
{
    jl_tensor *a = ref_randn(1, (int64_t[]){3}, 6, true), *e = jl_exp(a);
    cr_assert_neq(jl_backward(e, NULL), JL_OK);
    jl_tensor *g = jl_full(JL_F32, 1, (int64_t[]){3}, 2.0, JL_CPU);
    cr_assert_eq(jl_backward(e, g), JL_OK);
    for (int i = 0; i < 3; i++) cr_assert_float_eq(ref_at(a->grad, i), 2 * exp(ref_at(a, i)), 1e-4);
    jl_release(g);
    jl_release(e);
    jl_release(a);
}

/* --- view and copy backward rules against central differences ---------------------- */
static jl_tensor *f_views(jl_tensor **in, void *ctx)
{
    /* x (4, 6): transpose, narrow, select, reshape, expand, permute, squeeze, unsqueeze */
    jl_tensor *t = jl_transpose(in[0], 0, 1);           /* (6, 4) */
    jl_tensor *n = jl_narrow(t, 0, 1, 4);               /* (4, 4) */
    jl_tensor *r = jl_reshape(n, 2, (int64_t[]){2, 8}); /* copy: n is not contiguous */
    jl_tensor *s = jl_select(r, 0, 1);                  /* (8) */
    jl_tensor *u = jl_unsqueeze(s, 0);                  /* (1, 8) */
    jl_tensor *e = jl_expand(u, 2, (int64_t[]){3, 8});  /* (3, 8) */
    jl_tensor *p = jl_permute(e, (int[]){1, 0});        /* (8, 3) */
    jl_tensor *c = jl_contiguous(p);
    jl_tensor *out = jl_mul(c, c);
    jl_tensor *all[] = {t, n, r, s, u, e, p, c};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) jl_release(all[i]);
    return out;
}

Test(autograd, view_ops_backward)
{
    jl_tensor *x = ref_randn(2, (int64_t[]){4, 6}, 7, true);
    cr_assert_lt(ref_gradcheck(f_views, 1, &x, NULL), 1e-2);
    jl_release(x);
}

static jl_tensor *f_cat(jl_tensor **in, void *ctx)
{
    jl_tensor *parts[6] = {in[0], in[1], in[0], in[1], in[0], in[1]};
    jl_tensor *c = jl_cat(6, parts, 1), *e = jl_tanh(c);
    jl_release(c);
    return e;
}

Test(autograd, cat_backward_including_long_cats)
{
    jl_tensor *a = ref_randn(2, (int64_t[]){3, 2}, 8, true), *b = ref_randn(2, (int64_t[]){3, 5}, 9, true);
    cr_assert_lt(ref_gradcheck(f_cat, 2, (jl_tensor *[]){a, b}, NULL), 1e-2);
    jl_release(a);
    jl_release(b);
}

static jl_tensor *f_stack_clone(jl_tensor **in, void *ctx)
{
    jl_tensor *c = jl_clone(in[0]), *s = jl_stack(2, (jl_tensor *[]){c, in[0]}, 1), *y = jl_sigmoid(s);
    jl_release(c);
    jl_release(s);
    return y;
}

Test(autograd, stack_and_clone_backward)
{
    jl_tensor *a = ref_randn(2, (int64_t[]){3, 2}, 10, true);
    cr_assert_lt(ref_gradcheck(f_stack_clone, 1, &a, NULL), 1e-2);
    jl_release(a);
}

Test(autograd, deep_chains_do_not_overflow_the_stack)
{
    jl_tensor *a = ref_randn(1, (int64_t[]){2}, 11, true), *cur = jl_retain(a);
    for (int i = 0; i < 20000; i++) {
        jl_tensor *next = jl_affine(cur, 1.0, 0.0);
        jl_release(cur);
        cur = next;
    }
    jl_tensor *s = jl_sum(cur, 0, false);
    cr_assert_eq(jl_backward(s, NULL), JL_OK);
    cr_assert_float_eq(ref_at(a->grad, 0), 1.0, 1e-6);
    jl_release(s);
    jl_release(cur);
    jl_release(a);
}
