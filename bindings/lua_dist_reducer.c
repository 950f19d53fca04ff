/* lua_dist_reducer.c — jl.dist.reducer: data-parallel gradient averaging that
 * overlaps backward (dist/jl_dist.h's reducer, fed by autograd's
 * gradient-ready hook). Owner: jetlab.dist_train (train.fit under MPI).
 *
 *   local r = jl.dist.reducer(params, {bucket_mb = 4})  -- params: f32 CPU leaves
 *   r:arm(scale)        -- the next backward hands each gradient over when it is whole
 *   loss:backward()     -- buckets start their MPI_Iallreduce during backward
 *   local buckets, early = r:finish()   -- the rest; every p.grad = Σ_ranks scale * p.grad
 *
 * Parameters are bucketed in the order given (pass the last layers first:
 * their gradients are ready first). A parameter that backward does not reach
 * gets a zero gradient (every rank reduces the same list). finish returns the
 * number of buckets and how many of them started before backward ended.
 * The reducer keeps its parameters alive until it is collected.
 */
#include <stdlib.h>

#include "jl_autograd.h"
#include "jl_dist.h"
#include "lua_module.h"

#define REDUCER_MT "jetlab.dist.Reducer"

typedef struct {
    jl_dist_reducer *r;
    int n;
    jl_tensor **params; /* retained */
    const float **in;
    float **out;
} lreducer;

static int on_grad_ready(jl_tensor *leaf, void *ctx);

/* The reducer whose hook is armed (the hook is global: one backward at a time). */
static lreducer *armed;

static void arm(lreducer *lr)
{
    armed = lr;
    jl_set_grad_ready_hook(lr ? on_grad_ready : NULL, lr);
}

static void lreducer_free(lreducer *lr)
{
    if (!lr) return;
    if (armed == lr) arm(NULL);
    for (int i = 0; i < lr->n; i++) jl_release(lr->params[i]);
    jl_dist_reducer_free(lr->r);
    free(lr->params);
    free(lr->in);
    free(lr->out);
    free(lr);
}

/* A gradient that can be reduced in place: f32, contiguous, on the CPU. */
static int check_grad(const jl_tensor *p, const jl_tensor *g, int i)
{
    if (g->dtype != JL_F32 || jl_device_of(g) != JL_CPU || !jl_is_contiguous(g))
        return JL_FAIL("jl.dist.reducer: the gradient %s of parameter %d %s must be a contiguous f32 CPU tensor",
                       jl_shape_str(g), i + 1, jl_shape_str(p));
    return JL_OK;
}

/* autograd's gradient-ready hook: leaf's gradient is whole. */
static int on_grad_ready(jl_tensor *leaf, void *ctx)
{
    lreducer *lr = ctx;
    for (int i = 0; i < lr->n; i++) {
        if (lr->params[i] != leaf) continue;
        if (leaf->grad && check_grad(leaf, leaf->grad, i)) return jl_last_error_code();
        if (jl_dist_reducer_ready(lr->r, i, leaf->grad ? jl_data(leaf->grad) : NULL))
            return JL_FAIL("%s", jl_dist_error());
        return JL_OK;
    }
    return JL_OK;
}

/* jl.dist.reducer(params[, {bucket_mb = 4}]) → a gradient reducer over the
 * f32 CPU tensors params, bucketed in their order */
