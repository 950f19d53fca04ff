/* onnx_check.c — jl_onnx_check: a described graph is well formed before it is
 * encoded (jl_onnx.h lists the rules). Names are compared linearly: graphs
 * here have hundreds of values, not millions. */
#include <string.h>

#include "onnx_internal.h"

int64_t onnx_numel(const jl_model_tensor *t)
{
    int64_t n = 1;
    for (int k = 0; k < t->ndim; k++) {
        if (t->shape[k] < 0 || (t->shape[k] > 0 && n > INT64_MAX / t->shape[k])) return -1;
        n *= t->shape[k];
    }
    return n;
}

/* The defined value names so far: graph inputs, initializers, node outputs. */
typedef struct {
    const jl_onnx_model *m;
    int inputs, initializers, nodes; /* how many of each are defined */
} scope;

static int defined(const scope *s, const char *name)
{
    for (int k = 0; k < s->inputs; k++)
        if (!strcmp(s->m->inputs[k].name, name)) return 1;
    for (int k = 0; k < s->initializers; k++)
        if (!strcmp(s->m->initializers[k].name, name)) return 1;
    for (int k = 0; k < s->nodes; k++)
        for (int o = 0; o < s->m->nodes[k].n_outputs; o++)
            if (!strcmp(s->m->nodes[k].outputs[o], name)) return 1;
    return 0;
}

static int bad_name(const char *name) { return !name || !*name; }

static int check_value(const jl_onnx_value *v, const char *what, int k)
{
    if (bad_name(v->name)) return JL_FAIL("onnx: graph %s %d has no name", what, k + 1);
    if (!onnx_elem_type(v->dtype)) return JL_FAIL("onnx: graph %s '%s' has an unknown dtype", what, v->name);
    if (v->ndim < 0 || v->ndim > JL_MODEL_MAX_DIMS)
        return JL_FAIL("onnx: graph %s '%s' has %d dims (0..%d)", what, v->name, v->ndim, JL_MODEL_MAX_DIMS);
    for (int d = 0; d < v->ndim; d++)
        if (v->dims[d] < 0 && bad_name(v->dim_params[d]))
            return JL_FAIL("onnx: graph %s '%s': dim %d is neither a size nor a named (symbolic) dim", what,
                           v->name, d + 1);
    return JL_OK;
}

static int check_initializer(const jl_model_tensor *t, int k)
{
    if (bad_name(t->name)) return JL_FAIL("onnx: initializer %d has no name", k + 1);
    if (!onnx_elem_type(t->dtype)) return JL_FAIL("onnx: initializer '%s' has an unknown dtype", t->name);
    if (t->ndim < 0 || t->ndim > JL_MODEL_MAX_DIMS)
        return JL_FAIL("onnx: initializer '%s' has %d dims (0..%d)", t->name, t->ndim, JL_MODEL_MAX_DIMS);
    int64_t n = onnx_numel(t);
    if (n < 0) return JL_FAIL("onnx: initializer '%s' has a negative or overflowing shape", t->name);
    if (n > 0 && !t->data) return JL_FAIL("onnx: initializer '%s' has no data", t->name);
    return JL_OK;
}

