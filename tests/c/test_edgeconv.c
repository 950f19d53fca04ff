/* test_edgeconv.c — the EdgeConv building blocks (core/tensor/ops_edgeconv.c):
 * jl_edge_gather against a naive loop (contiguous and column-slice inputs, nodes
 * without edges), jl_batch_norm_relu against relu(jl_batch_norm) and its segment
 * mean, jl_relu_batch_norm against jl_batch_norm(relu) and its segment mean (training
 * and eval, running buffers, empty segments, many row chunks),
 * every backward against central differences, jl_edges_by_dst against a naive
 * grouping, jl_edge_features and jl_scatter_mean against naive loops and central
 * differences, edge_gather's backward the same for batches of graphs and one graph at 1
 * and 3 threads, jl_graph_select against selecting the edges by hand (base 0 and 1),
 * thread-count independence, errors naming the problem, no leaks. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jl_parallel.h"
#include "reference.h"

#define SHAPE(...) ((const int64_t[]){__VA_ARGS__})
#define EPS 1e-5

static int64_t live_at_start;
static void setup(void) { live_at_start = ref_live(); }
static void teardown(void) { cr_assert_eq(ref_live(), live_at_start, "tensors leaked"); }
TestSuite(edgeconv, .init = setup, .fini = teardown);

static jl_tensor *i64(int64_t n, const int64_t *v) { return jl_from_host(JL_I64, 1, &n, v); }

/* A small CSR graph: 7 nodes in two "jets" {0..3}, {4..6}; node 3 and node 6 have no edges. */
static const int64_t EOFF[] = {0, 3, 5, 8, 8, 10, 11, 11};
static const int64_t NBR[] = {1, 2, 3, 0, 3, 1, 0, 1, 5, 6, 4};
#define NODES 7
#define EDGES 11

Test(edgeconv, edge_gather_matches_naive_loop)
{
    jl_tensor *eoff = i64(NODES + 1, EOFF), *nbr = i64(EDGES, NBR);
    /* ab as a column slice (N, 2C) of a wider tensor: row stride 10, C = 3 */
    jl_tensor *wide = ref_randn(2, SHAPE(NODES, 10), 1, false);
    jl_tensor *ab = jl_narrow(wide, 1, 2, 6);
    for (int contiguous = 0; contiguous < 2; contiguous++) {
        jl_tensor *in = contiguous ? jl_contiguous(ab) : jl_retain(ab);
        jl_tensor *out = jl_edge_gather(in, eoff, nbr);
        cr_assert_not_null(out, "%s", jl_last_error());
        cr_assert_eq(out->shape[0], EDGES);
        cr_assert_eq(out->shape[1], 3);
        double expected[EDGES * 3];
        for (int64_t i = 0; i < NODES; i++)
            for (int64_t e = EOFF[i]; e < EOFF[i + 1]; e++)
                for (int f = 0; f < 3; f++)
                    expected[e * 3 + f] = ref_at(in, i * 6 + f) + ref_at(in, NBR[e] * 6 + 3 + f);
        cr_assert_lt(ref_max_rel_diff_array(out, expected), 1e-6);
        jl_release(out);
        jl_release(in);
    }
    jl_release(ab);
    jl_release(wide);
    jl_release(eoff);
    jl_release(nbr);
}

static jl_tensor *gather_fn(jl_tensor **in, void *ctx)
{
    jl_tensor **g = ctx;
    return jl_edge_gather(in[0], g[0], g[1]);
}

Test(edgeconv, edge_gather_backward_central_differences)
{
    jl_tensor *eoff = i64(NODES + 1, EOFF), *nbr = i64(EDGES, NBR);
    jl_tensor *ctx[2] = {eoff, nbr};
    /* C = 20 spans two column blocks of the scatter kernel */
    jl_tensor *ab = ref_randn(2, SHAPE(NODES, 40), 2, true);
    cr_assert_lt(ref_gradcheck(gather_fn, 1, &ab, ctx), 1e-2);
    jl_release(ab);
    jl_release(eoff);
    jl_release(nbr);
}

static jl_tensor *features_fn(jl_tensor **in, void *ctx)
{
    jl_tensor **g = ctx;
    return jl_edge_features(in[0], g[0], g[1]);
}

