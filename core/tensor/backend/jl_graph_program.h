/* jl_graph_program.h — a graph inference plan (jl_graph_plan.h) as a backend runs
 * it: LundNet's eval-mode forward with every BatchNorm folded. core/tensor/graph_plan.c
 * builds and owns the program; a backend's run_graph_plan slot (jl_kernel.h)
 * executes it. Weights (out, in) are f32, packed as a plan's linear weights
 * (jl_plan_program.h); biases, scales and shifts are plain.
 *
 * On a batch of graphs (nodes grouped by jet, edges grouped by their centre node):
 *   x0 (N, features)      = x * in_scale + in_shift            (when in_scale)
 *   block b, input h (N, in), widths c_1 .. c_L:
 *     z_1 (E, c_1)        = relu(ab[centre] + ab[neighbour] + bias), ab = h [wc; wn]^T
 *     z_l (E, c_l)        = relu(z_{l-1} w_l^T + b_l)            l = 2 .. L
 *     m (N, c_L)          = mean of z_L over each node's edges (0 without edges)
 *     out (N, c_L)        = relu(m + s wsc^T + bsc), or relu(m + s) without wsc, where s is
 *                           h, or the input of the block sc_back places earlier;
 *                           a pass (the peer LundNet's layers before the last) is m alone
 *   cat (N, cat_width)    = the outputs of the blocks that are not passes, side by side
 *   pooled (B, fusion)    = mean over each jet's nodes of relu(cat wf^T + bf), then
 *                           * fscale + fshift (when fscale) for a jet with nodes; 0 without
 *   y (B, head outputs)   = the head plan (jl_plan_program) on pooled
 */
#ifndef JL_GRAPH_PROGRAM_H
#define JL_GRAPH_PROGRAM_H

#include <stdint.h>

#include "jl_plan_program.h"

typedef struct jl_graph_layer {
    int64_t in, out;
    float *w; /* (out, in) */
    float *b; /* (out) */
} jl_graph_layer;

typedef struct jl_graph_block {
    int64_t in, out, width1;  /* input channels, output channels (c_L), c_1 */
    float *wab;               /* (2 width1, in) packed: the centre's rows wc, then the neighbour's wn */
    float *bias;              /* (width1) */
    int n_later;              /* L - 1 */
    jl_graph_layer *later;    /* n_later layers */
    float *wsc, *bsc;         /* shortcut (out, sc_in), (out); both NULL: the identity (sc_in == out) */
    int pass;                 /* 1: out = m, no shortcut, not in the cat */
    int sc_back;              /* the shortcut reads the input of the block this many places earlier */
    int64_t sc_in;            /* channels of that input */
} jl_graph_block;

#define JL_GRAPH_MAX_BLOCKS 64

typedef struct jl_graph_program {
    int64_t features;             /* node features in */
    float *in_scale, *in_shift;   /* (features) each, or NULL */
    int n_blocks;
    jl_graph_block *blocks;       /* owned by the plan */
    int64_t cat_width;            /* sum of the blocks' out */
    int64_t fusion;               /* fusion width */
    float *wf, *bf;               /* (fusion, cat_width), (fusion) */
    float *fscale, *fshift;       /* (fusion) each, or NULL */
    int64_t max_width;            /* the widest 2 width1, c_l or out over the blocks */
    int64_t node_macs, edge_macs; /* multiply-adds per node and per edge */
    const jl_plan_program *head;  /* rows of fusion -> outputs; borrowed from the head plan */
} jl_graph_program;

#endif
