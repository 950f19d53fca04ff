/* lua_args.h — argument parsing shared by the files of bindings/ (internal).
 *
 * Every Lua-facing function reads its arguments through these helpers, so the
 * conventions live in one place: shapes come as integers or one table,
 * dimensions and positions are 1-based (negative counts from the end), options
 * are a table given last, and a bad argument raises the same message Lua's own
 * library would ("bad argument #1 to 'zeros' (number expected, got string)").
 *
 *   int64_t shape[JL_MAX_DIMS];
 *   int next, ndim = jl_lua_check_shape(L, 1, shape, 0, &next);
 *   jl_lua_opts o = jl_lua_check_opts(L, next);
 *   return jl_lua_push_opts(L, jl_zeros(o.dtype, ndim, shape, o.device), &o);
 *
 * All helpers that raise do so before the caller owns any core temporary:
 * parse every argument first, then call core.
 */
#ifndef JL_LUA_ARGS_H
#define JL_LUA_ARGS_H

#include <stdbool.h>
#include <stdint.h>

#include "jl_lua.h"

/* --- shapes -------------------------------------------------------------- */
enum {
    JL_LUA_SHAPE_INFER = 1, /* one entry may be -1 (view, reshape) */
    JL_LUA_SHAPE_KEEP = 2,  /* entries may be -1 (expand: keep that size) */
};
/* Reads a shape at argument `first`: one table {3, 4} or integers 3, 4 up to
 * the first non-number (no argument at all is the 0-d shape; anything else is
 * "number expected"). Checks sizes (>= 0 unless flags allow -1), rank <= 6
 * and that the element count fits; returns ndim and sets *next to the first
 * argument after the shape (may be NULL). */
int jl_lua_check_shape(lua_State *L, int first, int64_t shape[JL_MAX_DIMS], int flags, int *next);
/* Fails unless numel(shape) * elem_size fits in int64 (arg names the argument). */
void jl_lua_check_numel(lua_State *L, int arg, int ndim, const int64_t *shape, size_t elem_size);
/* Pushes {shape[0], ..., shape[ndim-1]} as a fresh Lua table. */
void jl_lua_push_shape(lua_State *L, int ndim, const int64_t *shape);

/* --- dims and positions -------------------------------------------------- */
/* Lua dim (1..ndim or -ndim..-1) at arg → 0-based, or an argument error.
 * `ndim` is the number of valid positions (t->ndim, or t->ndim + 1 for
 * unsqueeze/stack). */
int jl_lua_check_dim(lua_State *L, int arg, int ndim);
/* Same, returning `def` when the argument is absent or nil. */
int jl_lua_opt_dim(lua_State *L, int arg, int ndim, int def);
/* 1-based position i (negative counts from the end) in a dim of `size` → 0-based;
 * raises "index 5 out of range for dim 1 of size 4" (dim0 is 0-based). */
int64_t jl_lua_check_position(lua_State *L, lua_Integer i, int dim0, int64_t size);
/* An integer argument that fits in int (counts, dims, thread numbers). */
int jl_lua_check_int(lua_State *L, int arg);
/* Optional boolean argument (nil/absent → def; anything else than a boolean is an error). */
bool jl_lua_opt_bool(lua_State *L, int arg, bool def);

/* --- dtypes, devices, options ------------------------------------------- */
/* Parses "f32", "i32", "i64", "u8" and the aliases "bool", "float", "int",
 * "long", "float32", "int32", "int64", "uint8"; false when unknown. */
bool jl_lua_parse_dtype(const char *name, jl_dtype *out);
/* Parses "cpu", "cuda", "cuda:0"; false when unknown. */
bool jl_lua_parse_device(const char *name, jl_device *out);
jl_dtype jl_lua_check_dtype(lua_State *L, int arg);

typedef struct jl_lua_opts {
    jl_dtype dtype;
    jl_device device;
    bool requires_grad;
    bool has_dtype;  /* dtype given explicitly */
    bool has_device; /* device given explicitly */
} jl_lua_opts;
/* Options table {dtype=, requires_grad=, device=} at arg (absent or nil gives
 * f32 on the cpu). Unknown keys are an error, so typos do not pass silently. */
jl_lua_opts jl_lua_check_opts(lua_State *L, int arg);
/* Pushes t (steals; NULL raises the core error) after bringing it to the
 * options' dtype and device and setting requires_grad. Returns 1. */
int jl_lua_push_opts(lua_State *L, jl_tensor *t, const jl_lua_opts *o);
/* Sets requires_grad on a leaf; fails (returns false, message in core's error
 * buffer) on non-f32 tensors. */
bool jl_lua_set_requires_grad(jl_tensor *t, bool on);

/* --- operands ------------------------------------------------------------- */
/* The tensor at arg, or a number/boolean there made into a 0-d tensor of
 * `like`'s dtype and device (then *tmp owns it, +1; otherwise *tmp = NULL).
 * Raises "tensor or number expected" before creating anything. */
jl_tensor *jl_lua_check_operand(lua_State *L, int arg, const jl_tensor *like, jl_tensor **tmp);
/* An index tensor holding 1-based positions into a dim of `size` (dim0 is the
 * 0-based dim, for the message): checks the dtype (i64/i32) and every value's
 * range, reporting the user's 1-based value, and returns a 0-based copy (+1). */
jl_tensor *jl_lua_check_index_tensor(lua_State *L, int arg, int dim0, int64_t size);
/* A 1-D i64 tensor of 1-based rows of a table of n rows (a graph's nbr, src, dst, an
 * edge list's targets): checks every value, naming what ("edge_gather: nbr") and
 * the first bad entry 1-based, and returns a 0-based copy (+1). */
jl_tensor *jl_lua_check_rows(lua_State *L, int arg, const char *what, int64_t n);

/* --- numbers out ---------------------------------------------------------- */
/* Pushes v as a Lua integer for integer dtypes, a float for f32. */
void jl_lua_push_value(lua_State *L, jl_dtype dtype, double v);

/* GC-managed scratch memory: pushes a userdata of `bytes` and returns it, so
 * a Lua error raised while it is in use leaks nothing. */
void *jl_lua_scratch(lua_State *L, size_t bytes);

/* Runs `call` with grad mode off and restores it (for reads that must not
 * record a graph, e.g. t[i]). */
#define JL_LUA_NO_GRAD(call)                              \
    do {                                                  \
        bool jl_lua_prev_ = jl_set_grad_enabled(false);   \
        call;                                             \
        jl_set_grad_enabled(jl_lua_prev_);                \
    } while (0)

/* --- result tables -------------------------------------------------------- */
/* Sets field key of the table on top of the stack to v. */
void jl_lua_set_number(lua_State *L, const char *key, double v);
void jl_lua_set_integer(lua_State *L, const char *key, int64_t v);
void jl_lua_set_boolean(lua_State *L, const char *key, bool v);

#endif
