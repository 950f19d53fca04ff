/* lua_dist.c — jl.dist: data-parallel collectives over dist/jl_dist.h (MPI when
 * built with it and started by mpirun; one process otherwise). Owner: jl.dist;
 * train.fit (stdlib/jetlab/train.lua through stdlib/jetlab/dist_train.lua) is
 * its main user.
 *
 *   print(jl.dist.rank(), jl.dist.size())       -- 0, 1 without mpirun
 *   jl.dist.allreduce(t, "mean")                -- in place: the mean over ranks
 *   jl.dist.broadcast(t, 0)                     -- in place: rank 0's values
 *   local s = jl.dist.broadcast_integers({jl.rng_state()})   -- rank 0's integers
 *   jl.dist.allreduce_many({g1, g2}, {scale = 0.5, bucket_mb = 4})
 *   local s = jl.dist.all_sum(stats)             -- differentiable, out of place
 *   local r = jl.dist.reducer(params)            -- overlapped buckets (lua_dist_reducer.c)
 *   jl.dist.barrier()
 *
 * Tensors are contiguous CPU tensors (f32; allreduce also i32 and i64,
 * broadcast any dtype), written in place; GPU tensors (f32; broadcast any
 * dtype) go through NCCL when the build has it (jl.dist.nccl(); one GPU per
 * rank), and fail without it. On the CPU every function is a no-op in a
 * single process. A collective that fails raises an error naming the
 * operation and this rank.
 */
#include <string.h>

#include "jl_autograd.h"
#include "jl_dist.h"
#include "lua_module.h"

/* The tensor at arg as a dist array: contiguous (on the CPU: MPI; on the GPU: NCCL). */
static jl_tensor *check_array(lua_State *L, int arg, const char *fn)
{
    jl_tensor *t = jl_lua_check(L, arg);
    if (!jl_is_contiguous(t)) luaL_error(L, "jl.dist.%s: the tensor %s is not contiguous", fn, jl_shape_str(t));
    return t;
}

static bool on_gpu(const jl_tensor *t)
{
    return jl_device_of(t) != JL_CPU;
}

static jl_dist_type dist_type(jl_dtype dtype)
{
    switch (dtype) {
    case JL_F32: return JL_DIST_F32;
    case JL_I32: return JL_DIST_I32;
    case JL_I64: return JL_DIST_I64;
    default: return JL_DIST_U8;
    }
}

static int check_status(lua_State *L, int status)
{
    if (status != 0) return luaL_error(L, "%s", jl_dist_error());
    return 0;
}

/* jl.dist.rank() → this process's rank, 0-based (0 without MPI) */
static int l_rank(lua_State *L)
{
    lua_pushinteger(L, jl_dist_rank());
    return 1;
}

/* jl.dist.size() → the number of ranks (1 without MPI) */
static int l_size(lua_State *L)
{
    lua_pushinteger(L, jl_dist_size());
    return 1;
}

/* jl.dist.compiled() → true when this build has MPI */
static int l_compiled(lua_State *L)
{
    lua_pushboolean(L, jl_dist_compiled());
    return 1;
}

/* jl.dist.allreduce(t[, op]) → t, in place: op "sum" (default) or "mean" (f32) over ranks */
static int l_allreduce(lua_State *L)
{
    jl_tensor *t = check_array(L, 1, "allreduce");
    static const char *const ops[] = {"sum", "mean", NULL};
    int mean = luaL_checkoption(L, 2, "sum", ops);
    if (t->dtype == JL_U8) return luaL_error(L, "jl.dist.allreduce: u8 tensors cannot be summed (use i32)");
    if (mean && t->dtype != JL_F32) return luaL_error(L, "jl.dist.allreduce: 'mean' needs an f32 tensor");
    int64_t n = jl_numel(t);
    if (on_gpu(t)) {
        if (t->dtype != JL_F32) return luaL_error(L, "jl.dist.allreduce: GPU tensors must be f32 (NCCL), got %s", jl_shape_str(t));
        float *p = jl_data(t);
        check_status(L, jl_dist_nccl_allreduce_f32(&p, &n, 1, mean ? 1.0f / (float)jl_dist_size() : 1.0f));
    } else if (mean) {
        float *p = jl_data(t);
        check_status(L, jl_dist_allreduce_f32_arrays(&p, &n, 1, 1.0f / (float)jl_dist_size(), n));
    } else {
        check_status(L, jl_dist_allreduce_sum(jl_data(t), n, dist_type(t->dtype)));
    }
    t->storage->version++;
    lua_settop(L, 1);
    return 1;
}

