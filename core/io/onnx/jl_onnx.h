/* jl_onnx.h — ONNX model files written in plain C: a graph described by the
 * caller (nodes, initializers, inputs, outputs, metadata_props) serialised as
 * onnx.proto's ModelProto, with the protobuf encoded by hand (no protobuf
 * library, no Python). The caller (stdlib/jetlab/onnx) decides what the graph
 * computes; this layer checks that it is well formed and writes it.
 *
 *   const char *in[] = {"x", "w", "b"}, *out[] = {"logits"};
 *   jl_onnx_attr trans_b = {.name = "transB", .type = JL_ONNX_ATTR_INT, .i = 1};
 *   jl_onnx_node gemm = {.op_type = "Gemm", .inputs = in, .n_inputs = 3,
 *                        .outputs = out, .n_outputs = 1, .attrs = &trans_b, .n_attrs = 1};
 *   jl_onnx_value x = {.name = "x", .dtype = JL_MODEL_F32, .ndim = 2, .dims = {-1, 35},
 *                      .dim_params = {"batch"}};
 *   jl_onnx_model m = {.opset = 17, .nodes = &gemm, .n_nodes = 1, .initializers = wb,
 *                      .n_initializers = 2, .inputs = &x, .n_inputs = 1, ...};
 *   if (jl_onnx_write("fcnn.onnx", &m) != JL_OK) puts(jl_last_error());
 *
 * Checked before anything is written (JL_EARG, the message names the node or
 * value): an opset in JL_ONNX_OPSET_MIN..JL_ONNX_OPSET_MAX, non-empty unique
 * value names (every node output, initializer and graph input defined once),
 * every node input defined before it is used ("" = an omitted optional input),
 * every graph output defined, attribute types known, dims >= 0 or symbolic.
 *
 * Ownership: the model description and everything it points to stay the
 * caller's; nothing is kept after a call returns. jl_onnx_encode's *bytes is
 * malloc'd and the caller's to free.
 */
#ifndef JL_ONNX_H
#define JL_ONNX_H

#include <stddef.h>
#include <stdint.h>

#include "jl_error.h"
#include "jl_model_files.h"

/* Opsets written: 16 (ScatterElements/ScatterND reduction = add) to 21. */
#define JL_ONNX_OPSET_MIN 16
#define JL_ONNX_OPSET_MAX 21

typedef enum {
    JL_ONNX_ATTR_FLOAT,
    JL_ONNX_ATTR_INT,
    JL_ONNX_ATTR_STRING,
    JL_ONNX_ATTR_FLOATS,
    JL_ONNX_ATTR_INTS
} jl_onnx_attr_type;

/* One node attribute: the field of its type is read (n for the lists). */
typedef struct {
    const char *name;
    jl_onnx_attr_type type;
    float f;
    int64_t i;
    const char *s;
    const float *floats; /* (n) */
    const int64_t *ints; /* (n) */
    int n;
} jl_onnx_attr;

/* One node of the default ("ai.onnx") domain. */
typedef struct {
    const char *op_type; /* "Gemm", "Relu", ... */
    const char *name;    /* optional (NULL) */
    const char *const *inputs;
    int n_inputs;
    const char *const *outputs;
    int n_outputs;
    const jl_onnx_attr *attrs;
    int n_attrs;
} jl_onnx_node;

/* A graph input or output: a tensor of dtype (f32, f64, i64, i32, u8, bool)
 * and ndim dims; dims[k] < 0 is the symbolic dim dim_params[k] ("batch"). */
typedef struct {
    const char *name;
    jl_model_dtype dtype;
    int ndim;
    int64_t dims[JL_MODEL_MAX_DIMS];
    const char *dim_params[JL_MODEL_MAX_DIMS];
    const char *doc; /* optional */
} jl_onnx_value;

typedef struct {
    int64_t opset;
    const char *producer_name, *producer_version, *graph_name, *doc; /* optional */
    const jl_onnx_node *nodes;
    int n_nodes;
    const jl_model_tensor *initializers; /* name, dtype, ndim, shape, data (contiguous, little-endian) */
    int n_initializers;
    const jl_onnx_value *inputs;
    int n_inputs;
    const jl_onnx_value *outputs;
    int n_outputs;
    const jl_model_metadata *metadata; /* the model's metadata_props */
    int n_metadata;
} jl_onnx_model;

/* The IR version ONNX pairs with an opset (8 for 16..18, 9 for 19..20, 10 for 21). */
int64_t jl_onnx_ir_version(int64_t opset);

/* Checks m (the rules above); JL_OK or JL_EARG with the fault named. */
int jl_onnx_check(const jl_onnx_model *m);

/* The ModelProto bytes of m (checked first) into *bytes (malloc'd), *len. */
int jl_onnx_encode(const jl_onnx_model *m, uint8_t **bytes, size_t *len);

/* Writes m to path atomically: a temporary file beside it, fsynced and renamed
 * over path once complete; on any error nothing is left and path is untouched.
 * Errors name path (JL_EIO: cannot create or write; JL_EARG: a bad model). */
int jl_onnx_write(const char *path, const jl_onnx_model *m);

#endif
