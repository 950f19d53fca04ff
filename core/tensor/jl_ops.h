/* jl_ops.h — the differentiable tensor ops of core.
 *
 * Every function returns a new +1 reference (or NULL with jl_last_error set);
 * inputs are borrowed. Dimensions are 0-based here and may be negative
 * (counting from the end); the Lua bindings translate from Lua's 1-based dims.
 * Ops record an autograd node when grad mode is on and an input requires grad.
 * Views (the "shape" family) share storage and cost O(1); nothing else aliases.
 *
 *   jl_tensor *y = jl_relu(x);                 // y (N, F)
 *   jl_tensor *s = jl_sum(y, -1, false);       // s (N)
 */
#ifndef JL_OPS_H
#define JL_OPS_H

#include "jl_autograd.h"
#include "jl_tensor.h"

/* --- shape: views, O(1), share storage (ops_shape.c) ---------------------- */
/* t viewed with a new shape (one entry may be -1); fails if the strides do not allow it. */
jl_tensor *jl_view_as_shape(jl_tensor *t, int ndim, const int64_t *shape);
/* Like view, but copies when the strides do not allow a view (never silently otherwise). */
jl_tensor *jl_reshape(jl_tensor *t, int ndim, const int64_t *shape);
jl_tensor *jl_transpose(jl_tensor *t, int d0, int d1);
/* perm has t->ndim entries, a permutation of 0..ndim-1. */
jl_tensor *jl_permute(jl_tensor *t, const int *perm);
/* Elements start..start+length-1 along dim. */
jl_tensor *jl_narrow(jl_tensor *t, int dim, int64_t start, int64_t length);
/* Index `index` along dim, removing that dim. */
jl_tensor *jl_select(jl_tensor *t, int dim, int64_t index);
/* Broadcast size-1 dims to shape (ndim >= t->ndim; -1 keeps a size). */
jl_tensor *jl_expand(jl_tensor *t, int ndim, const int64_t *shape);
jl_tensor *jl_unsqueeze(jl_tensor *t, int dim);
/* Removes dim (must have size 1), or all size-1 dims when dim == JL_ALL_DIMS. */
jl_tensor *jl_squeeze(jl_tensor *t, int dim);
#define JL_ALL_DIMS 0x7fff

/* --- copies (ops_copy.c) ------------------------------------------------- */
/* A contiguous tensor: +1 on t itself when already contiguous, else a copy. */
jl_tensor *jl_contiguous(jl_tensor *t);
/* Always a fresh contiguous copy. */
jl_tensor *jl_clone(jl_tensor *t);
/* Copy converted to dtype (a fresh tensor even when the dtype is the same). */
jl_tensor *jl_to_dtype(jl_tensor *t, jl_dtype dtype);
/* In place: dst <- src (broadcast to dst's shape, converted to dst's dtype).
 * Fails when dst is a leaf requiring grad while grad mode is on. */
int jl_copy_(jl_tensor *dst, jl_tensor *src);
/* In place: dst <- value everywhere. */
int jl_fill_(jl_tensor *dst, double value);
/* n tensors of equal shape except along dim, concatenated along dim. */
jl_tensor *jl_cat(int n, jl_tensor *const *ts, int dim);
/* n tensors of equal shape, stacked along a new dim. */
jl_tensor *jl_stack(int n, jl_tensor *const *ts, int dim);

/* --- elementwise (ops_elementwise.c) ------------------------------------- */
jl_tensor *jl_unary(jl_op op, jl_tensor *a, double s0, double s1);
jl_tensor *jl_neg(jl_tensor *a);
jl_tensor *jl_exp(jl_tensor *a);
jl_tensor *jl_log(jl_tensor *a);
jl_tensor *jl_sqrt(jl_tensor *a);
jl_tensor *jl_abs(jl_tensor *a);
jl_tensor *jl_relu(jl_tensor *a);
jl_tensor *jl_sigmoid(jl_tensor *a);
jl_tensor *jl_tanh(jl_tensor *a);
jl_tensor *jl_pow_scalar(jl_tensor *a, double p);
jl_tensor *jl_clamp(jl_tensor *a, double lo, double hi);
/* a*scale + shift */
jl_tensor *jl_affine(jl_tensor *a, double scale, double shift);
/* Binary with broadcasting (numpy rules); a and b of the same dtype. */
jl_tensor *jl_binary(jl_op op, jl_tensor *a, jl_tensor *b);
jl_tensor *jl_add(jl_tensor *a, jl_tensor *b);
/* dst += src in place, both f32 of one shape on one device; no autograd (the backward
 * engine's sums of gradients). JL_OK or an error code. */
