/* ops_edgeconv.c — the fused building blocks of EdgeConv on ragged graphs
 * (jl_ops.h, "EdgeConv building blocks"):
 *
 *   jl_edge_gather      out[e] = ab[centre(e), :C] + ab[nbr[e], C:]  (first layer without
 *                       (E, 2C) edge features), backward = segment sum | scatter-add;
 *   jl_edge_features    [x_i, x_j - x_i] per edge, as one edge_gather;
 *   jl_batch_norm_relu  relu(batch_norm(x)) in one pass, optionally averaged over
 *                       segments (the last layer's mean over neighbours), so the
 *                       (E, C) activations are written once (or never); the node saves
 *                       only x and the channel table, and the backward recomputes the
 *                       ReLU mask from them;
 *   jl_relu_batch_norm  batch_norm(relu(x)) the same way (the "relu first" form of the
 *                       same kernels, i[2] = 1; LundNet's fusion layer and its pooling);
 *   jl_edges_by_dst     edge lists grouped by destination (LundNet's CSR), on the inputs' device;
 *   jl_graph_select     a batch of some graphs of such a table (LundNet's batches).
 *
 * The channel table (6, C) is the one of ops_nn.c: rows mean, variance (biased),
 * weight, bias, grad bias, grad weight; statistics come from the batchnorm_stats
 * kernel. With segments the backward kernel reads it from the fourth input view d
 * (bn_relu_backward in jl_ops.def).
 */
#include <stdlib.h>
#include <string.h>

#include "jl_ops.h"
#include "ops_bn.h"

/* --- argument checks -------------------------------------------------------------- */

/* A +1 contiguous copy of t on device (t itself when it already is). */
static jl_tensor *contiguous_on(jl_tensor *t, jl_device device)
{
    jl_tensor *c = jl_contiguous(t);
    jl_tensor *moved = c ? jl_to_device(c, device) : NULL;
    jl_release(c);
    return moved;
}

/* Checks offsets (S+1) i64 on any device (values are read from a host copy): starts at 0,
 * never decreases, ends at rows. */
static int check_offsets(const char *op, const char *name, jl_tensor *offsets, int64_t rows)
{
    if (offsets->dtype != JL_I64 || offsets->ndim != 1 || offsets->shape[0] < 1)
        return JL_FAIL("%s: %s must be a 1-D i64 tensor (count + 1), got %s %s", op, name,
                       jl_dtype_name(offsets->dtype), jl_shape_str(offsets));
    jl_tensor *h = contiguous_on(offsets, JL_CPU);
    if (!h) return jl_last_error_code();
    int64_t n = h->shape[0];
    const int64_t *o = jl_data(h);
    int rc = JL_OK;
    if (o[0] != 0) rc = JL_FAIL("%s: %s must start at 0, got %lld", op, name, (long long)o[0]);
    for (int64_t s = 1; s < n && !rc; s++)
        if (o[s] < o[s - 1])
            rc = JL_FAIL("%s: %s decrease at position %lld (%lld after %lld)", op, name, (long long)s + 1,
                         (long long)o[s], (long long)o[s - 1]);
    if (!rc && o[n - 1] != rows)
        rc = JL_FAIL("%s: %s end at %lld but there are %lld rows", op, name, (long long)o[n - 1],
                     (long long)rows);
    jl_release(h);
    return rc;
}

/* Checks rows (E) i64 on any device (read from a host copy), every value in [0, n). */
static int check_rows(const char *op, const char *name, jl_tensor *rows, int64_t n)
{
    if (rows->dtype != JL_I64 || rows->ndim != 1)
        return JL_FAIL("%s: %s must be a 1-D i64 tensor, got %s %s", op, name, jl_dtype_name(rows->dtype),
                       jl_shape_str(rows));
    jl_tensor *h = contiguous_on(rows, JL_CPU);
    if (!h) return jl_last_error_code();
    const int64_t *r = jl_data(h);
    int rc = JL_OK;
    for (int64_t e = 0; e < h->shape[0] && !rc; e++)
        if (r[e] < 0 || r[e] >= n)
            rc = JL_FAIL("%s: %s[%lld] = %lld is outside 0..%lld", op, name, (long long)e, (long long)r[e],
                         (long long)n - 1);
    jl_release(h);
    return rc;
}

