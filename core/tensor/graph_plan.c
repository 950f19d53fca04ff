/* graph_plan.c — graph inference plans (jl_graph_plan.h): checked copies of a
 * LundNet's folded weights, run on the CPU backend's run_graph_plan slot
 * (kernels/cpu/graph_plan.c). */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jl_graph_plan.h"
#include "jl_ops.h"

struct jl_graph_plan {
    jl_graph_program prog;
    int64_t width;      /* channels of the last block's output (features before the first) */
    int passes;         /* passes added since the last block */
    int64_t pass_in;    /* channels of the input of the first of them */
    const jl_plan *head; /* borrowed; NULL until jl_graph_plan_set_fusion */
};

static void free_block(jl_graph_block *b)
{
    free(b->wab);
    free(b->bias);
    for (int l = 0; l < b->n_later; l++) {
        free(b->later[l].w);
        free(b->later[l].b);
    }
    free(b->later);
    free(b->wsc);
    free(b->bsc);
}

jl_graph_plan *jl_graph_plan_new(int64_t features)
{
    if (features < 1 || features > INT_MAX) {
        JL_FAIL("graph plan: features must be in 1..%d, got %lld", INT_MAX, (long long)features);
        return NULL;
    }
    jl_graph_plan *g = calloc(1, sizeof *g);
    if (!g) {
        JL_FAIL_CODE(JL_ENOMEM, "graph plan: out of host memory");
        return NULL;
    }
    g->prog.features = g->width = features;
    return g;
}

void jl_graph_plan_free(jl_graph_plan *g)
{
    if (!g) return;
    free(g->prog.in_scale);
    free(g->prog.in_shift);
    for (int i = 0; i < g->prog.n_blocks; i++) free_block(&g->prog.blocks[i]);
    free(g->prog.blocks);
    free(g->prog.wf);
    free(g->prog.bf);
    free(g->prog.fscale);
    free(g->prog.fshift);
    free(g);
}

int64_t jl_graph_plan_features(const jl_graph_plan *g) { return g->prog.features; }
int64_t jl_graph_plan_outputs(const jl_graph_plan *g) { return g->head ? jl_plan_outputs(g->head) : 0; }
int jl_graph_plan_blocks(const jl_graph_plan *g) { return g->prog.n_blocks; }

/* jl_plan_copy_values, with a NULL tensor reported as missing. */
static float *copy_of(const jl_tensor *t, const char *what, int ndim, int64_t rows, int64_t cols)
{
    if (!t) {
        JL_FAIL("graph plan: %s is missing", what);
        return NULL;
    }
    return jl_plan_copy_values(t, what, ndim, (int64_t[]){rows, cols});
}

static void widen(jl_graph_program *p, int64_t w)
{
    if (w > p->max_width) p->max_width = w;
}

int jl_graph_plan_set_input(jl_graph_plan *g, const jl_tensor *scale, const jl_tensor *shift)
{
    if (g->prog.n_blocks) return JL_FAIL("graph plan: the input affine must come before the blocks");
    float *s = copy_of(scale, "the input scale", 1, g->prog.features, 0);
    float *t = s ? copy_of(shift, "the input shift", 1, g->prog.features, 0) : NULL;
    if (!t) {
        free(s);
        return jl_last_error_code();
    }
    free(g->prog.in_scale);
    free(g->prog.in_shift);
    g->prog.in_scale = s;
    g->prog.in_shift = t;
    return JL_OK;
}

