/* lua_plan.c — jl.plan: inference plans (core/tensor/jl_plan.h) from Lua. nn.compile
 * (stdlib/jetlab/nn/compile.lua) builds them from modules; this is the raw form.
 *
 *   local p = jl.plan(35, {{"linear", w1, b1}, {"relu"}, {"linear", w2, b2}, {"softmax"}})
 *   local probs = p(x)                 -- x (B, 35) f32 -> (B, 2)
 *   print(p.inputs, p.outputs, #p)     --> 35  2  4
 *
 * Steps: {"linear", weight (out, in), bias (out) | nil}, {"affine", scale, shift},
 * {"relu"}, {"sigmoid"}, {"tanh"}, {"softmax"}. Weights are copied. */
#include <string.h>

#include "jl_plan.h"
#include "lua_args.h"
#include "lua_module.h"

#define PLAN_MT "jetlab.Plan"

typedef struct lplan {
    jl_plan *p; /* owned */
} lplan;

static const char *const activation_names[] = {"relu", "sigmoid", "tanh", "softmax", NULL};
static const jl_plan_activation activation_kinds[] = {JL_PLAN_RELU, JL_PLAN_SIGMOID, JL_PLAN_TANH,
                                                      JL_PLAN_SOFTMAX};

/* The tensor at index i of the step table at the stack top (required unless optional). */
static jl_tensor *step_tensor(lua_State *L, int step, int i, const char *kind, const char *what, bool optional)
{
    lua_geti(L, -1, i);
    jl_tensor *t = jl_lua_test(L, -1);
    bool missing = lua_isnil(L, -1) || (lua_isboolean(L, -1) && !lua_toboolean(L, -1));
    lua_pop(L, 1); /* the step table keeps the tensor alive */
    if (!t && !(optional && missing))
        luaL_argerror(L, 2, lua_pushfstring(L, "step %d (%s): %s must be a tensor", step, kind, what));
    return t;
}

static int add_step(lua_State *L, jl_plan *p, int step)
{
    if (lua_type(L, -1) != LUA_TTABLE)
        return luaL_argerror(L, 2, lua_pushfstring(L, "step %d must be a table like {\"linear\", w, b}", step));
    lua_geti(L, -1, 1);
    const char *kind = lua_tostring(L, -1);
    lua_pop(L, 1);
    if (!kind) return luaL_argerror(L, 2, lua_pushfstring(L, "step %d: its first entry must be the step's name", step));
    if (strcmp(kind, "linear") == 0) {
        jl_tensor *w = step_tensor(L, step, 2, kind, "the weight", false);
        jl_tensor *b = step_tensor(L, step, 3, kind, "the bias", true);
        return jl_plan_add_linear(p, w, b);
    }
    if (strcmp(kind, "affine") == 0) {
        jl_tensor *scale = step_tensor(L, step, 2, kind, "the scale", false);
        jl_tensor *shift = step_tensor(L, step, 3, kind, "the shift", false);
        return jl_plan_add_affine(p, scale, shift);
    }
    for (int i = 0; activation_names[i]; i++)
        if (strcmp(kind, activation_names[i]) == 0) return jl_plan_add_activation(p, activation_kinds[i]);
    return luaL_argerror(L, 2, lua_pushfstring(L, "step %d: unknown step '%s' (linear, affine, relu, sigmoid, "
                                                  "tanh, softmax)", step, kind));
}

/* jl.plan(inputs, steps) → Plan */
static int l_plan(lua_State *L)
{
    lua_Integer inputs = luaL_checkinteger(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    lplan *u = lua_newuserdatauv(L, sizeof *u, 0);
    u->p = NULL;
    luaL_setmetatable(L, PLAN_MT);
    u->p = jl_plan_new((int64_t)inputs);
    if (!u->p) return jl_lua_raise(L);
    lua_Integer n = luaL_len(L, 2);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_geti(L, 2, i);
        if (add_step(L, u->p, (int)i)) {
            jl_error_wrap(lua_pushfstring(L, "jl.plan step %d", (int)i));
            return jl_lua_raise(L);
        }
        lua_pop(L, 1);
    }
    return 1;
}

static jl_plan *check_plan(lua_State *L)
{
    return ((lplan *)jl_lua_check_handle(L, 1, PLAN_MT, "plan"))->p;
}

/* plan(x) → (B, outputs) */
static int l_call(lua_State *L)
{
    jl_plan *p = check_plan(L);
    return jl_lua_push(L, jl_plan_run(p, jl_lua_check(L, 2)));
}

static int l_gc(lua_State *L)
{
    jl_plan_free(jl_lua_take_handle(L, 1, PLAN_MT));
    return 0;
}

static int l_len(lua_State *L)
{
    lua_pushinteger(L, jl_plan_steps(check_plan(L)));
    return 1;
}

static int l_index(lua_State *L)
{
    jl_plan *p = check_plan(L);
    const char *k = luaL_checkstring(L, 2);
    if (strcmp(k, "inputs") == 0) lua_pushinteger(L, jl_plan_inputs(p));
    else if (strcmp(k, "outputs") == 0) lua_pushinteger(L, jl_plan_outputs(p));
    else lua_pushnil(L);
    return 1;
}

static int l_tostring(lua_State *L)
{
    jl_plan *p = check_plan(L);
    lua_pushfstring(L, "Plan(%d steps: %d -> %d)", jl_plan_steps(p), (int)jl_plan_inputs(p), (int)jl_plan_outputs(p));
    return 1;
}

static const luaL_Reg plan_metamethods[] = {
    {"__call", l_call}, {"__gc", l_gc}, {"__close", l_gc}, {"__len", l_len},
    {"__index", l_index}, {"__tostring", l_tostring}, {NULL, NULL},
};

static const luaL_Reg plan_functions[] = {{"plan", l_plan}, {NULL, NULL}};

void jl_lua_open_plan(lua_State *L, int module, int methods)
{
    (void)methods;
    jl_lua_setfuncs(L, module, plan_functions);
    jl_lua_open_graph_plan(L, module);
    luaL_newmetatable(L, PLAN_MT);
    jl_lua_setfuncs(L, lua_gettop(L), plan_metamethods);
    lua_pop(L, 1);
}