/* --- edge_gather ------------------------------------------------------------------ */

static int edge_gather_backward(jl_node *node, jl_tensor *g, jl_tensor **grads)
{
    jl_tensor *eoff = jl_node_saved(node, 0), *nbr = jl_node_saved(node, 1);
    if (!eoff || !nbr) return jl_last_error_code();
    jl_tensor *gc = jl_contiguous(g);
    jl_tensor *out =
        gc ? jl_tensor_new(JL_F32, 2, (int64_t[]){node->i[0], 2 * node->i[1]}, jl_device_of(g)) : NULL;
    if (out) {
        jl_kargs k = {.op = JL_OP_edge_gather_backward,
                      .out = jl_view_of(out),
                      .a = jl_view_of(gc),
                      .b = jl_view_of(eoff),
                      .c = jl_view_of(nbr)};
        if (jl_run(jl_device_of(g), &k)) {
            jl_release(out);
            out = NULL;
        }
    }
    jl_release(gc);
    grads[0] = out;
    return out ? JL_OK : jl_last_error_code();
}

jl_tensor *jl_edge_gather(jl_tensor *ab, jl_tensor *edge_offsets, jl_tensor *nbr)
{
    if (ab->dtype != JL_F32 || ab->ndim != 2 || ab->shape[1] % 2) {
        JL_FAIL("edge_gather: ab must be f32 (N, 2C), got %s %s", jl_dtype_name(ab->dtype), jl_shape_str(ab));
        return NULL;
    }
    int64_t N = ab->shape[0], C = ab->shape[1] / 2;
    if (check_rows("edge_gather", "nbr", nbr, N) ||
        check_offsets("edge_gather", "edge_offsets", edge_offsets, nbr->shape[0]))
        return NULL;
    if (edge_offsets->shape[0] != N + 1) {
        JL_FAIL("edge_gather: edge_offsets has %lld entries but ab has %lld rows (need rows + 1)",
                (long long)edge_offsets->shape[0], (long long)N);
        return NULL;
    }
    /* a column slice of a GEMM output is fine as it is; anything else is made contiguous */
    jl_tensor *a = ab->strides[1] == 1 && ab->strides[0] >= 2 * C ? jl_retain(ab) : jl_contiguous(ab);
    /* the graph on ab's device: the kernels read it there */
    jl_tensor *eo = a ? contiguous_on(edge_offsets, jl_device_of(ab)) : NULL;
    jl_tensor *nb = eo ? contiguous_on(nbr, jl_device_of(ab)) : NULL;
    jl_tensor *out = nb ? jl_tensor_new(JL_F32, 2, (int64_t[]){nbr->shape[0], C}, jl_device_of(ab)) : NULL;
    int rc = out ? JL_OK : jl_last_error_code();
    if (!rc && jl_numel(out) > 0) {
        jl_kargs k = {.op = JL_OP_edge_gather,
                      .out = jl_view_of(out),
                      .a = jl_view_of(a),
                      .b = jl_view_of(eo),
                      .c = jl_view_of(nb)};
        rc = jl_run(jl_device_of(ab), &k);
    }
    if (!rc && jl_needs_graph(1, &ab)) {
        jl_node *node = jl_node_new("edge_gather", edge_gather_backward, 1, &ab);
        if (!node) {
            rc = jl_last_error_code();
        } else {
            node->i[0] = N;
            node->i[1] = C;
            jl_node_save(node, eo);
            jl_node_save(node, nb);
            jl_attach(out, node);
        }
    }
    jl_release(a);
    jl_release(eo);
    jl_release(nb);
    if (rc) {
        jl_release(out);
        return NULL;
    }
    return out;
}

/* --- edge_features ------------------------------------------------------------------ */