static int l_reducer(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    double bucket_mb = 4;
    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        if (lua_getfield(L, 2, "bucket_mb") != LUA_TNIL) bucket_mb = luaL_checknumber(L, -1);
        lua_pop(L, 1);
        if (!(bucket_mb > 0)) return luaL_error(L, "jl.dist.reducer: bucket_mb must be positive, got %f", bucket_mb);
    }
    int n = (int)luaL_len(L, 1);
    lreducer **ud = lua_newuserdatauv(L, sizeof *ud, 0);
    *ud = NULL;
    luaL_setmetatable(L, REDUCER_MT);
    lreducer *lr = calloc(1, sizeof *lr);
    size_t m = (size_t)(n > 0 ? n : 1);
    if (lr) {
        lr->params = calloc(m, sizeof *lr->params);
        lr->in = calloc(m, sizeof *lr->in);
        lr->out = calloc(m, sizeof *lr->out);
    }
    *ud = lr;
    if (!lr || !lr->params || !lr->in || !lr->out) return luaL_error(L, "jl.dist.reducer: out of memory");
    int64_t *counts = lua_newuserdatauv(L, m * sizeof *counts, 0);
    for (int i = 0; i < n; i++) {
        lua_geti(L, 1, i + 1);
        jl_tensor *p = jl_lua_test(L, -1);
        if (!p) return luaL_error(L, "jl.dist.reducer: params[%d] is a %s, not a tensor", i + 1, luaL_typename(L, -1));
        if (p->dtype != JL_F32 || jl_device_of(p) != JL_CPU)
            return luaL_error(L, "jl.dist.reducer: params[%d] %s must be an f32 CPU tensor", i + 1, jl_shape_str(p));
        lr->params[lr->n++] = jl_retain(p);
        counts[i] = jl_numel(p);
        lua_pop(L, 1);
    }
    int64_t bucket_elems = (int64_t)(bucket_mb * 1024 * 1024 / sizeof(float));
    lr->r = jl_dist_reducer_new(counts, n, bucket_elems > 0 ? bucket_elems : 1);
    if (!lr->r) return luaL_error(L, "%s", jl_dist_error());
    lua_pop(L, 1);
    return 1;
}

static lreducer *check_reducer(lua_State *L)
{
    return *(lreducer **)jl_lua_check_handle(L, 1, REDUCER_MT, "gradient reducer");
}

/* r:arm(scale) → nothing: the next backward hands each gradient, times scale,
 * to the reducer as soon as it is whole */
static int reducer_arm(lua_State *L)
{
    lreducer *lr = check_reducer(L);
    double scale = luaL_checknumber(L, 2);
    jl_dist_reducer_begin(lr->r, (float)scale);
    arm(lr);
    return 0;
}

/* r:finish() → buckets, started early: every parameter's gradient becomes the
 * sum over ranks of scale times its own (zeros where backward gave none) */
static int reducer_finish(lua_State *L)
{
    lreducer *lr = check_reducer(L);
    if (armed == lr) arm(NULL);
    for (int i = 0; i < lr->n; i++) {
        jl_tensor *p = lr->params[i];
        if (!p->grad && !(p->grad = jl_zeros_like(p))) return jl_lua_raise(L);
        if (check_grad(p, p->grad, i)) return jl_lua_raise(L);
        lr->in[i] = jl_data(p->grad);
        lr->out[i] = jl_data(p->grad);
        p->grad->storage->version++;
    }
    if (jl_dist_reducer_finish(lr->r, lr->in, lr->out)) return luaL_error(L, "%s", jl_dist_error());
    lua_pushinteger(L, jl_dist_reducer_buckets(lr->r));
    lua_pushinteger(L, jl_dist_reducer_started_early(lr->r));
    return 2;
}

static int reducer_gc(lua_State *L)
{
    lreducer_free(jl_lua_take_handle(L, 1, REDUCER_MT));
    return 0;
}

static int reducer_tostring(lua_State *L)
{
    lreducer **ud = luaL_checkudata(L, 1, REDUCER_MT);
    if (!*ud) lua_pushliteral(L, "jl.dist.Reducer (closed)");
    else lua_pushfstring(L, "jl.dist.Reducer(%d parameters, %d buckets)", (*ud)->n, jl_dist_reducer_buckets((*ud)->r));
    return 1;
}

static const luaL_Reg reducer_methods[] = {{"arm", reducer_arm}, {"finish", reducer_finish}, {NULL, NULL}};

void jl_lua_open_dist_reducer(lua_State *L, int dist)
{
    jl_lua_new_class(L, REDUCER_MT, reducer_methods, reducer_gc, reducer_gc, reducer_tostring);
    lua_pushcfunction(L, l_reducer);
    lua_setfield(L, dist, "reducer");
}
