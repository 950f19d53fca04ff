/* edgeconv.c — CPU kernels of the EdgeConv building blocks (core/tensor/ops_edgeconv.c;
 * core/tensor/backend/jl_ops.def documents the arguments):
 *
 *   edge_gather           out[e] = a[centre(e), :C] + a[nbr[e], C:], parallel over centres;
 *   edge_gather_backward  left half: per-centre sums of the edge gradients; right half:
 *                         scatter-add into the neighbours' rows; every sum runs in edge
 *                         order (results independent of the thread count). Batches of
 *                         graphs split into node ranges that no edge crosses: each task
 *                         owns its ranges' rows and does both halves in one pass over
 *                         their edges. Otherwise (one graph, one thread's worth) the
 *                         left half runs over rows in parallel and the right half over
 *                         column blocks, so no two threads touch one value;
 *   bn_relu_forward       relu of the normalised rows, or their per-segment mean;
 *   bn_relu_backward      per-channel sums over a fixed split of the rows into chunks
 *                         (as nn.c: double partials added in chunk order), then the
 *                         gradient of x; the ReLU mask is recomputed from x.
 * Both also run in the "relu first" form (i[2] = 1): the rows normalised are relu(x) and
 * no ReLU follows (ReLU -> BatchNorm -> mean, LundNet's fusion layer); the mask of the
 * backward is then x > 0, applied to the gradient of x.
 *
 * Segments: rows [off[s], off[s+1]) belong to segment s; a row's segment is found by
 * binary search at the start of a range and followed from there.
 */
/* No code here reads floating-point exception flags; without trapping math GCC may
 * evaluate both sides of the ReLU masks, so the row loops vectorise. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math", "no-math-errno")
#endif

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "cpu_kernels.h"
#include "jl_formulas.h"

#define MAX_CHUNKS 256

/* The segment of row r: the largest s with off[s] <= r (off[S] > r). */
static int64_t segment_of(const int64_t *off, int64_t S, int64_t r)
{
    int64_t lo = 0, hi = S - 1;
    while (lo < hi) {
        int64_t mid = (lo + hi + 1) / 2;
        if (off[mid] <= r) lo = mid;
        else hi = mid - 1;
    }
    return lo;
}

/* --- edge_gather ---------------------------------------------------------------- */
typedef struct {
    const float *a;  /* (N, 2C), row stride sa */
    const int64_t *eoff, *nbr;
    float *out;      /* (E, C) */
    const float *g;  /* backward: (E, C) */
    int64_t c, sa, n, e;
} gather_ctx;

static void gather_rows(void *vctx, int64_t begin, int64_t end)
{
    const gather_ctx *t = vctx;
    int64_t C = t->c;
    for (int64_t i = begin; i < end; i++) {
        const float *ai = t->a + i * t->sa;
        for (int64_t e = t->eoff[i]; e < t->eoff[i + 1]; e++) {
            const float *bj = t->a + t->nbr[e] * t->sa + C;
            float *o = t->out + e * C;
            for (int64_t f = 0; f < C; f++) o[f] = ai[f] + bj[f];
        }
    }
}

static int64_t per_row_grain(int64_t rows, int64_t work)
{
    int64_t per = rows ? work / rows + 1 : 1;
    return JL_GRAIN_ELEMENTS / per + 1;
}

static int cpu_edge_gather(const jl_kargs *k)
{
    gather_ctx t = {.a = k->a.data, .eoff = k->b.data, .nbr = k->c.data, .out = k->out.data,
                    .c = k->out.shape[1], .sa = k->a.strides[0], .n = k->a.shape[0], .e = k->out.shape[0]};
    jl_parallel_for(t.n, per_row_grain(t.n, t.e * t.c), gather_rows, &t);
    return JL_OK;
}

/* out[i, :C] = sum of g over i's edges */
static void gather_back_left(void *vctx, int64_t begin, int64_t end)
{
    const gather_ctx *t = vctx;
    int64_t C = t->c;
    for (int64_t i = begin; i < end; i++) {
        float *o = t->out + i * 2 * C;
        for (int64_t f = 0; f < C; f++) o[f] = 0.0f;
        for (int64_t e = t->eoff[i]; e < t->eoff[i + 1]; e++) {
            const float *g = t->g + e * C;
            for (int64_t f = 0; f < C; f++) o[f] += g[f];
        }
    }
}

#define COL_BLOCK 16

