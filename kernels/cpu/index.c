/* index.c — CPU kernels for index_select, index_add, gather and scatter_add.
 *
 * All four are one walk over an iteration shape shared by a dense view x and
 * an index view idx, with a third view y that follows x except along `dim`,
 * where it is addressed by the index:
 *
 *   copy (index_select, gather):    x[p, k, j] <- y[p, idx[p, k, j], j]
 *   add  (index_add, scatter_add):  y[p, idx[p, k, j], j] += x[p, k, j]
 *
 * k runs along dim, j along the last dim (a phantom size-1 dim when dim is the
 * last), p over the remaining "plane" dims. index_select and index_add are the
 * 3-D case (outer, m, inner) with the 1-D index broadcast (stride 0) over outer
 * and inner. Copies split rows (p, k) across threads. Adds never let two
 * threads write one element, and every element receives its terms in
 * increasing k, so results do not depend on the thread count: index_add first
 * groups k by destination (a counting sort) and splits destinations; scatter_add
 * splits columns (p, j). Indices were range-checked by core.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_kernels.h"

/* Columns per scatter_add task: at least a cache line of f32, so threads never share one. */
#define JL_CPU_INDEX_MIN_COLS 16

typedef struct index_walk index_walk;
/* Processes k in [k0, k1) for copies, j in [j0, j1) for adds, at plane offsets xo, yo, io. */
typedef void (*index_segment_fn)(const index_walk *w, int64_t xo, int64_t yo, int64_t io,
                                 int64_t lo, int64_t hi);
/* dst[j*dst_stride] += src[j*src_stride] for j < count. */
typedef void (*index_row_add_fn)(void *dst, const void *src, int64_t count, int64_t dst_stride,
                                 int64_t src_stride);

struct index_walk {
    char *x, *y;
    const int64_t *idx;
    size_t esize;
    index_segment_fn segment;
    index_row_add_fn row_add;
    int nplane;
    int64_t plane_shape[JL_MAX_DIMS];
    int64_t plane_stride[3][JL_MAX_DIMS]; /* x, y, idx */
    int64_t m, n, cols;                   /* sizes along dim in x (k) and y, and along j */
    int64_t xk, ik, yk;                   /* strides along dim; yk steps by index value */
    int64_t xj, yj, ij;                   /* strides along j */
    const int64_t *group_start;           /* index_add: k of destination t are */
    const int64_t *group_k;               /* group_k[group_start[t] .. group_start[t+1]) */
};

/* The copy loop for one element width (f32/i32 share u32, i64 uses u64). When
 * the index is constant along j (index_select) and j is unit-stride, a row is
 * one memcpy. */
#define JL_CPU_COPY_SEGMENT(name, T)                                                          \
    static void name(const index_walk *w, int64_t xo, int64_t yo, int64_t io, int64_t k0,     \
                     int64_t k1)                                                              \
    {                                                                                         \
        T *x = (T *)w->x;                                                                     \
        const T *y = (const T *)w->y;                                                         \
        bool rows = w->ij == 0 && w->xj == 1 && w->yj == 1;                                   \
        for (int64_t k = k0; k < k1; k++) {                                                   \
            if (rows) {                                                                       \
                memcpy(&x[xo + k * w->xk], &y[yo + w->idx[io + k * w->ik] * w->yk],           \
                       (size_t)w->cols * sizeof(T));                                          \
                continue;                                                                     \
            }                                                                                 \
            for (int64_t j = 0; j < w->cols; j++)                                             \
                x[xo + k * w->xk + j * w->xj] =                                               \
                    y[yo + w->idx[io + k * w->ik + j * w->ij] * w->yk + j * w->yj];           \
        }                                                                                     \
    }

/* The add loops for one dtype; U is the arithmetic type (unsigned for integers,
 * so sums wrap instead of overflowing): a strided row add, and the scatter_add
 * segment over columns [j0, j1) of one plane. */
#define JL_CPU_ADD_LOOPS(sfx, T, U)                                                           \
    static void row_add_##sfx(void *dst, const void *src, int64_t count, int64_t ds,          \
                              int64_t ss)                                                     \
    {                                                                                         \
        T *d = dst;                                                                           \
        const T *s = src;                                                                     \
        if (ds == 1 && ss == 1) {                                                             \
            for (int64_t j = 0; j < count; j++) d[j] = (T)((U)d[j] + (U)s[j]);                \
        } else {                                                                              \
            for (int64_t j = 0; j < count; j++) d[j * ds] = (T)((U)d[j * ds] + (U)s[j * ss]); \
        }                                                                                     \
    }                                                                                         \
    static void add_segment_##sfx(const index_walk *w, int64_t xo, int64_t yo, int64_t io,    \
                                  int64_t j0, int64_t j1)                                     \
    {                                                                                         \
        const T *x = (const T *)w->x;                                                         \
        T *y = (T *)w->y;                                                                     \
        for (int64_t k = 0; k < w->m; k++)                                                    \
            for (int64_t j = j0; j < j1; j++) {                                               \
                T *dst = &y[yo + w->idx[io + k * w->ik + j * w->ij] * w->yk + j * w->yj];     \
                *dst = (T)((U)*dst + (U)x[xo + k * w->xk + j * w->xj]);                       \
            }                                                                                 \
    }

