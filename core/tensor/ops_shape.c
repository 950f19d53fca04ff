/* ops_shape.c — views: reshape/view, transpose/permute, narrow/select,
 * expand, squeeze/unsqueeze. O(1), sharing storage, with backward rules. */
#include <stdio.h>
#include <string.h>

#include "jl_ops.h"

/* --- backward rules ------------------------------------------------------- */
/* The input shape is node->i[...]: i[JL_MAX_DIMS + 1] = ndim, i[0..ndim-1] = shape. */
static void remember_input_shape(jl_node *node, const jl_tensor *in)
{
    memcpy(node->i, in->shape, sizeof(int64_t) * JL_MAX_DIMS);
    node->i[JL_MAX_DIMS + 1] = in->ndim;
}

static int reshape_backward(jl_node *node, jl_tensor *g, jl_tensor **grads)
{
    grads[0] = jl_reshape(g, (int)node->i[JL_MAX_DIMS + 1], node->i);
    return grads[0] ? JL_OK : jl_last_error_code();
}

static int permute_backward(jl_node *node, jl_tensor *g, jl_tensor **grads)
{
    int inverse[JL_MAX_DIMS];
    for (int d = 0; d < g->ndim; d++) inverse[node->i[d]] = d;
    grads[0] = jl_permute(g, inverse);
    return grads[0] ? JL_OK : jl_last_error_code();
}

/* narrow and select: zeros of the input shape with g written into the window. */
static int window_backward(jl_node *node, jl_tensor *g, jl_tensor **grads)
{
    jl_tensor *in = node->inputs[0];
    jl_tensor *z = jl_zeros_like(in);
    if (!z) return jl_last_error_code();
    int dim = (int)node->s[0];
    jl_tensor *window = node->s[2] ? jl_select(z, dim, (int64_t)node->s[1])
                                   : jl_narrow(z, dim, (int64_t)node->s[1], g->ndim ? g->shape[dim] : 1);
    int rc = window ? jl_copy_(window, g) : jl_last_error_code();
    jl_release(window);
    if (rc) {
        jl_release(z);
        return rc;
    }
    grads[0] = z;
    return JL_OK;
}

static int expand_backward(jl_node *node, jl_tensor *g, jl_tensor **grads)
{
    grads[0] = jl_sum_to_shape(g, (int)node->i[JL_MAX_DIMS + 1], node->i);
    return grads[0] ? JL_OK : jl_last_error_code();
}

/* Wraps a fresh alias as the output of a view op with the given backward. */
static jl_tensor *finish_view(jl_tensor *in, jl_tensor *out, const char *name, jl_backward_fn backward,
                              jl_node **node_out)
{
    if (node_out) *node_out = NULL;
    if (!out || !jl_needs_graph(1, &in)) return out;
    jl_node *node = jl_node_new(name, backward, 1, &in);
    if (!node) {
        jl_release(out);
        return NULL;
    }
    remember_input_shape(node, in);
    jl_attach(out, node);
    if (node_out) *node_out = node;
    return out;
}

/* --- reshape / view ------------------------------------------------------- */
/* Resolves a -1 entry and checks the element count. */
static int infer_shape(const char *op, const jl_tensor *t, int ndim, const int64_t *shape, int64_t *out)
{
    if (ndim < 0 || ndim > JL_MAX_DIMS) return JL_FAIL("%s: rank %d is outside 0..%d", op, ndim, JL_MAX_DIMS);
    int infer = -1;
    int64_t known = 1;
    for (int d = 0; d < ndim; d++) {
        out[d] = shape[d];
        if (shape[d] == -1) {
            if (infer >= 0) return JL_FAIL("%s: only one dimension can be -1", op);
            infer = d;
        } else if (shape[d] < 0) {
            return JL_FAIL("%s: invalid size %lld at dim %d", op, (long long)shape[d], d + 1);
        } else {
            known *= shape[d];
        }
    }
    int64_t numel = jl_numel(t);
    if (infer >= 0) {
        if (known == 0 || numel % known)
            return JL_FAIL("%s: cannot infer the size of dim %d for %lld elements of %s", op, infer + 1,
                           (long long)numel, jl_shape_str(t));
        out[infer] = numel / known;
        known *= out[infer];
    }
    if (known != numel) {
        char wanted[96];
        int n = snprintf(wanted, sizeof wanted, "(");
        for (int d = 0; d < ndim && n < 90; d++)
            n += snprintf(wanted + n, sizeof wanted - n, d ? ", %lld" : "%lld", (long long)shape[d]);
        snprintf(wanted + n, sizeof wanted - n, ")");
        return JL_FAIL("%s: shape %s is invalid for a tensor of shape %s (%lld elements)", op, wanted,
                       jl_shape_str(t), (long long)numel);
    }
    return JL_OK;
}

/* Strides for viewing t with `shape` without copying, as torch's computeStride;
 * returns false when impossible. */
