/* lua_onnx.c — jl.onnx: an ONNX graph described as a Lua table, written by
 * core/io/onnx (jl_onnx.h); stdlib/jetlab/onnx builds the descriptions.
 *
 *   assert(jl.onnx.write("fcnn.onnx", {
 *     opset = 17, producer = "jetlab", graph = "fcnn", doc = "...",
 *     inputs = {{name = "features", dtype = "f32", shape = {"batch", 35}, doc = "..."}},
 *     outputs = {{name = "probabilities", dtype = "f32", shape = {"batch", 2}}},
 *     nodes = {{op = "Gemm", inputs = {"features", "w", "b"}, outputs = {"z"}, attrs = {transB = 1}},
 *              {op = "Softmax", inputs = {"z"}, outputs = {"probabilities"}, attrs = {axis = -1}}},
 *     initializers = {{"w", w}, {"b", b}},            -- f32, i64, i32, u8 tensors
 *     metadata = {features = "pt,eta,..."},            -- metadata_props (sorted by key)
 *   }))
 *
 * Shapes: integers are sizes, strings symbolic dims. Attributes: a Lua integer
 * is INT, a float FLOAT, a string STRING, a list of integers INTS, any other
 * list of numbers FLOATS; they are written in name order, so the same table
 * gives the same bytes. Returns true, or nil, message when the file cannot be
 * written (it names the path; nothing is left behind). A malformed description
 * or a graph jl_onnx_check refuses (an undefined input, a name used twice) is
 * a Lua error naming the node or value.
 */
#include <stdlib.h>
#include <string.h>

#include "jl_onnx.h"
#include "lua_args.h"
#include "lua_model_files.h"
#include "lua_module.h"

/* Stack slot of the table that keeps the scratch arrays of a write alive. */
#define ANCHOR 3

/* Moves every value above base into the anchor table, so the stack stays short. */
static void keep(lua_State *L, int base)
{
    while (lua_gettop(L) > base) lua_seti(L, ANCHOR, luaL_len(L, ANCHOR) + 1);
}

/* The array of the table field `key` of the table at idx, pushed; its length. */
static int field_list(lua_State *L, int idx, const char *key, const char *where)
{
    if (lua_getfield(L, idx, key) != LUA_TTABLE)
        luaL_error(L, "onnx.write: %s: '%s' must be a list", where, key);
    lua_Integer n = luaL_len(L, -1);
    if (n > INT32_MAX) luaL_error(L, "onnx.write: %s: '%s' is too long", where, key);
    return (int)n;
}

/* The optional string field `key` of the table at idx (anchored by that table), or NULL. */
static const char *opt_string(lua_State *L, int idx, const char *key)
{
    int t = lua_getfield(L, idx, key);
    const char *s = t == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    if (t != LUA_TNIL && t != LUA_TSTRING) luaL_error(L, "onnx.write: '%s' must be a string", key);
    lua_pop(L, 1);
    return s;
}

/* The strings of the list at idx into a scratch array (pushed); *n their count. */
static const char **string_list(lua_State *L, int idx, const char *where, int *n)
{
    idx = lua_absindex(L, idx);
    lua_Integer len = luaL_len(L, idx);
    if (len > INT32_MAX) luaL_error(L, "onnx.write: %s: list too long", where);
    const char **out = jl_lua_scratch(L, (size_t)(len ? len : 1) * sizeof *out);
    for (lua_Integer i = 1; i <= len; i++) {
        if (lua_geti(L, idx, i) != LUA_TSTRING)
            luaL_error(L, "onnx.write: %s: entry %d must be a string", where, (int)i);
        out[i - 1] = lua_tostring(L, -1);
        lua_pop(L, 1);
    }
    *n = (int)len;
    return out;
}

static jl_model_dtype value_dtype(lua_State *L, const char *name, const char *dtype)
{
    static const struct {
        const char *name;
        jl_model_dtype dtype;
    } known[] = {
        {"f32", JL_MODEL_F32}, {"f64", JL_MODEL_F64}, {"i64", JL_MODEL_I64},
        {"i32", JL_MODEL_I32}, {"u8", JL_MODEL_U8},   {"bool", JL_MODEL_BOOL},
    };
    for (size_t k = 0; k < sizeof known / sizeof known[0]; k++)
        if (dtype && !strcmp(dtype, known[k].name)) return known[k].dtype;
    luaL_error(L, "onnx.write: value '%s': dtype must be f32, f64, i64, i32, u8 or bool, got %s", name,
               dtype ? dtype : "nothing");
    return JL_MODEL_F32;
}

