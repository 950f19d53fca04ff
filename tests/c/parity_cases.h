/* parity_cases.h — which Test(cuda_parity, ...) of test_cuda_parity.c
 * compares each op of core/tensor/backend/jl_ops.def between its CUDA and its
 * CPU kernel. test_op_table.c checks that every op is here, as a case or as an
 * exemption; test_cuda_parity.c checks, where a device runs it, that each
 * listed test compares exactly the ops listed for it.
 *
 * PARITY_CASES(X): X(op, test) for each op, test the name of its Test.
 * PARITY_EXEMPT(X): X(op, "reason") for an op with no parity case.
 */
#ifndef PARITY_CASES_H
#define PARITY_CASES_H

#define PARITY_CASES(X)                                                                               \
    X(copy, copy_strided_broadcast_and_converting)                                                  \
    X(fill, fill_and_arange)                                                                        \
    X(arange, fill_and_arange)                                                                      \
    X(neg, unary) X(exp, unary) X(log, unary) X(sqrt, unary) X(abs, unary) X(relu, unary)           \
    X(sigmoid, unary) X(tanh, unary) X(pow_scalar, unary) X(clamp, unary) X(affine, unary)          \
    X(rsub_scalar, unary) X(rdiv_scalar, unary) X(sign, unary)                                      \
    X(add, binary_compare_and_backward_helpers) X(sub, binary_compare_and_backward_helpers)         \
    X(mul, binary_compare_and_backward_helpers) X(div, binary_compare_and_backward_helpers)         \
    X(pow, binary_compare_and_backward_helpers) X(maximum, binary_compare_and_backward_helpers)     \
    X(minimum, binary_compare_and_backward_helpers)                                                 \
    X(eq, binary_compare_and_backward_helpers) X(ne, binary_compare_and_backward_helpers)           \
    X(lt, binary_compare_and_backward_helpers) X(le, binary_compare_and_backward_helpers)           \
    X(gt, binary_compare_and_backward_helpers) X(ge, binary_compare_and_backward_helpers)           \
    X(masked_fill, binary_compare_and_backward_helpers)                                             \
    X(relu_backward, binary_compare_and_backward_helpers)                                           \
    X(sigmoid_backward, binary_compare_and_backward_helpers)                                        \
    X(tanh_backward, binary_compare_and_backward_helpers)                                           \
    X(clamp_backward, binary_compare_and_backward_helpers)                                          \
    X(where, where)                                                                                 \
    X(sum, reductions) X(mean, reductions) X(max, reductions) X(min, reductions) X(var, reductions) \
    X(softmax, softmax_and_backward) X(log_softmax, softmax_and_backward)                           \
    X(softmax_backward, softmax_and_backward) X(log_softmax_backward, softmax_and_backward)         \
    X(gemm, gemm)                                                                                   \
    X(index_select, index_select_and_index_add) X(index_add, index_select_and_index_add)            \
    X(gather, gather_and_scatter_add) X(scatter_add, gather_and_scatter_add)                        \
    X(rand, random_ops_draw_the_cpu_numbers) X(randn, random_ops_draw_the_cpu_numbers)              \
    X(randint, random_ops_draw_the_cpu_numbers) X(bernoulli, random_ops_draw_the_cpu_numbers)       \
    X(cross_entropy, cross_entropy_forward_and_backward)                                            \
    X(cross_entropy_backward, cross_entropy_forward_and_backward)                                   \
    X(sgd_update, sgd_and_adam_updates) X(adam_update, sgd_and_adam_updates)                        \
    X(batchnorm_stats, batchnorm) X(batchnorm_forward, batchnorm) X(batchnorm_backward, batchnorm)  \
    X(knn, knn_and_segments) X(segment_ids, knn_and_segments) X(segment_reduce, knn_and_segments)   \
    X(edge_gather, edge_gather_and_backward) X(edge_gather_backward, edge_gather_and_backward)      \
    X(bn_relu_forward, bn_relu_forward_plain_and_segment_mean)                                      \
    X(bn_relu_backward, bn_relu_backward_plain_and_segment_mean)

#define PARITY_EXEMPT(X)

#endif