/* out[nbr[e], C + f] += g[e, f] for the column blocks [begin, end) */
static void gather_back_right(void *vctx, int64_t begin, int64_t end)
{
    const gather_ctx *t = vctx;
    int64_t C = t->c, f0 = begin * COL_BLOCK, f1 = end * COL_BLOCK < C ? end * COL_BLOCK : C;
    for (int64_t i = 0; i < t->n; i++) {
        float *o = t->out + i * 2 * C + C;
        for (int64_t f = f0; f < f1; f++) o[f] = 0.0f;
    }
    for (int64_t e = 0; e < t->e; e++) {
        float *o = t->out + t->nbr[e] * 2 * C + C;
        const float *g = t->g + e * C;
        for (int64_t f = f0; f < f1; f++) o[f] += g[f];
    }
}

/* Node boundaries that no edge crosses (a batch of graphs: between graphs): p is clean
 * when every edge into a node below p comes from a node below p and every edge into a
 * node from p on comes from a node from p on. Fills split with 0 < p_1 < ... < n, clean
 * boundaries near equal shares of the edges, at most parts of them; returns how many
 * ranges they make (1 when there is none), or -1 when out of memory. */
static int64_t clean_splits(const int64_t *eoff, const int64_t *nbr, int64_t n, int64_t parts, int64_t *split)
{
    int64_t *suffix_min = malloc(sizeof(int64_t) * (size_t)(n + 1));
    if (!suffix_min) return -1;
    suffix_min[n] = INT64_MAX;
    for (int64_t p = n - 1; p >= 0; p--) {
        int64_t m = suffix_min[p + 1];
        for (int64_t e = eoff[p]; e < eoff[p + 1]; e++) m = nbr[e] < m ? nbr[e] : m;
        suffix_min[p] = m;
    }
    int64_t ranges = 0, below_max = -1, E = eoff[n];
    split[0] = 0;
    for (int64_t p = 1; p < n && ranges + 1 < parts; p++) {
        for (int64_t e = eoff[p - 1]; e < eoff[p]; e++) below_max = nbr[e] > below_max ? nbr[e] : below_max;
        bool clean = below_max < p && suffix_min[p] >= p;
        if (clean && eoff[p] * parts >= (ranges + 1) * E) split[++ranges] = p;
    }
    split[++ranges] = n;
    free(suffix_min);
    return ranges;
}

typedef struct {
    const gather_ctx *t;
    const int64_t *split;
} gather_ranges_ctx;

/* Both halves over the node ranges [split[r], split[r+1]) of a clean split: every edge
 * into a range's nodes comes from its nodes, so one task owns all their rows and adds
 * each edge's gradient to them in edge order, as the column blocks do. */
static void gather_back_ranges(void *vctx, int64_t begin, int64_t end)
{
    const gather_ranges_ctx *rc = vctx;
    const gather_ctx *t = rc->t;
    int64_t C = t->c;
    for (int64_t r = begin; r < end; r++) {
        int64_t n0 = rc->split[r], n1 = rc->split[r + 1];
        for (int64_t i = n0; i < n1; i++)
            for (int64_t f = 0; f < 2 * C; f++) t->out[i * 2 * C + f] = 0.0f;
        for (int64_t i = n0; i < n1; i++) {
            float *restrict left = t->out + i * 2 * C;
            for (int64_t e = t->eoff[i]; e < t->eoff[i + 1]; e++) {
                const float *restrict g = t->g + e * C;
                float *restrict right = t->out + t->nbr[e] * 2 * C + C;
                for (int64_t f = 0; f < C; f++) left[f] += g[f];
                for (int64_t f = 0; f < C; f++) right[f] += g[f];
            }
        }
    }
}

#define RANGES_PER_THREAD 4

