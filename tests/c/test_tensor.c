/* test_tensor.c — storage sharing, views, refcounts, copies, cat/stack, errors. */
#include <criterion/criterion.h>
#include <string.h>

#include "reference.h"

static int64_t live_at_start;
static void setup(void) { live_at_start = ref_live(); }
static void teardown(void) { cr_assert_eq(ref_live(), live_at_start, "tensors leaked: %lld live", (long long)(ref_live() - live_at_start)); }
TestSuite(tensor, .init = setup, .fini = teardown);

Test(tensor, zeros_full_and_shape)
{
    jl_tensor *t = jl_full(JL_F32, 2, (int64_t[]){3, 4}, 2.5, JL_CPU);
    cr_assert_eq(jl_numel(t), 12);
    cr_assert(jl_is_contiguous(t));
    cr_assert_str_eq(jl_shape_str(t), "(3, 4)");
    for (int64_t i = 0; i < 12; i++) cr_assert_eq(ref_at(t, i), 2.5);
    jl_release(t);
}

Test(tensor, views_share_storage)
{
    jl_tensor *t = jl_arange(JL_F32, 0, 12, 1, JL_CPU);
    jl_tensor *m = jl_view_as_shape(t, 2, (int64_t[]){3, 4});
    jl_tensor *tr = jl_transpose(m, 0, 1);
    jl_tensor *row = jl_select(m, 0, 1);
    jl_tensor *col = jl_narrow(tr, 1, 2, 1);
    cr_assert_eq(m->storage, t->storage);
    cr_assert_eq(tr->storage, t->storage);
    cr_assert_not(jl_is_contiguous(tr));
    cr_assert_eq(ref_at(tr, 1), 4.0); /* tr[0][1] = m[1][0] */
    cr_assert_eq(ref_at(row, 2), 6.0);
    jl_fill_(row, -1);
    cr_assert_eq(ref_at(t, 5), -1.0, "writing a view changes the base");
    cr_assert_eq(col->shape[0], 4);
    cr_assert_eq(ref_at(col, 1), 9.0); /* col[1][0] = tr[1][2] = m[2][1] */
    jl_release(col);
    jl_release(row);
    jl_release(tr);
    jl_release(m);
    cr_assert_eq(atomic_load(&t->storage->refcount), 1, "views released their storage reference");
    jl_release(t);
}

Test(tensor, reshape_copies_only_when_needed)
{
    jl_tensor *t = ref_randn(2, (int64_t[]){4, 6}, 1, false);
    jl_tensor *v = jl_reshape(t, 3, (int64_t[]){2, -1, 3});
    cr_assert_eq(v->storage, t->storage);
    cr_assert_eq(v->shape[1], 4);
    jl_tensor *tr = jl_transpose(t, 0, 1);
    cr_assert_null(jl_view_as_shape(tr, 1, (int64_t[]){24}));
    cr_assert(strstr(jl_last_error(), "view") != NULL);
    jl_tensor *flat = jl_reshape(tr, 1, (int64_t[]){24});
    cr_assert_neq(flat->storage, t->storage);
    for (int64_t i = 0; i < 24; i++) cr_assert_eq(ref_at(flat, i), ref_at(tr, i));
    cr_assert_null(jl_reshape(t, 2, (int64_t[]){5, 5}));
    cr_assert(strstr(jl_last_error(), "(4, 6)") != NULL, "message names the shape: %s", jl_last_error());
    jl_release(flat);
    jl_release(tr);
    jl_release(v);
    jl_release(t);
}

Test(tensor, expand_squeeze_unsqueeze_permute)
{
    jl_tensor *t = ref_randn(2, (int64_t[]){3, 1}, 2, false);
    jl_tensor *e = jl_expand(t, 3, (int64_t[]){2, 3, 4});
    cr_assert_eq(e->strides[0], 0);
    cr_assert_eq(e->strides[2], 0);
    cr_assert_eq(ref_at(e, 13), ref_at(t, 0)); /* [1][0][1] */
    cr_assert_null(jl_expand(t, 2, (int64_t[]){4, 1}));
    jl_tensor *u = jl_unsqueeze(t, 0), *s = jl_squeeze(u, JL_ALL_DIMS);
    cr_assert_eq(u->ndim, 3);
    cr_assert_eq(s->ndim, 1);
    cr_assert_eq(s->shape[0], 3);
    jl_tensor *x = ref_randn(3, (int64_t[]){2, 3, 4}, 3, false);
    jl_tensor *p = jl_permute(x, (int[]){2, 0, 1});
    cr_assert_eq(p->shape[0], 4);
    cr_assert_eq(ref_at(p, 1 * 6 + 1 * 3 + 2), ref_at(x, 1 * 12 + 2 * 4 + 1)); /* p[1][1][2] = x[1][2][1] */
    cr_assert_null(jl_permute(x, (int[]){0, 0, 1}));
    jl_release(p);
    jl_release(x);
    jl_release(s);
    jl_release(u);
    jl_release(e);
    jl_release(t);
}

