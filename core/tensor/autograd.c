/* autograd.c — grad mode, graph nodes, and the reverse walk of jl_backward. */
#include "jl_autograd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jl_ops.h"
#include "jl_profile.h"

static _Thread_local bool grad_disabled;

bool jl_grad_enabled(void) { return !grad_disabled; }

bool jl_set_grad_enabled(bool enabled)
{
    bool previous = !grad_disabled;
    grad_disabled = !enabled;
    return previous;
}

bool jl_needs_graph(int n, jl_tensor *const *inputs)
{
    if (grad_disabled) return false;
    for (int i = 0; i < n; i++)
        if (inputs[i] && inputs[i]->requires_grad) return true;
    return false;
}

/* --- nodes ---------------------------------------------------------------- */
jl_node *jl_node_new(const char *name, jl_backward_fn backward, int n, jl_tensor *const *inputs)
{
    jl_node *node = calloc(1, sizeof *node);
    if (!node) {
        JL_FAIL_CODE(JL_ENOMEM, "%s: out of memory for an autograd node", name);
        return NULL;
    }
    atomic_init(&node->refcount, 1);
    node->name = name;
    node->backward = backward;
    node->n_inputs = n;
    for (int i = 0; i < n; i++) {
        node->inputs[i] = jl_retain(inputs[i]);
        node->needs_grad[i] = inputs[i] && inputs[i]->requires_grad;
    }
    jl_stats_node_delta(1);
    return node;
}

int jl_node_save(jl_node *node, jl_tensor *t)
{
    int slot = node->n_saved++;
    node->saved[slot] = jl_detach(t);
    node->saved_version[slot] = t->storage->version;
    return slot;
}

jl_tensor *jl_node_saved(jl_node *node, int i)
{
    jl_tensor *t = node->saved[i];
    if (!t) {
        JL_FAIL("%s backward: saved tensor %d is gone (backward through a freed graph?)", node->name, i);
        return NULL;
    }
    if (t->storage->version != node->saved_version[i]) {
        JL_FAIL("%s backward: a tensor saved for the gradient was modified in place after the op ran",
                node->name);
        return NULL;
    }
    return t;
}

void jl_node_retain(jl_node *node)
{
    if (node) atomic_fetch_add(&node->refcount, 1);
}

static void node_free_tape(jl_node *node)
{
    for (int i = 0; i < node->n_saved; i++) {
        jl_release(node->saved[i]);
        node->saved[i] = NULL;
    }
    for (int i = 0; i < node->n_inputs; i++) {
        jl_release(node->inputs[i]);
        node->inputs[i] = NULL;
    }
    jl_release(node->pending);
    node->pending = NULL;
    node->freed = true;
}

void jl_node_release(jl_node *node)
{
    if (!node || atomic_fetch_sub(&node->refcount, 1) != 1) return;
    node_free_tape(node);
    jl_stats_node_delta(-1);
    free(node);
}

void jl_attach(jl_tensor *out, jl_node *node)
{
    out->grad_fn = node;
    out->requires_grad = true;
    node->ndim_out = out->ndim;
    memcpy(node->shape_out, out->shape, sizeof out->shape);
}

jl_tensor *jl_detach(jl_tensor *t) { return jl_tensor_alias(t, t->ndim, t->shape, t->strides, t->offset); }

/* --- gradient accumulation --------------------------------------------- */
/* True when the caller's reference is the only way to reach g's values: one
 * header reference, one storage reference, and the header spans the storage. */
static bool exclusively_held(const jl_tensor *g)
{
    return atomic_load(&g->refcount) == 1 && atomic_load(&g->storage->refcount) == 1 && g->offset == 0 &&
           jl_is_contiguous(g) && (size_t)jl_numel(g) * jl_dtype_size(g->dtype) == g->storage->bytes;
}

/* *slot += g (g borrowed). A leaf's .grad (user-visible, updated in place by the
 * optimizers) never aliases another tensor: a new one is g itself when nothing else
 * can reach g's values (the usual fresh gradient of a backward rule: no copy), else
 * a contiguous copy. A node's pending gradient (shared = true) may alias: backward
 * rules only read their incoming gradient, so a view (cat's or narrow's backward) or a
 * gradient handed to several inputs is kept as it is. A sum is made in place in
 * whichever of the two nothing else can reach (the slot's earlier sum, or a fresh g),
 * else in a new tensor. */