static bool view_strides(const jl_tensor *t, int ndim, const int64_t *shape, int64_t *strides)
{
    if (jl_numel(t) == 0 || jl_is_contiguous(t)) {
        int64_t s = 1;
        for (int d = ndim - 1; d >= 0; d--) {
            strides[d] = s;
            s *= shape[d] ? shape[d] : 1;
        }
        return true;
    }
    int view_d = ndim - 1;
    int64_t chunk_base_stride = t->ndim ? t->strides[t->ndim - 1] : 1;
    int64_t tensor_numel = 1, view_numel = 1;
    for (int d = t->ndim - 1; d >= 0; d--) {
        tensor_numel *= t->shape[d];
        if (d == 0 || (t->shape[d - 1] != 1 && t->strides[d - 1] != tensor_numel * chunk_base_stride)) {
            while (view_d >= 0 && (view_numel < tensor_numel || shape[view_d] == 1)) {
                strides[view_d] = view_numel * chunk_base_stride;
                view_numel *= shape[view_d];
                view_d--;
            }
            if (view_numel != tensor_numel) return false;
            if (d > 0) {
                chunk_base_stride = t->strides[d - 1];
                tensor_numel = 1;
                view_numel = 1;
            }
        }
    }
    return view_d == -1;
}

jl_tensor *jl_view_as_shape(jl_tensor *t, int ndim, const int64_t *shape)
{
    int64_t resolved[JL_MAX_DIMS], strides[JL_MAX_DIMS];
    if (infer_shape("view", t, ndim, shape, resolved)) return NULL;
    if (!view_strides(t, ndim, resolved, strides)) {
        JL_FAIL("view: tensor of shape %s is not contiguous enough for this view; use reshape (copies) or "
                "contiguous() first",
                jl_shape_str(t));
        return NULL;
    }
    return finish_view(t, jl_tensor_alias(t, ndim, resolved, strides, t->offset), "view", reshape_backward,
                       NULL);
}

jl_tensor *jl_reshape(jl_tensor *t, int ndim, const int64_t *shape)
{
    int64_t resolved[JL_MAX_DIMS], strides[JL_MAX_DIMS];
    if (infer_shape("reshape", t, ndim, shape, resolved)) return NULL;
    if (view_strides(t, ndim, resolved, strides))
        return finish_view(t, jl_tensor_alias(t, ndim, resolved, strides, t->offset), "reshape",
                           reshape_backward, NULL);
    jl_tensor *c = jl_contiguous(t);
    if (!c) return NULL;
    jl_tensor *out = jl_view_as_shape(c, ndim, resolved);
    jl_release(c);
    return out;
}

/* --- permutations ----------------------------------------------------------- */
jl_tensor *jl_permute(jl_tensor *t, const int *perm)
{
    int64_t shape[JL_MAX_DIMS], strides[JL_MAX_DIMS];
    bool seen[JL_MAX_DIMS] = {0};
    for (int d = 0; d < t->ndim; d++) {
        int p = perm[d];
        if (p < 0 || p >= t->ndim || seen[p]) {
            JL_FAIL("permute: the order is not a permutation of the %d dims of %s", t->ndim, jl_shape_str(t));
            return NULL;
        }
        seen[p] = true;
        shape[d] = t->shape[p];
        strides[d] = t->strides[p];
    }
    jl_node *node;
    jl_tensor *out = finish_view(t, jl_tensor_alias(t, t->ndim, shape, strides, t->offset), "permute",
                                 permute_backward, &node);
    if (node)
        for (int d = 0; d < t->ndim; d++) node->i[d] = perm[d];
    return out;
}

jl_tensor *jl_transpose(jl_tensor *t, int d0, int d1)
{
    d0 = jl_norm_dim("transpose", d0, t->ndim);
    d1 = d0 < 0 ? -1 : jl_norm_dim("transpose", d1, t->ndim);
    if (d1 < 0) return NULL;
    if (t->ndim == 0) return jl_permute(t, NULL);
    int perm[JL_MAX_DIMS];
    for (int d = 0; d < t->ndim; d++) perm[d] = d;
    perm[d0] = d1;
    perm[d1] = d0;
    return jl_permute(t, perm);
}

/* --- windows ---------------------------------------------------------------- */
jl_tensor *jl_narrow(jl_tensor *t, int dim, int64_t start, int64_t length)
{
    if (t->ndim == 0) {
        JL_FAIL("narrow: cannot narrow a 0-d tensor");
        return NULL;
    }
    dim = jl_norm_dim("narrow", dim, t->ndim);
    if (dim < 0) return NULL;
    if (start < 0 || length < 0 || start + length > t->shape[dim]) {
        JL_FAIL("narrow: elements %lld..%lld are out of range for dim %d of size %lld (tensor %s)",
                (long long)start + 1, (long long)(start + length), dim + 1, (long long)t->shape[dim],
                jl_shape_str(t));
        return NULL;
    }
    int64_t shape[JL_MAX_DIMS];
    memcpy(shape, t->shape, sizeof shape);
    shape[dim] = length;
    jl_node *node;
    jl_tensor *out =
        finish_view(t, jl_tensor_alias(t, t->ndim, shape, t->strides, t->offset + start * t->strides[dim]),
                    "narrow", window_backward, &node);
    if (node) {
        node->s[0] = dim;
        node->s[1] = (double)start;
        node->s[2] = 0;
    }
    return out;
}

