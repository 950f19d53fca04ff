/* ops_graph.c — ragged-batch graph ops: kNN inside each jet, segment ids,
 * segment sum/mean/max with backward (see jl_ops.h for the layout), and the
 * scatter-mean over an edge list in any order (index_add of the rows and of the
 * counts, both backends). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "jl_ops.h"

/* --- offsets --------------------------------------------------------------------- */
/* Host copy of offsets (S+1) i64 after checking it is a valid partition of `rows`
 * rows: 1-D, i64, starts at 0, never decreases, ends at rows. Caller frees. */
static int64_t *checked_offsets(const char *op, jl_tensor *offsets, int64_t rows, int64_t *segments)
{
    if (offsets->dtype != JL_I64 || offsets->ndim != 1 || offsets->shape[0] < 1) {
        JL_FAIL("%s: offsets must be a 1-D i64 tensor of length segments+1, got %s %s", op,
                jl_dtype_name(offsets->dtype), jl_shape_str(offsets));
        return NULL;
    }
    int64_t n = offsets->shape[0];
    double *values = malloc(sizeof(double) * (size_t)n);
    int64_t *host = malloc(sizeof(int64_t) * (size_t)n);
    if (!values || !host || jl_to_doubles(offsets, values)) {
        if (values && host) JL_FAIL_CODE(JL_ENOMEM, "%s: out of memory reading offsets", op);
        free(values);
        free(host);
        return NULL;
    }
    int rc = JL_OK;
    for (int64_t s = 0; s < n && !rc; s++) {
        if (!(values[s] >= 0 && values[s] <= (double)(INT64_MAX / 16))) {
            rc = JL_FAIL("%s: offset %g at position %lld is not a valid row count", op, values[s],
                         (long long)s + 1);
            break;
        }
        host[s] = (int64_t)values[s];
        if (s == 0 && host[0] != 0)
            rc = JL_FAIL("%s: offsets must start at 0, got %lld", op, (long long)host[0]);
        else if (s > 0 && host[s] < host[s - 1])
            rc = JL_FAIL("%s: offsets decrease at position %lld (%lld after %lld)", op, (long long)s + 1,
                         (long long)host[s], (long long)host[s - 1]);
    }
    if (!rc && host[n - 1] != rows)
        rc = JL_FAIL("%s: offsets end at %lld but the tensor has %lld rows", op, (long long)host[n - 1],
                     (long long)rows);
    free(values);
    if (rc) {
        free(host);
        return NULL;
    }
    *segments = n - 1;
    return host;
}

static jl_tensor *i64_tensor(const int64_t *values, int64_t n, jl_device device)
{
    jl_tensor *host = jl_from_host(JL_I64, 1, &n, values);
    if (!host || device == JL_CPU) return host;
    jl_tensor *moved = jl_to_device(host, device);
    jl_release(host);
    return moved;
}