static int accumulate(jl_tensor **slot, jl_tensor *g, bool shared)
{
    if (!*slot && (shared || exclusively_held(g))) {
        *slot = jl_retain(g);
        return JL_OK;
    }
    bool f32 = *slot && (*slot)->dtype == JL_F32 && g->dtype == JL_F32;
    if (f32 && exclusively_held(*slot)) return jl_add_into_(*slot, g);
    if (f32 && exclusively_held(g)) {
        int rc = jl_add_into_(g, *slot);
        if (rc) return rc;
        jl_release(*slot);
        *slot = jl_retain(g);
        return JL_OK;
    }
    jl_tensor *sum = *slot ? jl_add(*slot, g) : jl_clone(g);
    if (!sum) return jl_last_error_code();
    jl_release(*slot);
    *slot = sum;
    return JL_OK;
}

/* --- the reverse walk ------------------------------------------------------ */
typedef struct {
    jl_node **items;
    int64_t count, cap;
} node_list;

static int list_push(node_list *l, jl_node *n)
{
    if (l->count == l->cap) {
        int64_t cap = l->cap ? 2 * l->cap : 64;
        jl_node **items = realloc(l->items, (size_t)cap * sizeof *items);
        if (!items) return JL_FAIL_CODE(JL_ENOMEM, "backward: out of memory for the graph walk");
        l->items = items;
        l->cap = cap;
    }
    l->items[l->count++] = n;
    return JL_OK;
}

/* Post-order DFS (iterative, graphs may be deep) giving a topological order in
 * which every node comes after all nodes it depends on. pending_deps marks
 * visit state: 0 new, 1 on stack, 2 done. */
static int topo_order(jl_node *root, node_list *order)
{
    node_list stack = {0};
    int rc = list_push(&stack, root);
    while (!rc && stack.count) {
        jl_node *n = stack.items[stack.count - 1];
        if (n->pending_deps == 0) {
            n->pending_deps = 1;
            for (int i = 0; i < n->n_inputs && !rc; i++) {
                jl_tensor *in = n->inputs[i];
                if (in && in->grad_fn && in->grad_fn->pending_deps == 0 && n->needs_grad[i])
                    rc = list_push(&stack, in->grad_fn);
            }
        } else {
            stack.count--;
            if (n->pending_deps == 1) {
                n->pending_deps = 2;
                rc = list_push(order, n);
                if (!rc) jl_node_retain(n); /* kept alive while inputs are freed */
            }
        }
    }
    free(stack.items);
    return rc;
}

static int propagate(jl_node *n)
{
    jl_tensor *grads[JL_NODE_MAX_INPUTS] = {0};
    int64_t token = jl_profile_begin();
    int rc = n->backward(n, n->pending, grads);
    if (rc) {
        char context[96];
        snprintf(context, sizeof context, "backward of %s", n->name);
        jl_error_wrap(context);
    }
    for (int i = 0; i < n->n_inputs && !rc; i++) {
        jl_tensor *in = n->inputs[i];
        if (!grads[i] || !in || !n->needs_grad[i]) continue;
        if (!jl_has_shape(grads[i], in->ndim, in->shape)) {
            rc = JL_FAIL("backward of %s: gradient %s does not match input %d of shape %s", n->name,
                         jl_shape_str(grads[i]), i + 1, jl_shape_str(in));
        } else if (in->grad_fn) {
            rc = accumulate(&in->grad_fn->pending, grads[i], true);
        } else if (in->requires_grad) {
            rc = accumulate(&in->grad, grads[i], false);
        }
    }
    for (int i = 0; i < JL_NODE_MAX_INPUTS; i++) jl_release(grads[i]);
    jl_profile_end(token, n->name, JL_PROFILE_BACKWARD);
    return rc;
}

/* --- the gradient-ready hook ------------------------------------------------ */
static jl_grad_ready_fn ready_fn;
static void *ready_ctx;

void jl_set_grad_ready_hook(jl_grad_ready_fn fn, void *ctx)
{
    ready_fn = fn;
    ready_ctx = ctx;
}

static bool is_leaf_input(const jl_node *n, int i)
{
    const jl_tensor *in = n->inputs[i];
    return in && n->needs_grad[i] && !in->grad_fn && in->requires_grad;
}

/* last[k]: bit i set when node order[k]'s input i is a leaf that no node run
 * after it feeds (order runs from the end to the start, so the first node of
 * order to name a leaf is its last feeder). A set of the leaves seen: open
 * addressing over the pointers. Returns NULL with an error set. */
