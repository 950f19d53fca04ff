/* ops_elementwise.c — unary and broadcasting binary ops, comparisons, where
 * and masked_fill, with their backward rules. The dtypes each op accepts and
 * what its backward keeps are jl_ops.def's columns (jl_op_info.h). */
#include <string.h>

#include "jl_op_info.h"
#include "jl_ops.h"

/* --- broadcasting ------------------------------------------------------------- */
/* numpy rules: align trailing dims; sizes equal or one of them 1. */
static int broadcast_shape(const char *op, int n, jl_tensor *const *ts, int *ndim, int64_t *shape)
{
    int nd = 0;
    for (int i = 0; i < n; i++)
        if (ts[i]->ndim > nd) nd = ts[i]->ndim;
    for (int d = 0; d < nd; d++) {
        int64_t size = 1;
        for (int i = 0; i < n; i++) {
            int src = d - (nd - ts[i]->ndim);
            int64_t s = src >= 0 ? ts[i]->shape[src] : 1;
            if (s == 1) continue;
            if (size != 1 && s != size) {
                if (n == 2)
                    return JL_FAIL("%s: shapes %s and %s cannot be broadcast together (dim %d: %lld vs %lld)",
                                   op, jl_shape_str(ts[0]), jl_shape_str(ts[1]), d + 1, (long long)size,
                                   (long long)s);
                return JL_FAIL("%s: shapes %s, %s and %s cannot be broadcast together", op,
                               jl_shape_str(ts[0]), jl_shape_str(ts[1]), jl_shape_str(ts[2]));
            }
            size = s;
        }
        shape[d] = size;
    }
    *ndim = nd;
    return JL_OK;
}

/* The kernel view of t broadcast to (ndim, shape): stride 0 on new or size-1 dims. */
static jl_view broadcast_view(const jl_tensor *t, int ndim, const int64_t *shape)
{
    jl_view v = jl_view_of(t);
    int lead = ndim - t->ndim;
    v.ndim = ndim;
    for (int d = ndim - 1; d >= 0; d--) {
        int src = d - lead;
        v.strides[d] = src >= 0 && t->shape[src] == shape[d] ? t->strides[src] : 0;
        v.shape[d] = shape[d];
    }
    return v;
}

static int same_device(const char *op, int n, jl_tensor *const *ts)
{
    for (int i = 1; i < n; i++)
        if (jl_device_of(ts[i]) != jl_device_of(ts[0]))
            return JL_FAIL_CODE(JL_EDEVICE, "%s: argument %d is on %s but argument 1 is on %s", op, i + 1,
                                jl_device_name(jl_device_of(ts[i])), jl_device_name(jl_device_of(ts[0])));
    return JL_OK;
}

/* Runs a kernel writing a fresh tensor of dtype `out_t` shaped by broadcasting ts. */
static jl_tensor *run_broadcast(jl_op op, jl_dtype out_t, int n, jl_tensor *const *ts, double s0, double s1)
{
    int ndim = 0;
    int64_t shape[JL_MAX_DIMS];
    if (same_device(jl_op_name(op), n, ts) || broadcast_shape(jl_op_name(op), n, ts, &ndim, shape))
        return NULL;
    jl_tensor *out = jl_tensor_new(out_t, ndim, shape, jl_device_of(ts[0]));
    if (!out) return NULL;
    jl_kargs k = {.op = op, .out = jl_view_of(out), .s = {s0, s1}};
    jl_view *slots[3] = {&k.a, &k.b, &k.c};
    for (int i = 0; i < n; i++) *slots[i] = broadcast_view(ts[i], ndim, shape);
    if (jl_run(jl_device_of(out), &k)) {
        jl_release(out);
        return NULL;
    }
    return out;
}

/* --- unary ops ------------------------------------------------------------------- */
/* d out / d a as a tensor product with g; node->s holds the op's scalars,
 * i[1] / i[2] the saved slots of the input a and the output y (-1 when not
 * saved; what each op keeps is its saves column in jl_ops.def). */