/* --- kNN --------------------------------------------------------------------------- */
jl_tensor *jl_knn(jl_tensor *coords, jl_tensor *offsets, int k, jl_tensor **edge_offsets)
{
    *edge_offsets = NULL;
    if (coords->dtype != JL_F32 || coords->ndim != 2) {
        JL_FAIL("knn: coords must be f32 (N, D), got %s %s", jl_dtype_name(coords->dtype),
                jl_shape_str(coords));
        return NULL;
    }
    if (k < 1) {
        JL_FAIL("knn: k must be at least 1, got %d", k);
        return NULL;
    }
    if (jl_device_of(offsets) != jl_device_of(coords)) {
        JL_FAIL_CODE(JL_EDEVICE, "knn: offsets are on %s but coords on %s",
                     jl_device_name(jl_device_of(offsets)), jl_device_name(jl_device_of(coords)));
        return NULL;
    }
    int64_t jets, n_rows = coords->shape[0];
    int64_t *off = checked_offsets("knn", offsets, n_rows, &jets);
    if (!off) return NULL;
    int64_t *edges = malloc(sizeof(int64_t) * (size_t)(n_rows + 1));
    if (!edges) {
        free(off);
        JL_FAIL_CODE(JL_ENOMEM, "knn: out of memory");
        return NULL;
    }
    edges[0] = 0;
    for (int64_t j = 0; j < jets; j++) {
        int64_t n = off[j + 1] - off[j], m = n - 1 < k ? n - 1 : k;
        for (int64_t r = off[j]; r < off[j + 1]; r++) edges[r + 1] = edges[r] + m;
    }
    int64_t total = edges[n_rows];
    jl_tensor *eoff = i64_tensor(edges, n_rows + 1, jl_device_of(coords));
    jl_tensor *c = eoff ? jl_contiguous(coords) : NULL;
    jl_tensor *o = c ? jl_contiguous(offsets) : NULL;
    jl_tensor *nbr = o ? jl_tensor_new(JL_I64, 1, &total, jl_device_of(coords)) : NULL;
    free(edges);
    free(off);
    if (nbr) {
        jl_kargs kk = {.op = JL_OP_knn,
                       .out = jl_view_of(nbr),
                       .a = jl_view_of(c),
                       .b = jl_view_of(o),
                       .c = jl_view_of(eoff),
                       .i = {k}};
        if (jl_run(jl_device_of(coords), &kk)) {
            jl_release(nbr);
            nbr = NULL;
        }
    }
    jl_release(c);
    jl_release(o);
    if (!nbr) {
        jl_release(eoff);
        return NULL;
    }
    *edge_offsets = eoff;
    return nbr;
}

/* --- segments -------------------------------------------------------------------- */
jl_tensor *jl_segment_ids(jl_tensor *offsets)
{
    int64_t segments;
    double last = 0;
    if (offsets->dtype == JL_I64 && offsets->ndim == 1 && offsets->shape[0] >= 1) {
        jl_tensor *tail = jl_narrow(offsets, 0, offsets->shape[0] - 1, 1);
        if (!tail || jl_to_doubles(tail, &last)) {
            jl_release(tail);
            return NULL;
        }
        jl_release(tail);
    }
    /* a row count beyond any allocatable tensor is refused before converting */
    if (!(last >= 0 && last <= (double)(INT64_MAX / 16))) {
        JL_FAIL("segment_ids: offsets end at %g, not a valid row count", last);
        return NULL;
    }
    int64_t rows = (int64_t)last;
    int64_t *off = checked_offsets("segment_ids", offsets, rows, &segments);
    if (!off) return NULL;
    free(off);
    jl_tensor *o = jl_contiguous(offsets);
    jl_tensor *ids = o ? jl_tensor_new(JL_I64, 1, &rows, jl_device_of(offsets)) : NULL;
    if (ids) {
        jl_kargs k = {.op = JL_OP_segment_ids, .out = jl_view_of(ids), .a = jl_view_of(o), .i = {rows}};
        if (jl_run(jl_device_of(offsets), &k)) {
            jl_release(ids);
            ids = NULL;
        }
    }
    jl_release(o);
    return ids;
}

enum { SEGMENT_SUM = 0, SEGMENT_MEAN = 1, SEGMENT_MAX = 2 };
static const char *const segment_names[] = {"segment_sum", "segment_mean", "segment_max"};

/* g (S, F) -> (E, F): row e gets g[segment(e)], scaled by 1/count for mean. */
static int segment_spread_backward(jl_node *node, jl_tensor *g, jl_tensor **grads)
{
    jl_tensor *offsets = jl_node_saved(node, 0);
    jl_tensor *ids = offsets ? jl_segment_ids(offsets) : NULL;
    jl_tensor *scaled = NULL;
    if (ids && node->i[0] == SEGMENT_MEAN) {
        jl_tensor *inv = jl_node_saved(node, 1); /* (S, 1) 1/count, 0 for empty */
        scaled = inv ? jl_mul(g, inv) : NULL;
    } else if (ids) {
        scaled = jl_retain(g);
    }
    grads[0] = scaled ? jl_index_select(scaled, 0, ids) : NULL;
    jl_release(scaled);
    jl_release(ids);
    return grads[0] ? JL_OK : jl_last_error_code();
}

