/* test_index.c — index_select, gather, scatter_add and index_add against naive
 * loops (contiguous and transposed operands, every dim, negative dims, i32 and
 * strided indices, integer dtypes), their gradients against central
 * differences, range and shape errors, determinism across thread counts, and
 * leaks. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jl_parallel.h"
#include "reference.h"

/* --- helpers ------------------------------------------------------------------- */

static jl_tensor *i64_tensor(int ndim, const int64_t *shape, const int64_t *values)
{
    return jl_from_host(JL_I64, ndim, shape, values);
}

/* Deterministic index values in [0, size) with repeats: (i*7 + 3) % size. */
static jl_tensor *index_pattern(int ndim, const int64_t *shape, int64_t size)
{
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) n *= shape[d];
    int64_t *values = malloc((size_t)(n ? n : 1) * sizeof *values);
    for (int64_t i = 0; i < n; i++) values[i] = (i * 7 + 3) % size;
    jl_tensor *t = i64_tensor(ndim, shape, values);
    free(values);
    return t;
}

static void unravel(int64_t flat, int ndim, const int64_t *shape, int64_t *coords)
{
    for (int d = ndim - 1; d >= 0; d--) {
        coords[d] = flat % shape[d];
        flat /= shape[d];
    }
}

static int64_t ravel(int ndim, const int64_t *shape, const int64_t *coords)
{
    int64_t flat = 0;
    for (int d = 0; d < ndim; d++) flat = flat * shape[d] + coords[d];
    return flat;
}

static double item(const jl_tensor *t, const int64_t *coords)
{
    double v = 0;
    cr_assert_eq(jl_get_item(t, coords, &v), JL_OK, "%s", jl_last_error());
    return v;
}

static int64_t nd_dim(int dim, int ndim) { return dim < 0 ? dim + ndim : dim; }

/* A non-contiguous (d0, d1, d2) view: the (0, 2)-transpose of a (d2, d1, d0) tensor. */
static jl_tensor *strided_randn(int64_t d0, int64_t d1, int64_t d2, uint64_t seed)
{
    jl_tensor *base = ref_randn(3, (int64_t[]){d2, d1, d0}, seed, false);
    jl_tensor *t = jl_transpose(base, 0, 2);
    jl_release(base);
    cr_assert(!jl_is_contiguous(t));
    return t;
}

static void expect_error(jl_tensor *result, const char *needle1, const char *needle2)
{
    cr_assert_null(result, "expected an error mentioning '%s'", needle1);
    const char *msg = jl_last_error();
    cr_assert(strstr(msg, needle1), "message '%s' lacks '%s'", msg, needle1);
    if (needle2) cr_assert(strstr(msg, needle2), "message '%s' lacks '%s'", msg, needle2);
}

/* --- naive references ------------------------------------------------------------- */

static void check_index_select(jl_tensor *a, int dim, jl_tensor *index)
{
    jl_tensor *out = jl_index_select(a, dim, index);
    cr_assert_not_null(out, "%s", jl_last_error());
    int d = (int)nd_dim(dim, a->ndim);
    cr_assert_eq(out->ndim, a->ndim);
    for (int k = 0; k < a->ndim; k++)
        cr_assert_eq(out->shape[k], k == d ? index->shape[0] : a->shape[k]);
    int64_t coords[JL_MAX_DIMS];
    for (int64_t f = 0; f < jl_numel(out); f++) {
        unravel(f, out->ndim, out->shape, coords);
        int64_t src[JL_MAX_DIMS];
        memcpy(src, coords, sizeof coords);
        src[d] = (int64_t)item(index, (int64_t[]){coords[d]});
        cr_assert_eq(item(out, coords), item(a, src), "index_select dim %d at %lld", dim, (long long)f);
    }
    jl_release(out);
}

static void check_gather(jl_tensor *a, int dim, jl_tensor *index)
{
    jl_tensor *out = jl_gather(a, dim, index);
    cr_assert_not_null(out, "%s", jl_last_error());
    int d = (int)nd_dim(dim, a->ndim);
    cr_assert_eq(out->ndim, index->ndim);
    for (int k = 0; k < a->ndim; k++) cr_assert_eq(out->shape[k], index->shape[k]);
    int64_t coords[JL_MAX_DIMS];
    for (int64_t f = 0; f < jl_numel(out); f++) {
        unravel(f, out->ndim, out->shape, coords);
        int64_t src[JL_MAX_DIMS];
        memcpy(src, coords, sizeof coords);
        src[d] = (int64_t)item(index, coords);
        cr_assert_eq(item(out, coords), item(a, src), "gather dim %d at %lld", dim, (long long)f);
    }
    jl_release(out);
}