static int unary_backward(jl_node *node, jl_tensor *g, jl_tensor **grads)
{
    jl_op op = (jl_op)node->i[0];
    jl_tensor *a = NULL, *y = NULL, *t = NULL;
    if (node->i[1] >= 0 && !(a = jl_node_saved(node, (int)node->i[1]))) return jl_last_error_code();
    if (node->i[2] >= 0 && !(y = jl_node_saved(node, (int)node->i[2]))) return jl_last_error_code();
    double s0 = node->s[0];
    switch (op) {
    case JL_OP_neg: grads[0] = jl_neg(g); break;
    case JL_OP_exp: grads[0] = jl_mul(g, y); break;
    case JL_OP_log: grads[0] = jl_div(g, a); break;
    case JL_OP_sqrt:
        t = jl_div(g, y);
        grads[0] = t ? jl_affine(t, 0.5, 0) : NULL;
        break;
    case JL_OP_abs:
        t = jl_unary(JL_OP_sign, a, 0, 0);
        grads[0] = t ? jl_mul(g, t) : NULL;
        break;
    case JL_OP_relu: grads[0] = jl_binary(JL_OP_relu_backward, g, a); break;
    case JL_OP_sigmoid: grads[0] = jl_binary(JL_OP_sigmoid_backward, g, y); break;
    case JL_OP_tanh: grads[0] = jl_binary(JL_OP_tanh_backward, g, y); break;
    case JL_OP_pow_scalar:
        t = s0 == 1 ? jl_full_like(a, 1.0) : jl_pow_scalar(a, s0 - 1);
        if (t) {
            jl_tensor *scaled = jl_affine(t, s0, 0);
            grads[0] = scaled ? jl_mul(g, scaled) : NULL;
            jl_release(scaled);
        }
        break;
    case JL_OP_clamp: {
        jl_tensor *in[2] = {g, a};
        grads[0] = run_broadcast(JL_OP_clamp_backward, JL_F32, 2, in, node->s[0], node->s[1]);
        break;
    }
    case JL_OP_affine: grads[0] = jl_affine(g, s0, 0); break;
    case JL_OP_rsub_scalar: grads[0] = jl_neg(g); break;
    case JL_OP_rdiv_scalar: /* d(s/a) = -s/a^2 = -y/a */
        t = jl_div(y, a);
        if (t) {
            jl_tensor *scaled = jl_affine(t, -1, 0);
            grads[0] = scaled ? jl_mul(g, scaled) : NULL;
            jl_release(scaled);
        }
        break;
    case JL_OP_sign: grads[0] = jl_zeros_like(g); break;
    default: return JL_FAIL("%s: no backward rule", jl_op_name(op));
    }
    jl_release(t);
    return grads[0] ? JL_OK : jl_last_error_code();
}

jl_tensor *jl_unary(jl_op op, jl_tensor *a, double s0, double s1)
{
    if (!jl_op_takes(op, a->dtype)) {
        JL_FAIL("%s: needs an f32 tensor, got %s %s", jl_op_name(op), jl_dtype_name(a->dtype),
                jl_shape_str(a));
        return NULL;
    }
    jl_tensor *out = jl_tensor_new(a->dtype, a->ndim, a->shape, jl_device_of(a));
    if (!out) return NULL;
    jl_kargs k = {.op = op, .out = jl_view_of(out), .a = jl_view_of(a), .s = {s0, s1}};
    if (jl_run(jl_device_of(a), &k)) {
        jl_release(out);
        return NULL;
    }
    if (a->dtype == JL_F32 && jl_needs_graph(1, &a)) {
        jl_node *node = jl_node_new(jl_op_name(op), unary_backward, 1, &a);
        if (!node) {
            jl_release(out);
            return NULL;
        }
        node->i[0] = op;
        node->s[0] = s0;
        node->s[1] = s1;
        node->i[1] = jl_op_saves(op) & JL_SAVES_A ? jl_node_save(node, a) : -1;
        node->i[2] = jl_op_saves(op) & JL_SAVES_Y ? jl_node_save(node, out) : -1;
        jl_attach(out, node);
    }
    return out;
}

