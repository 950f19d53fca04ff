/* jl_autograd.h — define-by-run reverse-mode autograd (DESIGN.md rule 2).
 *
 * While grad mode is on, every differentiable op whose inputs require grad
 * records a node: its inputs (retained), the tensors its backward needs
 * (saved, detached so no cycle forms, with their storage version), a few
 * scalars, and a backward function written with core ops, so every backend
 * gets it. jl_backward walks the graph in reverse topological order,
 * accumulates into leaves' .grad, then frees the saved tensors (the tape).
 *
 *   jl_node *n = jl_node_new("mul", mul_backward, 2, (jl_tensor*[]){a, b});
 *   jl_node_save(n, a); jl_node_save(n, b);
 *   jl_attach(out, n);            // out->grad_fn = n (takes n's reference)
 */
#ifndef JL_AUTOGRAD_H
#define JL_AUTOGRAD_H

#include <stdbool.h>

#include "jl_tensor.h"

#define JL_NODE_MAX_INPUTS 4
#define JL_NODE_MAX_SAVED 4

typedef struct jl_node jl_node;

/* Computes grad_inputs[i] (a +1 reference, or NULL when input i needs none)
 * from grad_out, the gradient of the node's output. Returns JL_OK or an error. */
typedef int (*jl_backward_fn)(jl_node *node, jl_tensor *grad_out, jl_tensor **grad_inputs);

struct jl_node {
    atomic_int refcount;
    const char *name; /* the op, for error messages */
    jl_backward_fn backward;
    int n_inputs;
    jl_tensor *inputs[JL_NODE_MAX_INPUTS]; /* retained; NULL slots are constants */
    bool needs_grad[JL_NODE_MAX_INPUTS];
    int n_saved;
    jl_tensor *saved[JL_NODE_MAX_SAVED]; /* retained, detached */
    uint64_t saved_version[JL_NODE_MAX_SAVED];
    double s[4];
    int64_t i[JL_MAX_DIMS + 2];
    int ndim_out; /* output geometry, for backward rules */
    int64_t shape_out[JL_MAX_DIMS];
    bool freed;         /* saved tensors released after backward */
    jl_tensor *pending; /* gradient being accumulated during backward */
    int pending_deps;   /* bookkeeping during backward */
};

/* --- grad mode (thread-local) ------------------------------------------- */
bool jl_grad_enabled(void);
/* Sets grad mode; returns the previous mode so callers can restore it. */
bool jl_set_grad_enabled(bool enabled);

/* True when grad mode is on and any of the n inputs requires grad. */
bool jl_needs_graph(int n, jl_tensor *const *inputs);

/* New node over n inputs (each retained; NULL allowed); +1. */
jl_node *jl_node_new(const char *name, jl_backward_fn backward, int n, jl_tensor *const *inputs);
/* Saves a detached alias of t (retained) and its storage version; returns its slot. */
int jl_node_save(jl_node *node, jl_tensor *t);
/* Fetches saved slot i, failing if it was modified in place since it was saved. */
jl_tensor *jl_node_saved(jl_node *node, int i);
void jl_node_retain(jl_node *node);
void jl_node_release(jl_node *node);
/* out becomes a non-leaf requiring grad with grad_fn = node; steals node's reference
 * and records out's shape in the node. */
void jl_attach(jl_tensor *out, jl_node *node);

/* Backward from root. grad may be NULL only when root has one element (seed 1).
 * Accumulates into the .grad of every leaf that requires grad; frees the tape. */
int jl_backward(jl_tensor *root, jl_tensor *grad);

/* The gradient-ready hook of the next jl_backward (one backward only: that call
 * clears it, whether it succeeds or fails). fn(leaf, ctx) is called once per
 * leaf requiring grad that the graph reaches, as soon as the last node feeding
 * it has run, so leaf->grad (possibly NULL: no gradient flowed) holds its whole
 * gradient of this backward; the rest of the walk runs after fn returns. A
 * nonzero return (an error set with JL_FAIL) stops the backward with that
 * error. Used by data-parallel training to start a gradient bucket's
 * reduction while backward goes on (jl.dist.reducer). Not thread-safe: one
 * backward at a time. fn NULL disarms it. */
typedef int (*jl_grad_ready_fn)(jl_tensor *leaf, void *ctx);
void jl_set_grad_ready_hook(jl_grad_ready_fn fn, void *ctx);

/* New tensor sharing t's storage, with no grad_fn and requires_grad false; +1. */
jl_tensor *jl_detach(jl_tensor *t);

/* Sums g over broadcast dimensions so it has the given shape (the reverse of
 * expand); +1. Used by broadcasting ops' backward rules. */
jl_tensor *jl_sum_to_shape(jl_tensor *g, int ndim, const int64_t *shape);

#endif