/* The graph inputs or outputs listed in field `key` of the description (at idx). */
static jl_onnx_value *values(lua_State *L, int idx, const char *key, int *n)
{
    *n = field_list(L, idx, key, "the model");
    int list = lua_gettop(L);
    jl_onnx_value *out = jl_lua_scratch(L, (size_t)(*n ? *n : 1) * sizeof *out);
    for (int i = 0; i < *n; i++) {
        jl_onnx_value *v = &out[i];
        memset(v, 0, sizeof *v);
        if (lua_geti(L, list, i + 1) != LUA_TTABLE)
            luaL_error(L, "onnx.write: %s %d must be a table", key, i + 1);
        int e = lua_gettop(L);
        v->name = opt_string(L, e, "name");
        if (!v->name) luaL_error(L, "onnx.write: %s %d has no name", key, i + 1);
        v->dtype = value_dtype(L, v->name, opt_string(L, e, "dtype"));
        v->doc = opt_string(L, e, "doc");
        lua_Integer nd = (lua_Integer)field_list(L, e, "shape", v->name);
        if (nd > JL_MODEL_MAX_DIMS)
            luaL_error(L, "onnx.write: %s: more than %d dims", v->name, JL_MODEL_MAX_DIMS);
        v->ndim = (int)nd;
        for (int d = 0; d < v->ndim; d++) {
            int t = lua_geti(L, -1, d + 1);
            if (t == LUA_TSTRING) v->dims[d] = -1, v->dim_params[d] = lua_tostring(L, -1);
            else if (lua_isinteger(L, -1) && lua_tointeger(L, -1) >= 0) v->dims[d] = lua_tointeger(L, -1);
            else luaL_error(L, "onnx.write: %s: dim %d must be a size or a name", v->name, d + 1);
            lua_pop(L, 1);
        }
        keep(L, e - 1);
    }
    return out;
}

/* One attribute from the key at -2 and the value at -1; arrays go into scratch values (pushed). */
static void attribute(lua_State *L, jl_onnx_attr *a, const char *node)
{
    if (lua_type(L, -2) != LUA_TSTRING)
        luaL_error(L, "onnx.write: node %s: attribute names must be strings", node);
    a->name = lua_tostring(L, -2);
    switch (lua_type(L, -1)) {
    case LUA_TNUMBER:
        if (lua_isinteger(L, -1)) a->type = JL_ONNX_ATTR_INT, a->i = lua_tointeger(L, -1);
        else a->type = JL_ONNX_ATTR_FLOAT, a->f = (float)lua_tonumber(L, -1);
        return;
    case LUA_TSTRING: a->type = JL_ONNX_ATTR_STRING, a->s = lua_tostring(L, -1); return;
    case LUA_TTABLE: break;
    default:
        luaL_error(L, "onnx.write: node %s: attribute '%s' must be a number, a string or a list", node,
                   a->name);
    }
    int list = lua_absindex(L, -1);
    lua_Integer n = luaL_len(L, list);
    if (n > INT32_MAX) luaL_error(L, "onnx.write: node %s: attribute '%s' is too long", node, a->name);
    a->n = (int)n;
    bool ints = true;
    for (lua_Integer k = 1; k <= n; k++) {
        lua_geti(L, list, k);
        if (!lua_isnumber(L, -1))
            luaL_error(L, "onnx.write: node %s: attribute '%s' lists a non-number", node, a->name);
        ints = ints && lua_isinteger(L, -1);
        lua_pop(L, 1);
    }
    a->type = ints ? JL_ONNX_ATTR_INTS : JL_ONNX_ATTR_FLOATS;
    int64_t *iv = ints ? jl_lua_scratch(L, (size_t)(n ? n : 1) * sizeof *iv) : NULL;
    float *fv = ints ? NULL : jl_lua_scratch(L, (size_t)(n ? n : 1) * sizeof *fv);
    for (lua_Integer k = 1; k <= n; k++) {
        lua_geti(L, list, k);
        if (ints) iv[k - 1] = lua_tointeger(L, -1);
        else fv[k - 1] = (float)lua_tonumber(L, -1);
        lua_pop(L, 1);
    }
    a->ints = iv;
    a->floats = fv;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const jl_onnx_attr *)a)->name, ((const jl_onnx_attr *)b)->name);
}

