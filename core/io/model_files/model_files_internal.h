/* model_files_internal.h — what the files of core/io/model_files share:
 * little-endian loads, overflow-checked sizes, a bump arena for parse trees,
 * the growing result of a read, and the entry points of each format. Not
 * part of the public API (jl_model_files.h). */
#ifndef JL_MODEL_FILES_INTERNAL_H
#define JL_MODEL_FILES_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jl_model_files.h"

/* Every message of a read starts with the file's display name. */
#define MF_FAIL(name, ...) mf_fail(JL_EIO, __FILE__, __LINE__, (name), __VA_ARGS__)
#define MF_NOMEM(name) mf_fail(JL_ENOMEM, __FILE__, __LINE__, (name), "out of memory")
int mf_fail(int code, const char *src, int line, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static inline uint16_t mf_le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t mf_le32(const uint8_t *p) { return (uint32_t)mf_le16(p) | (uint32_t)mf_le16(p + 2) << 16; }
static inline uint64_t mf_le64(const uint8_t *p) { return (uint64_t)mf_le32(p) | (uint64_t)mf_le32(p + 4) << 32; }

/* a * b and a + b, false on overflow of int64 (all operands >= 0). */
static inline bool mf_mul(int64_t a, int64_t b, int64_t *r) { return !__builtin_mul_overflow(a, b, r); }
static inline bool mf_add(int64_t a, int64_t b, int64_t *r) { return !__builtin_add_overflow(a, b, r); }

/* The product of shape[0..ndim) into *numel; false when it overflows int64. */
bool mf_numel(int ndim, const int64_t *shape, int64_t *numel);
/* "(256, 384)" into buf (a 0-d shape is "()"). */
const char *mf_shape_str(int ndim, const int64_t *shape, char *buf, size_t cap);

/* --- arena: many small allocations freed at once (parse trees) ------------- */
typedef struct mf_arena_block mf_arena_block;
typedef struct {
    mf_arena_block *head;
} mf_arena;

/* n zeroed bytes (8-aligned) living until mf_arena_free; NULL when out of memory. */
void *mf_arena_alloc(mf_arena *a, size_t n);
/* A NUL-terminated copy of s[0..len). */
char *mf_arena_strndup(mf_arena *a, const char *s, size_t len);
void mf_arena_free(mf_arena *a);

/* --- the result of a read, grown tensor by tensor ---------------------------- */
typedef struct {
    const char *name;       /* display name of the file, for messages */
    jl_model_file *file;    /* owned until mf_result_take */
    int cap_tensors, cap_metadata;
    int64_t bytes_left;     /* budget for tensor data (a multiple of the file's size) */
} mf_result;

int mf_result_init(mf_result *r, const char *display_name, jl_model_format format, size_t file_size);
/* A new tensor named name[0..name_len) with a zeroed data buffer of numel
 * elements; *out points into r->file (valid until the next add). */
int mf_result_add_tensor(mf_result *r, const char *name, size_t name_len, jl_model_dtype dtype, int ndim,
                         const int64_t *shape, jl_model_tensor **out);
int mf_result_add_metadata(mf_result *r, const char *key, size_t key_len, const char *value, size_t value_len);
/* Refuses two tensors of one name (the file's entries in a sorted copy). */
int mf_result_check_unique_names(mf_result *r);
/* Hands the file to the caller. */
jl_model_file *mf_result_take(mf_result *r);
void mf_result_discard(mf_result *r);

/* --- UTF-8 ------------------------------------------------------------------- */
/* True when s[0..len) is valid UTF-8 (no overlongs, surrogates or code points above U+10FFFF). */
bool mf_utf8_valid(const char *s, size_t len);

/* --- the formats ------------------------------------------------------------- */
int mf_read_torch_zip(const uint8_t *data, size_t size, mf_result *r);
int mf_read_torch_legacy(const uint8_t *data, size_t size, mf_result *r);
int mf_read_safetensors(const uint8_t *data, size_t size, mf_result *r);

#endif
