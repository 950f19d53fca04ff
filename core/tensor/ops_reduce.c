/* ops_reduce.c — reductions over one dim (or all), softmax and log_softmax,
 * with their backward rules.
 *
 * Every op makes its input contiguous and views it as (outer, n, inner), n
 * being the reduced dim (dim == JL_ALL_DIMS: outer = inner = 1, n = numel),
 * then runs the backend's kernel with k.i[0..2] = outer, n, inner. The same
 * three numbers, kept in the autograd node, let every backward rule work on
 * (outer, n, inner) views whatever the dim and keepdim were.
 *
 * Dtypes: sum takes any dtype; f32 sums to f32, integer and u8 sums to i64.
 * max, min and argmax take any dtype (values keep it, indices are i64; first
 * index on ties, NaN wins). mean, var, softmax and log_softmax take f32.
 * A reduced dim of size 0 gives 0 for sum, NaN for mean and var, and an error
 * for max, min and argmax. A 0-d tensor accepts dim 0 or -1.
 */
#include <math.h>

#include "jl_ops.h"

typedef struct reduce_plan {
    int64_t outer, n, inner;
    int out_ndim;
    int64_t out_shape[JL_MAX_DIMS];
} reduce_plan;

/* Checks dim against a (JL_ALL_DIMS allowed when all_ok) and fills p. */
static int plan_reduce(const char *op, const jl_tensor *a, int dim, bool keepdim, bool all_ok, reduce_plan *p)
{
    int nd = a->ndim;
    p->outer = p->n = p->inner = 1;
    if (dim == JL_ALL_DIMS && all_ok) {
        p->n = jl_numel(a);
        p->out_ndim = keepdim ? nd : 0;
        for (int d = 0; d < nd; d++) p->out_shape[d] = 1;
        return JL_OK;
    }
    int span = nd > 0 ? nd : 1;
    if (dim < -span || dim >= span)
        return JL_FAIL("%s: dim %d out of range for shape %s (expected %d..%d)", op, dim, jl_shape_str(a),
                       -span, span - 1);
    int d0 = dim < 0 ? dim + span : dim;
    p->out_ndim = 0;
    for (int d = 0; d < nd; d++) {
        if (d < d0) p->outer *= a->shape[d];
        if (d > d0) p->inner *= a->shape[d];
        if (d == d0) p->n = a->shape[d];
        if (d != d0 || keepdim) p->out_shape[p->out_ndim++] = d == d0 ? 1 : a->shape[d];
    }
    return JL_OK;
}

static int require_f32(const char *op, const jl_tensor *a)
{
    if (a->dtype == JL_F32) return JL_OK;
    return JL_FAIL("%s: expected an f32 tensor, got %s of shape %s", op, jl_dtype_name(a->dtype),
                   jl_shape_str(a));
}

/* The kernel view of contiguous t seen with the given shape. */
static jl_view view_as(const jl_tensor *t, int ndim, const int64_t *shape)
{
    jl_view v = jl_view_of(t);
    v.ndim = ndim;
    int64_t stride = 1;
    for (int d = ndim - 1; d >= 0; d--) {
        v.shape[d] = shape[d];
        v.strides[d] = stride;
        stride *= shape[d];
    }
    return v;
}

/* Runs op with a (contiguous) seen as (outer, n, inner), and out and b (contiguous,
 * b may be NULL) seen as (outer, inner) when `reduced`, else as (outer, n, inner).
 * Skips empty work. */
static int run_plan(jl_op op, const reduce_plan *p, bool reduced, jl_tensor *out, jl_tensor *a, jl_tensor *b,
                    double s0)
{
    if (p->outer * p->n * p->inner == 0) return JL_OK;
    const int64_t full[3] = {p->outer, p->n, p->inner}, red[2] = {p->outer, p->inner};
    jl_kargs k = {.op = op, .s = {s0}, .i = {p->outer, p->n, p->inner}};
    k.a = view_as(a, 3, full);
    k.out = reduced ? view_as(out, 2, red) : view_as(out, 3, full);
    if (b) k.b = reduced ? view_as(b, 2, red) : view_as(b, 3, full);
    return jl_run(jl_device_of(a), &k);
}

