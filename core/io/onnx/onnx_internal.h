/* onnx_internal.h — helpers shared by the files of core/io/onnx (internal). */
#ifndef JL_ONNX_INTERNAL_H
#define JL_ONNX_INTERNAL_H

#include "jl_onnx.h"

/* onnx.proto's TensorProto.DataType of d (FLOAT = 1, INT64 = 7, ...); 0 for none. */
int onnx_elem_type(jl_model_dtype d);
/* The product of t's shape (1 for a 0-d tensor); -1 when a dim is negative or it overflows. */
int64_t onnx_numel(const jl_model_tensor *t);

#endif