JL_CPU_COPY_SEGMENT(copy_segment_8, uint8_t)
JL_CPU_COPY_SEGMENT(copy_segment_32, uint32_t)
JL_CPU_COPY_SEGMENT(copy_segment_64, uint64_t)
JL_CPU_ADD_LOOPS(f32, float, float)
JL_CPU_ADD_LOOPS(i32, int32_t, uint32_t)
JL_CPU_ADD_LOOPS(i64, int64_t, uint64_t)
JL_CPU_ADD_LOOPS(u8, uint8_t, unsigned)

/* The loops of a dtype; false when the dtype has none. */
static bool walk_loops(index_walk *w, jl_dtype dtype, bool add)
{
    switch (dtype) {
    case JL_F32:
        w->segment = add ? add_segment_f32 : copy_segment_32;
        w->row_add = row_add_f32;
        return true;
    case JL_I32:
        w->segment = add ? add_segment_i32 : copy_segment_32;
        w->row_add = row_add_i32;
        return true;
    case JL_I64:
        w->segment = add ? add_segment_i64 : copy_segment_64;
        w->row_add = row_add_i64;
        return true;
    case JL_U8:
        w->segment = add ? add_segment_u8 : copy_segment_8;
        w->row_add = row_add_u8;
        return true;
    default: return false;
    }
}

/* Offsets of x, y and idx at plane number p (row-major over the plane dims). */
static void plane_offsets(const index_walk *w, int64_t p, int64_t *xo, int64_t *yo, int64_t *io)
{
    *xo = *yo = *io = 0;
    for (int d = w->nplane - 1; d >= 0; d--) {
        int64_t c = p % w->plane_shape[d];
        p /= w->plane_shape[d];
        *xo += c * w->plane_stride[0][d];
        *yo += c * w->plane_stride[1][d];
        *io += c * w->plane_stride[2][d];
    }
}

/* Positions (p, q) in [begin, end) of planes `width` wide: w->segment on each plane's run. */
static void walk_runs(const index_walk *w, int64_t width, int64_t begin, int64_t end)
{
    for (int64_t pos = begin; pos < end;) {
        int64_t q0 = pos % width, q1 = q0 + (end - pos);
        if (q1 > width) q1 = width;
        int64_t xo, yo, io;
        plane_offsets(w, pos / width, &xo, &yo, &io);
        w->segment(w, xo, yo, io, q0, q1);
        pos += q1 - q0;
    }
}

/* Rows (p, k) in [begin, end): each task writes distinct elements of x. */
static void copy_rows(void *ctx, int64_t begin, int64_t end)
{
    const index_walk *w = ctx;
    walk_runs(w, w->m, begin, end);
}

/* Columns (p, j) in [begin, end): each task owns the elements of y in its columns. */
static void add_cols(void *ctx, int64_t begin, int64_t end)
{
    const index_walk *w = ctx;
    walk_runs(w, w->cols, begin, end);
}

/* Destinations (p, t) in [begin, end): row t of plane p sums its group's rows of x. */
static void add_groups(void *ctx, int64_t begin, int64_t end)
{
    const index_walk *w = ctx;
    for (int64_t pos = begin; pos < end; pos++) {
        int64_t t = pos % w->n, xo, yo, io;
        plane_offsets(w, pos / w->n, &xo, &yo, &io);
        char *dst = w->y + (size_t)(yo + t * w->yk) * w->esize;
        for (int64_t g = w->group_start[t]; g < w->group_start[t + 1]; g++)
            w->row_add(dst, w->x + (size_t)(xo + w->group_k[g] * w->xk) * w->esize, w->cols, w->yj, w->xj);
    }
}

/* index_add on one thread: rows of x in order, each added to its destination. */
static void add_rows_serial(const index_walk *w, int64_t planes)
{
    for (int64_t p = 0; p < planes; p++) {
        int64_t xo, yo, io;
        plane_offsets(w, p, &xo, &yo, &io);
        for (int64_t k = 0; k < w->m; k++)
            w->row_add(w->y + (size_t)(yo + w->idx[k * w->ik] * w->yk) * w->esize,
                       w->x + (size_t)(xo + k * w->xk) * w->esize, w->cols, w->yj, w->xj);
    }
}

/* index_add: a counting sort lists the k of each destination in increasing
 * order, then threads split the destinations. Small problems, or one thread,
 * take the rows in order instead: the same sums in the same order. */