/* jl.dist.allreduce_many(tensors[, {scale = 1, bucket_mb = 4}]) → nothing: each
 * f32 tensor becomes the sum over ranks of scale * itself, reduced in buckets
 * of bucket_mb MiB whose reductions overlap the packing of the next */
static int l_allreduce_many(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    double scale = 1, bucket_mb = 4;
    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        if (lua_getfield(L, 2, "scale") != LUA_TNIL) scale = luaL_checknumber(L, -1);
        if (lua_getfield(L, 2, "bucket_mb") != LUA_TNIL) bucket_mb = luaL_checknumber(L, -1);
        lua_pop(L, 2);
        if (!(bucket_mb > 0)) return luaL_error(L, "jl.dist.allreduce_many: bucket_mb must be positive");
    }
    int n = (int)luaL_len(L, 1);
    float **arrays = lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof *arrays, 0);
    int64_t *counts = lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof *counts, 0);
    bool gpu = false;
    for (int i = 0; i < n; i++) {
        lua_geti(L, 1, i + 1);
        jl_tensor *t = check_array(L, -1, "allreduce_many");
        if (t->dtype != JL_F32) return luaL_error(L, "jl.dist.allreduce_many: tensor %d is not f32", i + 1);
        if (i == 0) gpu = on_gpu(t);
        if (on_gpu(t) != gpu)
            return luaL_error(L, "jl.dist.allreduce_many: tensor %d %s is on the %s, tensor 1 on the %s", i + 1,
                              jl_shape_str(t), gpu ? "CPU" : "GPU", gpu ? "GPU" : "CPU");
        arrays[i] = jl_data(t);
        counts[i] = jl_numel(t);
        t->storage->version++;
        lua_pop(L, 1);
    }
    if (gpu) return check_status(L, jl_dist_nccl_allreduce_f32(arrays, counts, n, (float)scale));
    int64_t bucket_elems = (int64_t)(bucket_mb * 1024 * 1024 / sizeof(float));
    check_status(L, jl_dist_allreduce_f32_arrays(arrays, counts, n, (float)scale, bucket_elems > 0 ? bucket_elems : 1));
    return 0;
}

/* A copy of t (f32), contiguous, summed over ranks; NULL with the core or dist error set. */
static jl_tensor *summed_copy(jl_tensor *t)
{
    bool was = jl_set_grad_enabled(false);
    jl_tensor *c = jl_clone(t);
    jl_set_grad_enabled(was);
    if (!c) return NULL;
    float *p = jl_data(c);
    int64_t n = jl_numel(c);
    int status = on_gpu(c) ? jl_dist_nccl_allreduce_f32(&p, &n, 1, 1.0f) : jl_dist_allreduce_sum(p, n, JL_DIST_F32);
    if (status != 0) {
        jl_release(c);
        JL_FAIL("%s", jl_dist_error());
        return NULL;
    }
    return c;
}

/* The gradient of a sum over ranks: the sum over ranks of the gradient (every
 * rank's loss depends on every rank's input through the sum). */
static int all_sum_backward(jl_node *node, jl_tensor *grad_out, jl_tensor **grad_inputs)
{
    (void)node;
    grad_inputs[0] = summed_copy(grad_out);
    return grad_inputs[0] ? JL_OK : jl_last_error_code();
}