static int cpu_edge_gather_backward(const jl_kargs *k)
{
    gather_ctx t = {.g = k->a.data, .eoff = k->b.data, .nbr = k->c.data, .out = k->out.data,
                    .c = k->a.shape[1], .n = k->out.shape[0], .e = k->a.shape[0]};
    int threads = jl_get_num_threads();
    bool shared = threads > 1 && t.e * t.c >= JL_GRAIN_ELEMENTS; /* worth the pool */
    int64_t parts = (int64_t)threads * RANGES_PER_THREAD, split[parts + 1], ranges = 1;
    split[0] = 0; /* one range of all nodes: on the calling thread */
    split[1] = t.n;
    if (shared) ranges = clean_splits(t.eoff, t.nbr, t.n, parts, split);
    if (ranges < 0) return JL_FAIL_CODE(JL_ENOMEM, "edge_gather_backward: out of memory for %lld nodes", (long long)t.n);
    if (!shared || ranges >= threads) { /* one pass, rows owned by ranges */
        gather_ranges_ctx rc = {&t, split};
        jl_parallel_for(ranges, 1, gather_back_ranges, &rc);
        return JL_OK;
    }
    /* a split too coarse for the threads: rows, then column blocks */
    jl_parallel_for(t.n, per_row_grain(t.n, t.e * t.c), gather_back_left, &t);
    int64_t blocks = (t.c + COL_BLOCK - 1) / COL_BLOCK;
    jl_parallel_for(blocks, t.e * COL_BLOCK >= JL_GRAIN_ELEMENTS ? 1 : blocks, gather_back_right, &t);
    return JL_OK;
}

/* --- bn_relu: per-channel coefficients ------------------------------------------------ */
typedef struct {
    const float *x;     /* (N, C) */
    const float *g;     /* (N, C), or (S, C) with segments */
    const int64_t *off; /* (S+1) or NULL */
    float *out;
    const float *mean, *alpha, *beta; /* (C): u = alpha (x - mean) + beta */
    const float *k1, *k2, *k3;        /* backward: gx = k3 gu + k2 (x - mean) + k1 */
    double *partials;                 /* (chunks, 2, C) */
    int64_t n, c, s, chunk_rows, chunks;
    bool relu_first; /* normalise relu(x), no ReLU after */
} bnr_ctx;

/* The inner loops take restrict-qualified locals and apply the ReLU as a select or a
 * product with the mask, never a branch: they vectorise (a branch on a random mask
 * mispredicts half the time, and GCC keeps it under the default -ftrapping-math). */
static inline void bnr_row_forward_as(const float *restrict x, const float *restrict mean,
                                      const float *restrict alpha, const float *restrict beta, float *restrict o,
                                      int64_t C, bool accumulate, const bool relu_first)
{
    for (int64_t f = 0; f < C; f++) {
        float v = relu_first ? jl_f32_relu(x[f], 0, 0) : x[f];
        float u = alpha[f] * (v - mean[f]) + beta[f];
        float y = relu_first ? u : jl_f32_relu(u, 0, 0);
        o[f] = accumulate ? o[f] + y : y;
    }
}

/* The two forms as separate loops (relu_first a constant in each), so both vectorise. */
static inline void bnr_row_forward(const bnr_ctx *t, const float *x, float *o, bool accumulate)
{
    if (t->relu_first) bnr_row_forward_as(x, t->mean, t->alpha, t->beta, o, t->c, accumulate, true);
    else bnr_row_forward_as(x, t->mean, t->alpha, t->beta, o, t->c, accumulate, false);
}

static void bnr_forward_rows(void *vctx, int64_t begin, int64_t end)
{
    const bnr_ctx *t = vctx;
    int64_t C = t->c;
    for (int64_t r = begin; r < end; r++) bnr_row_forward(t, t->x + r * C, t->out + r * C, false);
}

static void bnr_forward_segments(void *vctx, int64_t begin, int64_t end)
{
    const bnr_ctx *t = vctx;
    int64_t C = t->c;
    for (int64_t s = begin; s < end; s++) {
        float *o = t->out + s * C;
        for (int64_t f = 0; f < C; f++) o[f] = 0.0f;
        int64_t r0 = t->off[s], r1 = t->off[s + 1];
        for (int64_t r = r0; r < r1; r++) bnr_row_forward(t, t->x + r * C, o, true);
        if (r1 > r0) {
            float inv = 1.0f / (float)(r1 - r0);
            for (int64_t f = 0; f < C; f++) o[f] *= inv;
        }
    }
}

/* alpha, beta (C) floats from the table rows mean, var, weight, bias; +1 buffer of 2C. */
static float *bnr_coefficients(const float *tab, int64_t C, double eps)
{
    float *ab = malloc(sizeof(float) * (size_t)(2 * C + 1));
    if (!ab) return NULL;
    for (int64_t f = 0; f < C; f++) {
        ab[f] = (float)(tab[2 * C + f] / sqrt((double)tab[C + f] + eps));
        ab[C + f] = tab[3 * C + f];
    }
    return ab;
}

