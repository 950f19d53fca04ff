/* reference.h — helpers shared by the Criterion suites: tensors from literal
 * data, comparisons against naive loops, and central-difference gradient checks.
 *
 *   jl_tensor *x = ref_randn(2, (int64_t[]){3, 4}, 7, true);   // requires grad
 *   double err = ref_gradcheck(my_fn, 1, &x, NULL);
 *   cr_assert_lt(err, 1e-2);
 */
#ifndef JL_TEST_REFERENCE_H
#define JL_TEST_REFERENCE_H

#include <stdbool.h>

#include "jl_ops.h"

/* f32 CPU tensor with values drawn from a fixed-seed normal; +1. */
jl_tensor *ref_randn(int ndim, const int64_t *shape, uint64_t seed, bool requires_grad);
/* f32 CPU tensor from n host floats; +1. */
jl_tensor *ref_tensor(int ndim, const int64_t *shape, const float *values, bool requires_grad);
/* f32 value at flat row-major position i of any (strided) CPU tensor. */
double ref_at(const jl_tensor *t, int64_t i);
/* max |a - b| / (1 + |b|) over all elements (shapes must match; returns 1e30 otherwise). */
double ref_max_rel_diff(const jl_tensor *a, const jl_tensor *b);
/* Same against a plain array of expected values. */
double ref_max_rel_diff_array(const jl_tensor *a, const double *expected);

/* A scalar-valued function of n inputs used by the gradient check: returns a
 * +1 tensor of any shape (it is reduced by a fixed random projection). */
typedef jl_tensor *(*ref_fn)(jl_tensor **inputs, void *ctx);

/* Central differences (in double, step eps relative to each value's scale)
 * against autograd for every input that requires grad; returns the largest
 * normalised error max|g_auto - g_num| / max(1, max|g_num|) over all inputs.
 * Returns 1e30 when f or backward fails (the error message is printed). */
double ref_gradcheck(ref_fn f, int n, jl_tensor **inputs, void *ctx);

/* Live tensor count, for leak assertions: cr_assert_eq(ref_live(), before). */
int64_t ref_live(void);

#endif
