/* jl_formulas.h — the formula of every elementwise op, written once for the
 * CPU kernels (kernels/cpu/elementwise.c: f32 loops and the f64 path of the
 * integer dtypes), the CUDA kernels (kernels/cuda/elementwise.cu) and the
 * inference plan's activations (kernels/cpu/plan.c). Header only, `static
 * inline`, plain C99 that nvcc also compiles for the device, as jl_philox.h.
 *
 * Op `name` of jl_ops.def has jl_f32_<name> (float) and jl_f64_<name> (double):
 *   UNARY              out = f(x, s0, s1)
 *   BINARY, COMPARE,   out = f(x, y, s0, s1)   (x from a, y from b; s0, s1 = k->s[0], k->s[1])
 *   MASK
 * A parameter an op does not use is ignored.
 *
 *   float r = jl_f32_relu(v, 0, 0);
 */
#ifndef JL_FORMULAS_H
#define JL_FORMULAS_H

#include <math.h>

#ifdef __CUDACC__
#define JL_FORMULA static inline __host__ __device__
#else
#define JL_FORMULA static inline
#endif

#define JL_MATH_F32(fn) fn##f /* expf */
#define JL_MATH_F64(fn) fn    /* exp */

/* Every formula for element type T, named jl_<P>_<op>; M(fn) names T's math function fn. */
#define JL_FORMULAS(T, P, M)                                                                             \
    /* unary */                                                                                          \
    JL_FORMULA T jl_##P##_neg(T x, T s0, T s1) { return -x; }                                            \
    JL_FORMULA T jl_##P##_exp(T x, T s0, T s1) { return M(exp)(x); }                                     \
    JL_FORMULA T jl_##P##_log(T x, T s0, T s1) { return M(log)(x); }                                     \
    JL_FORMULA T jl_##P##_sqrt(T x, T s0, T s1) { return M(sqrt)(x); }                                   \
    JL_FORMULA T jl_##P##_abs(T x, T s0, T s1) { return M(fabs)(x); }                                    \
    JL_FORMULA T jl_##P##_relu(T x, T s0, T s1) { return x > 0 ? x : (T)0; }                             \
    JL_FORMULA T jl_##P##_sigmoid(T x, T s0, T s1) { return (T)1 / ((T)1 + M(exp)(-x)); }                \
    JL_FORMULA T jl_##P##_tanh(T x, T s0, T s1) { return M(tanh)(x); }                                   \
    JL_FORMULA T jl_##P##_pow_scalar(T x, T s0, T s1) { return s0 == 2 ? x * x : M(pow)(x, s0); }        \
    JL_FORMULA T jl_##P##_clamp(T x, T s0, T s1) { return x < s0 ? s0 : (x > s1 ? s1 : x); }             \
    JL_FORMULA T jl_##P##_affine(T x, T s0, T s1) { return x * s0 + s1; }                                \
    JL_FORMULA T jl_##P##_rsub_scalar(T x, T s0, T s1) { return s0 - x; }                                \
    JL_FORMULA T jl_##P##_rdiv_scalar(T x, T s0, T s1) { return s0 / x; }                                \
    JL_FORMULA T jl_##P##_sign(T x, T s0, T s1) { return (T)((x > 0) - (x < 0)); }                       \
    /* binary; maximum and minimum propagate a NaN of a */                                               \
    JL_FORMULA T jl_##P##_add(T x, T y, T s0, T s1) { return x + y; }                                    \
    JL_FORMULA T jl_##P##_sub(T x, T y, T s0, T s1) { return x - y; }                                    \
    JL_FORMULA T jl_##P##_mul(T x, T y, T s0, T s1) { return x * y; }                                    \
    JL_FORMULA T jl_##P##_div(T x, T y, T s0, T s1) { return x / y; }                                    \
    JL_FORMULA T jl_##P##_pow(T x, T y, T s0, T s1) { return M(pow)(x, y); }                             \
    JL_FORMULA T jl_##P##_maximum(T x, T y, T s0, T s1) { return x > y || x != x ? x : y; }              \
    JL_FORMULA T jl_##P##_minimum(T x, T y, T s0, T s1) { return x < y || x != x ? x : y; }              \
    /* backward helpers: x = the incoming gradient, y = the saved input or output */                     \
    JL_FORMULA T jl_##P##_relu_backward(T x, T y, T s0, T s1) { return y > 0 ? x : (T)0; }               \
    JL_FORMULA T jl_##P##_sigmoid_backward(T x, T y, T s0, T s1) { return x * y * ((T)1 - y); }          \
    JL_FORMULA T jl_##P##_tanh_backward(T x, T y, T s0, T s1) { return x * ((T)1 - y * y); }             \
    JL_FORMULA T jl_##P##_clamp_backward(T x, T y, T s0, T s1) { return y >= s0 && y <= s1 ? x : (T)0; } \
    /* comparisons (1 or 0) and masked_fill (y = the mask) */                                            \
    JL_FORMULA T jl_##P##_eq(T x, T y, T s0, T s1) { return x == y; }                                    \
    JL_FORMULA T jl_##P##_ne(T x, T y, T s0, T s1) { return x != y; }                                    \
    JL_FORMULA T jl_##P##_lt(T x, T y, T s0, T s1) { return x < y; }                                     \
    JL_FORMULA T jl_##P##_le(T x, T y, T s0, T s1) { return x <= y; }                                    \
    JL_FORMULA T jl_##P##_gt(T x, T y, T s0, T s1) { return x > y; }                                     \
    JL_FORMULA T jl_##P##_ge(T x, T y, T s0, T s1) { return x >= y; }                                    \
    JL_FORMULA T jl_##P##_masked_fill(T x, T y, T s0, T s1) { return y != 0 ? s0 : x; }

JL_FORMULAS(float, f32, JL_MATH_F32)
JL_FORMULAS(double, f64, JL_MATH_F64)

#undef JL_FORMULAS

#endif
