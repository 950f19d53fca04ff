/* ops_index.c — index_select, gather, scatter_add and index_add, with autograd.
 *
 * Index tensors are i64 (i32 is converted), on the operand's device, and every
 * value is checked against the indexed dim before a kernel runs; negative
 * values are errors, never wrapped. Operands are made contiguous and shown to
 * the kernels as jl_ops.def describes: index_select/index_add as
 * (outer, n, inner) views with a 1-D index, gather/scatter_add as N-d views of
 * the index's shape (the indexed operand keeps its own size along dim, given
 * in i[0]). An index may be smaller than the operand outside dim, as in torch.
 *
 * Gradients: index_select -> index_add into zeros; gather -> scatter_add into
 * zeros; scatter_add and index_add pass the gradient through to a and gather /
 * index_select it for src. The index is saved on the node, never differentiated.
 */
#include <stdlib.h>
#include <string.h>

#include "jl_ops.h"

/* --- checks ------------------------------------------------------------------ */

/* Normalised dim of a (rank >= 1), or -1 with an error. */
static int operand_dim(const char *op, const jl_tensor *a, int dim)
{
    if (a->ndim < 1) {
        JL_FAIL("%s: a must have at least one dim, got a scalar", op);
        return -1;
    }
    return jl_norm_dim(op, dim, a->ndim);
}

/* Index tensor for the kernels: i64, contiguous, on a's device; +1 or NULL. */
static jl_tensor *index_prepare(const char *op, jl_tensor *index, const jl_tensor *a)
{
    if (jl_device_of(index) != jl_device_of(a)) {
        JL_FAIL_CODE(JL_EDEVICE, "%s: index is on %s but a is on %s", op, jl_device_name(jl_device_of(index)),
                     jl_device_name(jl_device_of(a)));
        return NULL;
    }
    if (index->dtype == JL_I64) return jl_contiguous(index);
    if (index->dtype == JL_I32) return jl_to_dtype(index, JL_I64);
    JL_FAIL("%s: index must be i64 or i32, got %s", op, jl_dtype_name(index->dtype));
    return NULL;
}

/* Every value of idx (prepared) lies in [0, a->shape[dim]). */
static int index_check_range(const char *op, const jl_tensor *idx, int dim, const jl_tensor *a)
{
    int64_t n = jl_numel(idx), size = a->shape[dim];
    if (n == 0) return JL_OK;
    const int64_t *values = jl_data(idx);
    int64_t *host = NULL;
    if (jl_device_of(idx) != JL_CPU) {
        const jl_backend *be = jl_backend_for(jl_device_of(idx));
        if (!be) return jl_last_error_code();
        host = malloc((size_t)n * sizeof *host);
        if (!host)
            return JL_FAIL_CODE(JL_ENOMEM, "%s: out of host memory to check %lld indices", op, (long long)n);
        if (be->to_host(host, values, (size_t)n * sizeof *host)) {
            free(host);
            return JL_FAIL_CODE(JL_EDEVICE, "%s: could not copy the index to the host for checking", op);
        }
        values = host;
    }
    int rc = JL_OK;
    for (int64_t i = 0; i < n; i++) {
        if (values[i] < 0 || values[i] >= size) {
            rc = JL_FAIL("%s: index %lld out of range for dim %d of size %lld (tensor %s)", op,
                         (long long)values[i], dim, (long long)size, jl_shape_str(a));
            break;
        }
    }
    free(host);
    return rc;
}

/* index has a's rank and is no larger than a outside dim (gather, scatter_add). */
static int check_index_fits(const char *op, const jl_tensor *index, int dim, const jl_tensor *a)
{
    if (index->ndim != a->ndim)
        return JL_FAIL("%s: index %s must have the rank of a %s", op, jl_shape_str(index), jl_shape_str(a));
    for (int d = 0; d < a->ndim; d++)
        if (d != dim && index->shape[d] > a->shape[d])
            return JL_FAIL("%s: index %s is larger than a %s in dim %d", op, jl_shape_str(index),
                           jl_shape_str(a), d);
    return JL_OK;
}