int jl_add_into_(jl_tensor *dst, jl_tensor *src);
jl_tensor *jl_sub(jl_tensor *a, jl_tensor *b);
jl_tensor *jl_mul(jl_tensor *a, jl_tensor *b);
jl_tensor *jl_div(jl_tensor *a, jl_tensor *b);
jl_tensor *jl_pow(jl_tensor *a, jl_tensor *b);
jl_tensor *jl_maximum(jl_tensor *a, jl_tensor *b);
jl_tensor *jl_minimum(jl_tensor *a, jl_tensor *b);
/* Comparisons (op in eq ne lt le gt ge): u8 result, no gradient. */
jl_tensor *jl_compare(jl_op op, jl_tensor *a, jl_tensor *b);
/* cond (u8) ? a : b, all broadcast together. */
jl_tensor *jl_where(jl_tensor *cond, jl_tensor *a, jl_tensor *b);
/* mask (u8, broadcastable to a) ? value : a. */
jl_tensor *jl_masked_fill(jl_tensor *a, jl_tensor *mask, double value);
/* A scalar tensor of a's dtype and device holding value (for a + 3). */
jl_tensor *jl_scalar_like(const jl_tensor *a, double value);

/* --- reductions and softmax (ops_reduce.c) ------------------------------- */
/* Over one dim (keepdim keeps it with size 1); dim == JL_ALL_DIMS reduces all to a scalar. */
jl_tensor *jl_sum(jl_tensor *a, int dim, bool keepdim);
jl_tensor *jl_mean(jl_tensor *a, int dim, bool keepdim);
/* Max/min values; *indices (i64, +1) receives the arg when not NULL. */
jl_tensor *jl_max(jl_tensor *a, int dim, bool keepdim, jl_tensor **indices);
jl_tensor *jl_min(jl_tensor *a, int dim, bool keepdim, jl_tensor **indices);
jl_tensor *jl_argmax(jl_tensor *a, int dim, bool keepdim);
/* correction 1 = unbiased (Bessel), 0 = population. */
jl_tensor *jl_var(jl_tensor *a, int dim, bool keepdim, int correction);
jl_tensor *jl_softmax(jl_tensor *a, int dim);
jl_tensor *jl_log_softmax(jl_tensor *a, int dim);

/* --- linear algebra (ops_matmul.c) --------------------------------------- */
/* a (M, K) @ b (K, N) -> (M, N); a (B, M, K) @ b (B, K, N) -> (B, M, N)
 * (batch dims broadcast); 1-D operands as in numpy. */
jl_tensor *jl_matmul(jl_tensor *a, jl_tensor *b);
/* x (..., F_in) @ weight (F_out, F_in)^T + bias (F_out) -> (..., F_out); bias may be NULL. */
jl_tensor *jl_linear(jl_tensor *x, jl_tensor *weight, jl_tensor *bias);

/* --- indexing (ops_index.c); index tensors are i64 (i32 accepted), range-checked */
/* a along dim at index (m) -> same shape as a with size m along dim. */
jl_tensor *jl_index_select(jl_tensor *a, int dim, jl_tensor *index);
/* out[i][j] = a[index[i][j]][j] (dim 0), etc.; index has a's ndim. */
jl_tensor *jl_gather(jl_tensor *a, int dim, jl_tensor *index);
/* A copy of a with src added at index along dim (index and src same shape). */
jl_tensor *jl_scatter_add(jl_tensor *a, int dim, jl_tensor *index, jl_tensor *src);
/* A copy of a with src (m along dim) added at rows index (m) along dim. */
jl_tensor *jl_index_add(jl_tensor *a, int dim, jl_tensor *index, jl_tensor *src);

/* --- random (ops_random.c): counter-based Philox, seedable ---------------- */
void jl_manual_seed(uint64_t seed);
/* The generator state (seed, counter), to save and restore. */
void jl_rng_state(uint64_t *seed, uint64_t *counter);
void jl_rng_set_state(uint64_t seed, uint64_t counter);
jl_tensor *jl_rand(int ndim, const int64_t *shape, double lo, double hi, jl_device device);
jl_tensor *jl_randn(int ndim, const int64_t *shape, double mean, double std, jl_device device);
jl_tensor *jl_randint(int ndim, const int64_t *shape, int64_t lo, int64_t hi, jl_device device);
jl_tensor *jl_bernoulli(int ndim, const int64_t *shape, double p, jl_device device);
/* Random permutation of 0..n-1 (i64). */
jl_tensor *jl_randperm(int64_t n, jl_device device);

