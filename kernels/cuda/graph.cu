/* graph.cu — CUDA kernels for ragged-batch graphs: kNN inside each jet,
 * segment ids and segment sum/mean/max (core/tensor/backend/jl_ops.def documents the
 * arguments), with kernels/cpu/graph.c's arithmetic and orders, so results
 * match it exactly: per-row distances accumulate in the same order, and each
 * segment output is one thread walking its rows in order.
 */
#include <float.h>

#include "cuda_common.cuh"
#include "jl_nearest.h"

/* --- kNN --------------------------------------------------------------------------- */

/* For each row i of coords (N, D): its m = edges[i+1] - edges[i] nearest other
 * rows of its jet into nbr[edges[i] ..], nearest first, ties by row index, by
 * insertion into a sorted list (m is small); best_d (E) holds the distances. */
__global__ void jl_cuda_knn_kernel(const float *coords, int64_t N, int64_t D, const int64_t *jet_off, int64_t jets,
                                   const int64_t *edges, int64_t *nbr, float *best_d)
{
    JL_CUDA_FOR(i, N)
    {
        int64_t jet = jl_cuda_segment_of(jet_off, jets, i), begin = jet_off[jet], end = jet_off[jet + 1];
        int64_t m = edges[i + 1] - edges[i], found = 0;
        int64_t *best = nbr + edges[i];
        float *bd = best_d + edges[i];
        const float *xi = coords + i * D;
        for (int64_t j = begin; j < end && m > 0; j++) {
            if (j == i) continue;
            const float *xj = coords + j * D;
            float d = 0;
            for (int64_t t = 0; t < D; t++) {
                float diff = xi[t] - xj[t];
                d += diff * diff;
            }
            jl_keep_nearest(best, bd, &found, m, j, d);
        }
    }
}

/* out (E) i64 <- neighbours; a coords (N, D), b jet offsets (B+1), c edge offsets (N+1), i[0] = k */
static int cuda_knn(const jl_kargs *k)
{
    int64_t N = k->a.shape[0], D = k->a.shape[1], jets = k->b.shape[0] - 1, E = jl_view_numel(&k->out);
    if (N == 0 || E == 0 || jets <= 0) return JL_OK;
    float *best_d = (float *)jl_cuda_alloc((size_t)E * sizeof(float));
    if (!best_d)
        return JL_FAIL_CODE(JL_ENOMEM, "knn: out of cuda memory for %lld neighbour distances", (long long)E);
    jl_cuda_knn_kernel<<<jl_cuda_grid(N), JL_CUDA_THREADS, 0, jl_cuda_stream()>>>(
        (const float *)k->a.data, N, D, (const int64_t *)k->b.data, jets, (const int64_t *)k->c.data,
        (int64_t *)k->out.data, best_d);
    jl_cuda_free(best_d); /* reused only by work queued after this kernel */
    return JL_CUDA_LAUNCHED("knn");
}

/* --- segments ---------------------------------------------------------------------- */

/* ids (E) <- s for the rows of segment s of off (S+1); one thread per segment */
__global__ void jl_cuda_segment_ids_kernel(const int64_t *off, int64_t S, int64_t *ids)
{
    JL_CUDA_FOR(s, S)
    {
        for (int64_t r = off[s]; r < off[s + 1]; r++) ids[r] = s;
    }
}

static int cuda_segment_ids(const jl_kargs *k)
{
    int64_t S = k->a.shape[0] - 1;
    if (S <= 0) return JL_OK;
    jl_cuda_segment_ids_kernel<<<jl_cuda_grid(S), JL_CUDA_THREADS, 0, jl_cuda_stream()>>>(
        (const int64_t *)k->a.data, S, (int64_t *)k->out.data);
    return JL_CUDA_LAUNCHED("segment_ids");
}

/* out (S, F) <- sum (mode 0), mean (1) or max (2, arg (S, F) <- its row) over the
 * rows of x (E, F) in each segment of off (S+1); one thread per (segment, feature) */
__global__ void jl_cuda_segment_reduce_kernel(const float *x, const int64_t *off, float *out, int64_t *arg,
                                              int64_t S, int64_t F, int mode)
{
    JL_CUDA_FOR(e, S * F)
    {
        int64_t s = e / F, f = e % F, begin = off[s], end = off[s + 1];
        if (mode == 2) {
            float best = begin < end ? -FLT_MAX : 0.0f;
            int64_t at = begin < end ? begin : -1;
            for (int64_t r = begin; r < end; r++) {
                float v = x[r * F + f];
                if (v > best || (v != v && best == best)) {
                    best = v;
                    at = r;
                }
            }
            out[e] = best;
            arg[e] = at;
            continue;
        }
        float acc = 0.0f;
        for (int64_t r = begin; r < end; r++) acc += x[r * F + f];
        if (mode == 1 && end > begin) acc *= 1.0f / (float)(end - begin);
        out[e] = acc;
    }
}

static int cuda_segment_reduce(const jl_kargs *k)
{
    int64_t S = k->b.shape[0] - 1, F = k->a.shape[1];
    if (S <= 0 || F == 0) return JL_OK;
    jl_cuda_segment_reduce_kernel<<<jl_cuda_grid(S * F), JL_CUDA_THREADS, 0, jl_cuda_stream()>>>(
        (const float *)k->a.data, (const int64_t *)k->b.data, (float *)k->out.data, (int64_t *)k->c.data, S, F,
        (int)k->i[0]);
    return JL_CUDA_LAUNCHED("segment_reduce");
}

void jl_cuda_register_graph(jl_backend *b)
{
    b->fn[JL_OP_knn] = cuda_knn;
    b->fn[JL_OP_segment_ids] = cuda_segment_ids;
    b->fn[JL_OP_segment_reduce] = cuda_segment_reduce;
}