jl_tensor *jl_edge_features(jl_tensor *x, jl_tensor *edge_offsets, jl_tensor *nbr)
{
    if (x->dtype != JL_F32 || x->ndim != 2) {
        JL_FAIL("edge_features: x must be f32 (N, C), got %s %s", jl_dtype_name(x->dtype), jl_shape_str(x));
        return NULL;
    }
    /* [x, -x | 0, x]: the centre's half gives [x_i, -x_i], the neighbour's [0, x_j] */
    jl_tensor *neg = jl_neg(x), *zero = neg ? jl_zeros_like(x) : NULL;
    jl_tensor *parts[4] = {x, neg, zero, x};
    jl_tensor *table = zero ? jl_cat(4, parts, 1) : NULL;
    jl_tensor *out = table ? jl_edge_gather(table, edge_offsets, nbr) : NULL;
    jl_release(neg);
    jl_release(zero);
    jl_release(table);
    if (!out) jl_error_wrap("edge_features");
    return out;
}

/* --- batch_norm_relu ---------------------------------------------------------------- */

static int batch_norm_relu_backward(jl_node *node, jl_tensor *g, jl_tensor **grads)
{
    jl_tensor *x = jl_node_saved(node, 0), *saved_table = jl_node_saved(node, 1);
    jl_tensor *segments = node->n_saved > 2 ? jl_node_saved(node, 2) : NULL;
    if (!x || !saved_table || (node->n_saved > 2 && !segments)) return jl_last_error_code();
    bool was = jl_set_grad_enabled(false);
    jl_tensor *gc = jl_contiguous(g);
    jl_tensor *table = gc ? jl_clone(saved_table) : NULL; /* rows 4, 5 receive the parameter grads */
    int rc = table ? JL_OK : jl_last_error_code();
    if (!rc) {
        jl_kargs k = {.op = JL_OP_bn_relu_backward, .a = jl_view_of(gc), .i = {[2] = node->i[0]}};
        if (segments) {
            k.c = jl_view_of(segments);
            k.d = jl_view_of(table);
        } else {
            k.c = jl_view_of(table);
        }
        rc = jl_bn_backward_run(node, &k, x, table, grads);
    }
    jl_set_grad_enabled(was);
    jl_release(gc);
    jl_release(table);
    return rc;
}

/* jl_batch_norm_relu, or jl_relu_batch_norm when relu_first; op names it in errors. */
static jl_tensor *norm_relu(const char *op, bool relu_first, jl_tensor *x, jl_tensor *weight, jl_tensor *bias,
                            jl_tensor *running_mean, jl_tensor *running_var, bool training, double momentum,
                            double eps, jl_tensor *segments)
{
    int rc = jl_bn_check(op, x, weight, bias, running_mean, running_var, training, momentum, eps);
    if (!rc && segments) rc = check_offsets(op, "segments", segments, x->shape[0]);
    if (rc) return NULL;

    int64_t N = x->shape[0], C = x->shape[1], S = segments ? segments->shape[0] - 1 : N;
    bool was_enabled = jl_set_grad_enabled(false);
    jl_tensor *xc = jl_contiguous(x);
    jl_tensor *seg = xc && segments ? contiguous_on(segments, jl_device_of(x)) : NULL;
    jl_tensor *table =
        xc && (!segments || seg) ? jl_bn_table(xc, weight, bias, running_mean, running_var, training, relu_first)
                                 : NULL;
    rc = table ? JL_OK : jl_last_error_code();
    jl_tensor *out = !rc ? jl_tensor_new(JL_F32, 2, (int64_t[]){S, C}, jl_device_of(x)) : NULL;
    if (!rc && !out) rc = jl_last_error_code();
    if (!rc && S * C > 0) {
        jl_kargs k = {.op = JL_OP_bn_relu_forward,
                      .a = jl_view_of(xc),
                      .out = jl_view_of(out),
                      .b = jl_bn_rows(table, ROW_MEAN, 4),
                      .s = {eps},
                      .i = {N, C, relu_first}};
        if (seg) k.c = jl_view_of(seg);
        rc = jl_run(jl_device_of(x), &k);
    }
    if (!rc && training && running_mean)
        rc = jl_bn_update_running(running_mean, running_var, table, momentum, N);
    jl_set_grad_enabled(was_enabled);

    jl_tensor *inputs[3] = {x, weight, bias};
    if (!rc && jl_needs_graph(3, inputs)) {
        static const char *const names[2][2] = {{"batch_norm_relu", "batch_norm_relu_mean"},
                                                {"relu_batch_norm", "relu_batch_norm_mean"}};
        jl_node *node = jl_node_new(names[relu_first][segments != NULL], batch_norm_relu_backward, 3, inputs);
        if (!node) {
            rc = jl_last_error_code();
        } else {
            jl_node_save(node, xc);
            jl_node_save(node, table);
            if (seg) jl_node_save(node, seg);
            node->s[0] = eps;
            node->s[1] = training ? 1.0 : 0.0;
            node->i[0] = relu_first;
            jl_attach(out, node);
        }
    }
    jl_release(xc);
    jl_release(seg);
    jl_release(table);
    if (rc) {
        jl_release(out);
        return NULL;
    }
    return out;
}