Test(edgeconv, edge_features_match_naive_loop_and_central_differences)
{
    jl_tensor *eoff = i64(NODES + 1, EOFF), *nbr = i64(EDGES, NBR);
    const int64_t C = 3;
    jl_tensor *x = ref_randn(2, SHAPE(NODES, C), 3, true);
    jl_tensor *out = jl_edge_features(x, eoff, nbr);
    cr_assert_not_null(out, "%s", jl_last_error());
    cr_assert_eq(out->shape[0], EDGES);
    cr_assert_eq(out->shape[1], 2 * C);
    for (int64_t i = 0; i < NODES; i++)
        for (int64_t e = EOFF[i]; e < EOFF[i + 1]; e++)
            for (int64_t f = 0; f < C; f++) {
                double xi = ref_at(x, i * C + f), xj = ref_at(x, NBR[e] * C + f);
                cr_assert_float_eq(ref_at(out, e * 2 * C + f), xi, 1e-6);
                cr_assert_float_eq(ref_at(out, e * 2 * C + C + f), xj - xi, 1e-6);
            }
    jl_tensor *ctx[2] = {eoff, nbr};
    cr_assert_lt(ref_gradcheck(features_fn, 1, &x, ctx), 1e-2);
    jl_tensor *bad = jl_tensor_new(JL_I64, 2, SHAPE(NODES, C), JL_CPU);
    cr_assert_null(jl_edge_features(bad, eoff, nbr));
    cr_assert(strstr(jl_last_error(), "edge_features: x must be f32 (N, C)") != NULL, "%s", jl_last_error());
    jl_tensor *tmp[] = {eoff, nbr, x, out, bad};
    for (size_t i = 0; i < sizeof tmp / sizeof *tmp; i++) jl_release(tmp[i]);
}

static jl_tensor *scatter_mean_fn(jl_tensor **in, void *ctx) { return jl_scatter_mean(in[0], ctx, 5); }

Test(edgeconv, scatter_mean_matches_naive_loop_and_central_differences)
{
    /* 7 rows sent to 5 targets in any order; target 3 receives nothing */
    static const int64_t to[] = {4, 0, 2, 4, 1, 0, 4};
    const int64_t E = 7, F = 2, n = 5;
    jl_tensor *index = i64(E, to), *src = ref_randn(2, SHAPE(E, F), 4, true);
    jl_tensor *out = jl_scatter_mean(src, index, n);
    cr_assert_not_null(out, "%s", jl_last_error());
    for (int64_t t = 0; t < n; t++)
        for (int64_t f = 0; f < F; f++) {
            double sum = 0;
            int count = 0;
            for (int64_t e = 0; e < E; e++)
                if (to[e] == t) sum += ref_at(src, e * F + f), count++;
            cr_assert_float_eq(ref_at(out, t * F + f), count ? sum / count : 0.0, 1e-6, "target %lld", (long long)t);
        }
    cr_assert_lt(ref_gradcheck(scatter_mean_fn, 1, &src, index), 1e-2);
    static const int64_t outside[] = {4, 0, 2, 5, 1, 0, 4};
    jl_tensor *bad = i64(E, outside);
    cr_assert_null(jl_scatter_mean(src, bad, n));
    cr_assert(strstr(jl_last_error(), "scatter_mean") != NULL, "%s", jl_last_error());
    jl_tensor *short_index = i64(3, to);
    cr_assert_null(jl_scatter_mean(src, short_index, n));
    cr_assert(strstr(jl_last_error(), "index must be i64 (E) with E = 7 rows of src") != NULL, "%s",
              jl_last_error());
    jl_tensor *tmp[] = {index, src, out, bad, short_index};
    for (size_t i = 0; i < sizeof tmp / sizeof *tmp; i++) jl_release(tmp[i]);
}

/* The reference: relu(batch_norm(x)), or batch_norm(relu(x)) when relu_first, and its
 * segment mean when off is given. */
static jl_tensor *reference_bn_relu(jl_tensor *x, jl_tensor *w, jl_tensor *b, jl_tensor *rm, jl_tensor *rv,
                                    bool training, jl_tensor *off, bool relu_first)
{
    jl_tensor *r;
    if (relu_first) {
        jl_tensor *rx = jl_relu(x);
        r = rx ? jl_batch_norm(rx, w, b, rm, rv, training, 0.1, EPS) : NULL;
        jl_release(rx);
    } else {
        jl_tensor *bn = jl_batch_norm(x, w, b, rm, rv, training, 0.1, EPS);
        r = bn ? jl_relu(bn) : NULL;
        jl_release(bn);
    }
    if (!off || !r) return r;
    jl_tensor *m = jl_segment_mean(r, off);
    jl_release(r);
    return m;
}