static int cpu_bn_relu_forward(const jl_kargs *k)
{
    int64_t N = k->i[0], C = k->i[1];
    const float *tab = k->b.data;
    float *ab = bnr_coefficients(tab, C, k->s[0]);
    if (!ab) return JL_FAIL_CODE(JL_ENOMEM, "bn_relu_forward: out of memory for %lld channels", (long long)C);
    bnr_ctx t = {.x = k->a.data, .out = k->out.data, .mean = tab, .alpha = ab, .beta = ab + C, .n = N, .c = C,
                 .off = k->c.data, .relu_first = k->i[2] != 0};
    if (t.off) {
        int64_t S = k->c.shape[0] - 1;
        jl_parallel_for(S, per_row_grain(S, N * C), bnr_forward_segments, &t);
    } else {
        jl_parallel_for(N, JL_GRAIN_ELEMENTS / (C > 0 ? C : 1) + 1, bnr_forward_rows, &t);
    }
    free(ab);
    return JL_OK;
}

/* --- bn_relu_backward ------------------------------------------------------------------ */

/* The gradient row of row r: g[r], or with segments g[seg(r)] / count(seg(r)) (*scale);
 * *seg follows r forward. */
static inline const float *bnr_grad_of(const bnr_ctx *t, int64_t r, int64_t *seg, float *scale)
{
    if (!t->off) {
        *scale = 1.0f;
        return t->g + r * t->c;
    }
    while (t->off[*seg + 1] <= r) (*seg)++;
    *scale = 1.0f / (float)(t->off[*seg + 1] - t->off[*seg]);
    return t->g + *seg * t->c;
}

/* p0 += gu, p1 += gu * (v - mean), v = x (relu(x) when relu_first); gu = g * scale where
 * u > 0 else 0 (always g * scale when relu_first: no ReLU follows) */
static inline void bnr_row_sums_as(const float *restrict x, const float *restrict g, float scale,
                                   const float *restrict mean, const float *restrict alpha,
                                   const float *restrict beta, double *restrict p0, double *restrict p1, int64_t C,
                                   const bool relu_first)
{
    for (int64_t f = 0; f < C; f++) {
        float d = (relu_first ? jl_f32_relu(x[f], 0, 0) : x[f]) - mean[f];
        float u = alpha[f] * d + beta[f];
        float gu = relu_first ? g[f] * scale : g[f] * scale * (float)(u > 0.0f); /* a product, not a branch */
        p0[f] += gu;
        p1[f] += gu * d;
    }
}

/* o = k3 gu + k2 (v - mean) + k1, times the mask x > 0 when relu_first */
static inline void bnr_row_grad_as(const float *restrict x, const float *restrict g, float scale,
                                   const float *restrict mean, const float *restrict alpha,
                                   const float *restrict beta, const float *restrict k1, const float *restrict k2,
                                   const float *restrict k3, float *restrict o, int64_t C, const bool relu_first)
{
    for (int64_t f = 0; f < C; f++) {
        float d = (relu_first ? jl_f32_relu(x[f], 0, 0) : x[f]) - mean[f];
        float u = alpha[f] * d + beta[f];
        float gu = relu_first ? g[f] * scale : g[f] * scale * (float)(u > 0.0f); /* a product, not a branch */
        float gx = k3[f] * gu + k2[f] * d + k1[f];
        o[f] = relu_first ? gx * (float)(x[f] > 0.0f) : gx;
    }
}

static inline void bnr_row_sums(const bnr_ctx *t, const float *x, const float *g, float scale, double *p0,
                                double *p1)
{
    if (t->relu_first) bnr_row_sums_as(x, g, scale, t->mean, t->alpha, t->beta, p0, p1, t->c, true);
    else bnr_row_sums_as(x, g, scale, t->mean, t->alpha, t->beta, p0, p1, t->c, false);
}

static inline void bnr_row_grad(const bnr_ctx *t, const float *x, const float *g, float scale, float *o)
{
    if (t->relu_first) bnr_row_grad_as(x, g, scale, t->mean, t->alpha, t->beta, t->k1, t->k2, t->k3, o, t->c, true);
    else bnr_row_grad_as(x, g, scale, t->mean, t->alpha, t->beta, t->k1, t->k2, t->k3, o, t->c, false);
}

