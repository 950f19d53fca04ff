/* ops_matmul.c — matrix products: jl_matmul (numpy rules) and jl_linear, with
 * their backward rules.
 *
 * Both end in gemm_into, which describes each operand as a batch of row-major
 * or column-major matrices for the backend's gemm op without copying whenever
 * the strides allow it: a transposed view goes down with the transpose flag
 * (i[1], i[2]); a batch of matrices sharing the right operand (x @ W^T in
 * linear, (B, M, K) @ (K, N)) becomes one GEMM of B*M rows; anything else
 * (broadcast rows, batch dims that do not collapse to one stride) is copied
 * contiguous first. Kernel layout: see kernels/cpu/gemm.c.
 *
 * Backward rules are matmuls too: for C = A B, dA = dC B^T and dB = A^T dC,
 * summed back over broadcast batch dims.
 */
#include "jl_ops.h"

/* A batch of (rows, cols) matrices at data; strides in elements, sb 0 when shared. */
typedef struct mat_desc {
    void *data;
    int64_t batch, rows, cols;
    int64_t sb, sr, sc;
} mat_desc;

/* Collapses the n dims (shape, strides) into one of *size elements *stride apart;
 * false when the strides do not allow it. Size-1 dims do not count. */
static bool collapse(int n, const int64_t *shape, const int64_t *strides, int64_t *size, int64_t *stride)
{
    int64_t sz = 1, st = 0;
    for (int d = n - 1; d >= 0; d--) {
        if (shape[d] == 0) {
            *size = 0, *stride = 0;
            return true;
        }
        if (shape[d] == 1) continue;
        if (sz == 1) st = strides[d];
        else if (strides[d] != st * sz) return false;
        sz *= shape[d];
    }
    *size = sz, *stride = st;
    return true;
}

/* The kernel view of m: (batch, rows, cols) with trans 0 when its rows are
 * unit-stride, (batch, cols, rows) with trans 1 when its columns are; false
 * when neither (e.g. a broadcast row). */
static bool gemm_view(const mat_desc *m, jl_view *v, int64_t *trans)
{
    int64_t R = m->rows, C = m->cols;
    bool row_major = (C == 1 || m->sc == 1) && (R == 1 || m->sr >= C);
    bool col_major = (R == 1 || m->sr == 1) && (C == 1 || m->sc >= R);
    if (!row_major && !col_major) return false;
    *v = (jl_view){.data = m->data, .dtype = JL_F32, .ndim = 3};
    v->shape[0] = m->batch;
    v->strides[0] = m->sb;
    v->strides[2] = 1;
    *trans = !row_major;
    v->shape[1] = row_major ? R : C;
    v->shape[2] = row_major ? C : R;
    int64_t ld = row_major ? (R == 1 ? C : m->sr) : (C == 1 ? R : m->sc);
    v->strides[1] = ld > 1 ? ld : 1;
    return true;
}

/* m <- t (..., R, C), or its transpose when `trans`, with the batch dims broadcast to
 * bshape (nb); false when those dims do not collapse or no kernel view fits. */
static bool describe(const jl_tensor *t, bool trans, int nb, const int64_t *bshape, mat_desc *m)
{
    int nd = t->ndim, tb = nd - 2;
    int64_t bs[JL_MAX_DIMS];
    for (int j = 0; j < nb; j++) {
        int d = j - (nb - tb);
        bs[j] = d < 0 || t->shape[d] == 1 ? 0 : t->strides[d];
    }
    m->data = jl_data(t);
    m->rows = t->shape[nd - (trans ? 1 : 2)];
    m->cols = t->shape[nd - (trans ? 2 : 1)];
    m->sr = t->strides[nd - (trans ? 1 : 2)];
    m->sc = t->strides[nd - (trans ? 2 : 1)];
    jl_view v;
    int64_t flag;
    return collapse(nb, bshape, bs, &m->batch, &m->sb) && gemm_view(m, &v, &flag);
}

/* describe(), copying t (broadcast to the batch dims) contiguous when its strides do
 * not fit; *copy receives that copy (+1, NULL when none) and must outlive m. */
static int operand(jl_tensor *t, bool trans, int nb, const int64_t *bshape, mat_desc *m, jl_tensor **copy)
{
    *copy = NULL;
    if (describe(t, trans, nb, bshape, m)) return JL_OK;
    int64_t shape[JL_MAX_DIMS];
    for (int j = 0; j < nb; j++) shape[j] = bshape[j];
    shape[nb] = t->shape[t->ndim - 2];
    shape[nb + 1] = t->shape[t->ndim - 1];
    jl_tensor *e = jl_expand(t, nb + 2, shape);
    *copy = e ? jl_contiguous(e) : NULL;
    jl_release(e);
    if (!*copy) return jl_last_error_code();
    describe(*copy, trans, nb, bshape, m);
    return JL_OK;
}

