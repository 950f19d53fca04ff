/* strided.c — N-d iteration over several same-shaped views in runs along the
 * innermost dim, after dropping size-1 dims and merging dims that are
 * contiguous for every view; rows are spread over the thread pool. */
#include <stdbool.h>
#include <string.h>

#include "cpu_kernels.h"

#define MAX_VIEWS 4

typedef struct {
    int nviews, ndim;
    int64_t shape[JL_MAX_DIMS];
    int64_t strides[MAX_VIEWS][JL_MAX_DIMS];
    jl_cpu_run_fn fn;
    void *ctx;
} runs_plan;

/* Collapses the geometry of the views into the fewest dims. */
static void plan_build(runs_plan *p, int nviews, const jl_view *views)
{
    const jl_view *ref = &views[0];
    p->nviews = nviews;
    p->ndim = 0;
    for (int d = 0; d < ref->ndim; d++) {
        if (ref->shape[d] == 1) continue;
        int n = p->ndim;
        bool merge = n > 0;
        for (int v = 0; v < nviews && merge; v++)
            merge = p->strides[v][n - 1] == views[v].strides[d] * ref->shape[d];
        if (merge) {
            p->shape[n - 1] *= ref->shape[d];
            for (int v = 0; v < nviews; v++) p->strides[v][n - 1] = views[v].strides[d];
        } else {
            p->shape[n] = ref->shape[d];
            for (int v = 0; v < nviews; v++) p->strides[v][n] = views[v].strides[d];
            p->ndim++;
        }
    }
    if (p->ndim == 0) { /* a single element */
        p->ndim = 1;
        p->shape[0] = 1;
        for (int v = 0; v < nviews; v++) p->strides[v][0] = 1;
    }
}

static void run_rows(void *ctx, int64_t begin, int64_t end)
{
    const runs_plan *p = ctx;
    int last = p->ndim - 1;
    int64_t steps[MAX_VIEWS], offs[MAX_VIEWS];
    for (int v = 0; v < p->nviews; v++) steps[v] = p->strides[v][last];
    for (int64_t row = begin; row < end; row++) {
        int64_t rest = row;
        for (int v = 0; v < p->nviews; v++) offs[v] = 0;
        for (int d = last - 1; d >= 0; d--) {
            int64_t i = rest % p->shape[d];
            rest /= p->shape[d];
            for (int v = 0; v < p->nviews; v++) offs[v] += i * p->strides[v][d];
        }
        p->fn(p->ctx, offs, steps, p->shape[last]);
    }
}

static void run_span(void *ctx, int64_t begin, int64_t end)
{
    const runs_plan *p = ctx;
    int64_t steps[MAX_VIEWS], offs[MAX_VIEWS];
    for (int v = 0; v < p->nviews; v++) {
        steps[v] = p->strides[v][0];
        offs[v] = begin * steps[v];
    }
    p->fn(p->ctx, offs, steps, end - begin);
}

void jl_cpu_strided_runs(int nviews, const jl_view *views, jl_cpu_run_fn fn, void *ctx)
{
    if (jl_view_numel(&views[0]) == 0) return;
    runs_plan p = {.fn = fn, .ctx = ctx};
    plan_build(&p, nviews, views);
    int64_t rows = 1;
    for (int d = 0; d < p.ndim - 1; d++) rows *= p.shape[d];
    int64_t row_len = p.shape[p.ndim - 1];
    if (rows == 1) { /* one run (e.g. contiguous views): split it by elements */
        jl_parallel_for(row_len, JL_GRAIN_ELEMENTS, run_span, &p);
        return;
    }
    int64_t grain = JL_GRAIN_ELEMENTS / (row_len ? row_len : 1) + 1;
    jl_parallel_for(rows, grain, run_rows, &p);
}