jl_tensor *jl_neg(jl_tensor *a) { return jl_unary(JL_OP_neg, a, 0, 0); }
jl_tensor *jl_exp(jl_tensor *a) { return jl_unary(JL_OP_exp, a, 0, 0); }
jl_tensor *jl_log(jl_tensor *a) { return jl_unary(JL_OP_log, a, 0, 0); }
jl_tensor *jl_sqrt(jl_tensor *a) { return jl_unary(JL_OP_sqrt, a, 0, 0); }
jl_tensor *jl_abs(jl_tensor *a) { return jl_unary(JL_OP_abs, a, 0, 0); }
jl_tensor *jl_relu(jl_tensor *a) { return jl_unary(JL_OP_relu, a, 0, 0); }
jl_tensor *jl_sigmoid(jl_tensor *a) { return jl_unary(JL_OP_sigmoid, a, 0, 0); }
jl_tensor *jl_tanh(jl_tensor *a) { return jl_unary(JL_OP_tanh, a, 0, 0); }
jl_tensor *jl_pow_scalar(jl_tensor *a, double p) { return jl_unary(JL_OP_pow_scalar, a, p, 0); }
jl_tensor *jl_affine(jl_tensor *a, double scale, double shift)
{
    return jl_unary(JL_OP_affine, a, scale, shift);
}

jl_tensor *jl_clamp(jl_tensor *a, double lo, double hi)
{
    if (lo > hi) {
        JL_FAIL("clamp: lower bound %g is above upper bound %g", lo, hi);
        return NULL;
    }
    return jl_unary(JL_OP_clamp, a, lo, hi);
}

/* --- binary ops -------------------------------------------------------------------- */
static jl_tensor *reduce_to(jl_tensor *g, const jl_tensor *like)
{
    return jl_sum_to_shape(g, like->ndim, like->shape);
}

/* grads[i] = sum_to_shape(g * factor_i) for the inputs that need one. */
static int binary_backward(jl_node *node, jl_tensor *g, jl_tensor **grads)
{
    jl_op op = (jl_op)node->i[0];
    jl_tensor *saved[3] = {NULL, NULL, NULL}; /* a, b, y */
    for (int v = 0; v < 3; v++)
        if (node->i[1 + v] >= 0 && !(saved[v] = jl_node_saved(node, (int)node->i[1 + v])))
            return jl_last_error_code();
    jl_tensor *a = saved[0], *b = saved[1], *y = saved[2];
    jl_tensor *ga = NULL, *gb = NULL, *t = NULL, *mask = NULL;
    bool need_a = node->needs_grad[0], need_b = node->needs_grad[1];
    switch (op) {
    case JL_OP_add:
        ga = jl_retain(g);
        gb = jl_retain(g);
        break;
    case JL_OP_sub:
        ga = jl_retain(g);
        gb = need_b ? jl_neg(g) : NULL;
        break;
    case JL_OP_mul:
        ga = need_a ? jl_mul(g, b) : NULL;
        gb = need_b ? jl_mul(g, a) : NULL;
        break;
    case JL_OP_div: /* d/da = 1/b, d/db = -y/b */
        ga = need_a ? jl_div(g, b) : NULL;
        if (need_b && (t = jl_div(y, b))) {
            jl_tensor *gt = jl_mul(g, t);
            gb = gt ? jl_neg(gt) : NULL;
            jl_release(gt);
        }
        break;
    case JL_OP_pow: /* d/da = b a^(b-1) = b y / a, d/db = y log a */
        if (need_a && (t = jl_div(y, a))) {
            jl_tensor *bt = jl_mul(b, t);
            ga = bt ? jl_mul(g, bt) : NULL;
            jl_release(bt);
        }
        if (need_b) {
            jl_tensor *la = jl_log(a), *yl = la ? jl_mul(y, la) : NULL;
            gb = yl ? jl_mul(g, yl) : NULL;
            jl_release(la);
            jl_release(yl);
        }
        break;
    case JL_OP_maximum:
    case JL_OP_minimum: { /* ties go to a */
        mask = jl_compare(op == JL_OP_maximum ? JL_OP_ge : JL_OP_le, a, b);
        jl_tensor *zero = mask ? jl_scalar_like(g, 0) : NULL;
        if (zero) {
            ga = need_a ? jl_where(mask, g, zero) : NULL;
            gb = need_b ? jl_where(mask, zero, g) : NULL;
        }
        jl_release(zero);
        break;
    }
    default: return JL_FAIL("%s: no backward rule", jl_op_name(op));
    }
    int rc = JL_OK;
    if ((need_a && !ga) || (need_b && !gb)) rc = jl_last_error_code();
    if (!rc && need_a && !(grads[0] = reduce_to(ga, node->inputs[0]))) rc = jl_last_error_code();
    if (!rc && need_b && !(grads[1] = reduce_to(gb, node->inputs[1]))) rc = jl_last_error_code();
    jl_release(ga);
    jl_release(gb);
    jl_release(t);
    jl_release(mask);
    return rc;
}