/* The batch of m folded into its rows (one matrix of batch*rows rows); false when
 * the strides do not allow it. */
static bool fold_rows(mat_desc *m)
{
    int64_t size, stride;
    if (!collapse(2, (int64_t[]){m->batch, m->rows}, (int64_t[]){m->sb, m->sr}, &size, &stride)) return false;
    mat_desc f = *m;
    f.batch = 1;
    f.sb = 0;
    f.rows = size;
    f.sr = size > 1 ? stride : m->cols;
    jl_view v;
    int64_t flag;
    if (!gemm_view(&f, &v, &flag)) return false;
    *m = f;
    return true;
}

/* out (batch..., M, N) contiguous <- op(a) (batch..., M, K) @ op(b) (batch..., K, N)
 * + beta * out, op = transpose of the last two dims when ta / tb; a and b at least
 * 2-D, their batch dims broadcast to out's. */
static int gemm_into(jl_tensor *out, jl_tensor *a, bool ta, jl_tensor *b, bool tb, double beta)
{
    int nb = out->ndim - 2;
    const int64_t *bshape = out->shape;
    int64_t K = a->shape[a->ndim - (ta ? 2 : 1)];
    if (jl_numel(out) == 0) return JL_OK;
    if (K == 0) return beta == 0.0 ? jl_fill_(out, 0.0) : JL_OK;
    mat_desc ma, mb, mo;
    jl_tensor *ca = NULL, *cb = NULL;
    int rc = operand(a, ta, nb, bshape, &ma, &ca);
    if (rc == JL_OK) rc = operand(b, tb, nb, bshape, &mb, &cb);
    if (rc == JL_OK) {
        describe(out, false, nb, bshape, &mo);
        mat_desc fa = ma, fo = mo;
        if (ma.batch > 1 && (mb.batch == 1 || mb.sb == 0) && fold_rows(&fa) && fold_rows(&fo)) {
            ma = fa;
            mo = fo;
            mb.batch = 1;
        }
        jl_kargs k = {.op = JL_OP_gemm, .s = {1.0, beta}, .i = {mo.batch}};
        int64_t unused;
        gemm_view(&ma, &k.a, &k.i[1]);
        gemm_view(&mb, &k.b, &k.i[2]);
        gemm_view(&mo, &k.out, &unused);
        rc = jl_run(jl_device_of(out), &k);
        if (rc == JL_OK) jl_stats_count_gemm(2 * mo.batch * mo.rows * mo.cols * K);
    }
    jl_release(ca);
    jl_release(cb);
    return rc;
}

/* --- checks -------------------------------------------------------------- */

static int check_pair(const char *op, const jl_tensor *a, const jl_tensor *b)
{
    if (a->dtype != JL_F32 || b->dtype != JL_F32)
        return JL_FAIL("%s: expected f32 operands, got %s %s and %s %s", op, jl_dtype_name(a->dtype),
                       jl_shape_str(a), jl_dtype_name(b->dtype), jl_shape_str(b));
    if (jl_device_of(a) != jl_device_of(b))
        return JL_FAIL("%s: operands on different devices (%s and %s)", op, jl_device_name(jl_device_of(a)),
                       jl_device_name(jl_device_of(b)));
    return JL_OK;
}

/* The output shape of a (..., M, K) @ b (..., K, N), both at least 2-D, or an error
 * when the batch dims do not broadcast. */
static int matmul_shape(const jl_tensor *a, const jl_tensor *b, int *ndim, int64_t *shape)
{
    int na = a->ndim - 2, nbb = b->ndim - 2, nb = na > nbb ? na : nbb;
    for (int j = 0; j < nb; j++) {
        int da = j - (nb - na), db = j - (nb - nbb);
        int64_t x = da < 0 ? 1 : a->shape[da], y = db < 0 ? 1 : b->shape[db];
        if (x != y && x != 1 && y != 1)
            return JL_FAIL("matmul: batch dims of shapes %s and %s do not broadcast (%lld vs %lld)",
                           jl_shape_str(a), jl_shape_str(b), (long long)x, (long long)y);
        shape[j] = x == 1 ? y : x;
    }
    shape[nb] = a->shape[a->ndim - 2];
    shape[nb + 1] = b->shape[b->ndim - 1];
    *ndim = nb + 2;
    return JL_OK;
}

/* --- matmul -------------------------------------------------------------- */

static jl_tensor *matmul_nd(jl_tensor *a, jl_tensor *b);

/* t with its last two dims swapped (a view); +1. */
static jl_tensor *mT(jl_tensor *t) { return jl_transpose(t, t->ndim - 2, t->ndim - 1); }

