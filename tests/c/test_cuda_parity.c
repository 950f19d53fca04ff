/* test_cuda_parity.c — every CUDA kernel against the CPU kernel on the same
 * inputs, plus a few whole paths through core (device round trips, matmul,
 * autograd, the RNG stream, the caching allocator).
 *
 * Kernel cases build jl_kargs whose views point into contiguous CPU buffers
 * (strided, transposed and broadcast views included); the CUDA run gets the
 * same views rebased onto CUDA copies of those buffers. Buffers the op writes
 * start as a 0xAB byte pattern on the CUDA side unless the op also reads them,
 * so an element the CUDA kernel forgets to write is caught. f32 results are
 * compared by max |cuda - cpu| / (1 + |cpu|), everything else exactly; random
 * ops bit for bit (randn within 1 ulp).
 *
 * tests/c/parity_cases.h names the test that compares each op; a kernel test
 * (PARITY_TEST) fails when it compares an op listed under another test or
 * misses one listed for it.
 *
 * Without a CUDA device every parity test is skipped with "no CUDA device
 * present: parity not verified"; the test that a CUDA tensor then fails with
 * a message naming cuda runs instead.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parity_cases.h"
#include "reference.h"
#ifdef JETLAB_HAVE_CUDA
#include "cuda_backend.h"
#endif

/* --- device and tensors ---------------------------------------------------------- */

static bool cuda_present(void)
{
    const jl_backend *be = jl_cuda_backend();
    return be && be->available();
}

static void require_cuda(void)
{
    if (!cuda_present()) cr_skip_test("no CUDA device present: parity not verified");
}

/* f32 CPU tensor of normal values times scale plus shift; +1 */
static jl_tensor *randn_t(int ndim, const int64_t *shape, uint64_t seed, double scale, double shift)
{
    jl_tensor *t = ref_randn(ndim, shape, seed, false);
    jl_tensor *r = jl_affine(t, scale, shift);
    jl_release(t);
    cr_assert_not_null(r, "%s", jl_last_error());
    return r;
}

/* CPU tensor of dtype holding (i*37 + 11) % mod + shift at flat position i; +1 */
static jl_tensor *pattern_t(jl_dtype dtype, int ndim, const int64_t *shape, int64_t mod, int64_t shift)
{
    jl_tensor *t = jl_tensor_new(dtype, ndim, shape, JL_CPU);
    cr_assert_not_null(t, "%s", jl_last_error());
    for (int64_t i = 0; i < jl_numel(t); i++) {
        int64_t v = (i * 37 + 11) % mod + shift;
        switch (dtype) {
        case JL_F32: ((float *)jl_data(t))[i] = (float)v; break;
        case JL_I32: ((int32_t *)jl_data(t))[i] = (int32_t)v; break;
        case JL_I64: ((int64_t *)jl_data(t))[i] = v; break;
        default: ((uint8_t *)jl_data(t))[i] = (uint8_t)v; break;
        }
    }
    return t;
}

/* CPU tensor of t's shape and dtype, every byte 0xAB; +1 */
static jl_tensor *poisoned_like(const jl_tensor *t)
{
    jl_tensor *p = jl_tensor_new(t->dtype, t->ndim, t->shape, JL_CPU);
    cr_assert_not_null(p, "%s", jl_last_error());
    memset(jl_data(p), 0xAB, (size_t)jl_numel(t) * jl_dtype_size(t->dtype));
    return p;
}

/* A view of buf's data with the given geometry (strides in elements, offset in elements). */
static jl_view view_in(jl_tensor *buf, int ndim, const int64_t *shape, const int64_t *strides, int64_t offset)
{
    jl_view v = {.data = (char *)jl_data(buf) + offset * (int64_t)jl_dtype_size(buf->dtype),
                 .dtype = buf->dtype, .ndim = ndim};
    for (int d = 0; d < ndim; d++) {
        v.shape[d] = shape[d];
        v.strides[d] = strides[d];
    }
    return v;
}

static jl_view whole(jl_tensor *buf) { return jl_view_of(buf); }

/* max |a - b| / (1 + |b|) over two contiguous f32 CPU tensors of one shape;
 * NaN matches NaN and an infinity the same infinity, any other NaN is 1e30. */
static double max_norm_diff(const jl_tensor *a, const jl_tensor *b)
{
    double worst = 0;
    for (int64_t i = 0; i < jl_numel(a); i++) {
        double x = ((const float *)jl_data(a))[i], y = ((const float *)jl_data(b))[i];
        if ((isnan(x) && isnan(y)) || x == y) continue;
        double d = fabs(x - y) / (1 + fabs(y));
        if (!(d <= worst)) worst = isnan(d) ? 1e30 : d;
    }
    return worst;
}

/* Largest distance in units in the last place between two f32 tensors (CPU). */
static int64_t max_ulp_diff(const jl_tensor *a, const jl_tensor *b)
{
    int64_t worst = 0;
    for (int64_t i = 0; i < jl_numel(a); i++) {
        int32_t x, y;
        memcpy(&x, (const float *)jl_data(a) + i, 4);
        memcpy(&y, (const float *)jl_data(b) + i, 4);
        if ((x < 0) != (y < 0)) return INT64_MAX;
        int64_t d = llabs((int64_t)x - (int64_t)y);
        if (d > worst) worst = d;
    }
    return worst;
}

/* --- the kernel harness -------------------------------------------------------------- */

#define MAX_BUFS 5

typedef struct parity {
    jl_kargs k;               /* views point into buf[] */
    jl_tensor *buf[MAX_BUFS]; /* contiguous CPU buffers (owned; NULL unused) */
    unsigned written;         /* bit i: the op writes buf[i] */
    unsigned host;            /* bit i: buf[i] stays on the CPU for the CUDA run too (index arrays
                               * as core passes them to the EdgeConv kernels); never written */
    bool reads_written;       /* written buffers are read too (accumulation) or only partly written */
    double tol;               /* f32: max normalised difference */
    int max_ulp;              /* f32, when >= 0: max ulp distance instead of tol */
} parity;

/* The buffer holding v's first element. */
static int buffer_of(const parity *p, const jl_view *v)
{
    for (int i = 0; i < MAX_BUFS; i++) {
        if (!p->buf[i]) continue;
        const char *lo = jl_data(p->buf[i]);
        const char *hi = lo + jl_numel(p->buf[i]) * (int64_t)jl_dtype_size(p->buf[i]->dtype);
        if ((const char *)v->data >= lo && (const char *)v->data < hi) return i;
    }
    cr_assert_fail("a view points outside every buffer");
    return -1;
}

/* v moved from the CPU buffers onto their CUDA copies cu[]. */
static jl_view rebased(const parity *p, jl_tensor *const *cu, jl_view v)
{
    if (!v.data) return v;
    int i = buffer_of(p, &v);
    v.data = (char *)jl_data(cu[i]) + ((char *)v.data - (char *)jl_data(p->buf[i]));
    return v;
}

/* --- which ops each kernel test compares (parity_cases.h) -------------------------------- */

static bool compared[JL_OP_COUNT]; /* ops compared by the running test (a process of its own) */

/* The parity test parity_cases.h lists for op; NULL when none. */
static const char *listed_test(jl_op op)
{
#define LISTED_TEST(name, test) if (op == JL_OP_##name) return #test;
    PARITY_CASES(LISTED_TEST)
#undef LISTED_TEST
    return NULL;
}

/* Every op parity_cases.h lists for this test was compared. */
static void assert_listed_ops_compared(const char *test)
{
    for (int op = 0; op < JL_OP_COUNT; op++) {
        const char *listed = listed_test((jl_op)op);
        cr_assert(!listed || strcmp(listed, test) || compared[op],
                  "parity_cases.h lists %s under %s, but that test never compared it", jl_op_name((jl_op)op), test);
    }
}