/* The attributes table of the node at e (may be absent), sorted by name. */
static void attributes(lua_State *L, int e, jl_onnx_node *nd, const char *node)
{
    if (lua_getfield(L, e, "attrs") == LUA_TNIL) return;
    if (!lua_istable(L, -1)) luaL_error(L, "onnx.write: node %s: attrs must be a table", node);
    int attrs = lua_gettop(L);
    int n = 0;
    lua_pushnil(L);
    while (lua_next(L, attrs)) n++, lua_pop(L, 1);
    jl_onnx_attr *out = jl_lua_scratch(L, (size_t)(n ? n : 1) * sizeof *out);
    int k = 0;
    lua_pushnil(L);
    while (lua_next(L, attrs)) {
        memset(&out[k], 0, sizeof out[k]);
        int top = lua_gettop(L);
        attribute(L, &out[k], node);
        keep(L, top);           /* the list's scratch array */
        lua_settop(L, top - 1); /* the key, for lua_next */
        k++;
    }
    qsort(out, (size_t)n, sizeof *out, by_name);
    nd->attrs = out;
    nd->n_attrs = n;
}

static jl_onnx_node *nodes(lua_State *L, int idx, int *n)
{
    *n = field_list(L, idx, "nodes", "the model");
    int list = lua_gettop(L);
    jl_onnx_node *out = jl_lua_scratch(L, (size_t)(*n ? *n : 1) * sizeof *out);
    for (int i = 0; i < *n; i++) {
        jl_onnx_node *nd = &out[i];
        memset(nd, 0, sizeof *nd);
        char where[32];
        snprintf(where, sizeof where, "%d", i + 1);
        if (lua_geti(L, list, i + 1) != LUA_TTABLE)
            luaL_error(L, "onnx.write: node %s must be a table", where);
        int e = lua_gettop(L);
        nd->op_type = opt_string(L, e, "op");
        nd->name = opt_string(L, e, "name");
        field_list(L, e, "inputs", where);
        nd->inputs = string_list(L, -1, where, &nd->n_inputs);
        field_list(L, e, "outputs", where);
        nd->outputs = string_list(L, -1, where, &nd->n_outputs);
        attributes(L, e, nd, where);
        keep(L, e - 1);
    }
    return out;
}

/* jl.onnx.write(path, description) → true | nil, message */
static int l_write(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 2);
    lua_newtable(L); /* ANCHOR */
    jl_onnx_model m = {0};
    if (lua_getfield(L, 2, "opset") != LUA_TNUMBER || !lua_isinteger(L, -1))
        return luaL_error(L, "onnx.write: opset (an integer) expected");
    m.opset = lua_tointeger(L, -1);
    m.producer_name = opt_string(L, 2, "producer");
    m.producer_version = opt_string(L, 2, "producer_version");
    m.graph_name = opt_string(L, 2, "graph");
    m.doc = opt_string(L, 2, "doc");
    m.inputs = values(L, 2, "inputs", &m.n_inputs);
    m.outputs = values(L, 2, "outputs", &m.n_outputs);
    m.nodes = nodes(L, 2, &m.n_nodes);
    field_list(L, 2, "initializers", "the model");
    m.initializers = jl_lua_model_tensors(L, -1, "onnx.write", &m.n_initializers);
    if (lua_getfield(L, 2, "metadata") == LUA_TTABLE)
        m.metadata = jl_lua_model_metadata(L, -1, "onnx.write", &m.n_metadata);
    if (jl_onnx_write(path, &m) != JL_OK) return jl_lua_io_failure(L);
    lua_pushboolean(L, 1);
    return 1;
}

static const luaL_Reg onnx_functions[] = {
    {"write", l_write},
    {NULL, NULL},
};

void jl_lua_open_onnx(lua_State *L, int module, int methods)
{
    (void)methods;
    lua_newtable(L);
    jl_lua_setfuncs(L, lua_gettop(L), onnx_functions);
    lua_setfield(L, module, "onnx");
}