/* Compares out with a + src accumulated at target(coords of src) in double. */
static void check_accumulated(jl_tensor *out, jl_tensor *a, jl_tensor *src, int d, jl_tensor *index,
                              bool index_is_1d)
{
    int64_t n = jl_numel(a);
    double *expected = malloc((size_t)n * sizeof *expected);
    int64_t coords[JL_MAX_DIMS];
    for (int64_t f = 0; f < n; f++) {
        unravel(f, a->ndim, a->shape, coords);
        expected[f] = item(a, coords);
    }
    for (int64_t f = 0; f < jl_numel(src); f++) {
        unravel(f, src->ndim, src->shape, coords);
        int64_t target[JL_MAX_DIMS];
        memcpy(target, coords, sizeof coords);
        target[d] = (int64_t)(index_is_1d ? item(index, (int64_t[]){coords[d]}) : item(index, coords));
        expected[ravel(a->ndim, a->shape, target)] += item(src, coords);
    }
    cr_assert_eq(out->ndim, a->ndim);
    for (int k = 0; k < a->ndim; k++) cr_assert_eq(out->shape[k], a->shape[k]);
    for (int64_t f = 0; f < n; f++) {
        unravel(f, a->ndim, a->shape, coords);
        double got = item(out, coords);
        cr_assert(fabs(got - expected[f]) <= 1e-5 * (1 + fabs(expected[f])), "dim %d at %lld: %g vs %g", d,
                  (long long)f, got, expected[f]);
    }
    free(expected);
}

static void check_scatter_add(jl_tensor *a, int dim, jl_tensor *index, jl_tensor *src)
{
    jl_tensor *out = jl_scatter_add(a, dim, index, src);
    cr_assert_not_null(out, "%s", jl_last_error());
    check_accumulated(out, a, src, (int)nd_dim(dim, a->ndim), index, false);
    jl_release(out);
}

static void check_index_add(jl_tensor *a, int dim, jl_tensor *index, jl_tensor *src)
{
    jl_tensor *out = jl_index_add(a, dim, index, src);
    cr_assert_not_null(out, "%s", jl_last_error());
    check_accumulated(out, a, src, (int)nd_dim(dim, a->ndim), index, true);
    jl_release(out);
}

static const int DIMS[] = {0, 1, 2, -1, -2, -3};
#define NDIMS ((int)(sizeof DIMS / sizeof DIMS[0]))

/* --- forward against naive loops --------------------------------------------------- */

Test(index, index_select_every_dim)
{
    int64_t live = ref_live();
    jl_tensor *as[2] = {ref_randn(3, (int64_t[]){4, 5, 6}, 1, false), strided_randn(4, 5, 6, 2)};
    for (int t = 0; t < 2; t++)
        for (int i = 0; i < NDIMS; i++) {
            int d = (int)nd_dim(DIMS[i], 3);
            jl_tensor *index = index_pattern(1, (int64_t[]){7}, as[t]->shape[d]);
            check_index_select(as[t], DIMS[i], index);
            jl_release(index);
        }
    jl_release(as[0]);
    jl_release(as[1]);
    cr_assert_eq(ref_live(), live);
}

Test(index, index_select_i32_strided_and_empty_index)
{
    int64_t live = ref_live();
    jl_tensor *a = ref_randn(2, (int64_t[]){10, 3}, 3, false);
    jl_tensor *i32 = jl_from_host(JL_I32, 1, (int64_t[]){4}, (int32_t[]){9, 0, 9, 4});
    check_index_select(a, 0, i32);
    /* a strided i64 index: column 1 of a (4, 2) tensor */
    jl_tensor *pairs = i64_tensor(2, (int64_t[]){4, 2}, (int64_t[]){0, 7, 1, 2, 2, 2, 3, 9});
    jl_tensor *col = jl_select(pairs, 1, 1);
    cr_assert(!jl_is_contiguous(col));
    check_index_select(a, -2, col);
    jl_tensor *empty = i64_tensor(1, (int64_t[]){0}, NULL);
    jl_tensor *out = jl_index_select(a, 0, empty);
    cr_assert_not_null(out, "%s", jl_last_error());
    cr_assert_eq(out->shape[0], 0);
    cr_assert_eq(out->shape[1], 3);
    jl_release(out);
    jl_release(empty);
    jl_release(col);
    jl_release(pairs);
    jl_release(i32);
    jl_release(a);
    cr_assert_eq(ref_live(), live);
}