static uint8_t *last_feeders(const node_list *order)
{
    int64_t cap = 16;
    while (cap < 2 * JL_NODE_MAX_INPUTS * order->count) cap *= 2;
    const jl_tensor **seen = calloc((size_t)cap, sizeof *seen);
    uint8_t *last = calloc((size_t)(order->count ? order->count : 1), 1);
    if (!seen || !last) {
        free(seen);
        free(last);
        JL_FAIL_CODE(JL_ENOMEM, "backward: out of memory for the gradient-ready hook");
        return NULL;
    }
    for (int64_t k = 0; k < order->count; k++) {
        const jl_node *n = order->items[k];
        for (int i = 0; i < n->n_inputs; i++) {
            if (!is_leaf_input(n, i)) continue;
            uint64_t h = ((uintptr_t)n->inputs[i] >> 4) * 0x9E3779B97F4A7C15ull;
            int64_t slot = (int64_t)(h >> 20) & (cap - 1);
            while (seen[slot] && seen[slot] != n->inputs[i]) slot = (slot + 1) & (cap - 1);
            if (!seen[slot]) {
                seen[slot] = n->inputs[i];
                last[k] |= (uint8_t)(1u << i);
            }
        }
    }
    free(seen);
    return last;
}

/* Tells the hook about the leaves whose last feeder, node n, has just run. */
static int leaves_ready(jl_grad_ready_fn fn, void *ctx, jl_node *n, uint8_t mask)
{
    for (int i = 0; i < n->n_inputs && mask; i++) {
        if (!(mask & (1u << i))) continue;
        int rc = fn(n->inputs[i], ctx);
        if (rc) return rc;
    }
    return JL_OK;
}

int jl_backward(jl_tensor *root, jl_tensor *grad)
{
    jl_grad_ready_fn fn = ready_fn;
    void *ctx = ready_ctx;
    ready_fn = NULL;
    ready_ctx = NULL;
    if (!root->requires_grad)
        return JL_FAIL(
            "backward: the tensor does not require grad (no input of its graph had requires_grad)");
    if (!grad && jl_numel(root) != 1)
        return JL_FAIL("backward: a gradient is needed for a non-scalar output of shape %s",
                       jl_shape_str(root));
    if (grad && !jl_has_shape(grad, root->ndim, root->shape))
        return JL_FAIL("backward: gradient of shape %s for an output of shape %s", jl_shape_str(grad),
                       jl_shape_str(root));
    bool was_enabled = jl_set_grad_enabled(false);
    jl_tensor *seed = grad ? jl_retain(grad) : jl_full_like(root, 1.0);
    int rc = seed ? JL_OK : jl_last_error_code();
    if (!rc && !root->grad_fn) {
        rc = accumulate(&root->grad, seed, false);
    } else if (!rc) {
        jl_node *top = root->grad_fn;
        if (top->freed) {
            rc = JL_FAIL("backward: the graph of this tensor was already freed by an earlier backward");
        } else {
            node_list order = {0};
            rc = topo_order(top, &order);
            if (!rc) rc = accumulate(&top->pending, seed, true);
            uint8_t *last = NULL;
            if (!rc && fn && !(last = last_feeders(&order))) rc = jl_last_error_code();
            for (int64_t i = order.count - 1; i >= 0; i--) {
                jl_node *n = order.items[i];
                /* a node freed by an earlier backward has no inputs or saved
                 * tensors left: reached again from a new root (y = x + x;
                 * y:sum():backward() twice), it must fail, not run */
                if (!rc && n->pending && n->freed)
                    rc = JL_FAIL("backward: the graph through %s was already freed by an earlier backward",
                                 n->name);
                else if (!rc && n->pending) rc = propagate(n);
                if (!rc && last && last[i]) rc = leaves_ready(fn, ctx, n, last[i]);
                node_free_tape(n);
                n->pending_deps = 0;
            }
            for (int64_t i = 0; i < order.count; i++) jl_node_release(order.items[i]);
            free(order.items);
            free(last);
        }
    }
    jl_release(seed);
    jl_set_grad_enabled(was_enabled);
    return rc;
}

/* --- broadcasting reverse ----------------------------------------------------- */
jl_tensor *jl_sum_to_shape(jl_tensor *g, int ndim, const int64_t *shape)
{
    jl_tensor *cur = jl_retain(g);
    int lead = g->ndim - ndim;
    if (lead < 0) {
        jl_release(cur);
        JL_FAIL("sum_to_shape: gradient %s has fewer dims than the target", jl_shape_str(g));
        return NULL;
    }
    for (int d = 0; d < lead && cur; d++) {
        jl_tensor *next = jl_sum(cur, 0, false);
        jl_release(cur);
        cur = next;
    }
    for (int d = 0; d < ndim && cur; d++) {
        if (shape[d] == 1 && cur->shape[d] != 1) {
            jl_tensor *next = jl_sum(cur, d, true);
            jl_release(cur);
            cur = next;
        }
    }
    return cur;
}
