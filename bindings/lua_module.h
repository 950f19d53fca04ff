/* lua_module.h — how the files of bindings/ assemble `jetlab.core` (internal).
 *
 * luaopen_jetlab_core (lua_module.c) creates the module table and the Tensor
 * methods table, then calls each part's open function with their absolute
 * stack indices; a part adds its functions to one or both tables:
 *
 *   void jl_lua_open_math(lua_State *L, int module, int methods) {
 *       jl_lua_setfuncs(L, module, math_functions);   // jl.exp(t)
 *       jl_lua_setfuncs(L, methods, math_functions);  // t:exp()
 *   }
 */
#ifndef JL_LUA_MODULE_H
#define JL_LUA_MODULE_H

#include "jl_lua.h"

/* Copies regs (NULL-terminated) into the table at absolute index idx. */
void jl_lua_setfuncs(lua_State *L, int idx, const luaL_Reg *regs);

/* Handles: userdata whose first field is a pointer to a C object, NULL once
 * closed (jl.io readers and writers, jl.data loaders).
 * jl_lua_new_class registers metatable `name`: methods as __index, gc,
 * close and tostring as __gc, __close and __tostring.
 * jl_lua_check_handle → the userdata at arg (of metatable mt), raising
 * "attempt to use a closed <what>" once closed.
 * jl_lua_take_handle → its pointer (NULL when closed already), leaving NULL
 * behind: what a close function frees, once. */
void jl_lua_new_class(lua_State *L, const char *name, const luaL_Reg *methods, lua_CFunction gc,
                      lua_CFunction close, lua_CFunction tostring);
void *jl_lua_check_handle(lua_State *L, int arg, const char *mt, const char *what);
void *jl_lua_take_handle(lua_State *L, int arg, const char *mt);

/* The Tensor type: metatable, element access, fields, in-place writes (lua_tensor.c). */
void jl_lua_open_tensor(lua_State *L, int module, int methods);
/* __tostring (lua_print.c); exported for the metatable. */
int jl_lua_tostring(lua_State *L);
/* Constructors and random tensors (lua_construct.c). */
void jl_lua_open_construct(lua_State *L, int module, int methods);
/* Elementwise ops, arithmetic metamethods, reductions, matmul (lua_math.c). */
void jl_lua_open_math(lua_State *L, int module, int methods);
/* Views, copies, dtype changes, indexing ops, cat/stack (lua_shape.c). */
void jl_lua_open_shape(lua_State *L, int module, int methods);
/* requires_grad, backward, detach, no_grad (lua_autograd.c). */
void jl_lua_open_autograd(lua_State *L, int module, int methods);
/* jl.physics: event files and jet clustering (lua_physics.c). */
void jl_lua_open_physics(lua_State *L, int module, int methods);
/* jl.gen: the built-in jet generator (lua_gen.c). */
void jl_lua_open_gen(lua_State *L, int module, int methods);
/* jl.cross_entropy (lua_loss.c). */
void jl_lua_open_loss(lua_State *L, int module, int methods);
/* jl.sgd_update_, jl.adam_update_, jl.sum_squares (lua_optim.c). */
void jl_lua_open_optim(lua_State *L, int module, int methods);
/* jl.metrics: ROC curve and AUC (lua_metrics.c). */
void jl_lua_open_metrics(lua_State *L, int module, int methods);
/* jl.h5tensors: named tensors and attributes in HDF5, under checkpoints (lua_h5_tensors.c). */
void jl_lua_open_h5_tensors(lua_State *L, int module, int methods);
/* jl.clock, jl.isatty (lua_system.c). */
void jl_lua_open_system(lua_State *L, int module, int methods);
/* jl.batch_norm: nn functional ops in C (lua_nn.c). */
void jl_lua_open_nn(lua_State *L, int module, int methods);
/* jl.io: jets files in HDF5, ATLAS and PyTables layouts (lua_io.c). */
void jl_lua_open_io(lua_State *L, int module, int methods);
/* jl.lund: Lund-plane declustering into graphs (lua_lund.c). */
void jl_lua_open_lund(lua_State *L, int module, int methods);
/* jl.data: features, degradation, splits, the streaming loader (lua_data.c). */
void jl_lua_open_data(lua_State *L, int module, int methods);
/* jl.model_files: PyTorch and safetensors files of named tensors (lua_model_files.c). */
void jl_lua_open_model_files(lua_State *L, int module, int methods);
/* jl.onnx: ONNX model files from graph descriptions (lua_onnx.c). */
void jl_lua_open_onnx(lua_State *L, int module, int methods);
/* jl.dist: data-parallel collectives over MPI (lua_dist.c). */
void jl_lua_open_dist(lua_State *L, int module, int methods);
/* jl.dist.reducer: overlapped gradient buckets (lua_dist_reducer.c); dist is the jl.dist table's index. */
void jl_lua_open_dist_reducer(lua_State *L, int dist);
/* jl.plan: inference plans for feed-forward networks (lua_plan.c). */
void jl_lua_open_plan(lua_State *L, int module, int methods);
/* jl.graph_plan: LundNet inference plans (lua_graph_plan.c), opened by jl_lua_open_plan. */
void jl_lua_open_graph_plan(lua_State *L, int module);

/* Arithmetic metamethods, installed on the metatable by lua_tensor.c. */
int jl_lua_add(lua_State *L);
int jl_lua_sub(lua_State *L);
int jl_lua_mul(lua_State *L);
int jl_lua_div(lua_State *L);
int jl_lua_pow(lua_State *L);
int jl_lua_unm(lua_State *L);

/* Field access by name for __index/__newindex (lua_autograd.c owns the autograd
 * fields): push the field and return 1, or return 0 when name is not one. */
int jl_lua_get_grad_field(lua_State *L, jl_tensor *t, const char *name);
/* Sets an autograd field from the value at stack index 3; returns 0 when name is not one. */
int jl_lua_set_grad_field(lua_State *L, jl_tensor *t, const char *name);

/* Graph ops on ragged batches: knn, segment ids and reductions (lua_graph.c). */
void jl_lua_open_graph(lua_State *L, int module, int methods);

#endif