/* p (full batch) summed back to the shape of t; releases p; +1. */
static jl_tensor *reduce_to(jl_tensor *p, const jl_tensor *t)
{
    jl_tensor *r = p ? jl_sum_to_shape(p, t->ndim, t->shape) : NULL;
    jl_release(p);
    return r;
}

/* The product of all dims of t but the last. */
static int64_t leading_rows(const jl_tensor *t)
{
    int64_t rows = 1;
    for (int d = 0; d < t->ndim - 1; d++) rows *= t->shape[d];
    return rows;
}

/* dA = dC B^T; dB = A^T dC, as one GEMM over all rows when B is a plain matrix. */
static int matmul_backward(jl_node *node, jl_tensor *g, jl_tensor **grad_inputs)
{
    jl_tensor *a = jl_node_saved(node, 0), *b = jl_node_saved(node, 1);
    if (!a || !b) return jl_last_error_code();
    if (node->needs_grad[0]) {
        jl_tensor *bt = mT(b);
        grad_inputs[0] = bt ? reduce_to(matmul_nd(g, bt), a) : NULL;
        jl_release(bt);
        if (!grad_inputs[0]) return jl_last_error_code();
    }
    if (node->needs_grad[1]) {
        jl_tensor *lhs, *rhs;
        if (b->ndim == 2 && a->ndim > 2) {
            int64_t K = a->shape[a->ndim - 1], N = b->shape[1], P = leading_rows(a);
            jl_tensor *af = jl_reshape(a, 2, (int64_t[]){P, K});
            lhs = af ? mT(af) : NULL;
            rhs = lhs ? jl_reshape(g, 2, (int64_t[]){P, N}) : NULL;
            jl_release(af);
        } else {
            lhs = mT(a);
            rhs = lhs ? jl_retain(g) : NULL;
        }
        grad_inputs[1] = rhs ? reduce_to(matmul_nd(lhs, rhs), b) : NULL;
        jl_release(lhs);
        jl_release(rhs);
        if (!grad_inputs[1]) return jl_last_error_code();
    }
    return JL_OK;
}

/* Records node `name` over n inputs on out, saving the first n_saved of them. Returns
 * out, or NULL (out released) when recording fails. */
static jl_tensor *record(jl_tensor *out, const char *name, jl_backward_fn backward, int n,
                         jl_tensor *const *inputs, int n_saved)
{
    if (!jl_needs_graph(n, inputs)) return out;
    jl_node *node = jl_node_new(name, backward, n, inputs);
    bool ok = node != NULL;
    for (int i = 0; ok && i < n_saved; i++) ok = jl_node_save(node, inputs[i]) >= 0;
    if (!ok) {
        jl_node_release(node);
        jl_release(out);
        return NULL;
    }
    jl_attach(out, node);
    return out;
}

/* out (batch..., M, N) <- a (..., M, K) @ b (..., K, N), both at least 2-D and
 * already checked to align. */
static jl_tensor *matmul_nd(jl_tensor *a, jl_tensor *b)
{
    int ndim = 0;
    int64_t shape[JL_MAX_DIMS];
    if (matmul_shape(a, b, &ndim, shape) != JL_OK) return NULL;
    jl_tensor *out = jl_tensor_new(JL_F32, ndim, shape, jl_device_of(a));
    if (!out) return NULL;
    if (gemm_into(out, a, false, b, false, 0.0) != JL_OK) {
        jl_release(out);
        return NULL;
    }
    return record(out, "matmul", matmul_backward, 2, (jl_tensor *[]){a, b}, 2);
}

/* Removes dim d of t (size 1) when `cond`; releases t; +1. */
static jl_tensor *squeeze_if(jl_tensor *t, bool cond, int d)
{
    if (!t || !cond) return t;
    jl_tensor *r = jl_squeeze(t, t->ndim + d);
    jl_release(t);
    return r;
}

jl_tensor *jl_matmul(jl_tensor *a, jl_tensor *b)
{
    if (check_pair("matmul", a, b) != JL_OK) return NULL;
    if (a->ndim == 0 || b->ndim == 0) {
        JL_FAIL("matmul: both operands must be at least 1-D, got shapes %s and %s", jl_shape_str(a),
                jl_shape_str(b));
        return NULL;
    }
    int64_t ka = a->shape[a->ndim - 1], kb = b->shape[b->ndim == 1 ? 0 : b->ndim - 2];
    if (ka != kb) {
        JL_FAIL("matmul: shapes %s and %s do not align (%lld vs %lld)", jl_shape_str(a), jl_shape_str(b),
                (long long)ka, (long long)kb);
        return NULL;
    }
    jl_tensor *a2 = a->ndim == 1 ? jl_unsqueeze(a, 0) : jl_retain(a);
    jl_tensor *b2 = b->ndim == 1 ? jl_unsqueeze(b, 1) : jl_retain(b);
    jl_tensor *out = a2 && b2 ? matmul_nd(a2, b2) : NULL;
    jl_release(a2);
    jl_release(b2);
    out = squeeze_if(out, b->ndim == 1, -1);
    return squeeze_if(out, a->ndim == 1, -2 + (b->ndim == 1));
}