/* --- losses (ops_loss.c) -------------------------------------------------- */
typedef enum { JL_REDUCTION_MEAN = 0, JL_REDUCTION_SUM, JL_REDUCTION_NONE } jl_reduction;
/* Fused softmax cross-entropy: l_r = logsumexp(logits[r]) - logits[r, labels[r]].
 * logits (B, K) f32, labels (B) i64 in 0..K-1 (else an error naming the label
 * and K), weights (B) f32 per-sample weights or NULL. Reductions: none -> (B)
 * w_r*l_r; sum -> sum_r w_r*l_r; mean -> sum_r w_r*l_r / sum_r w_r (the
 * weighted mean; sum(l)/B without weights; NaN when the weights sum to 0).
 * Per-sample, not torch's per-class `weight=`. Gradient to logits only
 * ((softmax - onehot) * w / denominator); weights and labels are data. */
jl_tensor *jl_cross_entropy(jl_tensor *logits, jl_tensor *labels, jl_tensor *weights, jl_reduction reduction);

/* --- optimizer updates (ops_optim.c): in place, no autograd --------------- */
/* Each writes param and its state tensors in place (bumping their storage
 * versions), bypassing the requires-grad write check: optimizers run outside
 * the graph. param, grad and state: f32, one shape, one device; param and state
 * contiguous. Formulas are exactly torch.optim's (see ops_optim.c). Return JL_OK
 * or an error (nothing is written then). */
typedef struct jl_sgd_config {
    double lr, momentum, dampening, weight_decay;
    bool nesterov;
} jl_sgd_config;
/* momentum_buf (param's shape) is required when momentum != 0, else ignored;
 * fresh: the buffer holds nothing yet and is set to the gradient (torch's first step). */
int jl_sgd_update_(jl_tensor *param, jl_tensor *grad, jl_tensor *momentum_buf, bool fresh,
                   const jl_sgd_config *c);

typedef struct jl_adam_config {
    double lr, beta1, beta2, eps, weight_decay;
    bool decoupled; /* AdamW: param *= 1 - lr*weight_decay first; else L2: grad + weight_decay*param */
} jl_adam_config;
/* exp_avg, exp_avg_sq (param's shape, zeros before the first step); step is the
 * 1-based count of this update (the caller increments it, as torch's state["step"]). */
int jl_adam_update_(jl_tensor *param, jl_tensor *grad, jl_tensor *exp_avg, jl_tensor *exp_avg_sq,
                    int64_t step, const jl_adam_config *c);
/* The sum of squares of all elements of the n tensors (f32, any device), in double:
 * the squared global gradient norm of clip_grad_norm. */
int jl_sum_squares(int n, jl_tensor *const *ts, double *out);

/* --- graphs on ragged batches (ops_graph.c) ----------------------------------------
 * A ragged batch stores jets (or graphs) as consecutive rows: node table
 * (N_total, C) and offsets (B+1) i64 with offsets[0] = 0, offsets[B] = N_total.
 * Edge lists are CSR: for each node i, its neighbours are rows
 * nbr[edge_offsets[i] .. edge_offsets[i+1]). */

/* k nearest neighbours of every node inside its own jet, self excluded; jets
 * with n <= k nodes give each node its n - 1 others. coords (N, D) f32,
 * offsets (B+1) i64. Returns nbr (E) i64 (global rows) and, in *edge_offsets,
 * a +1 (N+1) i64 tensor. No gradient. */
jl_tensor *jl_knn(jl_tensor *coords, jl_tensor *offsets, int k, jl_tensor **edge_offsets);
/* Segment index of each row: offsets (S+1) i64 -> (offsets[S]) i64. */
jl_tensor *jl_segment_ids(jl_tensor *offsets);
/* Per-segment reductions of rows: x (E, F), offsets (S+1) i64 -> (S, F).
 * mean divides by each segment's real count (0 for an empty segment). */
jl_tensor *jl_segment_sum(jl_tensor *x, jl_tensor *offsets);
jl_tensor *jl_segment_mean(jl_tensor *x, jl_tensor *offsets);
jl_tensor *jl_segment_max(jl_tensor *x, jl_tensor *offsets);
/* Mean of the rows of src (E, F) sent to each of n targets by index (E) i64 0-based
 * (any order; a scatter-mean over an edge list): out (n, F), 0 for a target nothing
 * is sent to. Gradient to src. */
jl_tensor *jl_scatter_mean(jl_tensor *src, jl_tensor *index, int64_t n);

/* --- nn functional (ops_nn.c) --------------------------------------------- */
/* Batch normalisation of a node table: out (N, C) <- (x - mean) / sqrt(var + eps) * weight + bias,
 * x (N, C) only (flatten other layouts to rows first); weight, bias, running_mean, running_var (C)
 * or NULL (weight 1, bias 0; running buffers absent = not tracked). training: mean and biased var
 * of the batch, and the running buffers (when given) updated in place as PyTorch does:
 * running = (1 - momentum) * running + momentum * batch, with the unbiased variance; needs N > 1.
 * Eval: the running buffers (required). Gradients flow to x, weight and bias, never the buffers. */
