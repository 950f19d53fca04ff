/* ops_bn.h — what the two batch-norm ops share (core-internal): ops_nn.c's
 * batch_norm and ops_edgeconv.c's fused batch_norm_relu use one channel
 * table (6, C) — rows mean, variance (biased), weight, bias, grad bias, grad
 * weight (core/tensor/backend/jl_ops.def) — the same argument checks and the same running
 * buffer update. Implemented in ops_nn.c.
 *
 *   if (jl_bn_check("batch_norm_relu", x, weight, bias, rm, rv, training, momentum, eps)) return NULL;
 *   jl_tensor *table = jl_bn_table(xc, weight, bias, rm, rv, training, false);   // +1
 *   ... kernel with .b = jl_bn_rows(table, ROW_MEAN, 4) ...
 *   if (training && rm) rc = jl_bn_update_running(rm, rv, table, momentum, N);
 */
#ifndef JL_OPS_BN_H
#define JL_OPS_BN_H

#include "jl_ops.h"

enum { ROW_MEAN, ROW_VAR, ROW_WEIGHT, ROW_BIAS, ROW_GRAD_BIAS, ROW_GRAD_WEIGHT, TABLE_ROWS };

/* Kernel view of `count` rows of the contiguous table (6, C) starting at `first`. */
jl_view jl_bn_rows(const jl_tensor *table, int64_t first, int64_t count);

/* JL_OK, or an error naming op: x f32 (N, C); weight, bias, running_mean,
 * running_var each NULL or f32 (C) on x's device; the running buffers both or
 * neither, and given in eval mode; N >= 2 when training; eps >= 0; momentum
 * in [0, 1]. */
int jl_bn_check(const char *op, const jl_tensor *x, const jl_tensor *weight, const jl_tensor *bias,
                const jl_tensor *running_mean, const jl_tensor *running_var, bool training, double momentum,
                double eps);

/* The channel table (6, C) for xc (N, C) contiguous: the batch statistics
 * (of relu(xc) when relu_first) when training, else the running buffers; weight
 * and bias (ones and zeros when NULL); zeroed gradient rows. A new +1 tensor, or NULL. */
jl_tensor *jl_bn_table(jl_tensor *xc, jl_tensor *weight, jl_tensor *bias, jl_tensor *running_mean,
                       jl_tensor *running_var, bool training, bool relu_first);

/* The rest of a batch-norm node's backward once the caller has set k's op and views a
 * and c (the incoming gradient and the channel table, as its kernel reads them): b = x
 * (N, C), s from node->s (eps, batch statistics), i = {N, C}, out = a new grad of x when
 * input 0 needs one; runs k on x's device and hands out grads[0] (x), grads[1] (weight)
 * and grads[2] (bias, both selected from table's rows). JL_OK or the error code. */
int jl_bn_backward_run(jl_node *node, jl_kargs *k, jl_tensor *x, jl_tensor *table, jl_tensor **grads);

/* running (C) <- (1 - momentum) * running + momentum * batch, in place and
 * outside the graph, the variance unbiased (N / (N - 1)); borrows all. */
int jl_bn_update_running(jl_tensor *running_mean, jl_tensor *running_var, jl_tensor *table, double momentum,
                         int64_t N);

#endif