/* g (S, F) -> (E, F): each column's gradient goes to the row that held the max. */
static int segment_max_backward(jl_node *node, jl_tensor *g, jl_tensor **grads)
{
    jl_tensor *arg = jl_node_saved(node, 0); /* (S, F) i64, -1 for empty segments */
    if (!arg) return jl_last_error_code();
    jl_tensor *zero_i = jl_full(JL_I64, 0, NULL, 0, jl_device_of(arg));
    jl_tensor *valid = zero_i ? jl_compare(JL_OP_ge, arg, zero_i) : NULL;
    jl_tensor *index = valid ? jl_maximum(arg, zero_i) : NULL;
    jl_tensor *zero_f = index ? jl_scalar_like(g, 0) : NULL;
    jl_tensor *kept = zero_f ? jl_where(valid, g, zero_f) : NULL;
    jl_tensor *base = kept ? jl_zeros(JL_F32, 2, node->i + 1, jl_device_of(g)) : NULL;
    grads[0] = base ? jl_scatter_add(base, 0, index, kept) : NULL;
    jl_tensor *tmp[] = {zero_i, valid, index, zero_f, kept, base};
    for (size_t t = 0; t < sizeof tmp / sizeof *tmp; t++) jl_release(tmp[t]);
    return grads[0] ? JL_OK : jl_last_error_code();
}

/* (S, 1) tensor of 1/count per segment (0 for an empty segment). */
static jl_tensor *inverse_counts(const int64_t *off, int64_t segments, jl_device device)
{
    int64_t shape[2] = {segments, 1};
    jl_tensor *host = jl_tensor_new(JL_F32, 2, shape, JL_CPU);
    if (!host) return NULL;
    float *p = jl_data(host);
    for (int64_t s = 0; s < segments; s++) {
        int64_t n = off[s + 1] - off[s];
        p[s] = n ? 1.0f / (float)n : 0.0f;
    }
    if (device == JL_CPU) return host;
    jl_tensor *moved = jl_to_device(host, device);
    jl_release(host);
    return moved;
}

static jl_tensor *segment_reduce(int mode, jl_tensor *x, jl_tensor *offsets)
{
    const char *op = segment_names[mode];
    if (x->dtype != JL_F32 || x->ndim != 2) {
        JL_FAIL("%s: x must be f32 (E, F), got %s %s", op, jl_dtype_name(x->dtype), jl_shape_str(x));
        return NULL;
    }
    if (jl_device_of(offsets) != jl_device_of(x)) {
        JL_FAIL_CODE(JL_EDEVICE, "%s: offsets are on %s but x on %s", op,
                     jl_device_name(jl_device_of(offsets)), jl_device_name(jl_device_of(x)));
        return NULL;
    }
    int64_t segments;
    int64_t *off = checked_offsets(op, offsets, x->shape[0], &segments);
    if (!off) return NULL;
    int64_t shape[2] = {segments, x->shape[1]};
    jl_tensor *c = jl_contiguous(x), *o = c ? jl_contiguous(offsets) : NULL;
    jl_tensor *out = o ? jl_tensor_new(JL_F32, 2, shape, jl_device_of(x)) : NULL;
    jl_tensor *arg = out && mode == SEGMENT_MAX ? jl_tensor_new(JL_I64, 2, shape, jl_device_of(x)) : NULL;
    jl_tensor *inv = out && mode == SEGMENT_MEAN ? inverse_counts(off, segments, jl_device_of(x)) : NULL;
    int rc =
        out && (mode != SEGMENT_MAX || arg) && (mode != SEGMENT_MEAN || inv) ? JL_OK : jl_last_error_code();
    if (!rc) {
        jl_kargs k = {.op = JL_OP_segment_reduce,
                      .out = jl_view_of(out),
                      .a = jl_view_of(c),
                      .b = jl_view_of(o),
                      .i = {mode}};
        if (arg) k.c = jl_view_of(arg);
        rc = jl_run(jl_device_of(x), &k);
    }
    if (!rc && jl_needs_graph(1, &x)) {
        jl_node *node =
            jl_node_new(op, mode == SEGMENT_MAX ? segment_max_backward : segment_spread_backward, 1, &x);
        if (!node) rc = jl_last_error_code();
        else {
            node->i[0] = mode;
            node->i[1] = x->shape[0];
            node->i[2] = x->shape[1];
            jl_node_save(node, mode == SEGMENT_MAX ? arg : offsets);
            if (inv) jl_node_save(node, inv);
            jl_attach(out, node);
        }
    }
    free(off);
    jl_release(c);
    jl_release(o);
    jl_release(arg);
    jl_release(inv);
    if (rc) {
        jl_release(out);
        return NULL;
    }
    return out;
}