/* New tensor of the plan's reduced shape from kernel op over a; *arg (may be NULL)
 * receives the i64 argument of max/min. An empty reduced dim fills with `empty_value`. */
static jl_tensor *reduce_forward(jl_op op, jl_tensor *a, const reduce_plan *p, jl_dtype out_dtype, double s0,
                                 double empty_value, jl_tensor **arg)
{
    jl_device dev = jl_device_of(a);
    if (p->n == 0) return jl_full(out_dtype, p->out_ndim, p->out_shape, empty_value, dev);
    jl_tensor *ac = jl_contiguous(a);
    jl_tensor *out = ac ? jl_tensor_new(out_dtype, p->out_ndim, p->out_shape, dev) : NULL;
    jl_tensor *idx = out && arg ? jl_tensor_new(JL_I64, p->out_ndim, p->out_shape, dev) : NULL;
    int rc = JL_ENOMEM;
    if (out && (idx || !arg)) rc = run_plan(op, p, true, out, ac, idx, s0);
    jl_release(ac);
    if (rc != JL_OK) {
        jl_release(out);
        jl_release(idx);
        return NULL;
    }
    if (arg) *arg = idx;
    return out;
}

/* Records node `name` on out over input a when a graph is needed, keeping the plan
 * in i[0..2], s0 in s[0] and saving `saved` (may be NULL). Returns out, or NULL
 * (out released) when recording fails. */
static jl_tensor *record(jl_tensor *out, jl_tensor *a, const char *name, jl_backward_fn backward,
                         const reduce_plan *p, double s0, jl_tensor *saved)
{
    if (a->dtype != JL_F32 || !jl_needs_graph(1, &a)) return out;
    jl_node *node = jl_node_new(name, backward, 1, &a);
    if (!node || (saved && jl_node_save(node, saved) < 0)) {
        jl_node_release(node);
        jl_release(out);
        return NULL;
    }
    node->i[0] = p->outer;
    node->i[1] = p->n;
    node->i[2] = p->inner;
    node->s[0] = s0;
    jl_attach(out, node);
    return out;
}

/* g (the node's reduced shape) seen as (outer, 1, inner); +1. */
static jl_tensor *grad_as_column(jl_node *node, jl_tensor *g)
{
    return jl_reshape(g, 3, (int64_t[]){node->i[0], 1, node->i[2]});
}

/* t (outer, n, inner) reshaped to the node's input shape; releases t; +1. */
static jl_tensor *to_input_shape(jl_node *node, jl_tensor *t)
{
    jl_tensor *r = t ? jl_reshape(t, node->inputs[0]->ndim, node->inputs[0]->shape) : NULL;
    jl_release(t);
    return r;
}

/* The gradient of x (input shape) from g: g*scale repeated over n (a broadcast view;
 * autograd copies it when accumulating); +1. */
static jl_tensor *spread(jl_node *node, jl_tensor *g, double scale)
{
    jl_tensor *g3 = grad_as_column(node, g);
    jl_tensor *gs = g3 && scale != 1.0 ? jl_affine(g3, scale, 0.0) : jl_retain(g3);
    jl_tensor *e = gs ? jl_expand(gs, 3, (int64_t[]){node->i[0], node->i[1], node->i[2]}) : NULL;
    jl_release(g3);
    jl_release(gs);
    return to_input_shape(node, e);
}

static int finish_grad(jl_tensor **grad_inputs, jl_tensor *g)
{
    grad_inputs[0] = g;
    return g ? JL_OK : jl_last_error_code();
}

static int sum_backward(jl_node *node, jl_tensor *g, jl_tensor **grad_inputs)
{
    return finish_grad(grad_inputs, spread(node, g, 1.0));
}

static int mean_backward(jl_node *node, jl_tensor *g, jl_tensor **grad_inputs)
{
    return finish_grad(grad_inputs, spread(node, g, 1.0 / (double)node->i[1]));
}