Test(index, gather_every_dim)
{
    int64_t live = ref_live();
    jl_tensor *as[2] = {ref_randn(3, (int64_t[]){4, 5, 6}, 4, false), strided_randn(4, 5, 6, 5)};
    for (int t = 0; t < 2; t++)
        for (int i = 0; i < NDIMS; i++) {
            int d = (int)nd_dim(DIMS[i], 3);
            int64_t same[3] = {4, 5, 6}, smaller[3] = {3, 2, 4};
            same[d] = 7;
            smaller[d] = 3;
            jl_tensor *full = index_pattern(3, same, as[t]->shape[d]);
            jl_tensor *part = index_pattern(3, smaller, as[t]->shape[d]);
            check_gather(as[t], DIMS[i], full);
            check_gather(as[t], DIMS[i], part);
            jl_release(full);
            jl_release(part);
        }
    jl_release(as[0]);
    jl_release(as[1]);
    cr_assert_eq(ref_live(), live);
}

Test(index, scatter_add_every_dim)
{
    int64_t live = ref_live();
    jl_tensor *as[2] = {ref_randn(3, (int64_t[]){4, 5, 6}, 6, false), strided_randn(4, 5, 6, 7)};
    for (int t = 0; t < 2; t++)
        for (int i = 0; i < NDIMS; i++) {
            int d = (int)nd_dim(DIMS[i], 3);
            int64_t same[3] = {4, 5, 6}, smaller[3] = {2, 3, 4};
            same[d] = 9; /* more entries than a has: repeats accumulate */
            smaller[d] = 4;
            jl_tensor *full = index_pattern(3, same, as[t]->shape[d]);
            jl_tensor *part = index_pattern(3, smaller, as[t]->shape[d]);
            jl_tensor *src_full = ref_randn(3, same, 10 + (uint64_t)i, false);
            jl_tensor *src_part = strided_randn(smaller[0], smaller[1], smaller[2], 20 + (uint64_t)i);
            check_scatter_add(as[t], DIMS[i], full, src_full);
            check_scatter_add(as[t], DIMS[i], part, src_part);
            jl_release(full);
            jl_release(part);
            jl_release(src_full);
            jl_release(src_part);
        }
    jl_release(as[0]);
    jl_release(as[1]);
    cr_assert_eq(ref_live(), live);
}

Test(index, index_add_every_dim)
{
    int64_t live = ref_live();
    jl_tensor *as[2] = {ref_randn(3, (int64_t[]){4, 5, 6}, 8, false), strided_randn(4, 5, 6, 9)};
    for (int t = 0; t < 2; t++)
        for (int i = 0; i < NDIMS; i++) {
            int d = (int)nd_dim(DIMS[i], 3);
            int64_t shape[3] = {4, 5, 6};
            shape[d] = 9;
            jl_tensor *index = index_pattern(1, (int64_t[]){9}, as[t]->shape[d]);
            jl_tensor *src = t ? strided_randn(shape[0], shape[1], shape[2], 30 + (uint64_t)i)
                               : ref_randn(3, shape, 40 + (uint64_t)i, false);
            check_index_add(as[t], DIMS[i], index, src);
            jl_release(index);
            jl_release(src);
        }
    jl_release(as[0]);
    jl_release(as[1]);
    cr_assert_eq(ref_live(), live);
}