/* jl.dist.all_sum(t) → a new tensor: t (f32; CPU: MPI, GPU: NCCL) summed over ranks, differentiable
 * (its gradient is summed over ranks in backward: every rank must run backward
 * through it, as through synchronised BatchNorm's statistics); a copy of t in one process */
static int l_all_sum(lua_State *L)
{
    jl_tensor *t = jl_lua_check(L, 1);
    if (t->dtype != JL_F32) return luaL_error(L, "jl.dist.all_sum: the tensor %s must be f32", jl_shape_str(t));
    jl_tensor *out = summed_copy(t);
    if (!out) return jl_lua_raise(L);
    if (jl_needs_graph(1, &t)) {
        jl_node *node = jl_node_new("dist.all_sum", all_sum_backward, 1, &t);
        if (!node) {
            jl_release(out);
            return jl_lua_raise(L);
        }
        jl_attach(out, node);
    }
    return jl_lua_push(L, out);
}

/* jl.dist.broadcast(t[, root = 0]) → t, in place: root's values on every rank */
static int l_broadcast(lua_State *L)
{
    jl_tensor *t = check_array(L, 1, "broadcast");
    int root = (int)luaL_optinteger(L, 2, 0);
    /* any dtype travels as bytes */
    int64_t bytes = jl_numel(t) * (int64_t)jl_dtype_size(t->dtype);
    check_status(L, on_gpu(t) ? jl_dist_nccl_broadcast(jl_data(t), bytes, root)
                              : jl_dist_broadcast(jl_data(t), bytes, JL_DIST_U8, root));
    t->storage->version++;
    lua_settop(L, 1);
    return 1;
}

/* jl.dist.broadcast_integers(list[, root = 0]) → root's list of Lua integers
 * (as many as the list given here; e.g. the generator's {jl.rng_state()}) */
static int l_broadcast_integers(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    int root = (int)luaL_optinteger(L, 2, 0);
    int n = (int)luaL_len(L, 1);
    int64_t *values = lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof *values, 0);
    for (int i = 0; i < n; i++) {
        lua_geti(L, 1, i + 1);
        if (!lua_isinteger(L, -1)) return luaL_error(L, "jl.dist.broadcast_integers: entry %d is not an integer", i + 1);
        values[i] = (int64_t)lua_tointeger(L, -1);
        lua_pop(L, 1);
    }
    check_status(L, jl_dist_broadcast(values, n, JL_DIST_I64, root));
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_pushinteger(L, (lua_Integer)values[i]);
        lua_seti(L, -2, i + 1);
    }
    return 1;
}

/* jl.dist.barrier() → nothing: returns when every rank has called it */
static int l_barrier(lua_State *L)
{
    check_status(L, jl_dist_barrier());
    return 0;
}

/* jl.dist.nccl() → true when this build has the NCCL path (collectives on GPU tensors) */
static int l_nccl(lua_State *L)
{
    lua_pushboolean(L, jl_dist_nccl_compiled());
    return 1;
}

/* jl.dist.exit_together(status) → nothing: every rank is about to exit with
 * status together (an interruption all ranks agreed on), so exiting with it
 * finalizes MPI instead of aborting the job */
static int l_exit_together(lua_State *L)
{
    jl_dist_exit_together((int)luaL_checkinteger(L, 1));
    return 0;
}

static const luaL_Reg dist_functions[] = {
    {"exit_together", l_exit_together},
    {"nccl", l_nccl},
    {"rank", l_rank},
    {"size", l_size},
    {"compiled", l_compiled},
    {"allreduce", l_allreduce},
    {"allreduce_many", l_allreduce_many},
    {"all_sum", l_all_sum},
    {"broadcast", l_broadcast},
    {"broadcast_integers", l_broadcast_integers},
    {"barrier", l_barrier},
    {NULL, NULL},
};

void jl_lua_open_dist(lua_State *L, int module, int methods)
{
    (void)methods;
    lua_newtable(L);
    jl_lua_setfuncs(L, lua_gettop(L), dist_functions);
    jl_lua_open_dist_reducer(L, lua_gettop(L));
    lua_setfield(L, module, "dist");
}