jl_tensor *jl_batch_norm_relu(jl_tensor *x, jl_tensor *weight, jl_tensor *bias, jl_tensor *running_mean,
                              jl_tensor *running_var, bool training, double momentum, double eps,
                              jl_tensor *segments)
{
    return norm_relu("batch_norm_relu", false, x, weight, bias, running_mean, running_var, training, momentum, eps,
                     segments);
}

jl_tensor *jl_relu_batch_norm(jl_tensor *x, jl_tensor *weight, jl_tensor *bias, jl_tensor *running_mean,
                              jl_tensor *running_var, bool training, double momentum, double eps,
                              jl_tensor *segments)
{
    return norm_relu("relu_batch_norm", true, x, weight, bias, running_mean, running_var, training, momentum, eps,
                     segments);
}

/* --- edges_by_dst ------------------------------------------------------------------- */

/* *t (+1, host) replaced by its copy on device (no-op on the cpu); 0 or the error code. */
static int move_to(jl_tensor **t, jl_device device)
{
    if (!*t || device == JL_CPU) return JL_OK;
    jl_tensor *moved = jl_to_device(*t, device);
    jl_release(*t);
    *t = moved;
    return moved ? JL_OK : jl_last_error_code();
}

jl_tensor *jl_edges_by_dst(jl_tensor *src, jl_tensor *dst, int64_t n_nodes, jl_tensor **edge_offsets,
                           jl_tensor **perm)
{
    *edge_offsets = NULL;
    if (perm) *perm = NULL;
    if (n_nodes < 0) {
        JL_FAIL("edges_by_dst: n_nodes must be >= 0, got %lld", (long long)n_nodes);
        return NULL;
    }
    if (check_rows("edges_by_dst", "src", src, n_nodes) || check_rows("edges_by_dst", "dst", dst, n_nodes))
        return NULL;
    if (src->shape[0] != dst->shape[0]) {
        JL_FAIL("edges_by_dst: src has %lld edges but dst %lld", (long long)src->shape[0],
                (long long)dst->shape[0]);
        return NULL;
    }
    if (jl_device_of(src) != jl_device_of(dst)) {
        JL_FAIL_CODE(JL_EDEVICE, "edges_by_dst: src is on %s but dst on %s",
                     jl_device_name(jl_device_of(src)), jl_device_name(jl_device_of(dst)));
        return NULL;
    }
    /* a counting sort on the host; the results go back to src's device */
    int64_t E = src->shape[0];
    jl_tensor *hs = contiguous_on(src, JL_CPU), *hd = hs ? contiguous_on(dst, JL_CPU) : NULL;
    jl_tensor *eo = hd ? jl_zeros(JL_I64, 1, (int64_t[]){n_nodes + 1}, JL_CPU) : NULL;
    jl_tensor *nbr = eo ? jl_tensor_new(JL_I64, 1, &E, JL_CPU) : NULL;
    jl_tensor *p = nbr && perm ? jl_tensor_new(JL_I64, 1, &E, JL_CPU) : NULL;
    int64_t *next = nbr ? malloc(sizeof(int64_t) * (size_t)(n_nodes + 1)) : NULL;
    int rc = JL_OK;
    if (!next || (perm && !p))
        rc = nbr && !next ? JL_FAIL_CODE(JL_ENOMEM, "edges_by_dst: out of memory") : jl_last_error_code();
    if (!rc) {
        const int64_t *s = jl_data(hs), *d = jl_data(hd);
        int64_t *off = jl_data(eo), *nb = jl_data(nbr), *pp = p ? jl_data(p) : NULL;
        for (int64_t e = 0; e < E; e++) off[d[e] + 1]++;
        for (int64_t i = 0; i < n_nodes; i++) off[i + 1] += off[i];
        memcpy(next, off, sizeof(int64_t) * (size_t)(n_nodes + 1));
        for (int64_t e = 0; e < E; e++) {
            int64_t at = next[d[e]]++;
            nb[at] = s[e];
            if (pp) pp[at] = e;
        }
        jl_device device = jl_device_of(src);
        rc = move_to(&eo, device);
        if (!rc) rc = move_to(&nbr, device);
        if (!rc) rc = move_to(&p, device);
    }
    free(next);
    jl_release(hs);
    jl_release(hd);
    if (rc) {
        jl_release(eo);
        jl_release(nbr);
        jl_release(p);
        return NULL;
    }
    *edge_offsets = eo;
    if (perm) *perm = p;
    return nbr;
}