static void bnr_sums(void *vctx, int64_t begin, int64_t end)
{
    const bnr_ctx *t = vctx;
    int64_t C = t->c;
    for (int64_t chunk = begin; chunk < end; chunk++) {
        double *p0 = t->partials + chunk * 2 * C, *p1 = p0 + C;
        for (int64_t f = 0; f < C; f++) p0[f] = p1[f] = 0;
        int64_t r0 = chunk * t->chunk_rows, r1 = r0 + t->chunk_rows < t->n ? r0 + t->chunk_rows : t->n;
        int64_t seg = t->off ? segment_of(t->off, t->s, r0) : 0;
        for (int64_t r = r0; r < r1; r++) {
            float scale;
            const float *g = bnr_grad_of(t, r, &seg, &scale);
            bnr_row_sums(t, t->x + r * C, g, scale, p0, p1);
        }
    }
}

static void bnr_grad_x(void *vctx, int64_t begin, int64_t end)
{
    const bnr_ctx *t = vctx;
    int64_t C = t->c;
    int64_t seg = t->off && begin < end ? segment_of(t->off, t->s, begin) : 0;
    for (int64_t r = begin; r < end; r++) {
        float scale;
        const float *g = bnr_grad_of(t, r, &seg, &scale);
        bnr_row_grad(t, t->x + r * C, g, scale, t->out + r * C);
    }
}

static int cpu_bn_relu_backward(const jl_kargs *k)
{
    int64_t N = k->i[0], C = k->i[1];
    bool segmented = k->c.dtype == JL_I64;
    int64_t S = segmented ? k->c.shape[0] - 1 : N;
    float *tab = segmented ? k->d.data : k->c.data;
    bool batch_stats = k->s[1] != 0;
    bnr_ctx t = {.x = k->b.data, .g = k->a.data, .off = segmented ? k->c.data : NULL, .out = k->out.data,
                 .mean = tab, .n = N, .c = C, .s = S, .relu_first = k->i[2] != 0};
    t.chunk_rows = JL_GRAIN_ELEMENTS / (C > 0 ? C : 1) + 1;
    if (t.chunk_rows < (N + MAX_CHUNKS - 1) / MAX_CHUNKS) t.chunk_rows = (N + MAX_CHUNKS - 1) / MAX_CHUNKS;
    t.chunks = (N + t.chunk_rows - 1) / t.chunk_rows;
    float *ab = bnr_coefficients(tab, C, k->s[0]);
    float *coef = malloc(sizeof(float) * (size_t)(3 * C + 1));
    t.partials = malloc(sizeof(double) * (size_t)(2 * C * (t.chunks + 1) + 1));
    if (!ab || !coef || !t.partials) {
        free(ab);
        free(coef);
        free(t.partials);
        return JL_FAIL_CODE(JL_ENOMEM, "bn_relu_backward: out of memory for %lld channels", (long long)C);
    }
    t.alpha = ab;
    t.beta = ab + C;
    jl_parallel_for(t.chunks, 1, bnr_sums, &t);
    double *sums = t.partials + 2 * C * t.chunks;
    for (int64_t f = 0; f < 2 * C; f++) sums[f] = 0;
    for (int64_t chunk = 0; chunk < t.chunks; chunk++)
        for (int64_t f = 0; f < 2 * C; f++) sums[f] += t.partials[chunk * 2 * C + f];
    for (int64_t f = 0; f < C; f++) {
        double invstd = 1.0 / sqrt((double)tab[C + f] + k->s[0]);
        double sum_g = sums[f], sum_gxmu = sums[C + f];
        double scale = tab[2 * C + f] * invstd;
        tab[4 * C + f] = (float)sum_g;
        tab[5 * C + f] = (float)(sum_gxmu * invstd);
        coef[f] = batch_stats ? (float)(-scale * sum_g / (double)N) : 0.0f;
        coef[C + f] = batch_stats ? (float)(-scale * invstd * invstd * sum_gxmu / (double)N) : 0.0f;
        coef[2 * C + f] = (float)scale;
    }
    if (t.out) {
        t.k1 = coef;
        t.k2 = coef + C;
        t.k3 = coef + 2 * C;
        jl_parallel_for(N, JL_GRAIN_ELEMENTS / (C > 0 ? C : 1) + 1, bnr_grad_x, &t);
    }
    free(ab);
    free(coef);
    free(t.partials);
    return JL_OK;
}

void jl_cpu_register_edgeconv(jl_backend *b)
{
    b->fn[JL_OP_edge_gather] = cpu_edge_gather;
    b->fn[JL_OP_edge_gather_backward] = cpu_edge_gather_backward;
    b->fn[JL_OP_bn_relu_forward] = cpu_bn_relu_forward;
    b->fn[JL_OP_bn_relu_backward] = cpu_bn_relu_backward;
}