jl_tensor *jl_select(jl_tensor *t, int dim, int64_t index)
{
    if (t->ndim == 0) {
        JL_FAIL("select: cannot index a 0-d tensor");
        return NULL;
    }
    dim = jl_norm_dim("select", dim, t->ndim);
    if (dim < 0) return NULL;
    if (index < 0 || index >= t->shape[dim]) {
        JL_FAIL("index %lld out of range for dim %d of size %lld (tensor %s)", (long long)index + 1, dim + 1,
                (long long)t->shape[dim], jl_shape_str(t));
        return NULL;
    }
    int64_t shape[JL_MAX_DIMS], strides[JL_MAX_DIMS];
    int n = 0;
    for (int d = 0; d < t->ndim; d++)
        if (d != dim) {
            shape[n] = t->shape[d];
            strides[n++] = t->strides[d];
        }
    jl_node *node;
    jl_tensor *out =
        finish_view(t, jl_tensor_alias(t, n, shape, strides, t->offset + index * t->strides[dim]), "select",
                    window_backward, &node);
    if (node) {
        node->s[0] = dim;
        node->s[1] = (double)index;
        node->s[2] = 1;
    }
    return out;
}

/* --- broadcasting and unit dims ----------------------------------------------- */
jl_tensor *jl_expand(jl_tensor *t, int ndim, const int64_t *shape)
{
    if (ndim < t->ndim || ndim > JL_MAX_DIMS) {
        JL_FAIL("expand: cannot expand %s to rank %d", jl_shape_str(t), ndim);
        return NULL;
    }
    int64_t out_shape[JL_MAX_DIMS], strides[JL_MAX_DIMS];
    int lead = ndim - t->ndim;
    for (int d = 0; d < ndim; d++) {
        int src = d - lead;
        int64_t have = src >= 0 ? t->shape[src] : 1;
        int64_t want = shape[d] == -1 ? have : shape[d];
        if (src < 0 && shape[d] == -1) {
            JL_FAIL("expand: -1 is not allowed for the new leading dim %d", d + 1);
            return NULL;
        }
        if (have == want) {
            strides[d] = src >= 0 ? t->strides[src] : 0;
        } else if (have == 1 && want >= 0) {
            strides[d] = 0;
        } else {
            JL_FAIL("expand: size %lld of dim %d of %s cannot be expanded to %lld", (long long)have, src + 1,
                    jl_shape_str(t), (long long)want);
            return NULL;
        }
        out_shape[d] = want;
    }
    return finish_view(t, jl_tensor_alias(t, ndim, out_shape, strides, t->offset), "expand", expand_backward,
                       NULL);
}

jl_tensor *jl_unsqueeze(jl_tensor *t, int dim)
{
    if (t->ndim >= JL_MAX_DIMS) {
        JL_FAIL("unsqueeze: %s already has the maximum rank %d", jl_shape_str(t), JL_MAX_DIMS);
        return NULL;
    }
    dim = jl_norm_dim("unsqueeze", dim, t->ndim + 1);
    if (dim < 0) return NULL;
    int64_t shape[JL_MAX_DIMS], strides[JL_MAX_DIMS];
    for (int d = 0, s = 0; d <= t->ndim; d++) {
        if (d == dim) {
            shape[d] = 1;
            strides[d] = s < t->ndim ? t->strides[s] * t->shape[s] : 1;
        } else {
            shape[d] = t->shape[s];
            strides[d] = t->strides[s++];
        }
    }
    return finish_view(t, jl_tensor_alias(t, t->ndim + 1, shape, strides, t->offset), "unsqueeze",
                       reshape_backward, NULL);
}

jl_tensor *jl_squeeze(jl_tensor *t, int dim)
{
    int64_t shape[JL_MAX_DIMS], strides[JL_MAX_DIMS];
    int n = 0;
    if (dim != JL_ALL_DIMS) {
        dim = jl_norm_dim("squeeze", dim, t->ndim);
        if (dim < 0) return NULL;
        if (t->ndim && t->shape[dim] != 1) {
            JL_FAIL("squeeze: dim %d of %s has size %lld, not 1", dim + 1, jl_shape_str(t),
                    (long long)t->shape[dim]);
            return NULL;
        }
    }
    for (int d = 0; d < t->ndim; d++) {
        bool drop = dim == JL_ALL_DIMS ? t->shape[d] == 1 : d == dim;
        if (!drop) {
            shape[n] = t->shape[d];
            strides[n++] = t->strides[d];
        }
    }
    return finish_view(t, jl_tensor_alias(t, n, shape, strides, t->offset), "squeeze", reshape_backward,
                       NULL);
}