/* --- graph_select --------------------------------------------------------------------- */

/* The table's arrays on the host and their sizes; node rows in src and jets count from base. */
typedef struct graph_table {
    const int64_t *off, *eoff, *src, *jets;
    int64_t B, N, E, K, base;
} graph_table;

/* The node and edge counts of the selected jets, checking everything the selection
 * reads (so the cost stays proportional to the selection, not the table): each jet
 * number, its node range, its nodes' edge ranges and that every edge stays in the
 * jet. Messages number jets, nodes, edges and positions from 1. */
static int count_selection(const graph_table *t, int64_t *M, int64_t *E)
{
    *M = *E = 0;
    for (int64_t k = 0; k < t->K; k++) {
        int64_t j = t->jets[k] - t->base;
        if (j < 0 || j >= t->B)
            return JL_FAIL(
                "graph_select: jet %lld (position %lld of the selection) is not one of the %lld graphs "
                "(1..%lld)",
                (long long)j + 1, (long long)k + 1, (long long)t->B, (long long)t->B);
        int64_t first = t->off[j], last = t->off[j + 1];
        if (first < 0 || first > last || last > t->N)
            return JL_FAIL("graph_select: offsets give jet %lld the nodes %lld..%lld, outside 1..%lld",
                           (long long)j + 1, (long long)first + 1, (long long)last, (long long)t->N);
        for (int64_t node = first; node < last; node++) {
            int64_t e0 = t->eoff[node], e1 = t->eoff[node + 1];
            if (e0 < 0 || e0 > e1 || e1 > t->E)
                return JL_FAIL(
                    "graph_select: edge_offsets give node %lld the edges %lld..%lld, outside 1..%lld",
                    (long long)node + 1, (long long)e0 + 1, (long long)e1, (long long)t->E);
            for (int64_t e = e0; e < e1; e++) {
                int64_t from = t->src[e] - t->base;
                if (from < first || from >= last)
                    return JL_FAIL(
                        "graph_select: edge %lld of jet %lld comes from node %lld, outside the jet's "
                        "nodes %lld..%lld",
                        (long long)e + 1, (long long)j + 1, (long long)from + 1, (long long)first + 1,
                        (long long)last);
            }
        }
        *M += last - first;
        *E += t->eoff[last] - t->eoff[first];
    }
    return JL_OK;
}