/* jl_batch_norm_relu, or jl_relu_batch_norm when relu_first */
static jl_tensor *norm_relu(bool relu_first, jl_tensor *x, jl_tensor *w, jl_tensor *b, jl_tensor *rm, jl_tensor *rv,
                            bool training, jl_tensor *off)
{
    return (relu_first ? jl_relu_batch_norm : jl_batch_norm_relu)(x, w, b, rm, rv, training, 0.1, EPS, off);
}

static void compare_forward(int64_t N, int64_t C, bool training, bool segmented, bool affine, bool relu_first)
{
    /* segments with empty ones: sizes cycle 0, 1, 2, ..., 6 */
    int64_t off[4096], S = 0;
    off[0] = 0;
    while (off[S] < N) {
        int64_t next = off[S] + S % 7;
        off[++S] = next < N ? next : N;
    }
    jl_tensor *o = segmented ? i64(S + 1, off) : NULL;
    jl_tensor *x = ref_randn(2, SHAPE(N, C), 3, false);
    jl_tensor *w = affine ? ref_randn(1, SHAPE(C), 4, false) : NULL, *b = affine ? ref_randn(1, SHAPE(C), 5, false) : NULL;
    jl_tensor *rv0 = ref_randn(1, SHAPE(C), 6, false);
    jl_tensor *rm[2] = {ref_randn(1, SHAPE(C), 7, false), ref_randn(1, SHAPE(C), 7, false)};
    jl_tensor *rv[2] = {jl_affine(rv0, 0.3, 1.5), jl_affine(rv0, 0.3, 1.5)};
    jl_tensor *got = norm_relu(relu_first, x, w, b, rm[0], rv[0], training, o);
    cr_assert_not_null(got, "%s", jl_last_error());
    jl_tensor *want = reference_bn_relu(x, w, b, rm[1], rv[1], training, o, relu_first);
    cr_assert_not_null(want, "%s", jl_last_error());
    cr_assert_eq(got->shape[0], segmented ? S : N);
    cr_assert_lt(ref_max_rel_diff(got, want), 1e-5, "N %lld C %lld training %d segmented %d relu first %d",
                 (long long)N, (long long)C, training, segmented, relu_first);
    cr_assert_lt(ref_max_rel_diff(rm[0], rm[1]), 1e-6, "running mean");
    cr_assert_lt(ref_max_rel_diff(rv[0], rv[1]), 1e-6, "running var");
    jl_tensor *tmp[] = {got, want, x, w, b, rv0, rm[0], rm[1], rv[0], rv[1], o};
    for (size_t i = 0; i < sizeof tmp / sizeof *tmp; i++) jl_release(tmp[i]);
}

Test(edgeconv, batch_norm_relu_matches_composed_ops)
{
    for (int relu_first = 0; relu_first < 2; relu_first++)
        for (int segmented = 0; segmented < 2; segmented++)
            for (int training = 0; training < 2; training++) {
                compare_forward(13, 3, training, segmented, true, relu_first);
                compare_forward(13, 3, training, segmented, false, relu_first);
                compare_forward(3000, 40, training, segmented, true, relu_first); /* many row chunks and segments */
            }
}

typedef struct bnr_case {
    bool training, affine, relu_first;
    jl_tensor *off;
} bnr_case;

static jl_tensor *bnr_fn(jl_tensor **in, void *ctx)
{
    const bnr_case *c = ctx;
    return norm_relu(c->relu_first, in[0], c->affine ? in[1] : NULL, c->affine ? in[2] : NULL, in[3], in[4],
                     c->training, c->off);
}

/* min |u| over the values at a ReLU's kink: u = batch_norm(x) of the inputs in[], or x
 * itself when relu_first */