Test(index, integer_dtypes)
{
    int64_t live = ref_live();
    jl_tensor *index = index_pattern(1, (int64_t[]){5}, 4);
    jl_tensor *index2d = index_pattern(2, (int64_t[]){5, 6}, 4);
    jl_dtype dtypes[] = {JL_I64, JL_I32, JL_U8};
    for (int t = 0; t < 3; t++) {
        jl_tensor *flat = jl_arange(dtypes[t], 0, 24, 1, JL_CPU);
        jl_tensor *a = jl_view_as_shape(flat, 2, (int64_t[]){4, 6});
        jl_tensor *sflat = jl_arange(dtypes[t], 0, 30, 1, JL_CPU);
        jl_tensor *src = jl_view_as_shape(sflat, 2, (int64_t[]){5, 6});
        cr_assert_not_null(src, "%s", jl_last_error());
        check_index_select(a, 0, index);
        check_gather(a, 0, index2d);
        check_index_add(a, 0, index, src);
        check_scatter_add(a, 0, index2d, src);
        jl_release(src);
        jl_release(sflat);
        jl_release(a);
        jl_release(flat);
    }
    jl_release(index2d);
    jl_release(index);
    cr_assert_eq(ref_live(), live);
}

/* Large enough to split across threads: checked against the naive loops, and
 * bit-identical whatever the thread count. */
Test(index, parallel_and_deterministic)
{
    int64_t live = ref_live();
    int threads = jl_get_num_threads();
    jl_tensor *a = ref_randn(3, (int64_t[]){3, 2000, 37}, 50, false);
    jl_tensor *src = ref_randn(3, (int64_t[]){3, 5000, 37}, 51, false);
    jl_tensor *index = index_pattern(1, (int64_t[]){5000}, 2000);
    jl_tensor *index3d = index_pattern(3, (int64_t[]){3, 5000, 37}, 2000);
    check_index_select(a, 1, index);
    check_index_add(a, 1, index, src);
    check_gather(a, 1, index3d);
    check_scatter_add(a, 1, index3d, src);
    jl_tensor *results[2][2];
    int counts[2] = {1, 4};
    for (int c = 0; c < 2; c++) {
        jl_set_num_threads(counts[c]);
        results[c][0] = jl_index_add(a, 1, index, src);
        results[c][1] = jl_scatter_add(a, 1, index3d, src);
        cr_assert(results[c][0] && results[c][1], "%s", jl_last_error());
    }
    jl_set_num_threads(threads);
    for (int r = 0; r < 2; r++) {
        cr_assert_eq(memcmp(jl_data(results[0][r]), jl_data(results[1][r]), (size_t)jl_numel(a) * sizeof(float)), 0,
                     "result %d differs between 1 and 4 threads", r);
        jl_release(results[0][r]);
        jl_release(results[1][r]);
    }
    jl_release(index3d);
    jl_release(index);
    jl_release(src);
    jl_release(a);
    cr_assert_eq(ref_live(), live);
}

/* --- gradients ---------------------------------------------------------------------- */

typedef struct index_ctx {
    int dim;
    jl_tensor *index;
    bool transposed; /* apply the op to inputs[0] transposed (0, last) */
} index_ctx;

static jl_tensor *operand(jl_tensor *t, const index_ctx *c)
{
    return c->transposed ? jl_transpose(t, 0, t->ndim - 1) : jl_retain(t);
}

static jl_tensor *f_index_select(jl_tensor **in, void *ctx)
{
    index_ctx *c = ctx;
    jl_tensor *a = operand(in[0], c);
    jl_tensor *out = jl_index_select(a, c->dim, c->index);
    jl_release(a);
    return out;
}

static jl_tensor *f_gather(jl_tensor **in, void *ctx)
{
    index_ctx *c = ctx;
    jl_tensor *a = operand(in[0], c);
    jl_tensor *out = jl_gather(a, c->dim, c->index);
    jl_release(a);
    return out;
}

static jl_tensor *f_scatter_add(jl_tensor **in, void *ctx)
{
    index_ctx *c = ctx;
    jl_tensor *a = operand(in[0], c);
    jl_tensor *out = jl_scatter_add(a, c->dim, c->index, in[1]);
    jl_release(a);
    return out;
}

static jl_tensor *f_index_add(jl_tensor **in, void *ctx)
{
    index_ctx *c = ctx;
    jl_tensor *a = operand(in[0], c);
    jl_tensor *out = jl_index_add(a, c->dim, c->index, in[1]);
    jl_release(a);
    return out;
}

/* Shape (3, 4, 5) of the op's operand, built from a leaf of that shape or of its
 * (0, last)-transpose. */
static jl_tensor *grad_leaf(bool transposed, uint64_t seed)
{
    int64_t shape[3] = {3, 4, 5};
    if (transposed) {
        shape[0] = 5;
        shape[2] = 3;
    }
    return ref_randn(3, shape, seed, true);
}