static int check_node(const scope *s, const jl_onnx_node *n, int k)
{
    if (bad_name(n->op_type)) return JL_FAIL("onnx: node %d has no op_type", k + 1);
    if (n->n_inputs < 0 || n->n_outputs < 1 || n->n_attrs < 0)
        return JL_FAIL("onnx: node %d (%s) needs at least one output", k + 1, n->op_type);
    for (int i = 0; i < n->n_inputs; i++) {
        const char *in = n->inputs[i];
        if (!in) return JL_FAIL("onnx: node %d (%s): input %d is NULL", k + 1, n->op_type, i + 1);
        if (*in && !defined(s, in))
            return JL_FAIL("onnx: node %d (%s): input '%s' is not defined before it", k + 1, n->op_type, in);
    }
    for (int o = 0; o < n->n_outputs; o++) {
        const char *out = n->outputs[o];
        if (bad_name(out))
            return JL_FAIL("onnx: node %d (%s): output %d has no name", k + 1, n->op_type, o + 1);
        if (defined(s, out))
            return JL_FAIL("onnx: node %d (%s): '%s' is defined twice", k + 1, n->op_type, out);
        for (int p = 0; p < o; p++)
            if (!strcmp(n->outputs[p], out))
                return JL_FAIL("onnx: node %d (%s): '%s' is defined twice", k + 1, n->op_type, out);
    }
    for (int a = 0; a < n->n_attrs; a++) {
        const jl_onnx_attr *at = &n->attrs[a];
        if (bad_name(at->name))
            return JL_FAIL("onnx: node %d (%s): attribute %d has no name", k + 1, n->op_type, a + 1);
        if (at->type < JL_ONNX_ATTR_FLOAT || at->type > JL_ONNX_ATTR_INTS)
            return JL_FAIL("onnx: node %d (%s): attribute '%s' has an unknown type", k + 1, n->op_type,
                           at->name);
        if (at->type == JL_ONNX_ATTR_STRING && !at->s)
            return JL_FAIL("onnx: node %d (%s): attribute '%s' has no string", k + 1, n->op_type, at->name);
        if ((at->type == JL_ONNX_ATTR_FLOATS && at->n > 0 && !at->floats) ||
            (at->type == JL_ONNX_ATTR_INTS && at->n > 0 && !at->ints) || at->n < 0)
            return JL_FAIL("onnx: node %d (%s): attribute '%s' has no values", k + 1, n->op_type, at->name);
    }
    return JL_OK;
}

int jl_onnx_check(const jl_onnx_model *m)
{
    if (!m) return JL_FAIL("onnx: no model");
    if (m->opset < JL_ONNX_OPSET_MIN || m->opset > JL_ONNX_OPSET_MAX)
        return JL_FAIL("onnx: opset %lld is not written (%d to %d)", (long long)m->opset, JL_ONNX_OPSET_MIN,
                       JL_ONNX_OPSET_MAX);
    if (m->n_nodes < 1 || m->n_inputs < 1 || m->n_outputs < 1 || m->n_initializers < 0 || m->n_metadata < 0)
        return JL_FAIL("onnx: a model needs nodes, inputs and outputs");
    scope s = {.m = m};
    for (int k = 0; k < m->n_inputs; k++, s.inputs++) {
        int rc = check_value(&m->inputs[k], "input", k);
        if (rc != JL_OK) return rc;
        if (defined(&s, m->inputs[k].name))
            return JL_FAIL("onnx: graph input '%s' is defined twice", m->inputs[k].name);
    }
    for (int k = 0; k < m->n_initializers; k++, s.initializers++) {
        int rc = check_initializer(&m->initializers[k], k);
        if (rc != JL_OK) return rc;
        if (defined(&s, m->initializers[k].name))
            return JL_FAIL("onnx: initializer '%s' is defined twice", m->initializers[k].name);
    }
    for (int k = 0; k < m->n_nodes; k++, s.nodes++) {
        int rc = check_node(&s, &m->nodes[k], k);
        if (rc != JL_OK) return rc;
    }
    for (int k = 0; k < m->n_outputs; k++) {
        int rc = check_value(&m->outputs[k], "output", k);
        if (rc != JL_OK) return rc;
        if (!defined(&s, m->outputs[k].name))
            return JL_FAIL("onnx: graph output '%s' is not computed by any node", m->outputs[k].name);
    }
    for (int k = 0; k < m->n_metadata; k++)
        if (bad_name(m->metadata[k].key) || !m->metadata[k].value)
            return JL_FAIL("onnx: metadata entry %d needs a key and a value", k + 1);
    return JL_OK;
}