static double min_abs_normalised(jl_tensor **in, bool training, bool affine, bool relu_first)
{
    if (relu_first) {
        double m = 1e30;
        for (int64_t i = 0; i < jl_numel(in[0]); i++) m = fmin(m, fabs(ref_at(in[0], i)));
        return m;
    }
    bool was = jl_set_grad_enabled(false);
    jl_tensor *rm = jl_clone(in[3]), *rv = jl_clone(in[4]);
    jl_tensor *u = jl_batch_norm(in[0], affine ? in[1] : NULL, affine ? in[2] : NULL, rm, rv, training, 0.1, EPS);
    double m = 1e30;
    for (int64_t i = 0; i < jl_numel(u); i++) m = fmin(m, fabs(ref_at(u, i)));
    jl_release(u);
    jl_release(rm);
    jl_release(rv);
    jl_set_grad_enabled(was);
    return m;
}

/* Central differences step by 1e-2, so inputs are drawn (seed after seed) until no
 * normalised value lies within 0.1 of the ReLU's kink. */
static void gradcheck_bnr(int64_t N, int64_t C, bool training, bool affine, const int64_t *off, int64_t S,
                          uint64_t seed, bool relu_first)
{
    jl_tensor *in[5] = {NULL};
    for (;; seed += 10) {
        jl_tensor *rv0 = ref_randn(1, SHAPE(C), seed + 4, false);
        in[0] = ref_randn(2, SHAPE(N, C), seed, true);
        in[1] = ref_randn(1, SHAPE(C), seed + 1, affine);
        in[2] = ref_randn(1, SHAPE(C), seed + 2, affine);
        in[3] = ref_randn(1, SHAPE(C), seed + 3, false);
        in[4] = jl_affine(rv0, 0.5, 1.5);
        in[4]->requires_grad = false;
        jl_release(rv0);
        if (min_abs_normalised(in, training, affine, relu_first) > 0.1) break;
        for (int i = 0; i < 5; i++) jl_release(in[i]);
    }
    bnr_case c = {training, affine, relu_first, off ? i64(S + 1, off) : NULL};
    double err = ref_gradcheck(bnr_fn, 5, in, &c);
    for (int i = 0; i < 5; i++) jl_release(in[i]);
    jl_release(c.off);
    cr_assert_lt(err, 1e-2, "%s (%lld, %lld) training %d affine %d segments %d: error %g",
                 relu_first ? "relu_batch_norm" : "batch_norm_relu", (long long)N, (long long)C, training, affine,
                 off != NULL, err);
}

Test(edgeconv, batch_norm_relu_backward_central_differences)
{
    static const int64_t off[] = {0, 3, 3, 4, 9};
    for (int relu_first = 0; relu_first < 2; relu_first++)
        for (int training = 0; training < 2; training++) {
            gradcheck_bnr(9, 3, training, true, NULL, 0, 10, relu_first);
            gradcheck_bnr(9, 3, training, false, NULL, 0, 25, relu_first);
            gradcheck_bnr(9, 3, training, true, off, 4, 30, relu_first);
            gradcheck_bnr(9, 2, training, false, off, 4, 40, relu_first);
        }
}

/* The gradient of ab for a weighted sum of edge_gather's rows, g[e, f] = (e * 7 + f) % 11 - 5,
 * by a naive loop, against the kernel at 1 and 3 threads (equal bit for bit): a batch of
 * many graphs (split into node ranges no edge crosses) and one graph whose edges cross
 * every boundary (rows, then column blocks). */
