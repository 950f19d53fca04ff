/* ops_nn.c — batch normalisation over node tables x (N, C), with its backward.
 *
 * One forward builds a channel table (6, C) — rows mean, variance (biased),
 * weight, bias, grad bias, grad weight (core/tensor/backend/jl_ops.def) — from the batch
 * (training: batchnorm_stats) or from the running buffers (eval), plus the
 * affine parameters (ones and zeros when absent), then runs batchnorm_forward.
 * The node saves x and the table; batchnorm_backward fills the parameter
 * gradients into a copy of the table and writes the gradient of x, in one
 * kernel. Running buffers are updated in place, outside the graph, as PyTorch
 * does: running = (1 - momentum) * running + momentum * batch, the variance
 * unbiased (N / (N - 1)) for the running update but biased for normalising.
 */
#include "ops_bn.h"

jl_view jl_bn_rows(const jl_tensor *table, int64_t first, int64_t count)
{
    jl_view v = jl_view_of(table);
    v.data = (float *)v.data + first * table->shape[1];
    v.shape[0] = count;
    return v;
}

/* Checks a per-channel argument of op (may be NULL): f32, shape (C), x's device. */
static int check_channel(const char *op, const char *name, const jl_tensor *t, const jl_tensor *x)
{
    if (!t) return JL_OK;
    if (t->dtype != JL_F32) return JL_FAIL("%s: %s must be f32, got %s", op, name, jl_dtype_name(t->dtype));
    if (t->ndim != 1 || t->shape[0] != x->shape[1])
        return JL_FAIL("%s: %s has shape %s but x %s has %lld channels", op, name, jl_shape_str(t),
                       jl_shape_str(x), (long long)x->shape[1]);
    if (jl_device_of(t) != jl_device_of(x))
        return JL_FAIL("%s: %s is on %s but x is on %s", op, name, jl_device_name(jl_device_of(t)),
                       jl_device_name(jl_device_of(x)));
    return JL_OK;
}

int jl_bn_check(const char *op, const jl_tensor *x, const jl_tensor *weight, const jl_tensor *bias,
                const jl_tensor *running_mean, const jl_tensor *running_var, bool training, double momentum,
                double eps)
{
    if (x->ndim != 2) return JL_FAIL("%s: x must be (N, C), got shape %s", op, jl_shape_str(x));
    if (x->dtype != JL_F32) return JL_FAIL("%s: x must be f32, got %s", op, jl_dtype_name(x->dtype));
    int rc = check_channel(op, "weight", weight, x);
    if (!rc) rc = check_channel(op, "bias", bias, x);
    if (!rc) rc = check_channel(op, "running_mean", running_mean, x);
    if (!rc) rc = check_channel(op, "running_var", running_var, x);
    if (rc) return rc;
    if (!running_mean != !running_var)
        return JL_FAIL("%s: running_mean and running_var must be given together", op);
    if (!training && !running_mean)
        return JL_FAIL("%s: eval mode needs running_mean and running_var (or training = true)", op);
    if (training && x->shape[0] < 2)
        return JL_FAIL("%s: training needs more than one row per channel, got x of shape %s", op,
                       jl_shape_str(x));
    if (!(eps >= 0)) return JL_FAIL("%s: eps must be >= 0, got %g", op, eps);
    if (!(momentum >= 0 && momentum <= 1))
        return JL_FAIL("%s: momentum must be in [0, 1], got %g", op, momentum);
    return JL_OK;
}

/* Row `row` of table <- src (C), or value when src is NULL. */
static int set_row(jl_tensor *table, int row, jl_tensor *src, double value)
{
    jl_tensor *r = jl_select(table, 0, row);
    int rc = !r ? jl_last_error_code() : src ? jl_copy_(r, src) : jl_fill_(r, value);
    jl_release(r);
    return rc;
}

/* running (C) <- (1 - m) * running + m * scale * row `row` of table; in place, no graph. */
static int blend_into(jl_tensor *running, jl_tensor *table, int row, double m, double scale)
{
    jl_tensor *batch = jl_select(table, 0, row);
    jl_tensor *a = batch ? jl_affine(batch, m * scale, 0.0) : NULL;
    jl_tensor *b = a ? jl_affine(running, 1.0 - m, 0.0) : NULL;
    jl_tensor *sum = b ? jl_add(a, b) : NULL;
    int rc = sum ? jl_copy_(running, sum) : jl_last_error_code();
    jl_release(batch);
    jl_release(a);
    jl_release(b);
    jl_release(sum);
    return rc;
}

int jl_bn_update_running(jl_tensor *running_mean, jl_tensor *running_var, jl_tensor *table, double momentum,
                         int64_t N)
{
    int rc = blend_into(running_mean, table, ROW_MEAN, momentum, 1.0);
    if (!rc) rc = blend_into(running_var, table, ROW_VAR, momentum, (double)N / (double)(N - 1));
    return rc;
}