/* b's first layer: wab = [wc; wn] (2 c1, in) and bias (c1). */
static int first_layer(jl_graph_block *b, const jl_tensor *wc, const jl_tensor *wn, const jl_tensor *bias)
{
    int64_t c1 = wc && wc->ndim == 2 ? wc->shape[0] : -1;
    if (c1 < 1 || c1 > INT_MAX)
        return JL_FAIL("graph plan: the centre weight must be (c1, %lld), got %s", (long long)b->in,
                       wc ? jl_shape_str(wc) : "nothing");
    float *c = copy_of(wc, "the centre weight", 2, c1, b->in);
    float *n = c ? copy_of(wn, "the neighbour weight", 2, c1, b->in) : NULL;
    b->bias = n ? copy_of(bias, "the first layer's bias", 1, c1, 0) : NULL;
    float *both = b->bias ? malloc(sizeof(float) * (size_t)(2 * c1 * b->in)) : NULL;
    b->wab = both ? malloc(sizeof(float) * (size_t)jl_plan_packed_floats(2 * c1, b->in)) : NULL;
    if (b->wab) {
        memcpy(both, c, sizeof(float) * (size_t)(c1 * b->in));
        memcpy(both + c1 * b->in, n, sizeof(float) * (size_t)(c1 * b->in));
        jl_plan_pack(both, 2 * c1, b->in, b->wab);
    }
    free(both);
    free(c);
    free(n);
    if (!b->wab) return b->bias ? JL_FAIL_CODE(JL_ENOMEM, "graph plan: out of host memory") : jl_last_error_code();
    b->width1 = b->out = c1;
    return JL_OK;
}

/* Appends b's later layers. */
static int later_layers(jl_graph_block *b, int n_later, const jl_tensor *const *later_w,
                        const jl_tensor *const *later_b)
{
    if (n_later < 0) return JL_FAIL("graph plan: n_later must be >= 0, got %d", n_later);
    if (!n_later) return JL_OK;
    if (!later_w || !later_b) return JL_FAIL("graph plan: %d later layers need their weights and biases", n_later);
    b->later = calloc((size_t)n_later, sizeof *b->later);
    if (!b->later) return JL_FAIL_CODE(JL_ENOMEM, "graph plan: out of host memory");
    for (int l = 0; l < n_later; l++) {
        const jl_tensor *w = later_w[l];
        int64_t out = w && w->ndim == 2 ? w->shape[0] : -1;
        if (out < 1 || out > INT_MAX)
            return JL_FAIL("graph plan: edge layer %d's weight must be (out, %lld), got %s", l + 2, (long long)b->out,
                           w ? jl_shape_str(w) : "nothing");
        jl_graph_layer *y = &b->later[b->n_later];
        y->in = b->out;
        y->out = out;
        y->w = jl_plan_copy_packed(w, "an edge layer's weight", out, b->out);
        if (!y->w) return jl_last_error_code();
        b->n_later++; /* owned from here: free_block releases it */
        y->b = copy_of(later_b[l], "an edge layer's bias", 1, out, 0);
        if (!y->b) return jl_last_error_code();
        b->out = out;
    }
    return JL_OK;
}

static int shortcut(jl_graph_block *b, const jl_tensor *wsc, const jl_tensor *bsc)
{
    if (!wsc && !bsc) {
        if (b->out != b->sc_in)
            return JL_FAIL("graph plan: a block from %lld to %lld channels needs a shortcut weight",
                           (long long)b->sc_in, (long long)b->out);
        return JL_OK;
    }
    b->wsc = wsc ? jl_plan_copy_packed(wsc, "the shortcut weight", b->out, b->sc_in)
                 : copy_of(wsc, "the shortcut weight", 2, 0, 0);
    b->bsc = b->wsc ? copy_of(bsc, "the shortcut bias", 1, b->out, 0) : NULL;
    return b->bsc ? JL_OK : jl_last_error_code();
}

static int append(jl_graph_plan *g, jl_graph_block *bp, int rc);

int jl_graph_plan_add_block(jl_graph_plan *g, const jl_tensor *wc, const jl_tensor *wn, const jl_tensor *bias,
                            int n_later, const jl_tensor *const *later_w, const jl_tensor *const *later_b,
                            const jl_tensor *wsc, const jl_tensor *bsc)
{
    if (g->head) return JL_FAIL("graph plan: blocks must come before the fusion layer");
    jl_graph_block b = {.in = g->width, .sc_back = g->passes, .sc_in = g->passes ? g->pass_in : g->width};
    int rc = first_layer(&b, wc, wn, bias);
    if (!rc) rc = later_layers(&b, n_later, later_w, later_b);
    if (!rc) rc = shortcut(&b, wsc, bsc);
    rc = append(g, &b, rc);
    if (!rc) {
        g->prog.cat_width += b.out;
        g->passes = 0;
    }
    return rc;
}