/* d var / dx = 2 (x - mean) / max(n - correction, 0) * g */
static int var_backward(jl_node *node, jl_tensor *g, jl_tensor **grad_inputs)
{
    double dof = fmax((double)node->i[1] - node->s[0], 0.0);
    jl_tensor *x = jl_node_saved(node, 0);
    jl_tensor *x3 = x ? jl_reshape(x, 3, (int64_t[]){node->i[0], node->i[1], node->i[2]}) : NULL;
    jl_tensor *m = x3 ? jl_mean(x3, 1, true) : NULL;
    jl_tensor *d = m ? jl_sub(x3, m) : NULL;
    jl_tensor *g3 = d ? grad_as_column(node, g) : NULL;
    jl_tensor *gs = g3 ? jl_affine(g3, 2.0 / dof, 0.0) : NULL;
    jl_tensor *r = gs ? jl_mul(d, gs) : NULL;
    jl_release(x3);
    jl_release(m);
    jl_release(d);
    jl_release(g3);
    jl_release(gs);
    return finish_grad(grad_inputs, to_input_shape(node, r));
}

/* The gradient goes to the saved argument (max or min) of each reduced row. */
static int arg_backward(jl_node *node, jl_tensor *g, jl_tensor **grad_inputs)
{
    jl_tensor *idx = jl_node_saved(node, 0);
    jl_tensor *idx3 = idx ? jl_reshape(idx, 3, (int64_t[]){node->i[0], 1, node->i[2]}) : NULL;
    jl_tensor *ar = idx3 ? jl_arange(JL_I64, 0, (double)node->i[1], 1, jl_device_of(g)) : NULL;
    jl_tensor *ar3 = ar ? jl_reshape(ar, 3, (int64_t[]){1, node->i[1], 1}) : NULL;
    jl_tensor *mask = ar3 ? jl_compare(JL_OP_eq, idx3, ar3) : NULL;
    jl_tensor *g3 = mask ? grad_as_column(node, g) : NULL;
    jl_tensor *zero = g3 ? jl_scalar_like(g, 0.0) : NULL;
    jl_tensor *r = zero ? jl_where(mask, g3, zero) : NULL;
    jl_release(idx3);
    jl_release(ar);
    jl_release(ar3);
    jl_release(mask);
    jl_release(g3);
    jl_release(zero);
    return finish_grad(grad_inputs, to_input_shape(node, r));
}

/* Runs softmax_backward / log_softmax_backward on g and the saved output y. */
static int softmax_family_backward(jl_op op, jl_node *node, jl_tensor *g, jl_tensor **grad_inputs)
{
    const reduce_plan p = {.outer = node->i[0], .n = node->i[1], .inner = node->i[2]};
    jl_tensor *y = jl_node_saved(node, 0);
    jl_tensor *gc = y ? jl_contiguous(g) : NULL;
    jl_tensor *out = gc ? jl_empty_like(y) : NULL;
    if (out && run_plan(op, &p, false, out, gc, y, 0.0) != JL_OK) {
        jl_release(out);
        out = NULL;
    }
    jl_release(gc);
    return finish_grad(grad_inputs, out);
}

static int softmax_backward(jl_node *node, jl_tensor *g, jl_tensor **grad_inputs)
{
    return softmax_family_backward(JL_OP_softmax_backward, node, g, grad_inputs);
}

static int log_softmax_backward(jl_node *node, jl_tensor *g, jl_tensor **grad_inputs)
{
    return softmax_family_backward(JL_OP_log_softmax_backward, node, g, grad_inputs);
}

/* --- public ops ---------------------------------------------------------- */

/* out (reduced shape) <- sum of a over dim */
jl_tensor *jl_sum(jl_tensor *a, int dim, bool keepdim)
{
    reduce_plan p;
    if (plan_reduce("sum", a, dim, keepdim, true, &p) != JL_OK) return NULL;
    jl_dtype out_dtype = a->dtype == JL_F32 ? JL_F32 : JL_I64;
    jl_tensor *out = reduce_forward(JL_OP_sum, a, &p, out_dtype, 0.0, 0.0, NULL);
    return out ? record(out, a, "sum", sum_backward, &p, 0.0, NULL) : NULL;
}