/* Fills the selection (host tensors of the counted sizes); node rows count from base. */
static void fill_selection(const graph_table *t, const jl_graph_batch *b)
{
    int64_t *rows = jl_data(b->rows), *o = jl_data(b->offsets), *s = jl_data(b->src), *d = jl_data(b->dst);
    int64_t *eo = jl_data(b->edge_offsets);
    int64_t m = 0, e_out = 0;
    o[0] = eo[0] = 0;
    for (int64_t k = 0; k < t->K; k++) {
        int64_t j = t->jets[k] - t->base, first = t->off[j], shift = m - first;
        for (int64_t node = first; node < t->off[j + 1]; node++, m++) {
            rows[m] = node + t->base;
            for (int64_t e = t->eoff[node]; e < t->eoff[node + 1]; e++, e_out++) {
                s[e_out] = t->src[e] + shift;
                d[e_out] = m + t->base;
            }
            eo[m + 1] = e_out;
        }
        o[k + 1] = m;
    }
}

/* A 1-D i64 tensor, or an error naming it. */
static int check_index_vector(const char *name, const jl_tensor *t, int64_t min_len)
{
    if (t->dtype != JL_I64 || t->ndim != 1 || t->shape[0] < min_len)
        return JL_FAIL("graph_select: %s must be a 1-D i64 tensor%s, got %s %s", name,
                       min_len ? " (count + 1)" : "", jl_dtype_name(t->dtype), jl_shape_str(t));
    return JL_OK;
}

int jl_graph_select(jl_tensor *offsets, jl_tensor *edge_offsets, jl_tensor *src, jl_tensor *jets,
                    int64_t base, jl_graph_batch *out)
{
    *out = (jl_graph_batch){0};
    int rc = check_index_vector("offsets", offsets, 1);
    if (!rc) rc = check_index_vector("edge_offsets", edge_offsets, 1);
    if (!rc) rc = check_index_vector("src", src, 0);
    if (!rc) rc = check_index_vector("jets", jets, 0);
    if (rc) return rc;
    jl_tensor *ho = contiguous_on(offsets, JL_CPU), *he = ho ? contiguous_on(edge_offsets, JL_CPU) : NULL;
    jl_tensor *hs = he ? contiguous_on(src, JL_CPU) : NULL, *hj = hs ? contiguous_on(jets, JL_CPU) : NULL;
    graph_table t = {.B = offsets->shape[0] - 1,
                     .N = edge_offsets->shape[0] - 1,
                     .E = src->shape[0],
                     .K = jets->shape[0],
                     .base = base};
    int64_t M = 0, E = 0;
    if (hj) {
        t.off = jl_data(ho), t.eoff = jl_data(he), t.src = jl_data(hs), t.jets = jl_data(hj);
        rc = count_selection(&t, &M, &E);
    } else {
        rc = jl_last_error_code();
    }
    jl_graph_batch b = {0};
    if (!rc) {
        b.rows = jl_tensor_new(JL_I64, 1, &M, JL_CPU);
        b.offsets = jl_tensor_new(JL_I64, 1, (int64_t[]){t.K + 1}, JL_CPU);
        b.src = jl_tensor_new(JL_I64, 1, &E, JL_CPU);
        b.dst = jl_tensor_new(JL_I64, 1, &E, JL_CPU);
        b.edge_offsets = jl_tensor_new(JL_I64, 1, (int64_t[]){M + 1}, JL_CPU);
        if (!b.rows || !b.offsets || !b.src || !b.dst || !b.edge_offsets) rc = jl_last_error_code();
    }
    if (!rc) {
        fill_selection(&t, &b);
        jl_device device = jl_device_of(offsets);
        jl_tensor **all[] = {&b.rows, &b.offsets, &b.src, &b.dst, &b.edge_offsets};
        for (size_t i = 0; i < sizeof all / sizeof all[0] && !rc; i++) rc = move_to(all[i], device);
    }
    jl_release(ho);
    jl_release(he);
    jl_release(hs);
    jl_release(hj);
    if (rc) {
        jl_graph_batch_release(&b);
        return rc;
    }
    *out = b;
    return JL_OK;
}

void jl_graph_batch_release(jl_graph_batch *b)
{
    jl_release(b->rows);
    jl_release(b->offsets);
    jl_release(b->src);
    jl_release(b->dst);
    jl_release(b->edge_offsets);
    *b = (jl_graph_batch){0};
}