int jl_graph_plan_add_pass(jl_graph_plan *g, const jl_tensor *wc, const jl_tensor *wn, const jl_tensor *bias)
{
    if (g->head) return JL_FAIL("graph plan: passes must come before the fusion layer");
    jl_graph_block b = {.in = g->width, .pass = 1};
    int rc = first_layer(&b, wc, wn, bias);
    if (!rc && !g->passes) g->pass_in = g->width;
    rc = append(g, &b, rc);
    if (!rc) g->passes++;
    return rc;
}

/* Appends b (its copies then owned by the plan) when its building succeeded (rc), else
 * frees them and names the block in the error. */
static int append(jl_graph_plan *g, jl_graph_block *bp, int rc)
{
    jl_graph_block b = *bp;
    if (!rc && g->prog.n_blocks >= JL_GRAPH_MAX_BLOCKS)
        rc = JL_FAIL("graph plan: at most %d blocks and passes", JL_GRAPH_MAX_BLOCKS);
    jl_graph_block *grown = rc ? NULL : realloc(g->prog.blocks, sizeof b * (size_t)(g->prog.n_blocks + 1));
    if (!rc && !grown) rc = JL_FAIL_CODE(JL_ENOMEM, "graph plan: out of host memory");
    if (rc) {
        free_block(&b);
        char where[32];
        snprintf(where, sizeof where, "graph plan block %d", g->prog.n_blocks + 1);
        return jl_error_wrap(where);
    }
    jl_graph_program *p = &g->prog;
    p->blocks = grown;
    p->blocks[p->n_blocks++] = b;
    widen(p, 2 * b.width1);
    widen(p, b.out);
    p->node_macs += 2 * b.width1 * b.in + (b.wsc ? b.out * b.sc_in : 0);
    for (int l = 0; l < b.n_later; l++) {
        widen(p, b.later[l].out);
        p->edge_macs += b.later[l].in * b.later[l].out;
    }
    g->width = b.out;
    return JL_OK;
}

int jl_graph_plan_set_fusion(jl_graph_plan *g, const jl_tensor *wf, const jl_tensor *bf, const jl_tensor *scale,
                             const jl_tensor *shift, const jl_plan *head)
{
    jl_graph_program *p = &g->prog;
    if (!p->n_blocks) return JL_FAIL("graph plan: add the blocks before the fusion layer");
    if (g->passes) return JL_FAIL("graph plan: %d passes without the block that ends them", g->passes);
    if (g->head) return JL_FAIL("graph plan: the fusion layer is already set");
    int64_t f = wf && wf->ndim == 2 ? wf->shape[0] : -1;
    if (f < 1 || f > INT_MAX)
        return JL_FAIL("graph plan: the fusion weight must be (F, %lld), got %s", (long long)p->cat_width,
                       wf ? jl_shape_str(wf) : "nothing");
    if (!head) return JL_FAIL("graph plan: the head plan is missing");
    if (jl_plan_inputs(head) != f)
        return JL_FAIL("graph plan: the head takes %lld inputs but the fusion layer gives %lld",
                       (long long)jl_plan_inputs(head), (long long)f);
    float *w = jl_plan_copy_packed(wf, "the fusion weight", f, p->cat_width);
    float *b = w ? copy_of(bf, "the fusion bias", 1, f, 0) : NULL;
    bool affine = scale || shift;
    float *s = b && affine ? copy_of(scale, "the fusion scale", 1, f, 0) : NULL;
    float *t = s ? copy_of(shift, "the fusion shift", 1, f, 0) : NULL;
    if (!b || (affine && !t)) {
        free(w);
        free(b);
        free(s);
        return jl_last_error_code();
    }
    p->wf = w;
    p->bf = b;
    p->fscale = s;
    p->fshift = t;
    p->fusion = f;
    p->node_macs += f * p->cat_width;
    p->head = jl_plan_program_of(head);
    g->head = head;
    return JL_OK;
}

/* Checks an index tensor: 1-D i64 cpu of `len` entries (len < 0: any). */
static int check_index(const jl_tensor *t, const char *what, int64_t len)
{
    if (!t || t->dtype != JL_I64 || t->ndim != 1 || jl_device_of(t) != JL_CPU || (len >= 0 && t->shape[0] != len))
        return JL_FAIL("graph plan: %s must be a 1-D i64 cpu tensor%s, got %s%s%s", what,
                       len >= 0 ? " of the right length" : "", t ? jl_dtype_name(t->dtype) : "nothing",
                       t ? " " : "", t ? jl_shape_str(t) : "");
    return JL_OK;
}

