/* jl_model_files.h — tensors of model files made outside jetlab, read and
 * written in plain C (no Python at run time):
 *   - PyTorch `torch.save` files of a state_dict, both the zip format
 *     (torch >= 1.6: <top>/data.pkl + <top>/data/<key>, entries stored) and
 *     the legacy format (a run of pickles, then the raw storages);
 *   - `.safetensors` files (read and written).
 *
 *   jl_model_file *mf = NULL;
 *   if (jl_model_file_read("Top_QCD_500GeV_LundNet5.pt", &mf) != JL_OK) {
 *       puts(jl_last_error());   // "Top_QCD_...pt: ..." names the file and the fault
 *       return;
 *   }
 *   for (int i = 0; i < mf->n_tensors; i++) {
 *       const jl_model_tensor *t = &mf->tensors[i];   // e.g. "bn_fts.weight" f32 (5)
 *   }
 *   jl_model_file_free(mf);
 *
 * Pickles are read by a restricted machine: it knows only the opcodes and the
 * globals a state_dict uses (collections.OrderedDict,
 * torch._utils._rebuild_tensor_v2 / _rebuild_tensor / _rebuild_parameter,
 * torch.<Type>Storage) and never runs code; anything else is an error that
 * names the global (module.name) or the opcode (byte and offset).
 *
 * Ownership: a jl_model_file owns everything it points to (the tensor array,
 * every name, every data buffer, the metadata strings); jl_model_file_free
 * releases it all. Readers copy what they keep: the caller's buffer may go as
 * soon as a read returns. On failure *out is left NULL and nothing is kept.
 *
 * Errors follow jl_error.h: JL_OK, or JL_EIO (the file is unreadable or
 * malformed), JL_ENOMEM (an allocation failed), JL_EARG (a bad argument to the
 * writer); the message starts with the file's display name. Hostile input
 * cannot make a reader crash or allocate without bound: every count and size
 * is checked against the bytes of the file before it is used.
 */
#ifndef JL_MODEL_FILES_H
#define JL_MODEL_FILES_H

#include <stddef.h>
#include <stdint.h>

#include "jl_error.h"

#define JL_MODEL_MAX_DIMS 8

typedef enum {
    JL_MODEL_F32,
    JL_MODEL_F64,
    JL_MODEL_F16,
    JL_MODEL_BF16,
    JL_MODEL_I64,
    JL_MODEL_I32,
    JL_MODEL_I16,
    JL_MODEL_I8,
    JL_MODEL_U8,
    JL_MODEL_BOOL,
    JL_MODEL_DTYPE_COUNT
} jl_model_dtype;

typedef enum {
    JL_MODEL_FORMAT_UNKNOWN,
    JL_MODEL_FORMAT_TORCH_ZIP,
    JL_MODEL_FORMAT_TORCH_LEGACY,
    JL_MODEL_FORMAT_SAFETENSORS
} jl_model_format;

/* One named tensor. data: numel elements of dtype, contiguous, row-major,
 * little-endian; NULL when numel == 0. A 0-d tensor (ndim 0) has numel 1. */
typedef struct {
    char *name;                        /* NUL-terminated */
    jl_model_dtype dtype;
    int ndim;                          /* 0 .. JL_MODEL_MAX_DIMS */
    int64_t shape[JL_MODEL_MAX_DIMS];  /* (shape[0], ..., shape[ndim-1]) */
    int64_t numel;                     /* product of the shape */
    void *data;                        /* numel * jl_model_dtype_size(dtype) bytes */
} jl_model_tensor;

/* A string pair of the safetensors "__metadata__" object. */
typedef struct {
    char *key;
    char *value;
} jl_model_metadata;

typedef struct {
    jl_model_format format;
    int n_tensors;
    jl_model_tensor *tensors;          /* in the file's order (pickle insertion order, safetensors header order) */
    int n_metadata;
    jl_model_metadata *metadata;       /* safetensors only; n_metadata == 0 otherwise */
} jl_model_file;

/* Bytes per element: 4 for f32, 2 for bf16, 1 for bool, ...; 0 for an invalid value. */
size_t jl_model_dtype_size(jl_model_dtype dtype);
/* "f32", "f64", "f16", "bf16", "i64", "i32", "i16", "i8", "u8", "bool"; "?" for an invalid value. */
const char *jl_model_dtype_name(jl_model_dtype dtype);

/* The format the first bytes show (zip "PK\3\4", legacy pickle "\x80?\x8a\x0a",
 * safetensors: '{' after the 8-byte length); JL_MODEL_FORMAT_UNKNOWN otherwise. */
jl_model_format jl_model_file_sniff(const void *data, size_t size);

/* Reads a model file of any of the formats above (chosen by its first bytes). */
int jl_model_file_read(const char *path, jl_model_file **out);
/* The same from memory; `display_name` stands for the file in messages. */
int jl_model_file_read_buffer(const void *data, size_t size, const char *display_name, jl_model_file **out);

/* Writes tensors[0..n_tensors) in that order, with optional string metadata
 * (NULL, 0 for none), as a .safetensors file. Read from each tensor: name,
 * dtype, ndim, shape, data (numel is recomputed from the shape). Names must be
 * unique, non-empty UTF-8 and not "__metadata__". Atomic: the bytes go to a
 * temporary file next to `path`, renamed over it only once complete; on any
 * error nothing is left behind and an existing file at `path` is untouched. */
int jl_model_file_write_safetensors(const char *path, const jl_model_tensor *tensors, int n_tensors,
                                    const jl_model_metadata *metadata, int n_metadata);

/* Releases f and everything it owns; NULL is fine. */
void jl_model_file_free(jl_model_file *f);

#endif
