/* safetensors_format.h — what the safetensors reader and writer share: the
 * dtype names of the format (https://github.com/huggingface/safetensors) and
 * its limits. */
#ifndef JL_MODEL_FILES_SAFETENSORS_FORMAT_H
#define JL_MODEL_FILES_SAFETENSORS_FORMAT_H

#include "model_files_internal.h"

/* The format's own cap on the JSON header. */
#define SAFETENSORS_MAX_HEADER (100u << 20)
#define SAFETENSORS_METADATA_KEY "__metadata__"

/* "F32", "BF16", "BOOL", ... */
const char *safetensors_dtype_name(jl_model_dtype dtype);
/* The dtype called `name`; false for one jetlab does not read (F8_E4M3, U16, ...). */
bool safetensors_dtype_of(const char *name, jl_model_dtype *dtype);

#endif