static void check_gather_backward(int64_t N, int64_t deg, bool one_graph)
{
    int64_t E = N * deg, C = 20;
    int64_t *eoff = malloc(sizeof(int64_t) * (size_t)(N + 1)), *nbr = malloc(sizeof(int64_t) * (size_t)E);
    for (int64_t i = 0; i <= N; i++) eoff[i] = i * deg;
    for (int64_t e = 0; e < E; e++) {
        int64_t i = e / deg, j = e % deg;
        nbr[e] = one_graph ? (i + 1 + 97 * j) % N : i / 10 * 10 + (i + j) % 10; /* graphs of 10 nodes */
    }
    jl_tensor *o = i64(N + 1, eoff), *nb = i64(E, nbr);
    float *g = malloc(sizeof(float) * (size_t)(E * C));
    double *want = calloc((size_t)(N * 2 * C), sizeof(double));
    for (int64_t e = 0; e < E; e++)
        for (int64_t f = 0; f < C; f++) {
            g[e * C + f] = (float)((e * 7 + f) % 11 - 5);
            want[(e / deg) * 2 * C + f] += g[e * C + f];
            want[nbr[e] * 2 * C + C + f] += g[e * C + f];
        }
    jl_tensor *gt = jl_from_host(JL_F32, 2, SHAPE(E, C), g);
    int before = jl_get_num_threads();
    float *first = NULL;
    for (int threads = 1; threads <= 3; threads += 2) {
        jl_set_num_threads(threads);
        jl_tensor *ab = ref_randn(2, SHAPE(N, 2 * C), 90, true);
        jl_tensor *z = jl_edge_gather(ab, o, nb);
        cr_assert_not_null(z, "%s", jl_last_error());
        jl_tensor *zg = jl_mul(z, gt), *sum = jl_sum(zg, JL_ALL_DIMS, false);
        cr_assert_eq(jl_backward(sum, NULL), JL_OK, "%s", jl_last_error());
        cr_assert_lt(ref_max_rel_diff_array(ab->grad, want), 1e-6, "one graph %d, %d threads", one_graph, threads);
        size_t bytes = sizeof(float) * (size_t)(N * 2 * C);
        if (!first) {
            first = malloc(bytes);
            memcpy(first, jl_data(ab->grad), bytes);
        } else {
            cr_assert(memcmp(first, jl_data(ab->grad), bytes) == 0, "one graph %d: 1 and 3 threads differ", one_graph);
        }
        jl_tensor *tmp[] = {ab, z, zg, sum};
        for (size_t i = 0; i < sizeof tmp / sizeof *tmp; i++) jl_release(tmp[i]);
    }
    jl_set_num_threads(before);
    jl_release(o);
    jl_release(nb);
    jl_release(gt);
    free(first);
    free(eoff);
    free(nbr);
    free(g);
    free(want);
}

Test(edgeconv, edge_gather_backward_same_for_any_split)
{
    check_gather_backward(3000, 4, false);
    check_gather_backward(3000, 4, true);
}

/* The result and gradients do not depend on the number of threads. */
Test(edgeconv, thread_count_independent)
{
    int before = jl_get_num_threads();
    int64_t N = 5000, C = 24, off[5001];
    for (int64_t s = 0; s <= 1000; s++) off[s] = s * 5;
    jl_tensor *o = i64(1001, off);
    float *results[2][4] = {{0}};
    for (int t = 0; t < 2; t++) {
        jl_set_num_threads(t == 0 ? 1 : 3);
        jl_tensor *x = ref_randn(2, SHAPE(N, C), 50, true), *w = ref_randn(1, SHAPE(C), 51, true);
        jl_tensor *y = jl_batch_norm_relu(x, w, NULL, NULL, NULL, true, 0.1, EPS, o);
        jl_tensor *x2 = ref_randn(2, SHAPE(N, C), 53, true);
        jl_tensor *y2 = jl_relu_batch_norm(x2, NULL, NULL, NULL, NULL, true, 0.1, EPS, o);
        jl_tensor *ab = ref_randn(2, SHAPE(1000, 2 * C), 52, true);
        jl_tensor *ids = jl_segment_ids(o);
        jl_tensor *z = jl_edge_gather(ab, o, ids);
        cr_assert_not_null(y);
        cr_assert_not_null(y2, "%s", jl_last_error());
        cr_assert_not_null(z, "%s", jl_last_error());
        /* a weighted sum: the plain sum of a batch norm's output has no gradient */
        jl_tensor *wy2 = jl_mul(y2, y2);
        jl_tensor *sy = jl_sum(y, JL_ALL_DIMS, false), *sz = jl_sum(z, JL_ALL_DIMS, false);
        jl_tensor *sy2 = jl_sum(wy2, JL_ALL_DIMS, false);
        cr_assert_eq(jl_backward(sy, NULL), JL_OK);
        cr_assert_eq(jl_backward(sz, NULL), JL_OK);
        cr_assert_eq(jl_backward(sy2, NULL), JL_OK);
        jl_tensor *grads[4] = {x->grad, w->grad, ab->grad, x2->grad};
        for (int g = 0; g < 4; g++) {
            int64_t n = jl_numel(grads[g]);
            results[t][g] = malloc(sizeof(float) * (size_t)n);
            memcpy(results[t][g], jl_data(grads[g]), sizeof(float) * (size_t)n);
            if (t == 1) cr_assert(memcmp(results[0][g], results[1][g], sizeof(float) * (size_t)n) == 0, "grad %d", g);
        }
        jl_tensor *tmp[] = {x, w, y, ab, ids, z, sy, sz, x2, y2, wy2, sy2};
        for (size_t i = 0; i < sizeof tmp / sizeof *tmp; i++) jl_release(tmp[i]);
    }
    for (int t = 0; t < 2; t++)
        for (int g = 0; g < 4; g++) free(results[t][g]);
    jl_release(o);
    jl_set_num_threads(before);
}

