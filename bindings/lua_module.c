/* lua_module.c — luaopen_jetlab_core: assembles the module from its parts
 * and adds the process-wide functions (stats, threads, RNG, version).
 *
 *   local core = require "jetlab.core"
 *   core.manual_seed(1); core.set_num_threads(4)
 *   print(core.stats().tensors)
 */
#include "jl_parallel.h"
#include "jl_precision.h"
#include "jl_profile.h"
#include "lua_args.h"
#include "lua_module.h"

#include <pthread.h>

void jl_lua_setfuncs(lua_State *L, int idx, const luaL_Reg *regs)
{
    for (; regs->name; regs++) {
        lua_pushcfunction(L, regs->func);
        lua_setfield(L, idx, regs->name);
    }
}

void jl_lua_new_class(lua_State *L, const char *name, const luaL_Reg *methods, lua_CFunction gc,
                      lua_CFunction close, lua_CFunction tostring)
{
    luaL_newmetatable(L, name);
    int mt = lua_gettop(L);
    lua_newtable(L);
    jl_lua_setfuncs(L, lua_gettop(L), methods);
    lua_setfield(L, mt, "__index");
    lua_pushcfunction(L, gc);
    lua_setfield(L, mt, "__gc");
    lua_pushcfunction(L, close);
    lua_setfield(L, mt, "__close");
    lua_pushcfunction(L, tostring);
    lua_setfield(L, mt, "__tostring");
    lua_pop(L, 1);
}

void *jl_lua_check_handle(lua_State *L, int arg, const char *mt, const char *what)
{
    void **u = luaL_checkudata(L, arg, mt);
    if (!*u) luaL_argerror(L, arg, lua_pushfstring(L, "attempt to use a closed %s", what));
    return u;
}

void *jl_lua_take_handle(lua_State *L, int arg, const char *mt)
{
    void **u = luaL_checkudata(L, arg, mt);
    void *p = *u;
    *u = NULL;
    return p;
}

/* jl.stats() → {tensors=, storages=, bytes=, peak_bytes=, nodes=, cuda_bytes=, cuda_peak_bytes=,
 *               gemm_flops=} */
static int l_stats(lua_State *L)
{
    jl_stats s = jl_stats_get();
    lua_createtable(L, 0, 8);
    const struct {
        const char *name;
        int64_t value;
    } fields[] = {
        {"tensors", s.tensors},
        {"storages", s.storages},
        {"bytes", s.bytes[JL_CPU]},
        {"peak_bytes", s.peak_bytes[JL_CPU]},
        {"nodes", s.nodes},
        {"cuda_bytes", s.bytes[JL_CUDA]},
        {"cuda_peak_bytes", s.peak_bytes[JL_CUDA]},
        {"gemm_flops", s.gemm_flops},
    };
    for (size_t k = 0; k < sizeof fields / sizeof fields[0]; k++) {
        lua_pushinteger(L, (lua_Integer)fields[k].value);
        lua_setfield(L, -2, fields[k].name);
    }
    return 1;
}

/* core.profile_start(): clears the op profiler's counters and turns it on. */
static int l_profile_start(lua_State *L)
{
    (void)L;
    jl_profile_start();
    return 0;
}

/* core.profile_stop() → {{name=, kind="op"|"backward", calls=, seconds=}, ...},
 * {{m=, n=, k=, ta=, tb=, calls=, flops=, seconds=}, ...}, bucket_from: turns the
 * profiler off and returns its op entries and its matrix products by shape, in
 * first-seen order, and the size from which a product's dims are power-of-two
 * buckets (jetlab.profile formats them). */
static int l_profile_stop(lua_State *L)
{
    jl_profile_stop();
    jl_profile_entry entries[JL_PROFILE_MAX_ENTRIES];
    int n = jl_profile_entries(entries, JL_PROFILE_MAX_ENTRIES);
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_createtable(L, 0, 4);
        lua_pushstring(L, entries[i].name);
        lua_setfield(L, -2, "name");
        lua_pushstring(L, entries[i].kind == JL_PROFILE_BACKWARD ? "backward" : "op");
        lua_setfield(L, -2, "kind");
        jl_lua_set_integer(L, "calls", entries[i].calls);
        jl_lua_set_number(L, "seconds", entries[i].seconds);
        lua_rawseti(L, -2, i + 1);
    }
    jl_profile_gemm gemms[JL_PROFILE_MAX_GEMMS];
    int ng = jl_profile_gemms(gemms, JL_PROFILE_MAX_GEMMS);
    lua_createtable(L, ng, 0);
    for (int i = 0; i < ng; i++) {
        lua_createtable(L, 0, 8);
        jl_lua_set_integer(L, "m", gemms[i].m);
        jl_lua_set_integer(L, "n", gemms[i].n);
        jl_lua_set_integer(L, "k", gemms[i].k);
        jl_lua_set_boolean(L, "ta", gemms[i].ta);
        jl_lua_set_boolean(L, "tb", gemms[i].tb);
        jl_lua_set_integer(L, "calls", gemms[i].calls);
        jl_lua_set_number(L, "flops", gemms[i].flops);
        jl_lua_set_number(L, "seconds", gemms[i].seconds);
        lua_rawseti(L, -2, i + 1);
    }
    lua_pushinteger(L, JL_PROFILE_BUCKET_FROM);
    return 3;
}