jl_tensor *jl_bn_table(jl_tensor *xc, jl_tensor *weight, jl_tensor *bias, jl_tensor *running_mean,
                       jl_tensor *running_var, bool training, bool relu_first)
{
    int64_t N = xc->shape[0], C = xc->shape[1];
    jl_tensor *table = jl_tensor_new(JL_F32, 2, (int64_t[]){TABLE_ROWS, C}, jl_device_of(xc));
    if (!table) return NULL;
    int rc = JL_OK;
    if (training) {
        jl_kargs k = {.op = JL_OP_batchnorm_stats, .a = jl_view_of(xc), .i = {N, C, relu_first}};
        k.out = jl_bn_rows(table, ROW_MEAN, 2);
        rc = jl_run(jl_device_of(xc), &k);
    } else {
        rc = set_row(table, ROW_MEAN, running_mean, 0.0);
        if (!rc) rc = set_row(table, ROW_VAR, running_var, 0.0);
    }
    if (!rc) rc = set_row(table, ROW_WEIGHT, weight, 1.0);
    if (!rc) rc = set_row(table, ROW_BIAS, bias, 0.0);
    if (!rc) rc = set_row(table, ROW_GRAD_BIAS, NULL, 0.0);
    if (!rc) rc = set_row(table, ROW_GRAD_WEIGHT, NULL, 0.0);
    if (rc) {
        jl_release(table);
        return NULL;
    }
    return table;
}

int jl_bn_backward_run(jl_node *node, jl_kargs *k, jl_tensor *x, jl_tensor *table, jl_tensor **grads)
{
    jl_tensor *gx = node->needs_grad[0] ? jl_empty_like(x) : NULL;
    if (node->needs_grad[0] && !gx) return jl_last_error_code();
    k->b = jl_view_of(x);
    k->s[0] = node->s[0];
    k->s[1] = node->s[1];
    k->i[0] = x->shape[0];
    k->i[1] = x->shape[1];
    if (gx) k->out = jl_view_of(gx);
    int rc = jl_run(jl_device_of(x), k);
    if (rc) {
        jl_release(gx);
        return rc;
    }
    grads[0] = gx;
    if (node->needs_grad[1] && !(grads[1] = jl_select(table, 0, ROW_GRAD_WEIGHT))) return jl_last_error_code();
    if (node->needs_grad[2] && !(grads[2] = jl_select(table, 0, ROW_GRAD_BIAS))) return jl_last_error_code();
    return JL_OK;
}

static int batch_norm_backward(jl_node *node, jl_tensor *g, jl_tensor **grads)
{
    jl_tensor *x = jl_node_saved(node, 0), *saved_table = jl_node_saved(node, 1);
    if (!x || !saved_table) return jl_last_error_code();
    jl_tensor *gc = jl_contiguous(g);
    jl_tensor *table = gc ? jl_clone(saved_table) : NULL; /* rows 4, 5 receive the parameter grads */
    int rc = table ? JL_OK : jl_last_error_code();
    if (!rc) {
        jl_kargs k = {.op = JL_OP_batchnorm_backward, .a = jl_view_of(gc), .c = jl_view_of(table)};
        rc = jl_bn_backward_run(node, &k, x, table, grads);
    }
    jl_release(gc);
    jl_release(table);
    return rc;
}

/* out (N, C) <- batch normalisation of x (N, C); see jl_ops.h */
jl_tensor *jl_batch_norm(jl_tensor *x, jl_tensor *weight, jl_tensor *bias, jl_tensor *running_mean,
                         jl_tensor *running_var, bool training, double momentum, double eps)
{
    if (jl_bn_check("batch_norm", x, weight, bias, running_mean, running_var, training, momentum, eps))
        return NULL;
    int64_t N = x->shape[0], C = x->shape[1];
    bool was_enabled = jl_set_grad_enabled(false);
    jl_tensor *xc = jl_contiguous(x);
    jl_tensor *table = xc ? jl_bn_table(xc, weight, bias, running_mean, running_var, training, false) : NULL;
    jl_tensor *out = table ? jl_tensor_new(JL_F32, 2, x->shape, jl_device_of(x)) : NULL;
    int rc = out ? JL_OK : jl_last_error_code();
    if (!rc && N * C > 0) {
        jl_kargs k = {.op = JL_OP_batchnorm_forward,
                      .a = jl_view_of(xc),
                      .out = jl_view_of(out),
                      .b = jl_bn_rows(table, ROW_MEAN, 4),
                      .s = {eps},
                      .i = {N, C}};
        rc = jl_run(jl_device_of(x), &k);
    }
    if (!rc && training && running_mean)
        rc = jl_bn_update_running(running_mean, running_var, table, momentum, N);
    jl_set_grad_enabled(was_enabled);

    jl_tensor *inputs[3] = {x, weight, bias};
    if (!rc && jl_needs_graph(3, inputs)) {
        jl_node *node = jl_node_new("batch_norm", batch_norm_backward, 3, inputs);
        if (!node) {
            rc = jl_last_error_code();
        } else {
            jl_node_save(node, xc);
            jl_node_save(node, table);
            node->s[0] = eps;
            node->s[1] = training ? 1.0 : 0.0;
            jl_attach(out, node);
        }
    }
    jl_release(xc);
    jl_release(table);
    if (rc) {
        jl_release(out);
        return NULL;
    }
    return out;
}