/* --- linear -------------------------------------------------------------- */

/* t (n) seen as (1, n), without autograd; +1 on t itself when at least 2-D. */
static jl_tensor *as_matrix(jl_tensor *t)
{
    if (t->ndim >= 2) return jl_retain(t);
    int64_t n = t->shape[0], s = t->strides[0];
    return jl_tensor_alias(t, 2, (int64_t[]){1, n}, (int64_t[]){n * s, s}, t->offset);
}

/* dx = g W; dW = g^T x over all leading dims; db = sum of g over leading dims. */
static int linear_backward(jl_node *node, jl_tensor *g, jl_tensor **grad_inputs)
{
    jl_tensor *x = jl_node_saved(node, 0), *w = jl_node_saved(node, 1);
    if (!x || !w) return jl_last_error_code();
    int64_t f_out = w->shape[0], f_in = w->shape[1], rows = leading_rows(x);
    if (node->needs_grad[0] && !(grad_inputs[0] = jl_matmul(g, w))) return jl_last_error_code();
    if (!node->needs_grad[1] && !node->needs_grad[2]) return JL_OK;
    jl_tensor *g2 = jl_reshape(g, 2, (int64_t[]){rows, f_out});
    if (g2 && node->needs_grad[1]) {
        jl_tensor *x2 = jl_reshape(x, 2, (int64_t[]){rows, f_in});
        jl_tensor *gt = x2 ? jl_transpose(g2, 0, 1) : NULL;
        grad_inputs[1] = gt ? jl_matmul(gt, x2) : NULL;
        jl_release(x2);
        jl_release(gt);
    }
    if (g2 && node->needs_grad[2]) grad_inputs[2] = jl_sum(g2, 0, false);
    jl_release(g2);
    bool ok = g2 && (!node->needs_grad[1] || grad_inputs[1]) && (!node->needs_grad[2] || grad_inputs[2]);
    return ok ? JL_OK : jl_last_error_code();
}

static int check_linear(const jl_tensor *x, const jl_tensor *w, const jl_tensor *bias)
{
    int rc = check_pair("linear", x, w);
    if (rc == JL_OK && bias) rc = check_pair("linear", w, bias);
    if (rc != JL_OK) return rc;
    if (w->ndim != 2)
        return JL_FAIL("linear: weight must be 2-D (F_out, F_in), got shape %s", jl_shape_str(w));
    if (x->ndim == 0) return JL_FAIL("linear: input must be at least 1-D, got shape %s", jl_shape_str(x));
    if (x->shape[x->ndim - 1] != w->shape[1])
        return JL_FAIL("linear: input %s and weight %s do not align (%lld vs %lld)", jl_shape_str(x),
                       jl_shape_str(w), (long long)x->shape[x->ndim - 1], (long long)w->shape[1]);
    if (bias && (bias->ndim != 1 || bias->shape[0] != w->shape[0]))
        return JL_FAIL("linear: bias %s does not match weight %s (expected (%lld))", jl_shape_str(bias),
                       jl_shape_str(w), (long long)w->shape[0]);
    return JL_OK;
}

/* out (..., F_out) <- x (..., F_in) @ weight (F_out, F_in)^T + bias (F_out) */
jl_tensor *jl_linear(jl_tensor *x, jl_tensor *weight, jl_tensor *bias)
{
    if (check_linear(x, weight, bias) != JL_OK) return NULL;
    int64_t shape[JL_MAX_DIMS];
    for (int d = 0; d < x->ndim; d++) shape[d] = x->shape[d];
    shape[x->ndim - 1] = weight->shape[0];
    jl_tensor *out = jl_tensor_new(JL_F32, x->ndim, shape, jl_device_of(x));
    jl_tensor *x2 = out ? as_matrix(x) : NULL;
    jl_tensor *out2 = x2 ? as_matrix(out) : NULL;
    int rc = out2 ? JL_OK : JL_ENOMEM;
    if (rc == JL_OK && bias) rc = jl_copy_(out, bias);
    if (rc == JL_OK) rc = gemm_into(out2, x2, false, weight, true, bias ? 1.0 : 0.0);
    jl_release(x2);
    jl_release(out2);
    if (rc != JL_OK) {
        jl_release(out);
        return NULL;
    }
    return record(out, "linear", linear_backward, bias ? 3 : 2, (jl_tensor *[]){x, weight, bias}, 2);
}