static int check_same_dtype(const char *op, const jl_tensor *src, const jl_tensor *a)
{
    if (src->dtype != a->dtype)
        return JL_FAIL("%s: src is %s but a is %s", op, jl_dtype_name(src->dtype), jl_dtype_name(a->dtype));
    if (jl_device_of(src) != jl_device_of(a))
        return JL_FAIL_CODE(JL_EDEVICE, "%s: src is on %s but a is on %s", op,
                            jl_device_name(jl_device_of(src)), jl_device_name(jl_device_of(a)));
    return JL_OK;
}

/* --- kernel views -------------------------------------------------------------- */

/* t (contiguous) as (outer, t->shape[dim], inner). */
static jl_view view_3d(const jl_tensor *t, int dim)
{
    jl_view v = jl_view_of(t);
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < dim; d++) outer *= t->shape[d];
    for (int d = dim + 1; d < t->ndim; d++) inner *= t->shape[d];
    v.ndim = 3;
    v.shape[0] = outer;
    v.shape[1] = t->shape[dim];
    v.shape[2] = inner;
    v.strides[0] = t->shape[dim] * inner;
    v.strides[1] = inner;
    v.strides[2] = 1;
    return v;
}

/* t (contiguous) restricted to idx's shape outside dim, whole along dim. */
static jl_view view_fitted(const jl_tensor *t, int dim, const jl_tensor *idx)
{
    jl_view v = jl_view_of(t);
    for (int d = 0; d < t->ndim; d++)
        if (d != dim) v.shape[d] = idx->shape[d];
    return v;
}

/* Runs a kernel unless there is nothing to do. */
static int run_kernel(const jl_tensor *out, jl_kargs *k)
{
    if (jl_numel(out) == 0 || jl_view_numel(&k->b) == 0) return JL_OK;
    return jl_run(jl_device_of(out), k);
}

/* --- forward computations (grad mode off, inputs checked) -------------------------- */

/* out (.., m, ..) <- a (.., n, ..) at idx (m) along dim */
static jl_tensor *compute_index_select(jl_tensor *a, int dim, jl_tensor *idx)
{
    int64_t shape[JL_MAX_DIMS];
    for (int d = 0; d < a->ndim; d++) shape[d] = d == dim ? idx->shape[0] : a->shape[d];
    jl_tensor *ac = jl_contiguous(a);
    jl_tensor *out = ac ? jl_tensor_new(a->dtype, a->ndim, shape, jl_device_of(a)) : NULL;
    if (out) {
        jl_kargs k = {
            .op = JL_OP_index_select, .out = view_3d(out, dim), .a = view_3d(ac, dim), .b = jl_view_of(idx)};
        if (run_kernel(out, &k)) {
            jl_release(out);
            out = NULL;
        }
    }
    jl_release(ac);
    return out;
}

/* out (idx's shape) <- a (any size along dim) at idx along dim */
static jl_tensor *compute_gather(jl_tensor *a, int dim, jl_tensor *idx)
{
    jl_tensor *ac = jl_contiguous(a);
    jl_tensor *out = ac ? jl_tensor_new(a->dtype, idx->ndim, idx->shape, jl_device_of(a)) : NULL;
    if (out) {
        jl_kargs k = {.op = JL_OP_gather,
                      .out = jl_view_of(out),
                      .a = view_fitted(ac, dim, idx),
                      .b = jl_view_of(idx),
                      .i = {dim}};
        if (run_kernel(out, &k)) {
            jl_release(out);
            out = NULL;
        }
    }
    jl_release(ac);
    return out;
}

/* A copy of a with src added at idx along dim: op is index_add (idx (m), src
 * (.., m, ..)) or scatter_add (idx and src of one shape). */