jl_tensor *jl_segment_sum(jl_tensor *x, jl_tensor *offsets)
{
    return segment_reduce(SEGMENT_SUM, x, offsets);
}
jl_tensor *jl_segment_mean(jl_tensor *x, jl_tensor *offsets)
{
    return segment_reduce(SEGMENT_MEAN, x, offsets);
}
jl_tensor *jl_segment_max(jl_tensor *x, jl_tensor *offsets)
{
    return segment_reduce(SEGMENT_MAX, x, offsets);
}

/* --- scatter_mean ------------------------------------------------------------------- */

jl_tensor *jl_scatter_mean(jl_tensor *src, jl_tensor *index, int64_t n)
{
    if (src->dtype != JL_F32 || src->ndim != 2) {
        JL_FAIL("scatter_mean: src must be f32 (E, F), got %s %s", jl_dtype_name(src->dtype),
                jl_shape_str(src));
        return NULL;
    }
    if (index->dtype != JL_I64 || index->ndim != 1 || index->shape[0] != src->shape[0]) {
        JL_FAIL("scatter_mean: index must be i64 (E) with E = %lld rows of src, got %s %s",
                (long long)src->shape[0], jl_dtype_name(index->dtype), jl_shape_str(index));
        return NULL;
    }
    if (n < 0) {
        JL_FAIL("scatter_mean: the number of targets must be >= 0, got %lld", (long long)n);
        return NULL;
    }
    jl_device device = jl_device_of(src);
    /* sum of the rows per target (index_add checks the index range), divided by the count */
    jl_tensor *zeros = jl_zeros(JL_F32, 2, (int64_t[]){n, src->shape[1]}, device);
    jl_tensor *sum = zeros ? jl_index_add(zeros, 0, index, src) : NULL;
    jl_tensor *no_counts = sum ? jl_zeros(JL_F32, 1, &n, device) : NULL;
    jl_tensor *ones = no_counts ? jl_full(JL_F32, 1, src->shape, 1.0, device) : NULL;
    jl_tensor *count = ones ? jl_index_add(no_counts, 0, index, ones) : NULL;
    jl_tensor *at_least_1 = count ? jl_clamp(count, 1.0, INFINITY) : NULL;
    jl_tensor *column = at_least_1 ? jl_unsqueeze(at_least_1, 1) : NULL;
    jl_tensor *out = column ? jl_div(sum, column) : NULL;
    jl_tensor *tmp[] = {zeros, sum, no_counts, ones, count, at_least_1, column};
    for (size_t i = 0; i < sizeof tmp / sizeof tmp[0]; i++) jl_release(tmp[i]);
    if (!out) jl_error_wrap("scatter_mean");
    return out;
}
