/* onnx_encode.c — a checked jl_onnx_model as ModelProto bytes (onnx.proto,
 * field numbers as in onnx/onnx.proto; proto2, repeated scalars unpacked). */
#include <stdlib.h>

#include "jl_onnx.h"
#include "onnx_internal.h"
#include "pb_writer.h"

/* onnx.proto field numbers. */
enum {
    MODEL_IR_VERSION = 1,
    MODEL_PRODUCER_NAME = 2,
    MODEL_PRODUCER_VERSION = 3,
    MODEL_DOC = 6,
    MODEL_GRAPH = 7,
    MODEL_OPSET_IMPORT = 8,
    MODEL_METADATA_PROPS = 14
};
enum { OPSET_DOMAIN = 1, OPSET_VERSION = 2 };
enum {
    GRAPH_NODE = 1,
    GRAPH_NAME = 2,
    GRAPH_INITIALIZER = 5,
    GRAPH_DOC = 10,
    GRAPH_INPUT = 11,
    GRAPH_OUTPUT = 12
};
enum { NODE_INPUT = 1, NODE_OUTPUT = 2, NODE_NAME = 3, NODE_OP_TYPE = 4, NODE_ATTRIBUTE = 5 };
enum { ATTR_NAME = 1, ATTR_F = 2, ATTR_I = 3, ATTR_S = 4, ATTR_FLOATS = 7, ATTR_INTS = 8, ATTR_TYPE = 20 };
enum {
    ATTR_TYPE_FLOAT = 1,
    ATTR_TYPE_INT = 2,
    ATTR_TYPE_STRING = 3,
    ATTR_TYPE_FLOATS = 6,
    ATTR_TYPE_INTS = 7
};
enum { TENSOR_DIMS = 1, TENSOR_DATA_TYPE = 2, TENSOR_NAME = 8, TENSOR_RAW_DATA = 9 };
enum { VALUE_NAME = 1, VALUE_TYPE = 2, VALUE_DOC = 3 };
enum {
    TYPE_TENSOR = 1,
    TYPE_TENSOR_ELEM = 1,
    TYPE_TENSOR_SHAPE = 2,
    SHAPE_DIM = 1,
    DIM_VALUE = 1,
    DIM_PARAM = 2
};
enum { ENTRY_KEY = 1, ENTRY_VALUE = 2 };

int onnx_elem_type(jl_model_dtype d)
{
    switch (d) {
    case JL_MODEL_F32: return 1;
    case JL_MODEL_U8: return 2;
    case JL_MODEL_I8: return 3;
    case JL_MODEL_I16: return 5;
    case JL_MODEL_I32: return 6;
    case JL_MODEL_I64: return 7;
    case JL_MODEL_BOOL: return 9;
    case JL_MODEL_F16: return 10;
    case JL_MODEL_F64: return 11;
    case JL_MODEL_BF16: return 16;
    default: return 0;
    }
}

static void attribute(pb_buf *b, const jl_onnx_attr *a)
{
    size_t at = pb_begin(b, NODE_ATTRIBUTE);
    pb_string(b, ATTR_NAME, a->name);
    switch (a->type) {
    case JL_ONNX_ATTR_FLOAT:
        pb_float(b, ATTR_F, a->f);
        pb_int(b, ATTR_TYPE, ATTR_TYPE_FLOAT);
        break;
    case JL_ONNX_ATTR_INT:
        pb_int(b, ATTR_I, a->i);
        pb_int(b, ATTR_TYPE, ATTR_TYPE_INT);
        break;
    case JL_ONNX_ATTR_STRING:
        pb_string(b, ATTR_S, a->s);
        pb_int(b, ATTR_TYPE, ATTR_TYPE_STRING);
        break;
    case JL_ONNX_ATTR_FLOATS:
        for (int k = 0; k < a->n; k++) pb_float(b, ATTR_FLOATS, a->floats[k]);
        pb_int(b, ATTR_TYPE, ATTR_TYPE_FLOATS);
        break;
    case JL_ONNX_ATTR_INTS:
        for (int k = 0; k < a->n; k++) pb_int(b, ATTR_INTS, a->ints[k]);
        pb_int(b, ATTR_TYPE, ATTR_TYPE_INTS);
        break;
    }
    pb_end(b, at);
}