static jl_tensor *compute_accumulate(jl_op op, jl_tensor *a, int dim, jl_tensor *idx, jl_tensor *src)
{
    jl_tensor *sc = jl_contiguous(src);
    jl_tensor *out = sc ? jl_clone(a) : NULL;
    if (out) {
        jl_kargs k = {.op = op, .b = jl_view_of(idx), .i = {dim}};
        if (op == JL_OP_index_add) {
            k.out = view_3d(out, dim);
            k.a = view_3d(sc, dim);
        } else {
            k.out = view_fitted(out, dim, idx);
            k.a = jl_view_of(sc);
        }
        if (run_kernel(out, &k)) {
            jl_release(out);
            out = NULL;
        }
    }
    jl_release(sc);
    return out;
}

/* --- autograd ------------------------------------------------------------------ */

/* Records out's node: inputs, the index (saved), dim and a's shape in i[]. Returns
 * out, or NULL (out released) on failure. */
static jl_tensor *record(jl_tensor *out, const char *op, jl_backward_fn backward, int n,
                         jl_tensor *const *inputs, jl_tensor *idx, int dim)
{
    jl_node *node = jl_node_new(op, backward, n, inputs);
    if (!node) {
        jl_release(out);
        return NULL;
    }
    jl_node_save(node, idx);
    const jl_tensor *a = inputs[0];
    node->i[0] = dim;
    node->i[1] = a->ndim;
    for (int d = 0; d < a->ndim; d++) node->i[2 + d] = a->shape[d];
    jl_attach(out, node);
    return out;
}

/* a gets g added at the index into zeros of a's recorded shape (index_add for
 * index_select, scatter_add for gather). */
static int into_zeros_backward(jl_node *node, jl_tensor *g, jl_tensor **grads,
                               jl_tensor *(*add)(jl_tensor *, int, jl_tensor *, jl_tensor *))
{
    jl_tensor *idx = jl_node_saved(node, 0);
    jl_tensor *zeros = idx ? jl_zeros(g->dtype, (int)node->i[1], &node->i[2], jl_device_of(g)) : NULL;
    if (!zeros) return jl_last_error_code();
    grads[0] = add(zeros, (int)node->i[0], idx, g);
    jl_release(zeros);
    return grads[0] ? JL_OK : jl_last_error_code();
}

static int index_select_backward(jl_node *node, jl_tensor *g, jl_tensor **grads)
{
    return into_zeros_backward(node, g, grads, jl_index_add);
}

static int gather_backward(jl_node *node, jl_tensor *g, jl_tensor **grads)
{
    return into_zeros_backward(node, g, grads, jl_scatter_add);
}

/* a gets g unchanged; src gets g read back at the index (index_select for
 * index_add, gather for scatter_add). */
static int accumulate_backward(jl_node *node, jl_tensor *g, jl_tensor **grads,
                               jl_tensor *(*read_back)(jl_tensor *, int, jl_tensor *))
{
    jl_tensor *idx = jl_node_saved(node, 0);
    if (!idx) return jl_last_error_code();
    if (node->needs_grad[0]) grads[0] = jl_retain(g);
    if (node->needs_grad[1]) {
        grads[1] = read_back(g, (int)node->i[0], idx);
        if (!grads[1]) return jl_last_error_code();
    }
    return JL_OK;
}

static int scatter_add_backward(jl_node *node, jl_tensor *g, jl_tensor **grads)
{
    return accumulate_backward(node, g, grads, jl_gather);
}

static int index_add_backward(jl_node *node, jl_tensor *g, jl_tensor **grads)
{
    return accumulate_backward(node, g, grads, jl_index_select);
}

/* --- public ops ------------------------------------------------------------------ */