static int check_same_dtype(const char *op, const jl_tensor *a, const jl_tensor *b)
{
    if (a->dtype != b->dtype)
        return JL_FAIL("%s: dtypes differ (%s %s and %s %s); convert one with :to()", op,
                       jl_dtype_name(a->dtype), jl_shape_str(a), jl_dtype_name(b->dtype), jl_shape_str(b));
    return JL_OK;
}

jl_tensor *jl_binary(jl_op op, jl_tensor *a, jl_tensor *b)
{
    if (check_same_dtype(jl_op_name(op), a, b)) return NULL;
    if (!jl_op_takes(op, a->dtype)) {
        JL_FAIL("%s: not defined for %s tensors", jl_op_name(op), jl_dtype_name(a->dtype));
        return NULL;
    }
    jl_tensor *in[2] = {a, b};
    jl_tensor *out = run_broadcast(op, a->dtype, 2, in, 0, 0);
    if (!out) return NULL;
    unsigned saves = jl_op_saves(op);
    if (a->dtype == JL_F32 && (saves & JL_SAVES_RULE) && jl_needs_graph(2, in)) {
        jl_node *node = jl_node_new(jl_op_name(op), binary_backward, 2, in);
        if (!node) {
            jl_release(out);
            return NULL;
        }
        node->i[0] = op;
        node->i[1] = saves & JL_SAVES_A ? jl_node_save(node, a) : -1;
        node->i[2] = saves & JL_SAVES_B ? jl_node_save(node, b) : -1;
        node->i[3] = saves & JL_SAVES_Y ? jl_node_save(node, out) : -1;
        jl_attach(out, node);
    }
    return out;
}

jl_tensor *jl_add(jl_tensor *a, jl_tensor *b) { return jl_binary(JL_OP_add, a, b); }

int jl_add_into_(jl_tensor *dst, jl_tensor *src)
{
    if (!jl_has_shape(src, dst->ndim, dst->shape) || dst->dtype != JL_F32 || src->dtype != JL_F32 ||
        jl_device_of(dst) != jl_device_of(src))
        return JL_FAIL("add_into_: expected f32 tensors of one shape on one device, got %s %s and %s %s",
                       jl_dtype_name(dst->dtype), jl_shape_str(dst), jl_dtype_name(src->dtype), jl_shape_str(src));
    jl_kargs k = {.op = JL_OP_add, .out = jl_view_of(dst), .a = jl_view_of(dst), .b = jl_view_of(src)};
    int rc = jl_numel(dst) ? jl_run(jl_device_of(dst), &k) : JL_OK;
    if (!rc) dst->storage->version++;
    return rc;
}
jl_tensor *jl_sub(jl_tensor *a, jl_tensor *b) { return jl_binary(JL_OP_sub, a, b); }
jl_tensor *jl_mul(jl_tensor *a, jl_tensor *b) { return jl_binary(JL_OP_mul, a, b); }
jl_tensor *jl_div(jl_tensor *a, jl_tensor *b) { return jl_binary(JL_OP_div, a, b); }
jl_tensor *jl_pow(jl_tensor *a, jl_tensor *b) { return jl_binary(JL_OP_pow, a, b); }
jl_tensor *jl_maximum(jl_tensor *a, jl_tensor *b) { return jl_binary(JL_OP_maximum, a, b); }
jl_tensor *jl_minimum(jl_tensor *a, jl_tensor *b) { return jl_binary(JL_OP_minimum, a, b); }