static void node(pb_buf *b, const jl_onnx_node *n)
{
    size_t at = pb_begin(b, GRAPH_NODE);
    for (int k = 0; k < n->n_inputs; k++) pb_string(b, NODE_INPUT, n->inputs[k]);
    for (int k = 0; k < n->n_outputs; k++) pb_string(b, NODE_OUTPUT, n->outputs[k]);
    pb_string(b, NODE_NAME, n->name);
    pb_string(b, NODE_OP_TYPE, n->op_type);
    for (int k = 0; k < n->n_attrs; k++) attribute(b, &n->attrs[k]);
    pb_end(b, at);
}

static void initializer(pb_buf *b, const jl_model_tensor *t)
{
    size_t at = pb_begin(b, GRAPH_INITIALIZER);
    for (int k = 0; k < t->ndim; k++) pb_int(b, TENSOR_DIMS, t->shape[k]);
    pb_int(b, TENSOR_DATA_TYPE, onnx_elem_type(t->dtype));
    pb_string(b, TENSOR_NAME, t->name);
    pb_bytes(b, TENSOR_RAW_DATA, t->data, (size_t)onnx_numel(t) * jl_model_dtype_size(t->dtype));
    pb_end(b, at);
}

static void value_info(pb_buf *b, int field, const jl_onnx_value *v)
{
    size_t at = pb_begin(b, field);
    pb_string(b, VALUE_NAME, v->name);
    size_t type = pb_begin(b, VALUE_TYPE);
    size_t tensor = pb_begin(b, TYPE_TENSOR);
    pb_int(b, TYPE_TENSOR_ELEM, onnx_elem_type(v->dtype));
    size_t shape = pb_begin(b, TYPE_TENSOR_SHAPE);
    for (int k = 0; k < v->ndim; k++) {
        size_t dim = pb_begin(b, SHAPE_DIM);
        if (v->dims[k] >= 0) pb_int(b, DIM_VALUE, v->dims[k]);
        else pb_string(b, DIM_PARAM, v->dim_params[k]);
        pb_end(b, dim);
    }
    pb_end(b, shape);
    pb_end(b, tensor);
    pb_end(b, type);
    pb_string(b, VALUE_DOC, v->doc);
    pb_end(b, at);
}

static void graph(pb_buf *b, const jl_onnx_model *m)
{
    size_t at = pb_begin(b, MODEL_GRAPH);
    for (int k = 0; k < m->n_nodes; k++) node(b, &m->nodes[k]);
    pb_string(b, GRAPH_NAME, m->graph_name ? m->graph_name : "jetlab");
    for (int k = 0; k < m->n_initializers; k++) initializer(b, &m->initializers[k]);
    pb_string(b, GRAPH_DOC, m->doc);
    for (int k = 0; k < m->n_inputs; k++) value_info(b, GRAPH_INPUT, &m->inputs[k]);
    for (int k = 0; k < m->n_outputs; k++) value_info(b, GRAPH_OUTPUT, &m->outputs[k]);
    pb_end(b, at);
}

int64_t jl_onnx_ir_version(int64_t opset) { return opset >= 21 ? 10 : opset >= 19 ? 9 : 8; }

int jl_onnx_encode(const jl_onnx_model *m, uint8_t **bytes, size_t *len)
{
    *bytes = NULL;
    *len = 0;
    int rc = jl_onnx_check(m);
    if (rc != JL_OK) return rc;
    pb_buf b = {0};
    pb_int(&b, MODEL_IR_VERSION, jl_onnx_ir_version(m->opset));
    pb_string(&b, MODEL_PRODUCER_NAME, m->producer_name);
    pb_string(&b, MODEL_PRODUCER_VERSION, m->producer_version);
    pb_string(&b, MODEL_DOC, m->doc);
    graph(&b, m);
    size_t opset = pb_begin(&b, MODEL_OPSET_IMPORT);
    pb_string(&b, OPSET_DOMAIN, "");
    pb_int(&b, OPSET_VERSION, m->opset);
    pb_end(&b, opset);
    for (int k = 0; k < m->n_metadata; k++) {
        size_t entry = pb_begin(&b, MODEL_METADATA_PROPS);
        pb_string(&b, ENTRY_KEY, m->metadata[k].key);
        pb_string(&b, ENTRY_VALUE, m->metadata[k].value);
        pb_end(&b, entry);
    }
    if (b.failed) {
        free(b.bytes);
        return JL_FAIL_CODE(JL_ENOMEM, "onnx: out of memory encoding the model");
    }
    *bytes = b.bytes;
    *len = b.len;
    return JL_OK;
}
