/* ops_copy.c — copies: contiguous, clone, dtype conversion, in-place copy and
 * fill, cat and stack. */
#include <stdlib.h>

#include "jl_ops.h"

static int identity_backward(jl_node *node, jl_tensor *g, jl_tensor **grads)
{
    grads[0] = jl_retain(g);
    return JL_OK;
}

/* out <- in on their (same) device; out is fresh so no version bump is needed. */
static int copy_into(jl_tensor *out, jl_tensor *in)
{
    if (jl_device_of(out) != jl_device_of(in))
        return JL_FAIL_CODE(JL_EDEVICE, "copy: tensors on %s and %s; move one first",
                            jl_device_name(jl_device_of(out)), jl_device_name(jl_device_of(in)));
    jl_kargs k = {.op = JL_OP_copy, .out = jl_view_of(out), .a = jl_view_of(in)};
    return jl_run(jl_device_of(out), &k);
}

static jl_tensor *copy_as(jl_tensor *t, jl_dtype dtype, const char *name)
{
    jl_tensor *out = jl_tensor_new(dtype, t->ndim, t->shape, jl_device_of(t));
    if (!out) return NULL;
    if (copy_into(out, t)) {
        jl_release(out);
        return NULL;
    }
    if (dtype == JL_F32 && t->dtype == JL_F32 && jl_needs_graph(1, &t)) {
        jl_node *node = jl_node_new(name, identity_backward, 1, &t);
        if (!node) {
            jl_release(out);
            return NULL;
        }
        jl_attach(out, node);
    }
    return out;
}

jl_tensor *jl_clone(jl_tensor *t) { return copy_as(t, t->dtype, "clone"); }

jl_tensor *jl_contiguous(jl_tensor *t)
{
    return jl_is_contiguous(t) ? jl_retain(t) : copy_as(t, t->dtype, "contiguous");
}

jl_tensor *jl_to_dtype(jl_tensor *t, jl_dtype dtype)
{
    if ((unsigned)dtype >= JL_DTYPE_COUNT) {
        JL_FAIL("to: unknown dtype %d", (int)dtype);
        return NULL;
    }
    return copy_as(t, dtype, "to");
}

static int check_writable(const char *op, jl_tensor *dst)
{
    if (dst->requires_grad && jl_grad_enabled())
        return JL_FAIL(
            "%s: in-place write into a tensor that requires grad (wrap it in no_grad or detach it)", op);
    return JL_OK;
}

int jl_copy_(jl_tensor *dst, jl_tensor *src)
{
    if (check_writable("copy_", dst)) return JL_EARG;
    jl_tensor *b = jl_expand(src, dst->ndim, dst->shape);
    if (!b) return jl_error_wrap("copy_");
    int rc = copy_into(dst, b);
    jl_release(b);
    dst->storage->version++;
    return rc;
}

int jl_fill_(jl_tensor *dst, double value)
{
    if (check_writable("fill_", dst)) return JL_EARG;
    jl_kargs k = {.op = JL_OP_fill, .out = jl_view_of(dst), .s = {value}};
    dst->storage->version++;
    return jl_run(jl_device_of(dst), &k);
}

/* --- cat / stack -------------------------------------------------------------- */
static int cat_backward(jl_node *node, jl_tensor *g, jl_tensor **grads)
{
    int dim = (int)node->s[0];
    int64_t start = 0;
    for (int i = 0; i < node->n_inputs; i++) {
        int64_t len = node->i[i];
        if (node->needs_grad[i]) {
            grads[i] = jl_narrow(g, dim, start, len);
            if (!grads[i]) return jl_last_error_code();
        }
        start += len;
    }
    return JL_OK;
}

static int check_cat(int n, jl_tensor *const *ts, int dim)
{
    const jl_tensor *first = ts[0];
    for (int i = 1; i < n; i++) {
        const jl_tensor *t = ts[i];
        if (t->dtype != first->dtype || jl_device_of(t) != jl_device_of(first))
            return JL_FAIL("cat: tensor %d is %s on %s but tensor 1 is %s on %s", i + 1,
                           jl_dtype_name(t->dtype), jl_device_name(jl_device_of(t)),
                           jl_dtype_name(first->dtype), jl_device_name(jl_device_of(first)));
        if (t->ndim != first->ndim)
            return JL_FAIL("cat: tensor %d has shape %s but tensor 1 has %s", i + 1, jl_shape_str(t),
                           jl_shape_str(first));
        for (int d = 0; d < t->ndim; d++)
            if (d != dim && t->shape[d] != first->shape[d])
                return JL_FAIL(
                    "cat: tensor %d has shape %s but tensor 1 has %s (they may differ only in dim %d)", i + 1,
                    jl_shape_str(t), jl_shape_str(first), dim + 1);
    }
    return JL_OK;
}