/* Offsets o (count+1) from 0 to total, never decreasing. */
static int check_offsets(const int64_t *o, int64_t count, int64_t total, const char *what)
{
    if (o[0] != 0) return JL_FAIL("graph plan: %s must start at 0, got %lld", what, (long long)o[0]);
    for (int64_t i = 1; i <= count; i++)
        if (o[i] < o[i - 1])
            return JL_FAIL("graph plan: %s decrease at position %lld (%lld after %lld)", what, (long long)i + 1,
                           (long long)o[i], (long long)o[i - 1]);
    if (o[count] != total)
        return JL_FAIL("graph plan: %s end at %lld but there are %lld rows", what, (long long)o[count],
                       (long long)total);
    return JL_OK;
}

/* Every edge's neighbour lies in its centre's jet. */
static int check_edges(const int64_t *off, int64_t jets, const int64_t *eoff, const int64_t *nbr)
{
    for (int64_t j = 0; j < jets; j++)
        for (int64_t e = eoff[off[j]]; e < eoff[off[j + 1]]; e++)
            if (nbr[e] < off[j] || nbr[e] >= off[j + 1])
                return JL_FAIL("graph plan: nbr[%lld] = %lld is outside its jet %lld (nodes %lld..%lld)",
                               (long long)e, (long long)nbr[e], (long long)j + 1, (long long)off[j],
                               (long long)off[j + 1] - 1);
    return JL_OK;
}

jl_tensor *jl_graph_plan_run(jl_graph_plan *g, const jl_tensor *x, const jl_tensor *offsets,
                             const jl_tensor *edge_offsets, const jl_tensor *nbr)
{
    if (!g->head) {
        JL_FAIL("graph plan: incomplete (no fusion layer and head)");
        return NULL;
    }
    if (jl_device_of(x) != JL_CPU || x->dtype != JL_F32 || x->ndim != 2 || x->shape[1] != g->prog.features) {
        JL_FAIL("graph plan: x must be (nodes, %lld) f32 cpu, got %s %s on %s", (long long)g->prog.features,
                jl_dtype_name(x->dtype), jl_shape_str(x), jl_device_name(jl_device_of(x)));
        return NULL;
    }
    int64_t n = x->shape[0];
    if (check_index(offsets, "offsets", -1) || check_index(edge_offsets, "edge_offsets", n + 1) ||
        check_index(nbr, "nbr", -1))
        return NULL;
    if (offsets->shape[0] < 1) {
        JL_FAIL("graph plan: offsets must have jets + 1 >= 1 entries, got %s", jl_shape_str(offsets));
        return NULL;
    }
    int64_t jets = offsets->shape[0] - 1;
    jl_tensor *xc = jl_contiguous((jl_tensor *)x);
    jl_tensor *oc = xc ? jl_contiguous((jl_tensor *)offsets) : NULL;
    jl_tensor *ec = oc ? jl_contiguous((jl_tensor *)edge_offsets) : NULL;
    jl_tensor *nc = ec ? jl_contiguous((jl_tensor *)nbr) : NULL;
    jl_tensor *y = NULL;
    if (nc && !check_offsets(jl_data(oc), jets, n, "offsets") &&
        !check_offsets(jl_data(ec), n, nbr->shape[0], "edge_offsets") &&
        !check_edges(jl_data(oc), jets, jl_data(ec), jl_data(nc)))
        y = jl_tensor_new(JL_F32, 2, (int64_t[]){jets, jl_plan_outputs(g->head)}, JL_CPU);
    if (y) {
        const jl_backend *cpu = jl_backend_for(JL_CPU);
        if (cpu->run_graph_plan(&g->prog, jl_data(xc), jl_data(oc), jets, jl_data(ec), jl_data(nc), jl_data(y))) {
            jl_release(y);
            y = NULL;
        }
    }
    jl_release(nc);
    jl_release(ec);
    jl_release(oc);
    jl_release(xc);
    return y;
}