Test(edgeconv, edges_by_dst_groups_stably)
{
    static const int64_t src[] = {0, 1, 1, 2, 3, 0, 2, 1}, dst[] = {1, 0, 2, 1, 2, 3, 0, 3};
    jl_tensor *s = i64(8, src), *d = i64(8, dst), *eoff = NULL, *perm = NULL;
    jl_tensor *nbr = jl_edges_by_dst(s, d, 5, &eoff, &perm);
    cr_assert_not_null(nbr, "%s", jl_last_error());
    static const int64_t want_off[] = {0, 2, 4, 6, 8, 8}, want_perm[] = {1, 6, 0, 3, 2, 4, 5, 7};
    for (int i = 0; i < 6; i++) cr_assert_eq((int64_t)ref_at(eoff, i), want_off[i]);
    for (int e = 0; e < 8; e++) {
        cr_assert_eq((int64_t)ref_at(perm, e), want_perm[e]);
        cr_assert_eq((int64_t)ref_at(nbr, e), src[want_perm[e]]);
    }
    jl_tensor *tmp[] = {s, d, eoff, perm, nbr};
    for (size_t i = 0; i < sizeof tmp / sizeof *tmp; i++) jl_release(tmp[i]);
}

/* The graph table above as jets: jet 0 = nodes 0..3, jet 1 = nodes 4..6. */
static const int64_t JET_OFF[] = {0, 4, 7};

/* Checks batch b of jets sel (base 0) against the edges picked by hand from EOFF/NBR. */
static void check_selection(const jl_graph_batch *b, const int64_t *sel, int64_t K, int64_t base)
{
    int64_t m = 0, e = 0;
    cr_assert_eq((int64_t)ref_at(b->offsets, 0), 0);
    for (int64_t k = 0; k < K; k++) {
        int64_t first = JET_OFF[sel[k]], shift = m - first;
        for (int64_t node = first; node < JET_OFF[sel[k] + 1]; node++, m++) {
            cr_assert_eq((int64_t)ref_at(b->rows, m), node + base);
            for (int64_t i = EOFF[node]; i < EOFF[node + 1]; i++, e++) {
                cr_assert_eq((int64_t)ref_at(b->src, e), NBR[i] + shift + base, "edge %lld", (long long)e);
                cr_assert_eq((int64_t)ref_at(b->dst, e), m + base);
            }
            cr_assert_eq((int64_t)ref_at(b->edge_offsets, m + 1), e);
        }
        cr_assert_eq((int64_t)ref_at(b->offsets, k + 1), m);
    }
    cr_assert_eq(b->rows->shape[0], m);
    cr_assert_eq(b->src->shape[0], e);
}

Test(edgeconv, graph_select_matches_picking_by_hand)
{
    static const int64_t sel[] = {1, 0, 1};
    jl_tensor *off = i64(3, JET_OFF), *eoff = i64(NODES + 1, EOFF), *nbr = i64(EDGES, NBR);
    for (int64_t base = 0; base <= 1; base++) {
        int64_t src_b[EDGES], sel_b[3];
        for (int e = 0; e < EDGES; e++) src_b[e] = NBR[e] + base;
        for (int k = 0; k < 3; k++) sel_b[k] = sel[k] + base;
        jl_tensor *src = i64(EDGES, src_b), *jets = i64(3, sel_b);
        jl_graph_batch b;
        cr_assert_eq(jl_graph_select(off, eoff, src, jets, base, &b), JL_OK, "%s", jl_last_error());
        check_selection(&b, sel, 3, base);
        jl_graph_batch_release(&b);
        cr_assert_null(b.rows);
        jl_release(src);
        jl_release(jets);
    }
    jl_tensor *none = jl_tensor_new(JL_I64, 1, SHAPE(0), JL_CPU);
    jl_graph_batch b;
    cr_assert_eq(jl_graph_select(off, eoff, nbr, none, 0, &b), JL_OK, "%s", jl_last_error());
    cr_assert_eq(b.rows->shape[0], 0);
    cr_assert_eq(b.offsets->shape[0], 1);
    jl_graph_batch_release(&b);
    jl_tensor *tmp[] = {off, eoff, nbr, none};
    for (size_t i = 0; i < sizeof tmp / sizeof *tmp; i++) jl_release(tmp[i]);
}