/* A kernel parity test: skipped without a device, and checked against parity_cases.h. */
#define PARITY_TEST(name)                                                                                   \
    static void name##_cases(void);                                                                         \
    Test(cuda_parity, name)                                                                                 \
    {                                                                                                       \
        require_cuda();                                                                                     \
        name##_cases();                                                                                     \
        assert_listed_ops_compared(#name);                                                                  \
    }                                                                                                       \
    static void name##_cases(void)

/* Runs p->k on both devices and compares every written buffer; releases p's buffers. */
static void check_parity(parity *p, const char *what)
{
    const char *listed = listed_test(p->k.op), *test = criterion_current_test->name;
    cr_assert(listed && !strcmp(listed, test), "%s: %s compared in test %s but parity_cases.h lists it under %s",
              what, jl_op_name(p->k.op), test, listed ? listed : "no test");
    jl_tensor *cu[MAX_BUFS] = {0};
    for (int i = 0; i < MAX_BUFS; i++) {
        if (!p->buf[i]) continue;
        if (p->host >> i & 1) {
            cu[i] = jl_retain(p->buf[i]);
            continue;
        }
        bool poison = (p->written >> i & 1) && !p->reads_written;
        jl_tensor *src = poison ? poisoned_like(p->buf[i]) : jl_retain(p->buf[i]);
        cu[i] = jl_to_device(src, JL_CUDA);
        jl_release(src);
        cr_assert_not_null(cu[i], "%s: %s", what, jl_last_error());
    }
    jl_kargs kc = p->k;
    kc.out = rebased(p, cu, p->k.out);
    kc.a = rebased(p, cu, p->k.a);
    kc.b = rebased(p, cu, p->k.b);
    kc.c = rebased(p, cu, p->k.c);
    kc.d = rebased(p, cu, p->k.d);
    cr_assert_eq(jl_run(JL_CPU, &p->k), JL_OK, "%s on cpu: %s", what, jl_last_error());
    cr_assert_eq(jl_run(JL_CUDA, &kc), JL_OK, "%s on cuda: %s", what, jl_last_error());
    for (int i = 0; i < MAX_BUFS; i++) {
        if (!(p->written >> i & 1)) continue;
        jl_tensor *back = jl_to_device(cu[i], JL_CPU);
        cr_assert_not_null(back, "%s: %s", what, jl_last_error());
        if (p->buf[i]->dtype != JL_F32) {
            size_t bytes = (size_t)jl_numel(back) * jl_dtype_size(back->dtype);
            cr_assert(memcmp(jl_data(back), jl_data(p->buf[i]), bytes) == 0, "%s: buffer %d differs", what, i);
        } else if (p->max_ulp >= 0) {
            int64_t ulps = max_ulp_diff(back, p->buf[i]);
            cr_assert_leq(ulps, p->max_ulp, "%s: buffer %d off by %lld ulp", what, i, (long long)ulps);
        } else {
            double err = max_norm_diff(back, p->buf[i]);
            cr_assert_leq(err, p->tol, "%s: buffer %d error %g > %g", what, i, err, p->tol);
        }
        jl_release(back);
    }
    for (int i = 0; i < MAX_BUFS; i++) {
        jl_release(cu[i]);
        jl_release(p->buf[i]);
    }
    compared[p->k.op] = true;
}

static parity new_parity(jl_op op, double tol)
{
    parity p = {.k = {.op = op}, .tol = tol, .max_ulp = -1};
    return p;
}

/* What every batch-norm backward case shares: the x gradient (N, C) unless
 * variant 2 (none asked), eps, batch statistics for variant 0, the sizes, and
 * the table's rows 0..3 read as inputs. */
static void bn_backward_common(parity *p, int64_t N, int64_t C, int variant)
{
    if (variant < 2) {
        p->buf[0] = jl_tensor_new(JL_F32, 2, (int64_t[]){N, C}, JL_CPU);
        p->k.out = whole(p->buf[0]);
        p->written |= 1;
    }
    p->k.s[0] = 1e-5;
    p->k.s[1] = variant == 0;
    p->k.i[0] = N;
    p->k.i[1] = C;
    p->reads_written = true;
}


/* --- memory ----------------------------------------------------------------------------- */

PARITY_TEST(copy_strided_broadcast_and_converting)
{
    static const jl_dtype dtypes[] = {JL_F32, JL_I32, JL_I64, JL_U8};
    for (int from = 0; from < 4; from++) {
        for (int to = 0; to < 4; to++) {
            /* a (4, 6, 5) read through a permuted view (5, 4, 6); out contiguous */
            parity p = new_parity(JL_OP_copy, 0);
            p.buf[1] = dtypes[from] == JL_F32 ? randn_t(3, (int64_t[]){4, 6, 5}, 1, 20, 0)
                                               : pattern_t(dtypes[from], 3, (int64_t[]){4, 6, 5}, 9, 0);
            p.buf[0] = jl_tensor_new(dtypes[to], 3, (int64_t[]){5, 4, 6}, JL_CPU);
            p.k.a = view_in(p.buf[1], 3, (int64_t[]){5, 4, 6}, (int64_t[]){1, 30, 5}, 0);
            p.k.out = whole(p.buf[0]);
            p.written = 1;
            check_parity(&p, "copy permuted, converting");
        }
    }
    /* a (1, 7) broadcast over (9, 7) into a strided out: every other row of (18, 7) */
    parity p = new_parity(JL_OP_copy, 0);
    p.buf[1] = randn_t(2, (int64_t[]){1, 7}, 2, 1, 0);
    p.buf[0] = randn_t(2, (int64_t[]){18, 7}, 3, 1, 0);
    p.k.a = view_in(p.buf[1], 2, (int64_t[]){9, 7}, (int64_t[]){0, 1}, 0);
    p.k.out = view_in(p.buf[0], 2, (int64_t[]){9, 7}, (int64_t[]){14, 1}, 7);
    p.written = 1;
    p.reads_written = true;
    check_parity(&p, "copy broadcast into strided out");
    /* a contiguous large copy (the memcpy path) */
    p = new_parity(JL_OP_copy, 0);
    p.buf[1] = randn_t(1, (int64_t[]){100003}, 4, 1, 0);
    p.buf[0] = jl_tensor_new(JL_F32, 1, (int64_t[]){100003}, JL_CPU);
    p.k.a = whole(p.buf[1]);
    p.k.out = whole(p.buf[0]);
    p.written = 1;
    check_parity(&p, "copy contiguous");
}

PARITY_TEST(fill_and_arange)
{
    static const jl_dtype dtypes[] = {JL_F32, JL_I32, JL_I64, JL_U8};
    for (int t = 0; t < 4; t++) {
        /* fill a (6, 4) window of a (6, 10) buffer */
        parity p = new_parity(JL_OP_fill, 0);
        p.buf[0] = pattern_t(dtypes[t], 2, (int64_t[]){6, 10}, 5, 0);
        p.k.out = view_in(p.buf[0], 2, (int64_t[]){6, 4}, (int64_t[]){10, 1}, 3);
        p.k.s[0] = -2.75;
        p.written = 1;
        p.reads_written = true;
        check_parity(&p, "fill strided");

        p = new_parity(JL_OP_arange, 0);
        p.buf[0] = jl_tensor_new(dtypes[t], 1, (int64_t[]){1000}, JL_CPU);
        p.k.out = whole(p.buf[0]);
        p.k.s[0] = dtypes[t] == JL_F32 ? -1.5 : -7;
        p.k.s[1] = dtypes[t] == JL_F32 ? 0.125 : 3;
        p.written = 1;
        check_parity(&p, "arange");
    }
}

/* --- elementwise ------------------------------------------------------------------------- */

/* out (4, 5, 6) <- op(a) for a contiguous and for a read through a transposed view */
static void unary_case(jl_op op, jl_dtype dtype, double s0, double s1, bool positive)
{
    for (int transposed = 0; transposed < 2; transposed++) {
        parity p = new_parity(op, 1e-5);
        jl_tensor *x = randn_t(3, (int64_t[]){4, 5, 6}, 10 + op, 2, 0);
        if (positive) {
            jl_tensor *ax = jl_abs(x);
            jl_release(x);
            x = jl_affine(ax, 1, 0.05);
            jl_release(ax);
        }
        p.buf[1] = dtype == JL_F32 ? x : jl_to_dtype(x, dtype);
        if (dtype != JL_F32) jl_release(x);
        p.buf[0] = jl_tensor_new(dtype, 3, (int64_t[]){4, 5, 6}, JL_CPU);
        p.k.a = transposed ? view_in(p.buf[1], 3, (int64_t[]){4, 5, 6}, (int64_t[]){1, 24, 4}, 0) : whole(p.buf[1]);
        p.k.out = whole(p.buf[0]);
        p.k.s[0] = s0;
        p.k.s[1] = s1;
        p.written = 1;
        check_parity(&p, jl_op_name(op));
    }
}

PARITY_TEST(unary)
{
    struct { jl_op op; double s0, s1; bool positive, integers; } cases[] = {
        {JL_OP_neg, 0, 0, false, true},          {JL_OP_exp, 0, 0, false, false},
        {JL_OP_log, 0, 0, true, false},          {JL_OP_sqrt, 0, 0, true, false},
        {JL_OP_abs, 0, 0, false, true},          {JL_OP_relu, 0, 0, false, true},
        {JL_OP_sigmoid, 0, 0, false, false},     {JL_OP_tanh, 0, 0, false, false},
        {JL_OP_pow_scalar, 2, 0, false, false},  {JL_OP_pow_scalar, 1.7, 0, true, false},
        {JL_OP_clamp, -0.5, 0.75, false, true},  {JL_OP_affine, 1.5, -2, false, true},
        {JL_OP_rsub_scalar, 3, 0, false, true},  {JL_OP_rdiv_scalar, 2, 0, true, false},
        {JL_OP_sign, 0, 0, false, true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        unary_case(cases[i].op, JL_F32, cases[i].s0, cases[i].s1, cases[i].positive);
        if (cases[i].integers) {
            unary_case(cases[i].op, JL_I32, cases[i].s0, cases[i].s1, false);
            unary_case(cases[i].op, JL_I64, cases[i].s0, cases[i].s1, false);
        }
    }
}

/* out (4, 5, 6) of out_t <- op(a, b): a (4, 1, 6) and b (5, 6) broadcast, then both
 * contiguous (4, 5, 6); b is a u8 mask for masked_fill */
static void binary_case(jl_op op, jl_dtype in_t, jl_dtype out_t, double s0, double s1)
{
    for (int broadcast = 0; broadcast < 2; broadcast++) {
        parity p = new_parity(op, 1e-5);
        int64_t ashape[3] = {4, broadcast ? 1 : 5, 6}, bshape[3] = {broadcast ? 1 : 4, 5, 6};
        jl_tensor *x = randn_t(3, ashape, 20 + op, 2, op == JL_OP_pow ? 3 : 0);
        jl_tensor *y = randn_t(3, bshape, 30 + op, 2, 0);
        if (op == JL_OP_eq || op == JL_OP_ne || op == JL_OP_le || op == JL_OP_ge) { /* make ties */
            jl_release(x);
            jl_release(y);
            x = pattern_t(JL_F32, 3, ashape, 3, 0);
            y = pattern_t(JL_F32, 3, bshape, 4, 0);
        }
        p.buf[1] = in_t == JL_F32 ? jl_retain(x) : jl_to_dtype(x, in_t);
        p.buf[2] = op == JL_OP_masked_fill ? pattern_t(JL_U8, 3, bshape, 2, 0)
                   : in_t == JL_F32        ? jl_retain(y)
                                           : jl_to_dtype(y, in_t);
        jl_release(x);
        jl_release(y);
        p.buf[0] = jl_tensor_new(out_t, 3, (int64_t[]){4, 5, 6}, JL_CPU);
        p.k.a = view_in(p.buf[1], 3, (int64_t[]){4, 5, 6}, (int64_t[]){ashape[1] * 6, broadcast ? 0 : 6, 1}, 0);
        p.k.b = view_in(p.buf[2], 3, (int64_t[]){4, 5, 6}, (int64_t[]){broadcast ? 0 : 30, 6, 1}, 0);
        p.k.out = whole(p.buf[0]);
        p.k.s[0] = s0;
        p.k.s[1] = s1;
        p.written = 1;
        check_parity(&p, jl_op_name(op));
    }
}

PARITY_TEST(binary_compare_and_backward_helpers)
{
    static const jl_op arith[] = {JL_OP_add, JL_OP_sub, JL_OP_mul, JL_OP_div, JL_OP_pow, JL_OP_maximum, JL_OP_minimum};
    for (size_t i = 0; i < sizeof arith / sizeof *arith; i++) {
        binary_case(arith[i], JL_F32, JL_F32, 0, 0);
        if (arith[i] != JL_OP_pow && arith[i] != JL_OP_div) {
            binary_case(arith[i], JL_I32, JL_I32, 0, 0);
            binary_case(arith[i], JL_I64, JL_I64, 0, 0);
        }
    }
    static const jl_op compare[] = {JL_OP_eq, JL_OP_ne, JL_OP_lt, JL_OP_le, JL_OP_gt, JL_OP_ge};
    for (size_t i = 0; i < sizeof compare / sizeof *compare; i++) {
        binary_case(compare[i], JL_F32, JL_U8, 0, 0);
        binary_case(compare[i], JL_I64, JL_U8, 0, 0);
    }
    binary_case(JL_OP_masked_fill, JL_F32, JL_F32, -9.5, 0);
    binary_case(JL_OP_masked_fill, JL_I32, JL_I32, 7, 0);
    binary_case(JL_OP_relu_backward, JL_F32, JL_F32, 0, 0);
    binary_case(JL_OP_sigmoid_backward, JL_F32, JL_F32, 0, 0);
    binary_case(JL_OP_tanh_backward, JL_F32, JL_F32, 0, 0);
    binary_case(JL_OP_clamp_backward, JL_F32, JL_F32, -0.5, 0.8);
}

PARITY_TEST(where)
{
    static const jl_dtype dtypes[] = {JL_F32, JL_I64};
    for (int t = 0; t < 2; t++) {
        /* cond (5, 1) u8, a (5, 7), b (7) all broadcast to out (5, 7) */
        parity p = new_parity(JL_OP_where, 0);
        p.buf[1] = pattern_t(dtypes[t], 2, (int64_t[]){5, 7}, 11, -5);
        p.buf[2] = pattern_t(dtypes[t], 1, (int64_t[]){7}, 13, 100);
        p.buf[3] = pattern_t(JL_U8, 2, (int64_t[]){5, 1}, 2, 0);
        p.buf[0] = jl_tensor_new(dtypes[t], 2, (int64_t[]){5, 7}, JL_CPU);
        p.k.a = whole(p.buf[1]);
        p.k.b = view_in(p.buf[2], 2, (int64_t[]){5, 7}, (int64_t[]){0, 1}, 0);
        p.k.c = view_in(p.buf[3], 2, (int64_t[]){5, 7}, (int64_t[]){1, 0}, 0);
        p.k.out = whole(p.buf[0]);
        p.written = 1;
        check_parity(&p, "where");
    }
}

/* --- reductions --------------------------------------------------------------------------- */

static const int64_t reduce_shapes[][3] = {
    {3, 1000, 1}, {37, 5, 1}, {2, 300, 17}, {1, 2, 1000}, {5, 1, 3}, {1, 70000, 1}, {600, 3, 40},
};
#define N_REDUCE_SHAPES (sizeof reduce_shapes / sizeof *reduce_shapes)

/* op over a (outer, n, inner) of dtype; out (outer, inner) or (outer, n, inner) */
static void reduce_case(jl_op op, jl_dtype in_t, jl_dtype out_t, const int64_t *s, bool full_out, double s0)
{
    parity p = new_parity(op, 1e-5);
    int64_t shape[3] = {s[0], s[1], s[2]}, red[2] = {s[0], s[2]};
    p.buf[1] = in_t == JL_F32 ? randn_t(3, shape, 40 + op, 3, 0.5) : pattern_t(in_t, 3, shape, 7, -3 * (in_t != JL_U8));
    p.buf[0] = full_out ? jl_tensor_new(out_t, 3, shape, JL_CPU) : jl_tensor_new(out_t, 2, red, JL_CPU);
    p.k.a = whole(p.buf[1]);
    p.k.out = whole(p.buf[0]);
    p.k.i[0] = s[0];
    p.k.i[1] = s[1];
    p.k.i[2] = s[2];
    p.k.s[0] = s0;
    p.written = 1;
    if (op == JL_OP_max || op == JL_OP_min) {
        p.buf[2] = jl_tensor_new(JL_I64, 2, red, JL_CPU);
        p.k.b = whole(p.buf[2]);
        p.written |= 4;
    }
    if (op == JL_OP_softmax_backward || op == JL_OP_log_softmax_backward) { /* a = g, b = y */
        jl_tensor *x = randn_t(3, shape, 50, 1, 0);
        p.buf[2] = op == JL_OP_softmax_backward ? jl_softmax(x, 1) : jl_log_softmax(x, 1);
        jl_release(x);
        p.k.b = whole(p.buf[2]);
    }
    char what[64];
    snprintf(what, sizeof what, "%s %s (%lld, %lld, %lld)", jl_op_name(op), jl_dtype_name(in_t), (long long)s[0],
             (long long)s[1], (long long)s[2]);
    check_parity(&p, what);
}

PARITY_TEST(reductions)
{
    for (size_t i = 0; i < N_REDUCE_SHAPES; i++) {
        const int64_t *s = reduce_shapes[i];
        reduce_case(JL_OP_sum, JL_F32, JL_F32, s, false, 0);
        reduce_case(JL_OP_sum, JL_I32, JL_I64, s, false, 0);
        reduce_case(JL_OP_sum, JL_I64, JL_I64, s, false, 0);
        reduce_case(JL_OP_sum, JL_U8, JL_I64, s, false, 0);
        reduce_case(JL_OP_mean, JL_F32, JL_F32, s, false, 0);
        reduce_case(JL_OP_var, JL_F32, JL_F32, s, false, 1);
        reduce_case(JL_OP_var, JL_F32, JL_F32, s, false, 0);
        static const jl_dtype dtypes[] = {JL_F32, JL_I32, JL_I64, JL_U8};
        for (int t = 0; t < 4; t++) { /* integer patterns have ties: the first position must win */
            reduce_case(JL_OP_max, dtypes[t], dtypes[t], s, false, 0);
            reduce_case(JL_OP_min, dtypes[t], dtypes[t], s, false, 0);
        }
    }
}

PARITY_TEST(softmax_and_backward)
{
    for (size_t i = 0; i < N_REDUCE_SHAPES; i++) {
        const int64_t *s = reduce_shapes[i];
        reduce_case(JL_OP_softmax, JL_F32, JL_F32, s, true, 0);
        reduce_case(JL_OP_log_softmax, JL_F32, JL_F32, s, true, 0);
        reduce_case(JL_OP_softmax_backward, JL_F32, JL_F32, s, true, 0);
        reduce_case(JL_OP_log_softmax_backward, JL_F32, JL_F32, s, true, 0);
    }
}

/* --- gemm ------------------------------------------------------------------------------------ */

/* out (batch, M, N) <- alpha op(a) op(b) + beta out; a's rows padded to a leading
 * dimension 3 past its width; b shared across the batch when b_shared */
static void gemm_case(int64_t batch, int64_t M, int64_t N, int64_t K, bool ta, bool tb, bool b_shared, double alpha,
                      double beta)
{
    parity p = new_parity(JL_OP_gemm, 1e-4);
    int64_t ar = ta ? K : M, ac = ta ? M : K, br = tb ? N : K, bc = tb ? K : N;
    p.buf[1] = randn_t(3, (int64_t[]){batch, ar, ac + 3}, 60, 1, 0);
    p.buf[2] = randn_t(3, (int64_t[]){b_shared ? 1 : batch, br, bc}, 61, 1, 0);
    p.buf[0] = randn_t(3, (int64_t[]){batch, M, N}, 62, 1, 0);
    p.k.a = view_in(p.buf[1], 3, (int64_t[]){batch, ar, ac}, (int64_t[]){ar * (ac + 3), ac + 3, 1}, 0);
    p.k.b = view_in(p.buf[2], 3, (int64_t[]){batch, br, bc}, (int64_t[]){b_shared ? 0 : br * bc, bc, 1}, 0);
    p.k.out = whole(p.buf[0]);
    p.k.i[0] = batch;
    p.k.i[1] = ta;
    p.k.i[2] = tb;
    p.k.s[0] = alpha;
    p.k.s[1] = beta;
    p.written = 1;
    p.reads_written = beta != 0;
    char what[96];
    snprintf(what, sizeof what, "gemm batch %lld M %lld N %lld K %lld ta %d tb %d", (long long)batch, (long long)M,
             (long long)N, (long long)K, ta, tb);
    check_parity(&p, what);
}

PARITY_TEST(gemm)
{
    for (int t = 0; t < 4; t++) {
        bool ta = t & 1, tb = t & 2;
        gemm_case(1, 33, 17, 300, ta, tb, false, 1, 0);
        gemm_case(3, 8, 65, 40, ta, tb, false, 0.5, 0.25);
        gemm_case(4, 1, 9, 7, ta, tb, true, 1, 1);
    }
#ifdef JETLAB_HAVE_CUDA
    jl_cuda_set_tf32(1); /* tensor-core TF32: ~1e-3 relative */
    cr_assert_eq(jl_cuda_tf32(), 1);
    parity p = new_parity(JL_OP_gemm, 2e-2);
    p.buf[1] = randn_t(3, (int64_t[]){1, 64, 128}, 63, 1, 0);
    p.buf[2] = randn_t(3, (int64_t[]){1, 128, 32}, 64, 1, 0);
    p.buf[0] = jl_tensor_new(JL_F32, 3, (int64_t[]){1, 64, 32}, JL_CPU);
    p.k.a = whole(p.buf[1]);
    p.k.b = whole(p.buf[2]);
    p.k.out = whole(p.buf[0]);
    p.k.i[0] = 1;
    p.k.s[0] = 1;
    p.written = 1;
    check_parity(&p, "gemm tf32");
    jl_cuda_set_tf32(0);
#endif
}

/* --- indexing ------------------------------------------------------------------------------------ */

PARITY_TEST(index_select_and_index_add)
{
    static const jl_dtype dtypes[] = {JL_F32, JL_I32, JL_I64, JL_U8};
    for (int t = 0; t < 4; t++) {
        /* out (3, 10, 4) <- a (3, 7, 4) at idx (10) with repeats, idx read with stride 2 */
        parity p = new_parity(JL_OP_index_select, 0);
        p.buf[1] = pattern_t(dtypes[t], 3, (int64_t[]){3, 7, 4}, 23, 0);
        p.buf[2] = pattern_t(JL_I64, 1, (int64_t[]){20}, 7, 0);
        p.buf[0] = jl_tensor_new(dtypes[t], 3, (int64_t[]){3, 10, 4}, JL_CPU);
        p.k.a = whole(p.buf[1]);
        p.k.b = view_in(p.buf[2], 1, (int64_t[]){10}, (int64_t[]){2}, 1);
        p.k.out = whole(p.buf[0]);
        p.written = 1;
        check_parity(&p, "index_select");

        /* out (3, 7, 4) += a (3, 10, 4) at idx (10) with repeats */
        p = new_parity(JL_OP_index_add, 1e-5);
        p.buf[1] = dtypes[t] == JL_F32 ? randn_t(3, (int64_t[]){3, 10, 4}, 70, 1, 0)
                                       : pattern_t(dtypes[t], 3, (int64_t[]){3, 10, 4}, 100, 120);
        p.buf[2] = pattern_t(JL_I64, 1, (int64_t[]){10}, 7, 0);
        p.buf[0] = pattern_t(dtypes[t], 3, (int64_t[]){3, 7, 4}, 50, 0);
        p.k.a = whole(p.buf[1]);
        p.k.b = whole(p.buf[2]);
        p.k.out = whole(p.buf[0]);
        p.written = 1;
        p.reads_written = true;
        check_parity(&p, "index_add");
    }
}

PARITY_TEST(gather_and_scatter_add)
{
    static const jl_dtype dtypes[] = {JL_F32, JL_I32, JL_I64, JL_U8};
    for (int t = 0; t < 4; t++) {
        for (int dim = 0; dim < 3; dim++) {
            /* a buffer (4, 9, 5); idx (3, 6, 4) with sizes along dim replaced by 7, values in
             * [0, size of a along dim); a seen with idx's shape outside dim (as core does) */
            int64_t abuf[3] = {4, 9, 5}, ishape[3] = {3, 6, 4};
            ishape[dim] = 7;
            int64_t av[3] = {ishape[0], ishape[1], ishape[2]};
            av[dim] = abuf[dim];
            int64_t astr[3] = {45, 5, 1};

            parity p = new_parity(JL_OP_gather, 0);
            p.buf[1] = pattern_t(dtypes[t], 3, abuf, 29, 0);
            p.buf[2] = pattern_t(JL_I64, 3, ishape, abuf[dim], 0);
            p.buf[0] = jl_tensor_new(dtypes[t], 3, ishape, JL_CPU);
            p.k.a = view_in(p.buf[1], 3, av, astr, 0);
            p.k.b = whole(p.buf[2]);
            p.k.out = whole(p.buf[0]);
            p.k.i[0] = dim;
            p.written = 1;
            check_parity(&p, "gather");

            p = new_parity(JL_OP_scatter_add, 1e-5);
            p.buf[1] = dtypes[t] == JL_F32 ? randn_t(3, ishape, 80 + dim, 1, 0)
                                           : pattern_t(dtypes[t], 3, ishape, 90, 100);
            p.buf[2] = pattern_t(JL_I64, 3, ishape, abuf[dim], 0);
            p.buf[0] = pattern_t(dtypes[t], 3, abuf, 31, 0);
            p.k.a = whole(p.buf[1]);
            p.k.b = whole(p.buf[2]);
            p.k.out = view_in(p.buf[0], 3, av, astr, 0);
            p.k.i[0] = dim;
            p.written = 1;
            p.reads_written = true;
            check_parity(&p, "scatter_add");
        }
    }
}

/* --- random ------------------------------------------------------------------------------------- */

PARITY_TEST(random_ops_draw_the_cpu_numbers)
{
    struct { jl_op op; double s0, s1; } ops[] = {
        {JL_OP_rand, -2, 3},
        {JL_OP_randn, 0.5, 2},
        {JL_OP_randint, -5, 1000},
        {JL_OP_randint, -1099511627776.0, 1099511627783.0},
        {JL_OP_bernoulli, 0.3, 0},
    };
    static const uint64_t counters[] = {0, 5, 4096 + 2, UINT64_MAX - 6};
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++) {
        for (size_t c = 0; c < sizeof counters / sizeof *counters; c++) {
            parity p = new_parity(ops[i].op, 0);
            p.buf[0] = jl_tensor_new(ops[i].op == JL_OP_randint ? JL_I64 : JL_F32, 1, (int64_t[]){1001}, JL_CPU);
            p.k.out = whole(p.buf[0]);
            p.k.s[0] = ops[i].s0;
            p.k.s[1] = ops[i].s1;
            p.k.seed = 0x9E3779B97F4A7C15ull + i;
            p.k.counter = counters[c];
            p.written = 1;
            p.max_ulp = ops[i].op == JL_OP_randn ? 1 : 0;
            check_parity(&p, jl_op_name(ops[i].op));
        }
    }
}

/* --- losses, optimizers, batch norm ------------------------------------------------------------ */

PARITY_TEST(cross_entropy_forward_and_backward)
{
    for (int backward = 0; backward < 2; backward++) {
        parity p = new_parity(backward ? JL_OP_cross_entropy_backward : JL_OP_cross_entropy, 1e-5);
        p.buf[1] = randn_t(2, (int64_t[]){37, 5}, 100, 3, 0);
        p.buf[2] = pattern_t(JL_I64, 1, (int64_t[]){37}, 5, 0);
        p.buf[3] = randn_t(1, (int64_t[]){37}, 101, 1, 0);
        p.buf[0] = backward ? jl_tensor_new(JL_F32, 2, (int64_t[]){37, 5}, JL_CPU)
                            : jl_tensor_new(JL_F32, 1, (int64_t[]){37}, JL_CPU);
        p.k.a = whole(p.buf[1]);
        p.k.b = whole(p.buf[2]);
        p.k.c = whole(p.buf[3]);
        p.k.out = whole(p.buf[0]);
        p.written = 1;
        check_parity(&p, jl_op_name(p.k.op));
    }
}

PARITY_TEST(sgd_and_adam_updates)
{
    /* lr, momentum, dampening, weight decay; nesterov, fresh buffer */
    struct { double s[4]; int64_t nesterov, fresh; } sgd[] = {
        {{0.1, 0, 0, 0}, 0, 0}, {{0.1, 0.9, 0.1, 0.01}, 0, 1}, {{0.05, 0.9, 0, 0}, 1, 0},
    };
    for (size_t i = 0; i < sizeof sgd / sizeof *sgd; i++) {
        parity p = new_parity(JL_OP_sgd_update, 1e-6);
        int64_t n = 1003;
        p.buf[0] = randn_t(1, &n, 110, 1, 0);
        p.buf[1] = randn_t(1, &n, 111, 1, 0);
        p.k.out = whole(p.buf[0]);
        p.k.a = whole(p.buf[1]);
        p.written = 1;
        if (sgd[i].s[1] != 0) {
            p.buf[2] = randn_t(1, &n, 112, 1, 0);
            p.k.b = whole(p.buf[2]);
            p.written |= 4;
        }
        memcpy(p.k.s, sgd[i].s, sizeof p.k.s);
        p.k.i[0] = sgd[i].nesterov;
        p.k.i[1] = sgd[i].fresh;
        p.reads_written = true;
        check_parity(&p, "sgd_update");
    }
    for (int64_t t = 1; t <= 7; t += 6) {
        parity p = new_parity(JL_OP_adam_update, 1e-5);
        int64_t n = 1003;
        p.buf[0] = randn_t(1, &n, 113, 1, 0);
        p.buf[1] = randn_t(1, &n, 114, 1, 0);
        p.buf[2] = randn_t(1, &n, 115, 0.1, 0);
        jl_tensor *v = randn_t(1, &n, 116, 0.1, 0);
        p.buf[3] = jl_mul(v, v);
        jl_release(v);
        p.k.out = whole(p.buf[0]);
        p.k.a = whole(p.buf[1]);
        p.k.b = whole(p.buf[2]);
        p.k.c = whole(p.buf[3]);
        p.k.s[0] = 1e-3;
        p.k.s[1] = 0.9;
        p.k.s[2] = 0.999;
        p.k.s[3] = 1e-8;
        p.k.i[0] = t;
        p.written = 1 | 4 | 8;
        p.reads_written = true;
        check_parity(&p, "adam_update");
    }
}

/* The batch-norm channel table (rows, C): mean, var (> 0), weight, bias, then zeros. */
static jl_tensor *bn_table(int rows, int64_t C)
{
    jl_tensor *t = randn_t(2, (int64_t[]){rows, C}, 120, 1, 0);
    float *p = jl_data(t);
    for (int64_t j = 0; j < C; j++) {
        p[C + j] = 0.5f + fabsf(p[C + j]);
        for (int r = 4; r < rows; r++) p[r * C + j] = 0;
    }
    return t;
}

PARITY_TEST(batchnorm)
{
    int64_t N = 1000, C = 13;
    for (int relu_first = 0; relu_first < 2; relu_first++) {
        parity s = new_parity(JL_OP_batchnorm_stats, 1e-5);
        s.buf[1] = randn_t(2, (int64_t[]){N, C}, 121, 2, relu_first ? 0.5 : 5); /* relu: some rows cut */
        s.buf[0] = jl_tensor_new(JL_F32, 2, (int64_t[]){2, C}, JL_CPU);
        s.k.a = whole(s.buf[1]);
        s.k.out = whole(s.buf[0]);
        s.k.i[0] = N;
        s.k.i[1] = C;
        s.k.i[2] = relu_first;
        s.written = 1;
        check_parity(&s, relu_first ? "batchnorm_stats of relu(a)" : "batchnorm_stats");
    }

    parity p = new_parity(JL_OP_batchnorm_forward, 1e-5);
    p.buf[1] = randn_t(2, (int64_t[]){N, C}, 122, 2, 5);
    p.buf[2] = bn_table(4, C);
    p.buf[0] = jl_tensor_new(JL_F32, 2, (int64_t[]){N, C}, JL_CPU);
    p.k.a = whole(p.buf[1]);
    p.k.b = whole(p.buf[2]);
    p.k.out = whole(p.buf[0]);
    p.k.s[0] = 1e-5;
    p.k.i[0] = N;
    p.k.i[1] = C;
    p.written = 1;
    check_parity(&p, "batchnorm_forward");

    for (int variant = 0; variant < 3; variant++) { /* batch stats, constant stats, no grad x */
        p = new_parity(JL_OP_batchnorm_backward, 1e-5);
        p.buf[1] = randn_t(2, (int64_t[]){N, C}, 123, 1, 0);
        p.buf[2] = randn_t(2, (int64_t[]){N, C}, 124, 2, 5);
        p.buf[3] = bn_table(6, C);
        p.k.a = whole(p.buf[1]);
        p.k.b = whole(p.buf[2]);
        p.k.c = whole(p.buf[3]);
        p.written = 8;
        bn_backward_common(&p, N, C, variant);
        check_parity(&p, "batchnorm_backward");
    }
}

/* --- graphs ------------------------------------------------------------------------------------- */

/* i64 CPU tensor (n) from values; +1 */
static jl_tensor *i64_from(int64_t n, const int64_t *values)
{
    jl_tensor *t = jl_from_host(JL_I64, 1, &n, values);
    cr_assert_not_null(t, "%s", jl_last_error());
    return t;
}

/* knn over integer coordinates (exact distances, many ties) in jets given by off (jets+1) */
static void knn_case(int64_t D, int64_t k, int64_t jets, const int64_t *off, int64_t mod)
{
    int64_t N = off[jets], *edges = malloc(sizeof(int64_t) * (size_t)(N + 1));
    edges[0] = 0;
    for (int64_t j = 0; j < jets; j++) {
        int64_t n = off[j + 1] - off[j], m = n - 1 < k ? n - 1 : k;
        for (int64_t r = off[j]; r < off[j + 1]; r++) edges[r + 1] = edges[r] + m;
    }
    parity p = new_parity(JL_OP_knn, 0);
    p.buf[1] = pattern_t(JL_F32, 2, (int64_t[]){N, D}, mod, 0);
    p.buf[2] = i64_from(jets + 1, off);
    p.buf[3] = i64_from(N + 1, edges);
    p.buf[0] = jl_tensor_new(JL_I64, 1, &edges[N], JL_CPU);
    p.k.a = whole(p.buf[1]);
    p.k.b = whole(p.buf[2]);
    p.k.c = whole(p.buf[3]);
    p.k.out = whole(p.buf[0]);
    p.k.i[0] = k;
    p.written = 1;
    free(edges);
    check_parity(&p, "knn");
}

PARITY_TEST(knn_and_segments)
{
    knn_case(3, 4, 5, (int64_t[]){0, 5, 5, 6, 15, 23}, 5); /* an empty and a one-row jet */
    int64_t big[9];
    for (int j = 0; j <= 8; j++) big[j] = 50 * j;
    knn_case(2, 16, 8, big, 97);

    static const int64_t seg[] = {0, 3, 3, 10, 11, 20};
    parity p = new_parity(JL_OP_segment_ids, 0);
    p.buf[1] = i64_from(6, seg);
    p.buf[0] = jl_tensor_new(JL_I64, 1, (int64_t[]){20}, JL_CPU);
    p.k.a = whole(p.buf[1]);
    p.k.out = whole(p.buf[0]);
    p.k.i[0] = 20;
    p.written = 1;
    check_parity(&p, "segment_ids");
    for (int mode = 0; mode < 3; mode++) { /* sum, mean, max: same order of additions, exact */
        p = new_parity(JL_OP_segment_reduce, 0);
        p.buf[1] = randn_t(2, (int64_t[]){20, 7}, 130, 1, 0);
        p.buf[2] = i64_from(6, seg);
        p.buf[0] = jl_tensor_new(JL_F32, 2, (int64_t[]){5, 7}, JL_CPU);
        p.k.a = whole(p.buf[1]);
        p.k.b = whole(p.buf[2]);
        p.k.out = whole(p.buf[0]);
        p.k.i[0] = mode;
        p.written = 1;
        if (mode == 2) {
            p.buf[3] = jl_tensor_new(JL_I64, 2, (int64_t[]){5, 7}, JL_CPU);
            p.k.c = whole(p.buf[3]);
            p.written |= 8;
        }
        check_parity(&p, "segment_reduce");
    }
}

/* --- EdgeConv building blocks ------------------------------------------------------------------- */

/* A ragged CSR graph over n nodes: node i has (i * 7 + 3) % (max_deg + 1) edges (some none),
 * neighbours (i * 13 + e * 5) % n (repeats, and nodes that are nobody's neighbour). *eoff (n+1)
 * and *nbr (E) i64 CPU tensors; returns E. */
static int64_t ragged_graph(int64_t n, int64_t max_deg, jl_tensor **eoff, jl_tensor **nbr)
{
    int64_t *off = malloc(sizeof(int64_t) * (size_t)(n + 1));
    off[0] = 0;
    for (int64_t i = 0; i < n; i++) off[i + 1] = off[i] + (i * 7 + 3) % (max_deg + 1);
    int64_t E = off[n], *nb = malloc(sizeof(int64_t) * (size_t)(E + 1));
    for (int64_t i = 0; i < n; i++)
        for (int64_t e = off[i]; e < off[i + 1]; e++) nb[e] = (i * 13 + e * 5) % (n > 3 ? n - 2 : n);
    *eoff = i64_from(n + 1, off);
    *nbr = i64_from(E, nb);
    free(off);
    free(nb);
    return E;
}

/* Segment offsets (S+1) over n rows, segment s holding (s * 5 + 1) % 4 rows (some empty), the
 * last one taking the rest; *S receives the count. */
static jl_tensor *ragged_segments(int64_t n, int64_t *S)
{
    int64_t cap = n + 2, *off = malloc(sizeof(int64_t) * (size_t)(cap + 1)), s = 0;
    off[0] = 0;
    while (off[s] < n && s < cap - 1) {
        int64_t next = off[s] + (s * 5 + 1) % 4;
        off[s + 1] = next < n ? next : n;
        s++;
    }
    off[s] = n;
    *S = s;
    jl_tensor *t = i64_from(s + 1, off);
    free(off);
    return t;
}

/* A graph op (E = eoff's graph) on CPU and CUDA: a = input (owned) read through a_view,
 * out (rows, cols), b = eoff and c = nbr (owned), host as in edge_gather_case. */
static void graph_op_parity(jl_op op, jl_tensor *a, jl_view a_view, int64_t rows, int64_t cols, jl_tensor *eoff,
                            jl_tensor *nbr, bool host, const char *name)
{
    parity p = new_parity(op, 0); /* adds only, in the CPU's order: exact */
    p.buf[1] = a;
    p.buf[2] = eoff;
    p.buf[3] = nbr;
    p.buf[0] = jl_tensor_new(JL_F32, 2, (int64_t[]){rows, cols}, JL_CPU);
    p.k.a = a_view;
    p.k.b = whole(p.buf[2]);
    p.k.c = whole(p.buf[3]);
    p.k.out = whole(p.buf[0]);
    p.written = 1;
    p.host = host ? 4 | 8 : 0;
    char label[96];
    snprintf(label, sizeof label, "%s%s", name, host ? ", host index arrays" : "");
    check_parity(&p, label);
}

/* edge_gather and its backward on ragged_graph(N, max_deg) with C features; host: the
 * index arrays stay on the CPU for the CUDA run (as core passes them) */
static void edge_gather_case(int64_t N, int64_t max_deg, int64_t C, bool host, uint64_t seed)
{
    jl_tensor *eoff, *nbr;
    int64_t E = ragged_graph(N, max_deg, &eoff, &nbr);
    /* forward: ab (N, 2C) a column window of (N, 2C + 3): row stride 2C + 3, offset 1 */
    jl_tensor *ab = randn_t(2, (int64_t[]){N, 2 * C + 3}, seed, 1, 0);
    jl_view ab_view = view_in(ab, 2, (int64_t[]){N, 2 * C}, (int64_t[]){2 * C + 3, 1}, 1);
    graph_op_parity(JL_OP_edge_gather, ab, ab_view, E, C, jl_retain(eoff), jl_retain(nbr), host, "edge_gather");
    /* backward: both halves summed in edge order, as the CPU */
    jl_tensor *g = randn_t(2, (int64_t[]){E, C}, seed + 1, 1, 0);
    graph_op_parity(JL_OP_edge_gather_backward, g, whole(g), N, 2 * C, eoff, nbr, host, "edge_gather_backward");
}

PARITY_TEST(edge_gather_and_backward)
{
    for (int host = 0; host < 2; host++) {
        edge_gather_case(9, 5, 5, host, 140);    /* small, nodes without edges */
        edge_gather_case(40, 9, 70, host, 142);  /* more features than a warp */
        edge_gather_case(700, 17, 33, host, 144); /* many nodes */
    }
}

/* (N, C): one line per channel over many rows; few rows, more channels than a warp */
static const int64_t bnr_shapes[][2] = {{1000, 13}, {37, 70}};

PARITY_TEST(bn_relu_forward_plain_and_segment_mean)
{
    for (int t = 0; t < 2 * (int)(sizeof bnr_shapes / sizeof *bnr_shapes); t++) { /* odd t: relu first */
        int64_t N = bnr_shapes[t / 2][0], C = bnr_shapes[t / 2][1], S;
        for (int segmented = 0; segmented < 3; segmented++) { /* none, on the device, on the host */
            /* the CPU build may contract alpha * d + beta into an FMA (-march=native): 1e-5 */
            parity p = new_parity(JL_OP_bn_relu_forward, 1e-5);
            p.buf[1] = randn_t(2, (int64_t[]){N, C}, 160 + t, 1.5, 0);
            p.buf[2] = bn_table(4, C);
            p.k.a = whole(p.buf[1]);
            p.k.b = whole(p.buf[2]);
            if (segmented) {
                p.buf[3] = ragged_segments(N, &S);
                p.k.c = whole(p.buf[3]);
                p.host = segmented == 2 ? 8 : 0;
            } else {
                S = N;
            }
            p.buf[0] = jl_tensor_new(JL_F32, 2, (int64_t[]){S, C}, JL_CPU);
            p.k.out = whole(p.buf[0]);
            p.k.s[0] = 1e-5;
            p.k.i[0] = N;
            p.k.i[1] = C;
            p.k.i[2] = t % 2;
            p.written = 1;
            static const char *const what[] = {"bn_relu_forward", "bn_relu_forward with segments",
                                               "bn_relu_forward with segments on the host"};
            char name[96];
            snprintf(name, sizeof name, "%s%s", what[segmented], t % 2 ? ", relu first" : "");
            check_parity(&p, name);
        }
    }
}

PARITY_TEST(bn_relu_backward_plain_and_segment_mean)
{
    for (int t = 0; t < 2 * (int)(sizeof bnr_shapes / sizeof *bnr_shapes); t++) { /* odd t: relu first */
        int64_t N = bnr_shapes[t / 2][0], C = bnr_shapes[t / 2][1];
        for (int segmented = 0; segmented < 3; segmented++) { /* none, on the device, on the host */
            for (int variant = 0; variant < 3; variant++) { /* batch stats, constant stats, no grad x */
                parity p = new_parity(JL_OP_bn_relu_backward, 1e-5);
                int64_t S = N;
                p.buf[2] = randn_t(2, (int64_t[]){N, C}, 170 + t, 1.5, 0);
                p.k.b = whole(p.buf[2]);
                if (segmented) { /* a = g (S, C), c = offsets, d = table */
                    p.buf[4] = ragged_segments(N, &S);
                    p.buf[1] = randn_t(2, (int64_t[]){S, C}, 180 + t, 1, 0);
                    p.buf[3] = bn_table(6, C);
                    p.k.a = whole(p.buf[1]);
                    p.k.c = whole(p.buf[4]);
                    p.k.d = whole(p.buf[3]);
                    p.written = 8;
                    p.host = segmented == 2 ? 16 : 0;
                } else { /* a = g (N, C), c = table */
                    p.buf[1] = randn_t(2, (int64_t[]){N, C}, 180 + t, 1, 0);
                    p.buf[3] = bn_table(6, C);
                    p.k.a = whole(p.buf[1]);
                    p.k.c = whole(p.buf[3]);
                    p.written = 8;
                }
                bn_backward_common(&p, N, C, variant);
                p.k.i[2] = t % 2;
                char what[112];
                static const char *const kind[] = {"", " with segments", " with segments on the host"};
                snprintf(what, sizeof what, "bn_relu_backward (%lld, %lld)%s, variant %d%s", (long long)N,
                         (long long)C, kind[segmented], variant, t % 2 ? ", relu first" : "");
                check_parity(&p, what);
            }
        }
    }
}

/* --- whole paths through core --------------------------------------------------------------------- */

static void assert_same(jl_tensor *cpu, jl_tensor *cuda, double tol, const char *what)
{
    cr_assert_not_null(cpu, "%s on cpu: %s", what, jl_last_error());
    cr_assert_not_null(cuda, "%s on cuda: %s", what, jl_last_error());
    cr_assert_eq(jl_device_of(cuda), JL_CUDA, "%s: result left the device", what);
    jl_tensor *back = jl_to_device(cuda, JL_CPU);
    cr_assert_not_null(back, "%s: %s", what, jl_last_error());
    double err = ref_max_rel_diff(back, cpu);
    cr_assert_leq(err, tol, "%s: error %g > %g", what, err, tol);
    jl_release(back);
    jl_release(cpu);
    jl_release(cuda);
}

Test(cuda_parity, strided_round_trip_and_ops_through_core)
{
    require_cuda();
    int64_t live = ref_live();
    jl_tensor *x = randn_t(3, (int64_t[]){6, 5, 4}, 90, 1, 0);
    jl_tensor *xt = jl_transpose(x, 0, 2); /* (4, 5, 6), not contiguous */
    jl_tensor *gx = jl_to_device(xt, JL_CUDA);
    cr_assert_not_null(gx, "%s", jl_last_error());
    jl_tensor *gxt = jl_transpose(gx, 1, 2); /* a strided view on the device */
    jl_tensor *cxt = jl_transpose(xt, 1, 2);
    assert_same(jl_contiguous(cxt), jl_contiguous(gxt), 0, "device transpose + contiguous");
    assert_same(jl_log_softmax(cxt, -1), jl_log_softmax(gxt, -1), 1e-5, "log_softmax of a view");
    assert_same(jl_sum(cxt, JL_ALL_DIMS, false), jl_sum(gxt, JL_ALL_DIMS, false), 1e-5, "sum of all");
    jl_tensor *w = randn_t(2, (int64_t[]){5, 7}, 91, 1, 0), *gw = jl_to_device(w, JL_CUDA);
    assert_same(jl_matmul(cxt, w), jl_matmul(gxt, gw), 1e-4, "matmul (4, 6, 5) @ (5, 7)");
    jl_tensor *b = randn_t(1, (int64_t[]){6}, 92, 1, 0), *gb = jl_to_device(b, JL_CUDA);
    jl_tensor *w2 = randn_t(2, (int64_t[]){6, 5}, 93, 1, 0), *gw2 = jl_to_device(w2, JL_CUDA);
    assert_same(jl_linear(cxt, w2, b), jl_linear(gxt, gw2, gb), 1e-4, "linear");
    jl_tensor *objs[] = {x, xt, gx, gxt, cxt, w, gw, b, gb, w2, gw2};
    for (size_t i = 0; i < sizeof objs / sizeof *objs; i++) jl_release(objs[i]);
    cr_assert_eq(ref_live(), live, "tensors leaked");
}

/* sum(log_softmax(relu(x @ w), 1) * t) for x (8, 12), w (12, 5), t (8, 5) */
static jl_tensor *small_loss(jl_tensor *x, jl_tensor *w, jl_tensor *t)
{
    jl_tensor *h = jl_matmul(x, w), *r = jl_relu(h), *l = jl_log_softmax(r, 1), *m = jl_mul(l, t);
    jl_tensor *s = jl_sum(m, JL_ALL_DIMS, false);
    jl_release(h);
    jl_release(r);
    jl_release(l);
    jl_release(m);
    return s;
}

Test(cuda_parity, autograd_through_the_device)
{
    require_cuda();
    jl_tensor *x = randn_t(2, (int64_t[]){8, 12}, 94, 1, 0), *w = randn_t(2, (int64_t[]){12, 5}, 95, 1, 0);
    jl_tensor *t = randn_t(2, (int64_t[]){8, 5}, 96, 1, 0);
    jl_tensor *gx = jl_to_device(x, JL_CUDA), *gw = jl_to_device(w, JL_CUDA), *gt = jl_to_device(t, JL_CUDA);
    x->requires_grad = w->requires_grad = gx->requires_grad = gw->requires_grad = true;
    jl_tensor *loss = small_loss(x, w, t), *gloss = small_loss(gx, gw, gt);
    cr_assert_eq(jl_backward(loss, NULL), JL_OK, "%s", jl_last_error());
    cr_assert_eq(jl_backward(gloss, NULL), JL_OK, "%s", jl_last_error());
    assert_same(jl_retain(loss), jl_retain(gloss), 1e-5, "loss");
    assert_same(jl_retain(x->grad), jl_retain(gx->grad), 1e-4, "grad x");
    assert_same(jl_retain(w->grad), jl_retain(gw->grad), 1e-4, "grad w");
    jl_tensor *objs[] = {x, w, t, gx, gw, gt, loss, gloss};
    for (size_t i = 0; i < sizeof objs / sizeof *objs; i++) jl_release(objs[i]);
}

/* The EdgeConv ops through core. Core reads and checks the graph's index tensors on the
 * host, so edge_offsets and nbr stay CPU tensors for either device (ops_edgeconv.c), and
 * it refuses batch_norm_relu's segments with x on cuda: the segment-mean form is covered
 * by the kernel cases above, and the block below takes segment_mean after an unsegmented
 * batch_norm_relu instead (the composed path of nn/edgeconv.lua). */

/* A fresh leaf holding cpu's values (cpu never requires grad) on device; +1 */
static jl_tensor *leaf_on(jl_tensor *cpu, jl_device device, bool requires_grad)
{
    jl_tensor *t = device == JL_CPU ? jl_clone(cpu) : jl_to_device(cpu, device);
    cr_assert_not_null(t, "%s", jl_last_error());
    t->requires_grad = requires_grad;
    return t;
}

/* sum(y * w) as a 0-d loss; releases nothing */
static jl_tensor *projected_sum(jl_tensor *y, jl_tensor *w)
{
    jl_tensor *m = jl_mul(y, w), *s = m ? jl_sum(m, JL_ALL_DIMS, false) : NULL;
    jl_release(m);
    cr_assert_not_null(s, "%s", jl_last_error());
    return s;
}

Test(cuda_parity, edge_gather_autograd_through_core)
{
    require_cuda();
    int64_t N = 40, C = 6;
    jl_tensor *eoff, *nbr;
    int64_t E = ragged_graph(N, 9, &eoff, &nbr);
    jl_tensor *wide = randn_t(2, (int64_t[]){N, 2 * C + 4}, 190, 1, 0);
    jl_tensor *proj = randn_t(2, (int64_t[]){E, C}, 191, 1, 0);
    jl_tensor *out[2], *grad[2];
    for (int d = 0; d < 2; d++) {
        jl_device dev = d ? JL_CUDA : JL_CPU;
        jl_tensor *w = leaf_on(wide, dev, true), *pr = leaf_on(proj, dev, false);
        jl_tensor *ab = jl_narrow(w, 1, 2, 2 * C); /* a column slice, as the Lua layers pass */
        out[d] = jl_edge_gather(ab, eoff, nbr);
        cr_assert_not_null(out[d], "edge_gather on %s: %s", jl_device_name(dev), jl_last_error());
        jl_tensor *loss = projected_sum(out[d], pr);
        cr_assert_eq(jl_backward(loss, NULL), JL_OK, "%s", jl_last_error());
        grad[d] = jl_retain(w->grad);
        jl_tensor *objs[] = {w, pr, ab, loss};
        for (size_t i = 0; i < sizeof objs / sizeof *objs; i++) jl_release(objs[i]);
    }
    assert_same(out[0], out[1], 0, "edge_gather");
    assert_same(grad[0], grad[1], 0, "edge_gather: grad of ab");
    jl_tensor *objs[] = {eoff, nbr, wide, proj};
    for (size_t i = 0; i < sizeof objs / sizeof *objs; i++) jl_release(objs[i]);
}

Test(cuda_parity, batch_norm_relu_autograd_through_core)
{
    require_cuda();
    int64_t N = 300, C = 11;
    jl_tensor *x = randn_t(2, (int64_t[]){N, C}, 200, 2, 0.5), *proj = randn_t(2, (int64_t[]){N, C}, 201, 1, 0);
    jl_tensor *w = randn_t(1, (int64_t[]){C}, 202, 0.3, 1), *b = randn_t(1, (int64_t[]){C}, 203, 0.3, 0);
    jl_tensor *rm0 = randn_t(1, (int64_t[]){C}, 204, 0.2, 0), *rv0 = randn_t(1, (int64_t[]){C}, 205, 0.1, 1);
    for (int training = 1; training >= 0; training--) {
        jl_tensor *y[2], *gx[2], *gw[2], *gb[2], *rm[2], *rv[2];
        for (int d = 0; d < 2; d++) {
            jl_device dev = d ? JL_CUDA : JL_CPU;
            jl_tensor *xd = leaf_on(x, dev, true), *wd = leaf_on(w, dev, true), *bd = leaf_on(b, dev, true);
            jl_tensor *pr = leaf_on(proj, dev, false);
            rm[d] = leaf_on(rm0, dev, false);
            rv[d] = leaf_on(rv0, dev, false);
            y[d] = jl_batch_norm_relu(xd, wd, bd, rm[d], rv[d], training, 0.1, 1e-5, NULL);
            cr_assert_not_null(y[d], "batch_norm_relu on %s: %s", jl_device_name(dev), jl_last_error());
            jl_tensor *loss = projected_sum(y[d], pr);
            cr_assert_eq(jl_backward(loss, NULL), JL_OK, "%s", jl_last_error());
            gx[d] = jl_retain(xd->grad);
            gw[d] = jl_retain(wd->grad);
            gb[d] = jl_retain(bd->grad);
            jl_tensor *objs[] = {xd, wd, bd, pr, loss};
            for (size_t i = 0; i < sizeof objs / sizeof *objs; i++) jl_release(objs[i]);
        }
        assert_same(y[0], y[1], 1e-5, training ? "batch_norm_relu (training)" : "batch_norm_relu (eval)");
        assert_same(gx[0], gx[1], 1e-4, "batch_norm_relu: grad x");
        assert_same(gw[0], gw[1], 1e-4, "batch_norm_relu: grad weight");
        assert_same(gb[0], gb[1], 1e-4, "batch_norm_relu: grad bias");
        assert_same(rm[0], rm[1], 1e-5, "batch_norm_relu: running mean");
        assert_same(rv[0], rv[1], 1e-5, "batch_norm_relu: running var");
    }
    jl_tensor *objs[] = {x, proj, w, b, rm0, rv0};
    for (size_t i = 0; i < sizeof objs / sizeof *objs; i++) jl_release(objs[i]);
}

/* --- a whole EdgeConv model on a tiny ragged batch ----------------------------------------------- */

/* ParticleNet-style: input BatchNorm; one EdgeConv block (kNN k = 3 on the first two
 * features, two edge layers through edge_gather + batch_norm_relu, mean over neighbours,
 * shortcut Linear + BatchNorm, ReLU(h + shortcut)); mean over each jet; Linear head;
 * cross entropy. Parameters in the order below. */
enum { P_BN0_W, P_BN0_B, P_WAB, P_BN1_W, P_BN1_B, P_W2, P_BN2_W, P_BN2_B, P_WSC, P_BNS_W, P_BNS_B, P_WH, P_BH,
       N_PARAMS };
static const char *const param_names[N_PARAMS] = {"bn0.w", "bn0.b", "wab", "bn1.w", "bn1.b", "w2", "bn2.w",
                                                 "bn2.b", "wsc", "bns.w", "bns.b", "head.w", "head.b"};
#define MODEL_IN 4
#define MODEL_C1 8
#define MODEL_C2 6

static jl_tensor *model_loss(jl_tensor *x, jl_tensor *const *p, jl_tensor *offsets, jl_tensor *eoff_cpu,
                             jl_tensor *nbr_cpu, jl_tensor *eoff_dev, jl_tensor *labels)
{
    jl_tensor *h0 = jl_batch_norm(x, p[P_BN0_W], p[P_BN0_B], NULL, NULL, true, 0.1, 1e-5);
    jl_tensor *ab = jl_linear(h0, p[P_WAB], NULL);                                     /* (N, 2 C1) */
    jl_tensor *z = jl_edge_gather(ab, eoff_cpu, nbr_cpu);                               /* (E, C1) */
    jl_tensor *y = jl_batch_norm_relu(z, p[P_BN1_W], p[P_BN1_B], NULL, NULL, true, 0.1, 1e-5, NULL);
    jl_tensor *z2 = jl_linear(y, p[P_W2], NULL);                                        /* (E, C2) */
    jl_tensor *y2 = jl_batch_norm_relu(z2, p[P_BN2_W], p[P_BN2_B], NULL, NULL, true, 0.1, 1e-5, NULL);
    jl_tensor *h = jl_segment_mean(y2, eoff_dev);                                       /* (N, C2) */
    jl_tensor *lin = jl_linear(h0, p[P_WSC], NULL);
    jl_tensor *sc = jl_batch_norm(lin, p[P_BNS_W], p[P_BNS_B], NULL, NULL, true, 0.1, 1e-5);
    jl_tensor *sum = jl_add(h, sc), *out = jl_relu(sum);
    jl_tensor *pooled = jl_segment_mean(out, offsets);                                  /* (B, C2) */
    jl_tensor *logits = jl_linear(pooled, p[P_WH], p[P_BH]);                            /* (B, 2) */
    jl_tensor *loss = jl_cross_entropy(logits, labels, NULL, JL_REDUCTION_MEAN);
    cr_assert_not_null(loss, "model: %s", jl_last_error());
    jl_tensor *tmp[] = {h0, ab, z, y, z2, y2, h, lin, sc, sum, out, pooled, logits};
    for (size_t i = 0; i < sizeof tmp / sizeof *tmp; i++) jl_release(tmp[i]);
    return loss;
}

Test(cuda_parity, edgeconv_model_forward_and_backward_on_a_ragged_batch)
{
    require_cuda();
    int64_t live = ref_live();
    static const int64_t jet_off[] = {0, 5, 6, 15, 18}; /* jets of 5, 1 (no edges), 9 and 3 */
    static const int64_t labels_v[] = {1, 0, 1, 0};
    int64_t B = 4, N = jet_off[B];
    jl_tensor *x = randn_t(2, (int64_t[]){N, MODEL_IN}, 210, 1.5, 0.3);
    jl_tensor *offsets = i64_from(B + 1, jet_off), *labels = i64_from(B, labels_v);
    jl_tensor *coords = jl_narrow(x, 1, 0, 2), *eoff = NULL;
    jl_tensor *nbr = jl_knn(coords, offsets, 3, &eoff); /* the graph, on the host for both devices */
    cr_assert_not_null(nbr, "%s", jl_last_error());
    static const int64_t shapes[N_PARAMS][2] = {
        {MODEL_IN, 0}, {MODEL_IN, 0}, {2 * MODEL_C1, MODEL_IN}, {MODEL_C1, 0}, {MODEL_C1, 0}, {MODEL_C2, MODEL_C1},
        {MODEL_C2, 0}, {MODEL_C2, 0}, {MODEL_C2, MODEL_IN}, {MODEL_C2, 0}, {MODEL_C2, 0}, {2, MODEL_C2}, {2, 0}};
    jl_tensor *init[N_PARAMS];
    for (int i = 0; i < N_PARAMS; i++) {
        bool bn_weight = i == P_BN0_W || i == P_BN1_W || i == P_BN2_W || i == P_BNS_W;
        int ndim = shapes[i][1] ? 2 : 1;
        init[i] = randn_t(ndim, shapes[i], 220 + i, bn_weight ? 0.2 : 0.5, bn_weight ? 1 : 0);
    }
    jl_tensor *loss[2], *grads[2][N_PARAMS + 1];
    for (int d = 0; d < 2; d++) {
        jl_device dev = d ? JL_CUDA : JL_CPU;
        jl_tensor *p[N_PARAMS];
        for (int i = 0; i < N_PARAMS; i++) p[i] = leaf_on(init[i], dev, true);
        jl_tensor *xd = leaf_on(x, dev, true), *od = leaf_on(offsets, dev, false);
        jl_tensor *ld = leaf_on(labels, dev, false), *ed = leaf_on(eoff, dev, false);
        loss[d] = model_loss(xd, p, od, eoff, nbr, ed, ld);
        cr_assert_eq(jl_backward(loss[d], NULL), JL_OK, "backward on %s: %s", jl_device_name(dev), jl_last_error());
        for (int i = 0; i < N_PARAMS; i++) {
            cr_assert_not_null(p[i]->grad, "%s: no gradient on %s", param_names[i], jl_device_name(dev));
            grads[d][i] = jl_retain(p[i]->grad);
            jl_release(p[i]);
        }
        grads[d][N_PARAMS] = jl_retain(xd->grad);
        jl_tensor *objs[] = {xd, od, ld, ed};
        for (size_t i = 0; i < sizeof objs / sizeof *objs; i++) jl_release(objs[i]);
    }
    assert_same(loss[0], loss[1], 1e-4, "model loss");
    for (int i = 0; i <= N_PARAMS; i++) {
        char what[64];
        snprintf(what, sizeof what, "model: grad of %s", i < N_PARAMS ? param_names[i] : "x");
        assert_same(grads[0][i], grads[1][i], 1e-4, what);
    }
    for (int i = 0; i < N_PARAMS; i++) jl_release(init[i]);
    jl_tensor *objs[] = {x, offsets, labels, coords, eoff, nbr};
    for (size_t i = 0; i < sizeof objs / sizeof *objs; i++) jl_release(objs[i]);
    cr_assert_eq(ref_live(), live, "tensors leaked");
}

Test(cuda_parity, rng_stream_gives_the_same_tensors_on_both_devices)
{
    require_cuda();
    int64_t shape[2] = {33, 31};
    jl_tensor *cpu[3], *cuda[3];
    for (int d = 0; d < 2; d++) {
        jl_device dev = d ? JL_CUDA : JL_CPU;
        jl_tensor **out = d ? cuda : cpu;
        jl_rng_set_state(2024, 3);
        out[0] = jl_rand(2, shape, 0, 1, dev);
        out[1] = jl_randint(2, shape, -3, 50, dev);
        out[2] = jl_randn(2, shape, 0, 1, dev);
    }
    assert_same(cpu[0], cuda[0], 0, "rand");
    assert_same(cpu[1], cuda[1], 0, "randint");
    assert_same(cpu[2], cuda[2], 1e-6, "randn");
}

#ifdef JETLAB_HAVE_CUDA
Test(cuda_parity, caching_allocator_reuses_and_empties)
{
    require_cuda();
    jl_cuda_memory before = jl_cuda_memory_stats();
    jl_tensor *t = jl_zeros(JL_F32, 1, (int64_t[]){1000}, JL_CUDA);
    cr_assert_not_null(t, "%s", jl_last_error());
    jl_cuda_memory held = jl_cuda_memory_stats();
    cr_assert_geq(held.in_use, before.in_use + 4000);
    cr_assert_geq(held.reserved, held.in_use);
    void *first = jl_data(t);
    jl_release(t);
    cr_assert_eq(jl_cuda_memory_stats().in_use, before.in_use);
    t = jl_zeros(JL_F32, 1, (int64_t[]){990}, JL_CUDA); /* same size class: the cached block */
    cr_assert_eq(jl_data(t), first, "a cached block of the same class was not reused");
    jl_release(t);
    jl_cuda_empty_cache();
    jl_cuda_memory after = jl_cuda_memory_stats();
    cr_assert_eq(after.cached_blocks, 0);
    cr_assert_eq(after.reserved, after.in_use);
}
#endif

/* --- without a device ---------------------------------------------------------------------------- */

Test(cuda_parity, cuda_tensor_without_a_device_is_an_error_naming_cuda)
{
    if (cuda_present()) cr_skip_test("a CUDA device is present");
    jl_tensor *t = jl_zeros(JL_F32, 2, (int64_t[]){2, 3}, JL_CUDA);
    cr_assert_null(t, "a CUDA tensor was created without a device");
    cr_assert(strstr(jl_last_error(), "cuda") != NULL, "message '%s' does not name cuda", jl_last_error());
    cr_assert_eq(jl_last_error_code(), JL_EDEVICE);
    jl_tensor *x = jl_zeros(JL_F32, 1, (int64_t[]){4}, JL_CPU);
    cr_assert_null(jl_to_device(x, JL_CUDA));
    cr_assert(strstr(jl_last_error(), "cuda") != NULL, "message '%s' does not name cuda", jl_last_error());
    jl_release(x);
}

/* A row of parity_cases.h naming a kernel test that does not exist does not compile. */
#define LISTED_TEST_EXISTS(name, test) (void)test##_cases;
static void __attribute__((unused)) listed_tests_exist(void) { PARITY_CASES(LISTED_TEST_EXISTS) }
#undef LISTED_TEST_EXISTS
