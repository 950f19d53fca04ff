/* jl_graph_plan.h — graph inference plans: LundNet's eval-mode forward (the
 * EdgeConv blocks on a fixed graph, the peer variant's with message passes, the fusion layer, the
 * mean over each jet's nodes and a head plan) in one C call, with every
 * BatchNorm folded into a Linear by the caller (nn.compile), no autograd, no
 * Lua between layers and no tensor per layer. The program it runs is
 * core/tensor/backend/jl_graph_program.h. CPU, f32. Weights are copied (a
 * snapshot); the head plan is borrowed. Not safe to run from two threads at once.
 *
 *   jl_graph_plan *g = jl_graph_plan_new(5);                 // node features
 *   jl_graph_plan_set_input(g, scale, shift);                // (5) each: the input BatchNorm
 *   jl_graph_plan_add_block(g, wc, wn, bias, 1, (const jl_tensor *[]){w2}, (const jl_tensor *[]){b2},
 *                           wsc, bsc);                       // see below; repeat per block
 *   jl_graph_plan_set_fusion(g, wf, bf, scale, shift, head); // head: a jl_plan on (jets, fusion)
 *   jl_tensor *y = jl_graph_plan_run(g, x, offsets, edge_offsets, nbr);  // (B, outputs), +1
 *   jl_graph_plan_free(g);                                   // then jl_plan_free(head)
 */
#ifndef JL_GRAPH_PLAN_H
#define JL_GRAPH_PLAN_H

#include "jl_graph_program.h"
#include "jl_plan.h"
#include "jl_tensor.h"

typedef struct jl_graph_plan jl_graph_plan;

/* A new plan on nodes of `features` features; owned by the caller, freed by
 * jl_graph_plan_free. NULL on failure. */
jl_graph_plan *jl_graph_plan_new(int64_t features);
void jl_graph_plan_free(jl_graph_plan *g);

/* x <- x * scale + shift per feature before the first block: scale, shift (features) f32; copied. */
int jl_graph_plan_set_input(jl_graph_plan *g, const jl_tensor *scale, const jl_tensor *shift);

/* Appends a block on the previous block's output (the first: the node features, C wide):
 *   wc, wn (c1, C) the first layer's weights on the centre's and the neighbour's row,
 *   bias (c1); later_w[l] (c_{l+2}, c_{l+1}), later_b[l] (c_{l+2}) for l < n_later;
 *   wsc (c_L, C), bsc (c_L) the shortcut, or both NULL for the identity (needs c_L == C).
 * All f32 cpu, copied. */
int jl_graph_plan_add_block(jl_graph_plan *g, const jl_tensor *wc, const jl_tensor *wn, const jl_tensor *bias,
                            int n_later, const jl_tensor *const *later_w, const jl_tensor *const *later_b,
                            const jl_tensor *wsc, const jl_tensor *bsc);

/* Appends a message pass (the peer LundNet's layers before a block's last): mean over each
 * node's edges of relu(wc h_centre + wn h_neighbour + bias), wc, wn (c1, C), bias (c1), with
 * no shortcut and kept out of the fusion input; the next jl_graph_plan_add_block's shortcut
 * (wsc (c_L, C0)) then reads the input of the first of the passes before it (C0 channels). */
int jl_graph_plan_add_pass(jl_graph_plan *g, const jl_tensor *wc, const jl_tensor *wn, const jl_tensor *bias);

/* The fusion Linear + ReLU on the blocks' outputs side by side: wf (F, sum of c_L),
 * bf (F), copied; then the mean over each jet's nodes, times scale plus shift (F) each
 * (the fusion BatchNorm after the ReLU, which commutes with the mean; both NULL: none;
 * a jet without nodes pools to 0, as the eager mean does), then head (F inputs), which
 * is borrowed: it must outlive g and not change. Completes the plan. */
int jl_graph_plan_set_fusion(jl_graph_plan *g, const jl_tensor *wf, const jl_tensor *bf, const jl_tensor *scale,
                             const jl_tensor *shift, const jl_plan *head);

int64_t jl_graph_plan_features(const jl_graph_plan *g);
int64_t jl_graph_plan_outputs(const jl_graph_plan *g);
int jl_graph_plan_blocks(const jl_graph_plan *g);

/* Runs the plan on a batch of B graphs: x (N, features) f32 cpu; offsets (B+1) i64
 * (jet b owns nodes offsets[b] .. offsets[b+1]-1); edge_offsets (N+1) i64 (node i's
 * edges are edge_offsets[i] .. edge_offsets[i+1]-1, i its centre); nbr (E) i64 0-based,
 * the neighbour of each edge, in the centre's jet. Returns a new (B, outputs) f32
 * tensor (+1), or NULL with a message naming the argument at fault. Jets are split
 * over the thread pool; a small batch (one jet) runs on the caller. */
jl_tensor *jl_graph_plan_run(jl_graph_plan *g, const jl_tensor *x, const jl_tensor *offsets,
                             const jl_tensor *edge_offsets, const jl_tensor *nbr);

#endif