/* out (reduced shape) <- mean of a over dim */
jl_tensor *jl_mean(jl_tensor *a, int dim, bool keepdim)
{
    reduce_plan p;
    if (require_f32("mean", a) != JL_OK || plan_reduce("mean", a, dim, keepdim, true, &p) != JL_OK)
        return NULL;
    jl_tensor *out = reduce_forward(JL_OP_mean, a, &p, JL_F32, 0.0, NAN, NULL);
    return out ? record(out, a, "mean", mean_backward, &p, 0.0, NULL) : NULL;
}

/* out (reduced shape) <- max or min of a over dim; *indices (i64) when asked;
 * records a node only when `differentiable`. */
static jl_tensor *arg_reduce(jl_op op, jl_tensor *a, int dim, bool keepdim, jl_tensor **indices,
                             bool differentiable)
{
    const char *name = jl_op_name(op);
    reduce_plan p;
    if (plan_reduce(name, a, dim, keepdim, true, &p) != JL_OK) return NULL;
    if (p.n == 0) {
        JL_FAIL("%s: cannot reduce over an empty dim of shape %s", name, jl_shape_str(a));
        return NULL;
    }
    jl_tensor *idx = NULL;
    jl_tensor *out = reduce_forward(op, a, &p, a->dtype, 0.0, 0.0, &idx);
    if (out && differentiable) out = record(out, a, name, arg_backward, &p, 0.0, idx);
    if (out && indices) *indices = idx;
    else jl_release(idx);
    return out;
}

jl_tensor *jl_max(jl_tensor *a, int dim, bool keepdim, jl_tensor **indices)
{
    return arg_reduce(JL_OP_max, a, dim, keepdim, indices, true);
}

jl_tensor *jl_min(jl_tensor *a, int dim, bool keepdim, jl_tensor **indices)
{
    return arg_reduce(JL_OP_min, a, dim, keepdim, indices, true);
}

/* out (reduced shape, i64) <- position of the max of a over dim */
jl_tensor *jl_argmax(jl_tensor *a, int dim, bool keepdim)
{
    jl_tensor *idx = NULL;
    jl_tensor *values = arg_reduce(JL_OP_max, a, dim, keepdim, &idx, false);
    jl_release(values);
    return values ? idx : NULL;
}

/* out (reduced shape) <- variance of a over dim with the given correction */
jl_tensor *jl_var(jl_tensor *a, int dim, bool keepdim, int correction)
{
    reduce_plan p;
    if (require_f32("var", a) != JL_OK || plan_reduce("var", a, dim, keepdim, true, &p) != JL_OK) return NULL;
    if (correction < 0) {
        JL_FAIL("var: correction must be >= 0, got %d", correction);
        return NULL;
    }
    jl_tensor *out = reduce_forward(JL_OP_var, a, &p, JL_F32, correction, NAN, NULL);
    return out ? record(out, a, "var", var_backward, &p, correction, a) : NULL;
}

/* out (shape of a) <- softmax or log_softmax of a over dim */
static jl_tensor *softmax_family(jl_op op, jl_backward_fn backward, jl_tensor *a, int dim)
{
    const char *name = jl_op_name(op);
    reduce_plan p;
    if (require_f32(name, a) != JL_OK || plan_reduce(name, a, dim, false, false, &p) != JL_OK) return NULL;
    jl_tensor *ac = jl_contiguous(a);
    jl_tensor *out = ac ? jl_empty_like(a) : NULL;
    int rc = out ? run_plan(op, &p, false, out, ac, NULL, 0.0) : JL_ENOMEM;
    jl_release(ac);
    if (rc != JL_OK) {
        jl_release(out);
        return NULL;
    }
    return record(out, a, name, backward, &p, 0.0, out);
}

jl_tensor *jl_softmax(jl_tensor *a, int dim)
{
    return softmax_family(JL_OP_softmax, softmax_backward, a, dim);
}

jl_tensor *jl_log_softmax(jl_tensor *a, int dim)
{
    return softmax_family(JL_OP_log_softmax, log_softmax_backward, a, dim);
}