Test(index, gradients)
{
    int64_t live = ref_live();
    int64_t operand_shape[3] = {3, 4, 5};
    for (int tr = 0; tr < 2; tr++)
        for (int i = 0; i < NDIMS; i++) {
            int d = (int)nd_dim(DIMS[i], 3);
            int64_t size = operand_shape[d];
            index_ctx c = {.dim = DIMS[i], .transposed = tr};

            /* index_select and index_add: 1-D index with repeats */
            c.index = index_pattern(1, (int64_t[]){6}, size);
            jl_tensor *a = grad_leaf(tr, 60 + (uint64_t)i);
            double err = ref_gradcheck(f_index_select, 1, &a, &c);
            cr_assert_lt(err, 1e-2, "index_select dim %d transposed %d: %g", DIMS[i], tr, err);
            int64_t src_shape[3] = {3, 4, 5};
            src_shape[d] = 6;
            jl_tensor *pair[2] = {a, ref_randn(3, src_shape, 70 + (uint64_t)i, true)};
            err = ref_gradcheck(f_index_add, 2, pair, &c);
            cr_assert_lt(err, 1e-2, "index_add dim %d transposed %d: %g", DIMS[i], tr, err);
            jl_release(pair[1]);
            jl_release(c.index);

            /* gather and scatter_add: an index smaller than the operand outside dim */
            int64_t ishape[3] = {2, 3, 4};
            ishape[d] = 6;
            c.index = index_pattern(3, ishape, size);
            err = ref_gradcheck(f_gather, 1, &a, &c);
            cr_assert_lt(err, 1e-2, "gather dim %d transposed %d: %g", DIMS[i], tr, err);
            pair[1] = ref_randn(3, ishape, 80 + (uint64_t)i, true);
            err = ref_gradcheck(f_scatter_add, 2, pair, &c);
            cr_assert_lt(err, 1e-2, "scatter_add dim %d transposed %d: %g", DIMS[i], tr, err);
            jl_release(pair[1]);
            jl_release(c.index);
            jl_release(a);
        }
    cr_assert_eq(ref_live(), live);
}

Test(index, gradient_accumulates_repeats)
{
    int64_t live = ref_live();
    jl_tensor *a = ref_randn(2, (int64_t[]){5, 2}, 90, true);
    jl_tensor *index = i64_tensor(1, (int64_t[]){3}, (int64_t[]){1, 1, 4});
    jl_tensor *out = jl_index_select(a, 0, index);
    cr_assert(out && out->requires_grad);
    jl_tensor *ones = jl_full(JL_F32, 2, (int64_t[]){3, 2}, 1.0, JL_CPU);
    cr_assert_eq(jl_backward(out, ones), JL_OK, "%s", jl_last_error());
    cr_assert_not_null(a->grad);
    double expected[10] = {0, 0, 2, 2, 0, 0, 0, 0, 1, 1};
    cr_assert_lt(ref_max_rel_diff_array(a->grad, expected), 1e-6);
    jl_release(ones);
    jl_release(out);

    jl_tensor *plain = ref_randn(2, (int64_t[]){5, 2}, 91, false);
    out = jl_index_select(plain, 0, index);
    cr_assert(out && !out->requires_grad && !out->grad_fn);
    jl_release(out);
    bool was = jl_set_grad_enabled(false);
    out = jl_index_select(a, 0, index);
    jl_set_grad_enabled(was);
    cr_assert(out && !out->grad_fn);
    jl_release(out);
    jl_release(plain);
    jl_release(index);
    jl_release(a);
    cr_assert_eq(ref_live(), live);
}

/* --- errors ------------------------------------------------------------------------- */