Test(tensor, contiguous_clone_and_dtype)
{
    jl_tensor *t = ref_randn(2, (int64_t[]){5, 7}, 4, false);
    jl_tensor *c = jl_contiguous(t);
    cr_assert_eq(c, t, "contiguous of a contiguous tensor is the same tensor");
    jl_tensor *tr = jl_transpose(t, 0, 1), *cc = jl_contiguous(tr);
    cr_assert(jl_is_contiguous(cc));
    cr_assert_lt(ref_max_rel_diff(cc, tr), 1e-12);
    jl_tensor *i = jl_to_dtype(tr, JL_I64), *back = jl_to_dtype(i, JL_F32);
    for (int64_t k = 0; k < 35; k++) cr_assert_eq(ref_at(i, k), (double)(int64_t)ref_at(tr, k));
    cr_assert_lt(ref_max_rel_diff(back, i), 1e-12);
    jl_release(back);
    jl_release(i);
    jl_release(cc);
    jl_release(tr);
    jl_release(c);
    jl_release(t);
}

Test(tensor, cat_and_stack)
{
    jl_tensor *a = ref_randn(2, (int64_t[]){2, 3}, 5, false), *b = ref_randn(2, (int64_t[]){4, 3}, 6, false);
    jl_tensor *c = jl_cat(2, (jl_tensor *[]){a, b}, 0);
    cr_assert_eq(c->shape[0], 6);
    for (int64_t k = 0; k < 6; k++) cr_assert_eq(ref_at(c, k), ref_at(a, k));
    for (int64_t k = 0; k < 12; k++) cr_assert_eq(ref_at(c, 6 + k), ref_at(b, k));
    cr_assert_null(jl_cat(2, (jl_tensor *[]){a, b}, 1));
    cr_assert(strstr(jl_last_error(), "cat") && strstr(jl_last_error(), "(4, 3)"), "%s", jl_last_error());
    jl_tensor *s = jl_stack(2, (jl_tensor *[]){a, a}, -1);
    cr_assert_eq(s->ndim, 3);
    cr_assert_eq(s->shape[2], 2);
    cr_assert_eq(ref_at(s, 3), ref_at(a, 1));
    jl_release(s);
    jl_release(c);
    jl_release(b);
    jl_release(a);
}

Test(tensor, items_and_bounds)
{
    jl_tensor *t = jl_zeros(JL_I64, 2, (int64_t[]){2, 2}, JL_CPU);
    cr_assert_eq(jl_set_item(t, (int64_t[]){1, 0}, 7), JL_OK);
    double v = 0;
    cr_assert_eq(jl_get_item(t, (int64_t[]){1, 0}, &v), JL_OK);
    cr_assert_eq(v, 7);
    cr_assert_neq(jl_get_item(t, (int64_t[]){2, 0}, &v), JL_OK);
    cr_assert(strstr(jl_last_error(), "out of range") != NULL);
    cr_assert_null(jl_select(t, 0, 5));
    cr_assert_null(jl_narrow(t, 1, 1, 2));
    cr_assert_null(jl_transpose(t, 0, 2));
    jl_release(t);
}

Test(tensor, bad_shapes_are_errors)
{
    cr_assert_null(jl_tensor_new(JL_F32, 7, (int64_t[]){1, 1, 1, 1, 1, 1, 1}, JL_CPU));
    cr_assert_null(jl_tensor_new(JL_F32, 1, (int64_t[]){-3}, JL_CPU));
    cr_assert_null(jl_tensor_new(JL_F32, 2, (int64_t[]){INT64_MAX / 2, 4}, JL_CPU));
    cr_assert(strstr(jl_last_error(), "overflow") != NULL, "%s", jl_last_error());
    cr_assert_null(jl_arange(JL_F32, 0, 1, 0, JL_CPU));
}

Test(tensor, arange_counts)
{
    jl_tensor *a = jl_arange(JL_F32, 0, 1, 0.25, JL_CPU), *b = jl_arange(JL_I64, 5, 0, -2, JL_CPU);
    cr_assert_eq(jl_numel(a), 4);
    cr_assert_eq(ref_at(a, 3), 0.75);
    cr_assert_eq(jl_numel(b), 3);
    cr_assert_eq(ref_at(b, 2), 1);
    jl_release(a);
    jl_release(b);
}

Test(tensor, stats_count_bytes)
{
    jl_stats before = jl_stats_get();
    jl_tensor *t = jl_zeros(JL_F32, 1, (int64_t[]){1000}, JL_CPU);
    jl_stats during = jl_stats_get();
    cr_assert_eq(during.bytes[JL_CPU] - before.bytes[JL_CPU], 4000);
    cr_assert_eq(during.tensors - before.tensors, 1);
    jl_release(t);
    cr_assert_eq(jl_stats_get().bytes[JL_CPU], before.bytes[JL_CPU]);
}

Test(tensor, cuda_absent_is_a_clear_error)
{
    if (jl_cuda_backend() && jl_cuda_backend()->available()) cr_skip_test("a GPU is present");
    cr_assert_null(jl_zeros(JL_F32, 1, (int64_t[]){4}, JL_CUDA));
    cr_assert(strstr(jl_last_error(), "cuda") != NULL, "%s", jl_last_error());
}