/* jl.set_num_threads(n), jl.get_num_threads() */
static int l_set_num_threads(lua_State *L)
{
    int n = jl_lua_check_int(L, 1);
    luaL_argcheck(L, n >= 1 && n <= 4096, 1, "thread count must be in 1..4096");
    jl_set_num_threads(n);
    return 0;
}

static int l_get_num_threads(lua_State *L)
{
    lua_pushinteger(L, jl_get_num_threads());
    return 1;
}

/* jl.set_matmul_precision("f32" | "bf16") → the previous one; jl.get_matmul_precision();
 * jl.bf16_matmul_available(). bf16: the CPU GEMMs round their operands to bfloat16 and
 * sum in f32 (jl_precision.h); an error on a CPU without AVX512-BF16. */
static int l_set_matmul_precision(lua_State *L)
{
    static const char *const names[] = {"f32", "bf16", NULL};
    jl_precision p = (jl_precision)luaL_checkoption(L, 1, NULL, names);
    jl_precision previous = jl_get_matmul_precision();
    if (jl_set_matmul_precision(p) != JL_OK) return jl_lua_raise(L);
    lua_pushstring(L, jl_precision_name(previous));
    return 1;
}

static int l_get_matmul_precision(lua_State *L)
{
    lua_pushstring(L, jl_precision_name(jl_get_matmul_precision()));
    return 1;
}

static int l_bf16_matmul_available(lua_State *L)
{
    lua_pushboolean(L, jl_bf16_matmul_available());
    return 1;
}

/* jl.manual_seed(n): the same seed gives the same random tensors. */
static int l_manual_seed(lua_State *L)
{
    jl_manual_seed((uint64_t)luaL_checkinteger(L, 1));
    return 0;
}

/* jl.rng_state() → seed, counter; jl.set_rng_state(seed, counter) */
static int l_rng_state(lua_State *L)
{
    uint64_t seed, counter;
    jl_rng_state(&seed, &counter);
    lua_pushinteger(L, (lua_Integer)seed);
    lua_pushinteger(L, (lua_Integer)counter);
    return 2;
}

static int l_set_rng_state(lua_State *L)
{
    jl_rng_set_state((uint64_t)luaL_checkinteger(L, 1), (uint64_t)luaL_checkinteger(L, 2));
    return 0;
}

/* jl.cuda_available() → boolean */
static int l_cuda_available(lua_State *L)
{
    const jl_backend *b = jl_backend_for(JL_CUDA);
    lua_pushboolean(L, b && b->available && b->available());
    jl_error_clear();
    return 1;
}

static const luaL_Reg module_functions[] = {
    {"stats", l_stats},
    {"profile_start", l_profile_start},
    {"profile_stop", l_profile_stop},
    {"set_num_threads", l_set_num_threads},
    {"get_num_threads", l_get_num_threads},
    {"set_matmul_precision", l_set_matmul_precision},
    {"get_matmul_precision", l_get_matmul_precision},
    {"bf16_matmul_available", l_bf16_matmul_available},
    {"manual_seed", l_manual_seed},
    {"rng_state", l_rng_state},
    {"set_rng_state", l_set_rng_state},
    {"cuda_available", l_cuda_available},
    {NULL, NULL},
};

/* DESIGN rule 1: when a device allocation fails, run a full Lua GC (tensors
 * that are garbage but not yet collected hold memory) and let core retry once.
 * Only on the thread that opened the module: the Lua state is not thread-safe. */
static lua_State *gc_state;
static pthread_t gc_thread;

static void collect_on_alloc_failure(void *ctx)
{
    (void)ctx;
    if (gc_state && pthread_equal(pthread_self(), gc_thread)) lua_gc(gc_state, LUA_GCCOLLECT);
}

int luaopen_jetlab_core(lua_State *L)
{
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
    gc_state = lua_tothread(L, -1);
    lua_pop(L, 1);
    gc_thread = pthread_self();
    jl_set_alloc_failure_hook(collect_on_alloc_failure, NULL);

    lua_newtable(L);
    int module = lua_gettop(L);
    lua_newtable(L);
    int methods = lua_gettop(L);

    jl_lua_open_tensor(L, module, methods);
    jl_lua_open_construct(L, module, methods);
    jl_lua_open_math(L, module, methods);
    jl_lua_open_shape(L, module, methods);
    jl_lua_open_autograd(L, module, methods);
    jl_lua_open_physics(L, module, methods);
    jl_lua_open_gen(L, module, methods);
    jl_lua_open_graph(L, module, methods);
    jl_lua_open_loss(L, module, methods);
    jl_lua_open_optim(L, module, methods);
    jl_lua_open_metrics(L, module, methods);
    jl_lua_open_h5_tensors(L, module, methods);
    jl_lua_open_system(L, module, methods);
    jl_lua_open_nn(L, module, methods);
    jl_lua_open_io(L, module, methods);
    jl_lua_open_lund(L, module, methods);
    jl_lua_open_data(L, module, methods);
    jl_lua_open_plan(L, module, methods);
    jl_lua_open_model_files(L, module, methods);
    jl_lua_open_onnx(L, module, methods);
    jl_lua_open_dist(L, module, methods);
    jl_lua_setfuncs(L, module, module_functions);

    /* jl.Tensor: the methods table, so Lua code can add methods to every tensor */
    lua_setfield(L, module, "Tensor");
    lua_pushliteral(L, JETLAB_VERSION);
    lua_setfield(L, module, "version");
    return 1;
}