jl_tensor *jl_batch_norm(jl_tensor *x, jl_tensor *weight, jl_tensor *bias, jl_tensor *running_mean,
                         jl_tensor *running_var, bool training, double momentum, double eps);

/* --- EdgeConv building blocks (ops_edgeconv.c) ---------------------------------------
 * Graphs in CSR form as jl_knn gives them: edge_offsets (N+1) i64 and nbr (E) i64
 * (0-based rows); edge e belongs to centre i when edge_offsets[i] <= e < edge_offsets[i+1]. */

/* out (E, C) <- ab[centre(e), 0..C) + ab[nbr[e], C..2C), ab (N, 2C): the first
 * EdgeConv layer without building edge features, ab = x [W1 - W2; W2]^T (one GEMM
 * on nodes). ab may be a column slice (unit column stride). Gradient to ab. */
jl_tensor *jl_edge_gather(jl_tensor *ab, jl_tensor *edge_offsets, jl_tensor *nbr);
/* The edge features of DGCNN/ParticleNet: out (E, 2C) row e = [x[centre(e)], x[nbr[e]] -
 * x[centre(e)]] for x (N, C). One edge_gather of the node table [x, -x, 0, x] (N, 4C),
 * so it runs on every backend and its backward is edge_gather's. Gradient to x. */
jl_tensor *jl_edge_features(jl_tensor *x, jl_tensor *edge_offsets, jl_tensor *nbr);
/* relu(batch_norm(x)) fused, x (N, C), arguments as jl_batch_norm (statistics over the N
 * rows, running buffers updated in training). With segments (S+1) i64 (NULL: none) the
 * result is instead the mean of those rows over each segment, (S, C) (0 for an empty
 * segment), without writing the (N, C) activations. Gradients to x, weight and bias. */
jl_tensor *jl_batch_norm_relu(jl_tensor *x, jl_tensor *weight, jl_tensor *bias, jl_tensor *running_mean,
                              jl_tensor *running_var, bool training, double momentum, double eps,
                              jl_tensor *segments);
/* batch_norm(relu(x)) fused, as jl_batch_norm_relu (the statistics those of relu(x)):
 * LundNet's fusion layer, ReLU -> BatchNorm -> mean over each jet's nodes, with segments
 * reads x once forward and once backward and writes no (N, C) activations. */
jl_tensor *jl_relu_batch_norm(jl_tensor *x, jl_tensor *weight, jl_tensor *bias, jl_tensor *running_mean,
                              jl_tensor *running_var, bool training, double momentum, double eps,
                              jl_tensor *segments);
/* Edges (src, dst) (E) i64 0-based over n_nodes nodes grouped by dst (stable counting
 * sort): returns nbr (E) i64 = the sources in dst order, and in *edge_offsets (N+1) i64
 * (+1) the CSR offsets, and when perm is not NULL in *perm (E) i64 (+1) the position of
 * each sorted edge in the input. No gradient. */
jl_tensor *jl_edges_by_dst(jl_tensor *src, jl_tensor *dst, int64_t n_nodes, jl_tensor **edge_offsets,
                           jl_tensor **perm);

/* A batch of graphs in CSR form grouped by destination, all i64 (each +1, owned by the
 * struct): rows (M) the batch's nodes as rows of the source table, offsets (K+1) per
 * graph, src and dst (E) node rows in the batch, edge_offsets (M+1) per node. */
typedef struct jl_graph_batch {
    jl_tensor *rows, *offsets, *src, *dst, *edge_offsets;
} jl_graph_batch;
/* The graphs jets (K) of a table of graphs: offsets (B+1) per graph, edge_offsets (N+1)
 * per node, src (E) the source of each edge grouped by destination (jl.lund.graphs's
 * layout; every edge inside its graph). Node rows (in src, rows, the batch's src and dst)
 * and jet numbers count from base: 0 in C, 1 for Lua. Graphs keep their node and edge
 * order; the work and the checks cover the selected graphs only. On offsets' device.
 * 0 or the error code (*out then empty). No gradient. */
int jl_graph_select(jl_tensor *offsets, jl_tensor *edge_offsets, jl_tensor *src, jl_tensor *jets,
                    int64_t base, jl_graph_batch *out);
/* Releases the batch's tensors (NULL ones allowed) and empties it. */
void jl_graph_batch_release(jl_graph_batch *b);

#endif
