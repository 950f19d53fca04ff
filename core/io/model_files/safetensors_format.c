/* safetensors_format.c — see safetensors_format.h. */
#include <string.h>

#include "safetensors_format.h"

static const char *const names[JL_MODEL_DTYPE_COUNT] = {
    [JL_MODEL_F32] = "F32", [JL_MODEL_F64] = "F64", [JL_MODEL_F16] = "F16", [JL_MODEL_BF16] = "BF16",
    [JL_MODEL_I64] = "I64", [JL_MODEL_I32] = "I32", [JL_MODEL_I16] = "I16", [JL_MODEL_I8] = "I8",
    [JL_MODEL_U8] = "U8",   [JL_MODEL_BOOL] = "BOOL",
};

const char *safetensors_dtype_name(jl_model_dtype dtype)
{
    return (unsigned)dtype < JL_MODEL_DTYPE_COUNT ? names[dtype] : NULL;
}

bool safetensors_dtype_of(const char *name, jl_model_dtype *dtype)
{
    for (int d = 0; d < JL_MODEL_DTYPE_COUNT; d++)
        if (strcmp(names[d], name) == 0) {
            *dtype = (jl_model_dtype)d;
            return true;
        }
    return false;
}