jl_tensor *jl_compare(jl_op op, jl_tensor *a, jl_tensor *b)
{
    if (jl_op_kind_of(op) != JL_KIND_COMPARE) {
        JL_FAIL("compare: %s is not a comparison", jl_op_name(op));
        return NULL;
    }
    if (check_same_dtype(jl_op_name(op), a, b)) return NULL;
    jl_tensor *in[2] = {a, b};
    return run_broadcast(op, JL_U8, 2, in, 0, 0);
}

/* --- where / masked_fill -------------------------------------------------------------- */
static int where_backward(jl_node *node, jl_tensor *g, jl_tensor **grads)
{
    jl_tensor *cond = jl_node_saved(node, 0);
    jl_tensor *zero = cond ? jl_scalar_like(g, 0) : NULL;
    if (!zero) return jl_last_error_code();
    int rc = JL_OK;
    for (int i = 1; i <= 2 && !rc; i++) {
        if (!node->needs_grad[i]) continue;
        jl_tensor *picked = i == 1 ? jl_where(cond, g, zero) : jl_where(cond, zero, g);
        grads[i] = picked ? reduce_to(picked, node->inputs[i]) : NULL;
        if (!grads[i]) rc = jl_last_error_code();
        jl_release(picked);
    }
    jl_release(zero);
    return rc;
}

static int check_mask(const char *op, const jl_tensor *mask)
{
    if (mask->dtype != JL_U8)
        return JL_FAIL("%s: the condition must be a u8 (bool) tensor, got %s %s", op,
                       jl_dtype_name(mask->dtype), jl_shape_str(mask));
    return JL_OK;
}

jl_tensor *jl_where(jl_tensor *cond, jl_tensor *a, jl_tensor *b)
{
    if (check_mask("where", cond) || check_same_dtype("where", a, b)) return NULL;
    jl_tensor *in[3] = {a, b, cond};
    jl_tensor *out = run_broadcast(JL_OP_where, a->dtype, 3, in, 0, 0);
    if (!out || a->dtype != JL_F32) return out;
    jl_tensor *graph_in[3] = {cond, a, b};
    if (jl_needs_graph(3, graph_in)) {
        jl_node *node = jl_node_new("where", where_backward, 3, graph_in);
        if (!node) {
            jl_release(out);
            return NULL;
        }
        node->needs_grad[0] = false;
        jl_node_save(node, cond);
        jl_attach(out, node);
    }
    return out;
}

static int masked_fill_backward(jl_node *node, jl_tensor *g, jl_tensor **grads)
{
    jl_tensor *mask = jl_node_saved(node, 0);
    jl_tensor *filled = mask ? jl_masked_fill(g, mask, 0) : NULL;
    grads[0] = filled ? reduce_to(filled, node->inputs[0]) : NULL;
    jl_release(filled);
    return grads[0] ? JL_OK : jl_last_error_code();
}

jl_tensor *jl_masked_fill(jl_tensor *a, jl_tensor *mask, double value)
{
    if (check_mask("masked_fill", mask)) return NULL;
    jl_tensor *in[2] = {a, mask};
    jl_tensor *out = run_broadcast(JL_OP_masked_fill, a->dtype, 2, in, value, 0);
    if (!out) return NULL;
    if (out->ndim != a->ndim || memcmp(out->shape, a->shape, sizeof(int64_t) * (size_t)a->ndim)) {
        JL_FAIL("masked_fill: mask %s would change the shape of %s", jl_shape_str(mask), jl_shape_str(a));
        jl_release(out);
        return NULL;
    }
    if (a->dtype == JL_F32 && jl_needs_graph(1, &a)) {
        jl_node *node = jl_node_new("masked_fill", masked_fill_backward, 1, &a);
        if (!node) {
            jl_release(out);
            return NULL;
        }
        jl_node_save(node, mask);
        jl_attach(out, node);
    }
    return out;
}

jl_tensor *jl_scalar_like(const jl_tensor *a, double value)
{
    return jl_full(a->dtype, 0, NULL, value, jl_device_of(a));
}