static int attach_cat(jl_tensor *out, int n, jl_tensor *const *ts, int dim);

jl_tensor *jl_cat(int n, jl_tensor *const *ts, int dim)
{
    if (n < 1) {
        JL_FAIL("cat: needs at least one tensor");
        return NULL;
    }
    if (ts[0]->ndim == 0) {
        JL_FAIL("cat: cannot concatenate 0-d tensors (use stack)");
        return NULL;
    }
    dim = jl_norm_dim("cat", dim, ts[0]->ndim);
    if (dim < 0 || check_cat(n, ts, dim)) return NULL;
    int64_t shape[JL_MAX_DIMS];
    for (int d = 0; d < ts[0]->ndim; d++) shape[d] = ts[0]->shape[d];
    shape[dim] = 0;
    for (int i = 0; i < n; i++) shape[dim] += ts[i]->shape[dim];
    jl_tensor *out = jl_tensor_new(ts[0]->dtype, ts[0]->ndim, shape, jl_device_of(ts[0]));
    if (!out) return NULL;
    int64_t start = 0;
    for (int i = 0; i < n; i++) {
        jl_tensor *window = jl_narrow(out, dim, start, ts[i]->shape[dim]);
        int rc = window ? copy_into(window, ts[i]) : JL_EARG;
        jl_release(window);
        if (rc) {
            jl_release(out);
            return NULL;
        }
        start += ts[i]->shape[dim];
    }
    if (jl_needs_graph(n, ts) && attach_cat(out, n, ts, dim)) {
        jl_release(out);
        return NULL;
    }
    return out;
}

/* Attaches cat's backward to out = cat(ts) along dim, its values already copied. A node
 * holds at most JL_NODE_MAX_INPUTS inputs, so a longer cat gets a tree of nodes whose
 * inner ones hang on views of out (each a group's window): the values are copied once,
 * and each input's gradient is a view of out's. */
static int attach_cat(jl_tensor *out, int n, jl_tensor *const *ts, int dim)
{
    if (n <= JL_NODE_MAX_INPUTS) {
        jl_node *node = jl_node_new("cat", cat_backward, n, ts);
        if (!node) return jl_last_error_code();
        node->s[0] = dim;
        for (int i = 0; i < n; i++) node->i[i] = ts[i]->shape[dim];
        jl_attach(out, node);
        return JL_OK;
    }
    int groups = (n + JL_NODE_MAX_INPUTS - 1) / JL_NODE_MAX_INPUTS, made = 0, rc = JL_OK;
    jl_tensor **parts = calloc((size_t)groups, sizeof *parts);
    if (!parts) return JL_FAIL_CODE(JL_ENOMEM, "cat: out of memory");
    int64_t start = 0;
    for (; made < groups && !rc; made++) {
        int first = made * JL_NODE_MAX_INPUTS,
            count = n - first < JL_NODE_MAX_INPUTS ? n - first : JL_NODE_MAX_INPUTS;
        int64_t len = 0;
        for (int i = first; i < first + count; i++) len += ts[i]->shape[dim];
        parts[made] = jl_narrow(out, dim, start, len);
        if (!parts[made]) rc = jl_last_error_code();
        else if (jl_needs_graph(count, ts + first)) rc = attach_cat(parts[made], count, ts + first, dim);
        start += len;
    }
    if (!rc) rc = attach_cat(out, groups, parts, dim);
    for (int i = 0; i < made; i++) jl_release(parts[i]);
    free(parts);
    return rc;
}

jl_tensor *jl_stack(int n, jl_tensor *const *ts, int dim)
{
    if (n < 1) {
        JL_FAIL("stack: needs at least one tensor");
        return NULL;
    }
    dim = jl_norm_dim("stack", dim, ts[0]->ndim + 1);
    if (dim < 0) return NULL;
    jl_tensor **parts = calloc((size_t)n, sizeof *parts), *out = NULL;
    int made = 0;
    if (!parts) {
        JL_FAIL_CODE(JL_ENOMEM, "stack: out of memory");
        return NULL;
    }
    for (; made < n; made++) {
        if (ts[made]->ndim != ts[0]->ndim) {
            JL_FAIL("stack: tensor %d has shape %s but tensor 1 has %s", made + 1, jl_shape_str(ts[made]),
                    jl_shape_str(ts[0]));
            goto done;
        }
        parts[made] = jl_unsqueeze(ts[made], dim);
        if (!parts[made]) goto done;
    }
    out = jl_cat(n, parts, dim);
done:
    for (int i = 0; i < made; i++) jl_release(parts[i]);
    free(parts);
    return out;
}