Test(edgeconv, graph_select_refuses_what_it_cannot_read)
{
    static const int64_t jet_2[] = {2}, crossing[EDGES] = {1, 2, 3, 0, 3, 1, 0, 1, 5, 6, 0};
    jl_tensor *off = i64(3, JET_OFF), *eoff = i64(NODES + 1, EOFF), *nbr = i64(EDGES, NBR);
    jl_tensor *jets = i64(1, jet_2), *bad = i64(EDGES, crossing);
    jl_graph_batch b;
    cr_assert_neq(jl_graph_select(off, eoff, nbr, jets, 0, &b), JL_OK);
    cr_assert(strstr(jl_last_error(), "jet 3 (position 1 of the selection) is not one of the 2 graphs") != NULL, "%s",
              jl_last_error());
    cr_assert_null(b.rows);
    jl_tensor *jet_1 = i64(1, (const int64_t[]){1});
    cr_assert_neq(jl_graph_select(off, eoff, bad, jet_1, 0, &b), JL_OK);
    cr_assert(strstr(jl_last_error(), "edge 11 of jet 2 comes from node 1, outside the jet's nodes 5..7") != NULL,
              "%s", jl_last_error());
    jl_tensor *f32 = ref_randn(1, SHAPE(2), 70, false);
    cr_assert_neq(jl_graph_select(off, eoff, nbr, f32, 0, &b), JL_OK);
    cr_assert(strstr(jl_last_error(), "jets must be a 1-D i64 tensor") != NULL, "%s", jl_last_error());
    jl_tensor *tmp[] = {off, eoff, nbr, jets, bad, jet_1, f32};
    for (size_t i = 0; i < sizeof tmp / sizeof *tmp; i++) jl_release(tmp[i]);
}

Test(edgeconv, errors_name_the_problem)
{
    jl_tensor *eoff = i64(NODES + 1, EOFF);
    static const int64_t bad_nbr[EDGES] = {1, 2, 3, 0, 3, 1, 0, 9, 5, 6, 4};
    jl_tensor *nbr = i64(EDGES, bad_nbr);
    jl_tensor *ab = ref_randn(2, SHAPE(NODES, 4), 60, false);
    cr_assert_null(jl_edge_gather(ab, eoff, nbr));
    cr_assert(strstr(jl_last_error(), "nbr[7] = 9 is outside 0..6") != NULL, "%s", jl_last_error());
    jl_tensor *odd = ref_randn(2, SHAPE(NODES, 5), 61, false);
    cr_assert_null(jl_edge_gather(odd, eoff, nbr));
    cr_assert(strstr(jl_last_error(), "(N, 2C)") != NULL, "%s", jl_last_error());
    jl_tensor *x = ref_randn(2, SHAPE(1, 3), 62, false);
    cr_assert_null(jl_batch_norm_relu(x, NULL, NULL, NULL, NULL, true, 0.1, EPS, NULL));
    cr_assert(strstr(jl_last_error(), "more than one row") != NULL, "%s", jl_last_error());
    jl_tensor *x2 = ref_randn(2, SHAPE(6, 3), 63, false);
    cr_assert_null(jl_batch_norm_relu(x2, NULL, NULL, NULL, NULL, true, 0.1, EPS, eoff));
    cr_assert(strstr(jl_last_error(), "segments end at 11 but there are 6 rows") != NULL, "%s", jl_last_error());
    cr_assert_null(jl_relu_batch_norm(x2, NULL, NULL, NULL, NULL, true, 0.1, EPS, eoff));
    cr_assert(strstr(jl_last_error(), "relu_batch_norm: segments end at 11 but there are 6 rows") != NULL, "%s",
              jl_last_error());
    jl_tensor *tmp[] = {eoff, nbr, ab, odd, x, x2};
    for (size_t i = 0; i < sizeof tmp / sizeof *tmp; i++) jl_release(tmp[i]);
}
