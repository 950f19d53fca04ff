/* pickle_machine.h — a restricted pickle machine (protocols 2-5) for
 * torch.save state_dicts. It builds a tree of plain values; the only objects
 * it can make are those of torch_pickle_objects.c (OrderedDict, storages
 * named by persistent ids, tensors rebuilt over them). No code runs: an
 * opcode outside the set below or a GLOBAL outside the whitelist is an error
 * naming it and its offset.
 *
 * Opcodes: PROTO FRAME STOP MARK EMPTY_DICT EMPTY_LIST EMPTY_TUPLE TUPLE
 * TUPLE1-3 BININT BININT1 BININT2 LONG1 BINFLOAT BINUNICODE SHORT_BINUNICODE
 * BINUNICODE8 BINSTRING SHORT_BINSTRING BINBYTES SHORT_BINBYTES BINBYTES8 NONE
 * NEWTRUE NEWFALSE BINPUT LONG_BINPUT MEMOIZE BINGET LONG_BINGET SETITEM
 * SETITEMS APPEND APPENDS GLOBAL STACK_GLOBAL REDUCE NEWOBJ BUILD BINPERSID.
 *
 * Values live in the machine's arena until pk_machine_free; every count is
 * bounded by the bytes of the pickle (each opcode makes at most one value). */
#ifndef JL_MODEL_FILES_PICKLE_MACHINE_H
#define JL_MODEL_FILES_PICKLE_MACHINE_H

#include "model_files_internal.h"

typedef enum {
    PK_NONE,
    PK_BOOL,
    PK_INT,
    PK_BIGINT,    /* an integer beyond int64: its little-endian two's complement bytes */
    PK_FLOAT,
    PK_STR,
    PK_BYTES,
    PK_TUPLE,
    PK_LIST,
    PK_DICT,      /* dict or OrderedDict: items are key, value, key, value, ... in insertion order */
    PK_GLOBAL,    /* a whitelisted callable or storage type */
    PK_STORAGE,   /* what a persistent id names */
    PK_TENSOR,
} pk_kind;

typedef enum {
    PK_GLOBAL_ORDERED_DICT,
    PK_GLOBAL_REBUILD_TENSOR_V2,
    PK_GLOBAL_REBUILD_TENSOR,
    PK_GLOBAL_REBUILD_PARAMETER,
    PK_GLOBAL_STORAGE_TYPE,
} pk_global_kind;

typedef struct pk_value pk_value;

typedef struct {
    pk_value **items;
    size_t n, cap;
} pk_seq;

typedef struct {
    const char *key;        /* zip: entry <top>/data/<key>; legacy: the record's key */
    jl_model_dtype dtype;
    int64_t numel;          /* elements of the whole storage, as its persistent id declares */
    int64_t view_offset;    /* legacy storage views: elements [view_offset, view_offset + view_numel) */
    int64_t view_numel;     /* of the whole storage; == numel when not a view */
} pk_storage;

typedef struct {
    const pk_storage *storage;
    int64_t offset;         /* in elements, from the start of the storage (view) */
    int ndim;
    int64_t shape[JL_MODEL_MAX_DIMS];
    int64_t stride[JL_MODEL_MAX_DIMS];  /* in elements, all >= 0 */
} pk_tensor;

struct pk_value {
    pk_kind kind;
    union {
        bool boolean;
        int64_t integer;
        double real;
        struct {
            const char *bytes;  /* NUL-terminated copy */
            size_t len;
        } str;                  /* PK_STR, PK_BYTES, PK_BIGINT */
        pk_seq seq;             /* PK_TUPLE, PK_LIST, PK_DICT */
        struct {
            pk_global_kind which;
            jl_model_dtype dtype;   /* PK_GLOBAL_STORAGE_TYPE */
            const char *name;       /* "module.name" */
        } global;
        pk_storage storage;
        pk_tensor tensor;
    } as;
};

typedef struct {
    const char *file;           /* display name of the file */
    const char *stream;         /* "" or "archive/data.pkl: ", put before offsets in messages */
    const uint8_t *data;        /* the bytes offsets count from */
    size_t size;
    mf_arena arena;
    pk_value **storages;        /* every storage a persistent id named, in order */
    size_t n_storages, cap_storages;
} pk_machine;

void pk_machine_init(pk_machine *m, const char *file, const char *stream, const uint8_t *data, size_t size);
/* Runs the pickle at data[start..): *result is the value STOP returns and
 * *end the offset after STOP. */
int pk_machine_run(pk_machine *m, size_t start, size_t *end, pk_value **result);
void pk_machine_free(pk_machine *m);

/* "a dict", "a tensor", ... for messages. */
const char *pk_kind_name(pk_kind kind);
pk_value *pk_new(pk_machine *m, pk_kind kind);
/* Appends v to a tuple, list or dict's items. */
int pk_seq_push(pk_machine *m, pk_seq *s, pk_value *v);

/* --- the torch objects (torch_pickle_objects.c) ---------------------------- */
/* The whitelisted global module.name, or an error naming it. */
int pk_torch_global(pk_machine *m, const char *module, const char *name, size_t at, pk_value **out);
/* callable(*args) for REDUCE and NEWOBJ. */
int pk_torch_call(pk_machine *m, pk_value *callable, pk_value *args, size_t at, pk_value **out);
/* BUILD: obj.__setstate__(state); only an OrderedDict's _metadata is accepted (and ignored). */
int pk_torch_build(pk_machine *m, pk_value *obj, pk_value *state, size_t at);
/* BINPERSID: the storage a ('storage', type, key, location, numel[, view]) tuple names. */
int pk_torch_persistent_load(pk_machine *m, pk_value *pid, size_t at, pk_value **out);

#endif