static int add_by_destination(jl_op op, index_walk *w, int64_t planes)
{
    if (jl_get_num_threads() == 1 || planes * w->m * w->cols < 2 * JL_GRAIN_ELEMENTS) {
        add_rows_serial(w, planes);
        return JL_OK;
    }
    int64_t *start = calloc((size_t)w->n + 1, sizeof *start);
    int64_t *ks = malloc((size_t)w->m * sizeof *ks);
    if (!start || !ks) {
        free(start);
        free(ks);
        return JL_FAIL_CODE(JL_ENOMEM, "%s: out of memory grouping %lld indices", jl_op_name(op),
                            (long long)w->m);
    }
    for (int64_t k = 0; k < w->m; k++) start[w->idx[k * w->ik] + 1]++;
    for (int64_t t = 0; t < w->n; t++) start[t + 1] += start[t];
    for (int64_t k = 0; k < w->m; k++) ks[start[w->idx[k * w->ik]]++] = k; /* start[t] -> end of t */
    for (int64_t t = w->n; t > 0; t--) start[t] = start[t - 1];
    start[0] = 0;
    w->group_start = start;
    w->group_k = ks;
    int64_t work = (w->m / (w->n ? w->n : 1) + 1) * w->cols; /* elements per destination, on average */
    jl_parallel_for(planes * w->n, JL_GRAIN_ELEMENTS / work + 1, add_groups, w);
    free(start);
    free(ks);
    return JL_OK;
}

/* Runs the walk. x and idx have the same shape; y has x's ndim and dtype and
 * matches x outside dim. */
static int index_run(jl_op op, const jl_view *x, const jl_view *y, const jl_view *idx, int dim,
                     bool add)
{
    index_walk w = {.x = x->data, .y = y->data, .idx = idx->data, .esize = jl_dtype_size(x->dtype)};
    if (!walk_loops(&w, x->dtype, add))
        return JL_FAIL_CODE(JL_EDEVICE, "%s: dtype %s not supported on cpu", jl_op_name(op),
                            jl_dtype_name(x->dtype));
    int last = x->ndim - 1;
    w.m = x->shape[dim];
    w.n = y->shape[dim];
    w.xk = x->strides[dim];
    w.ik = idx->strides[dim];
    w.yk = y->strides[dim];
    w.cols = 1;
    if (dim != last) {
        w.cols = x->shape[last];
        w.xj = x->strides[last];
        w.yj = y->strides[last];
        w.ij = idx->strides[last];
    }
    int64_t planes = 1;
    bool index_1d = w.ij == 0;
    for (int d = 0; d < x->ndim; d++) {
        if (d == dim || (d == last && dim != last)) continue;
        w.plane_shape[w.nplane] = x->shape[d];
        w.plane_stride[0][w.nplane] = x->strides[d];
        w.plane_stride[1][w.nplane] = y->strides[d];
        w.plane_stride[2][w.nplane] = idx->strides[d];
        index_1d = index_1d && idx->strides[d] == 0;
        planes *= x->shape[d];
        w.nplane++;
    }
    if (planes == 0 || w.m == 0 || w.cols == 0) return JL_OK;
    if (!add) {
        jl_parallel_for(planes * w.m, JL_GRAIN_ELEMENTS / w.cols + 1, copy_rows, &w);
        return JL_OK;
    }
    if (index_1d) return add_by_destination(op, &w, planes);
    int64_t grain = JL_GRAIN_ELEMENTS / w.m + 1;
    jl_parallel_for(planes * w.cols, grain < JL_CPU_INDEX_MIN_COLS ? JL_CPU_INDEX_MIN_COLS : grain, add_cols, &w);
    return JL_OK;
}

/* The 1-D index b (m) broadcast over a 3-D (outer, m, inner) iteration shape. */
static jl_view index_as_3d(const jl_view *b, const jl_view *shape_of)
{
    jl_view v = {.data = b->data, .dtype = b->dtype, .ndim = 3};
    for (int d = 0; d < 3; d++) v.shape[d] = shape_of->shape[d];
    v.strides[1] = b->strides[0];
    return v;
}

/* out (outer, m, inner) <- a (outer, n, inner) at b (m) */
static int cpu_index_select(const jl_kargs *k)
{
    jl_view idx = index_as_3d(&k->b, &k->out);
    return index_run(k->op, &k->out, &k->a, &idx, 1, false);
}

/* out (outer, n, inner) += a (outer, m, inner) at b (m) */
static int cpu_index_add(const jl_kargs *k)
{
    jl_view idx = index_as_3d(&k->b, &k->a);
    return index_run(k->op, &k->a, &k->out, &idx, 1, true);
}

/* out (shape of b) <- a (b's shape, any size along i[0]) at b along dim i[0] */
static int cpu_gather(const jl_kargs *k)
{
    return index_run(k->op, &k->out, &k->a, &k->b, (int)k->i[0], false);
}

/* out (b's shape, any size along i[0]) += a (shape of b) at b along dim i[0] */
static int cpu_scatter_add(const jl_kargs *k)
{
    return index_run(k->op, &k->a, &k->out, &k->b, (int)k->i[0], true);
}

void jl_cpu_register_index(jl_backend *b)
{
    b->fn[JL_OP_index_select] = cpu_index_select;
    b->fn[JL_OP_index_add] = cpu_index_add;
    b->fn[JL_OP_gather] = cpu_gather;
    b->fn[JL_OP_scatter_add] = cpu_scatter_add;
}