Test(index, out_of_range_and_negative_indices)
{
    int64_t live = ref_live();
    jl_tensor *a = ref_randn(2, (int64_t[]){10, 3}, 100, false);
    jl_tensor *big = i64_tensor(1, (int64_t[]){3}, (int64_t[]){0, 12, 2});
    jl_tensor *neg = i64_tensor(1, (int64_t[]){2}, (int64_t[]){3, -1});
    jl_tensor *big32 = jl_from_host(JL_I32, 1, (int64_t[]){1}, (int32_t[]){10});
    expect_error(jl_index_select(a, 0, big), "index_select: index 12 out of range for dim 0 of size 10 (tensor (10, 3))", NULL);
    cr_assert_eq(jl_last_error_code(), JL_EARG);
    expect_error(jl_index_select(a, 0, neg), "index_select", "index -1 out of range");
    expect_error(jl_index_select(a, -2, big32), "index_select", "index 10 out of range");
    jl_tensor *src1 = ref_randn(2, (int64_t[]){3, 3}, 101, false);
    expect_error(jl_index_add(a, 0, big, src1), "index_add", "index 12 out of range for dim 0 of size 10");
    jl_tensor *src2 = ref_randn(2, (int64_t[]){10, 2}, 102, false);
    jl_tensor *neg2 = i64_tensor(1, (int64_t[]){2}, (int64_t[]){-2, 0});
    expect_error(jl_index_add(a, 1, neg2, src2), "index_add", "index -2 out of range for dim 1 of size 3");

    jl_tensor *gidx = i64_tensor(2, (int64_t[]){2, 3}, (int64_t[]){0, 1, 2, 3, 10, 5});
    expect_error(jl_gather(a, 0, gidx), "gather", "index 10 out of range for dim 0 of size 10");
    jl_tensor *gsrc = ref_randn(2, (int64_t[]){2, 3}, 103, false);
    expect_error(jl_scatter_add(a, 0, gidx, gsrc), "scatter_add", "index 10 out of range");
    jl_tensor *gneg = i64_tensor(2, (int64_t[]){1, 3}, (int64_t[]){0, -3, 1});
    expect_error(jl_gather(a, -1, gneg), "gather", "index -3 out of range for dim 1 of size 3");
    jl_tensor *gsrc1 = ref_randn(2, (int64_t[]){1, 3}, 104, false);
    expect_error(jl_scatter_add(a, 1, gneg, gsrc1), "scatter_add", "index -3");

    jl_release(gsrc1);
    jl_release(gneg);
    jl_release(gsrc);
    jl_release(gidx);
    jl_release(neg2);
    jl_release(src2);
    jl_release(src1);
    jl_release(big32);
    jl_release(neg);
    jl_release(big);
    jl_release(a);
    cr_assert_eq(ref_live(), live);
}

Test(index, shape_dtype_and_dim_errors)
{
    int64_t live = ref_live();
    jl_tensor *a = ref_randn(2, (int64_t[]){4, 3}, 110, false);
    jl_tensor *idx2d = index_pattern(2, (int64_t[]){2, 3}, 3);
    jl_tensor *idx1d = index_pattern(1, (int64_t[]){2}, 3);
    jl_tensor *fidx = ref_randn(1, (int64_t[]){2}, 111, false);
    jl_tensor *scalar = jl_full(JL_F32, 0, NULL, 1.0, JL_CPU);

    expect_error(jl_index_select(a, 0, idx2d), "index_select", "1-D");
    expect_error(jl_index_select(a, 0, fidx), "index_select", "i64 or i32");
    expect_error(jl_index_select(a, 2, idx1d), "index_select", "dim 2");
    expect_error(jl_index_select(scalar, 0, idx1d), "index_select", "scalar");
    expect_error(jl_gather(a, 0, idx1d), "gather", "rank");
    jl_tensor *wide = index_pattern(2, (int64_t[]){2, 5}, 3);
    expect_error(jl_gather(a, 0, wide), "gather", "larger");

    jl_tensor *src_bad = ref_randn(2, (int64_t[]){2, 2}, 112, false);
    expect_error(jl_scatter_add(a, 0, idx2d, src_bad), "scatter_add", "shape of index");
    expect_error(jl_index_add(a, 0, idx1d, src_bad), "index_add", "(2, 2)");
    jl_tensor *src_i64 = jl_zeros(JL_I64, 2, (int64_t[]){2, 3}, JL_CPU);
    expect_error(jl_index_add(a, 0, idx1d, src_i64), "index_add", "src is i64");
    expect_error(jl_scatter_add(a, 0, idx2d, NULL), "scatter_add", "missing");

    jl_release(src_i64);
    jl_release(src_bad);
    jl_release(wide);
    jl_release(scalar);
    jl_release(fidx);
    jl_release(idx1d);
    jl_release(idx2d);
    jl_release(a);
    cr_assert_eq(ref_live(), live);
}
