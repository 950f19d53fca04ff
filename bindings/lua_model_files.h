/* lua_model_files.h — Lua tables as the plain structs of jl_model_files.h, for
 * the bindings that write model files (lua_model_files.c: safetensors;
 * lua_onnx.c: ONNX). Internal to bindings/.
 *
 * Ownership: the arrays and the tensors' dense host copies live in values these
 * functions push on the Lua stack (scratch userdata, a table of copies); names,
 * keys and values point into the caller's tables. Keep both on the stack until
 * the write is done. Malformed entries raise Lua errors that start with `what`. */
#ifndef JL_LUA_MODEL_FILES_H
#define JL_LUA_MODEL_FILES_H

#include "jl_lua.h"
#include "jl_model_files.h"

/* The list {{name, tensor}...} at idx as *n tensors (f32, i64, i32, u8):
 * contiguous host copies; pushes two values (the array, the copies). */
jl_model_tensor *jl_lua_model_tensors(lua_State *L, int idx, const char *what, int *n);

/* The {string = string} table at idx as *n entries sorted by key; pushes one value. */
jl_model_metadata *jl_lua_model_metadata(lua_State *L, int idx, const char *what, int *n);

/* After a failed write or read: nil, message for a file fault (JL_EIO), a Lua
 * error for anything else (a bad argument, no memory); returns what to return. */
int jl_lua_io_failure(lua_State *L);

#endif