/* Common prologue: a, index (and src when wanted) present, dim normalised. */
static int begin(const char *op, jl_tensor *a, int dim, jl_tensor *index, bool want_src, jl_tensor *src,
                 int *d)
{
    if (!a || !index || (want_src && !src)) return JL_FAIL("%s: missing tensor argument", op);
    *d = operand_dim(op, a, dim);
    return *d < 0 ? JL_EARG : JL_OK;
}

/* After the shape checks: prepare and range-check the index, compute with grad
 * mode off, record the node. src is NULL for index_select and gather. */
static jl_tensor *index_op(const char *op, jl_op kop, jl_backward_fn backward, jl_tensor *a, int d,
                           jl_tensor *index, jl_tensor *src)
{
    if (src && check_same_dtype(op, src, a)) return NULL;
    jl_tensor *idx = index_prepare(op, index, a);
    if (!idx) return NULL;
    jl_tensor *out = NULL;
    if (!index_check_range(op, idx, d, a)) {
        jl_tensor *inputs[2] = {a, src};
        int n = src ? 2 : 1;
        bool graph = jl_needs_graph(n, inputs);
        bool was = jl_set_grad_enabled(false);
        switch (kop) {
        case JL_OP_index_select: out = compute_index_select(a, d, idx); break;
        case JL_OP_gather: out = compute_gather(a, d, idx); break;
        default: out = compute_accumulate(kop, a, d, idx, src); break;
        }
        jl_set_grad_enabled(was);
        if (out && graph) out = record(out, op, backward, n, inputs, idx, d);
    }
    jl_release(idx);
    return out;
}

jl_tensor *jl_index_select(jl_tensor *a, int dim, jl_tensor *index)
{
    static const char op[] = "index_select";
    int d;
    if (begin(op, a, dim, index, false, NULL, &d)) return NULL;
    if (index->ndim != 1) {
        JL_FAIL("%s: index must be 1-D, got %s", op, jl_shape_str(index));
        return NULL;
    }
    return index_op(op, JL_OP_index_select, index_select_backward, a, d, index, NULL);
}

jl_tensor *jl_gather(jl_tensor *a, int dim, jl_tensor *index)
{
    static const char op[] = "gather";
    int d;
    if (begin(op, a, dim, index, false, NULL, &d) || check_index_fits(op, index, d, a)) return NULL;
    return index_op(op, JL_OP_gather, gather_backward, a, d, index, NULL);
}

jl_tensor *jl_scatter_add(jl_tensor *a, int dim, jl_tensor *index, jl_tensor *src)
{
    static const char op[] = "scatter_add";
    int d;
    if (begin(op, a, dim, index, true, src, &d) || check_index_fits(op, index, d, a)) return NULL;
    if (src->ndim != index->ndim ||
        memcmp(src->shape, index->shape, (size_t)src->ndim * sizeof src->shape[0])) {
        JL_FAIL("%s: src %s must have the shape of index %s", op, jl_shape_str(src), jl_shape_str(index));
        return NULL;
    }
    return index_op(op, JL_OP_scatter_add, scatter_add_backward, a, d, index, src);
}

jl_tensor *jl_index_add(jl_tensor *a, int dim, jl_tensor *index, jl_tensor *src)
{
    static const char op[] = "index_add";
    int d;
    if (begin(op, a, dim, index, true, src, &d)) return NULL;
    if (index->ndim != 1) {
        JL_FAIL("%s: index must be 1-D, got %s", op, jl_shape_str(index));
        return NULL;
    }
    bool fits = src->ndim == a->ndim;
    for (int k = 0; fits && k < a->ndim; k++)
        fits = src->shape[k] == (k == d ? index->shape[0] : a->shape[k]);
    if (!fits) {
        JL_FAIL("%s: src %s must have the shape of a %s with the index's length %lld in dim %d", op,
                jl_shape_str(src), jl_shape_str(a), (long long)index->shape[0], d);
        return NULL;
    }
    return index_op(op, JL_OP_index_add, index_add_backward, a, d, index, src);
}
