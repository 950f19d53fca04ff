/* lua_model_files.c — jl.model_files: PyTorch (torch.save, zip and legacy) and
 * safetensors files of named tensors (core/io/model_files/jl_model_files.h),
 * the layer under stdlib/jetlab/import.lua.
 *
 *   local f = assert(jl.model_files.read("Top_QCD_500GeV_LundNet5.pt"))
 *   print(f.format)                                    -- "torch-zip", "torch-legacy", "safetensors"
 *   for _, e in ipairs(f.tensors) do print(e[1], e[2].shape, e[3]) end   -- name, tensor, dtype in the file
 *   for k, v in pairs(f.metadata) do print(k, v) end   -- safetensors "__metadata__"
 *   assert(jl.model_files.write_safetensors("m.safetensors", {{"fc.weight", w}}, {model = "fcnn"}))
 *
 * Tensors come back as jetlab dtypes: f32, f64, f16 and bf16 as f32 (the
 * file's dtype is the entry's third field), i64 as i64, i32, i16 and i8 as
 * i32, u8 and bool as u8. Both functions return nil, message on a file that
 * cannot be read or written (the message names the file and the fault);
 * malformed arguments are Lua errors.
 */
#include <stdlib.h>
#include <string.h>

#include "jl_model_files.h"
#include "lua_args.h"
#include "lua_model_files.h"
#include "lua_module.h"

#define JL_MODEL_FILE_BOX_MT "jetlab.model_files.file"

static jl_dtype jetlab_dtype_of(jl_model_dtype d)
{
    switch (d) {
    case JL_MODEL_I64: return JL_I64;
    case JL_MODEL_I32: case JL_MODEL_I16: case JL_MODEL_I8: return JL_I32;
    case JL_MODEL_U8: case JL_MODEL_BOOL: return JL_U8;
    default: return JL_F32;
    }
}

/* IEEE binary16 to float, subnormals, infinities and NaN included. */
static float half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (mant << 13);
    } else if (exp != 0) {
        bits = sign | ((exp + 112) << 23) | (mant << 13);
    } else if (mant == 0) {
        bits = sign;
    } else { /* subnormal: normalise */
        int e = -1;
        do {
            e++;
            mant <<= 1;
        } while (!(mant & 0x400));
        bits = sign | ((uint32_t)(112 - e) << 23) | ((mant & 0x3ff) << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* Element i of src (a file tensor's data) as a double, for the widening copies. */
static double element(const jl_model_tensor *src, int64_t i)
{
    const void *p = (const char *)src->data + (size_t)i * jl_model_dtype_size(src->dtype);
    switch (src->dtype) {
    case JL_MODEL_F64: { double v; memcpy(&v, p, 8); return v; }
    case JL_MODEL_F16: { uint16_t v; memcpy(&v, p, 2); return half_to_float(v); }
    case JL_MODEL_BF16: { uint16_t v; memcpy(&v, p, 2); uint32_t b = (uint32_t)v << 16; float f; memcpy(&f, &b, 4); return f; }
    case JL_MODEL_I16: { int16_t v; memcpy(&v, p, 2); return v; }
    case JL_MODEL_I8: return *(const int8_t *)p;
    case JL_MODEL_BOOL: return *(const uint8_t *)p != 0;
    default: return 0; /* same-size dtypes are copied bytewise */
    }
}

/* A new CPU tensor (+1) holding src's values, or NULL with the error set. */
static jl_tensor *tensor_of(const jl_model_tensor *src, const char *path)
{
    if (src->ndim > JL_MAX_DIMS) {
        JL_FAIL_CODE(JL_EIO, "%s: tensor '%s' has %d dimensions; jetlab tensors have at most %d", path, src->name,
                     src->ndim, JL_MAX_DIMS);
        return NULL;
    }
    jl_dtype dt = jetlab_dtype_of(src->dtype);
    jl_tensor *t = jl_tensor_new(dt, src->ndim, src->shape, JL_CPU);
    if (!t || src->numel == 0) return t;
    size_t in_size = jl_model_dtype_size(src->dtype);
    if (in_size == jl_dtype_size(dt) && src->dtype != JL_MODEL_BOOL) {
        memcpy(jl_data(t), src->data, (size_t)src->numel * in_size);
        return t;
    }
    for (int64_t i = 0; i < src->numel; i++) {
        double v = element(src, i);
        if (dt == JL_F32) ((float *)jl_data(t))[i] = (float)v;
        else if (dt == JL_I32) ((int32_t *)jl_data(t))[i] = (int32_t)v;
        else ((uint8_t *)jl_data(t))[i] = (uint8_t)v;
    }
    return t;
}

static const char *format_name(jl_model_format f)
{
    switch (f) {
    case JL_MODEL_FORMAT_TORCH_ZIP: return "torch-zip";
    case JL_MODEL_FORMAT_TORCH_LEGACY: return "torch-legacy";
    case JL_MODEL_FORMAT_SAFETENSORS: return "safetensors";
    default: return "unknown";
    }
}

static int box_gc(lua_State *L)
{
    jl_model_file **b = luaL_checkudata(L, 1, JL_MODEL_FILE_BOX_MT);
    jl_model_file_free(*b);
    *b = NULL;
    return 0;
}

int jl_lua_io_failure(lua_State *L)
{
    if (jl_last_error_code() != JL_EIO) return jl_lua_raise(L);
    lua_pushnil(L);
    lua_pushstring(L, jl_last_error());
    return 2;
}

/* jl.model_files.read(path) → {format =, tensors = {{name, tensor, file_dtype}...}, metadata = {}} | nil, message */
static int l_read(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    jl_model_file **b = lua_newuserdatauv(L, sizeof *b, 0); /* frees the file if a push below raises */
    *b = NULL;
    luaL_setmetatable(L, JL_MODEL_FILE_BOX_MT);
    if (jl_model_file_read(path, b) != JL_OK) return jl_lua_io_failure(L);
    const jl_model_file *f = *b;
    lua_createtable(L, 0, 3);
    lua_pushstring(L, format_name(f->format));
    lua_setfield(L, -2, "format");
    lua_createtable(L, f->n_tensors, 0);
    for (int i = 0; i < f->n_tensors; i++) {
        const jl_model_tensor *src = &f->tensors[i];
        jl_tensor *t = tensor_of(src, path);
        if (!t) return jl_lua_io_failure(L);
        lua_createtable(L, 3, 0);
        lua_pushstring(L, src->name);
        lua_seti(L, -2, 1);
        jl_lua_push(L, t);
        lua_seti(L, -2, 2);
        lua_pushstring(L, jl_model_dtype_name(src->dtype));
        lua_seti(L, -2, 3);
        lua_seti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "tensors");
    lua_createtable(L, 0, f->n_metadata);
    for (int i = 0; i < f->n_metadata; i++) {
        lua_pushstring(L, f->metadata[i].value);
        lua_setfield(L, -2, f->metadata[i].key);
    }
    lua_setfield(L, -2, "metadata");
    jl_model_file_free(*b);
    *b = NULL;
    return 1;
}

static jl_model_dtype file_dtype_of(lua_State *L, const char *what, const char *name, const jl_tensor *t)
{
    switch (t->dtype) {
    case JL_F32: return JL_MODEL_F32;
    case JL_I64: return JL_MODEL_I64;
    case JL_I32: return JL_MODEL_I32;
    case JL_U8: return JL_MODEL_U8;
    default: luaL_error(L, "%s: tensor '%s' has an unsupported dtype %s", what, name, jl_dtype_name(t->dtype));
    }
    return JL_MODEL_F32;
}

jl_model_tensor *jl_lua_model_tensors(lua_State *L, int idx, const char *what, int *n_out)
{
    idx = lua_absindex(L, idx);
    luaL_checktype(L, idx, LUA_TTABLE);
    lua_Integer n = luaL_len(L, idx);
    if (n > INT32_MAX) luaL_error(L, "%s: too many tensors", what);
    jl_model_tensor *ts = jl_lua_scratch(L, (size_t)(n ? n : 1) * sizeof *ts);
    lua_createtable(L, (int)n, 0); /* the dense host copies, kept until the write is done */
    int copies = lua_gettop(L);
    for (lua_Integer i = 1; i <= n; i++) {
        jl_model_tensor *d = &ts[i - 1];
        memset(d, 0, sizeof *d);
        if (lua_geti(L, idx, i) != LUA_TTABLE) luaL_error(L, "%s: entry %d must be {name, tensor}", what, (int)i);
        if (lua_geti(L, -1, 1) != LUA_TSTRING) luaL_error(L, "%s: entry %d: name (string) expected", what, (int)i);
        d->name = (char *)lua_tostring(L, -1);
        lua_geti(L, -2, 2);
        jl_tensor *t = jl_lua_test(L, -1);
        if (!t) luaL_error(L, "%s: entry %s: tensor expected, got %s", what, d->name, luaL_typename(L, -1));
        /* a contiguous host copy; the name stays anchored by the entry, the entry by the list */
        jl_tensor *host = jl_to_device(t, JL_CPU);
        jl_tensor *dense = host ? jl_contiguous(host) : NULL;
        jl_release(host);
        if (!dense) jl_lua_raise(L);
        jl_lua_push(L, dense);
        lua_seti(L, copies, i);
        lua_pop(L, 3);
        d->dtype = file_dtype_of(L, what, d->name, dense);
        d->ndim = dense->ndim;
        for (int k = 0; k < dense->ndim; k++) d->shape[k] = dense->shape[k];
        d->numel = jl_numel(dense);
        d->data = jl_data(dense);
    }
    *n_out = (int)n;
    return ts;
}

static int by_key(const void *a, const void *b)
{
    return strcmp(((const jl_model_metadata *)a)->key, ((const jl_model_metadata *)b)->key);
}

jl_model_metadata *jl_lua_model_metadata(lua_State *L, int idx, const char *what, int *n_out)
{
    idx = lua_absindex(L, idx);
    int n = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        n++;
        lua_pop(L, 1);
    }
    jl_model_metadata *meta = jl_lua_scratch(L, (size_t)(n ? n : 1) * sizeof *meta);
    int k = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
            luaL_error(L, "%s: metadata must map strings to strings", what);
        meta[k].key = (char *)lua_tostring(L, -2);
        meta[k].value = (char *)lua_tostring(L, -1);
        k++;
        lua_pop(L, 1);
    }
    qsort(meta, (size_t)n, sizeof *meta, by_key);
    *n_out = n;
    return meta;
}

/* jl.model_files.write_safetensors(path, {{name, tensor}...}[, metadata]) → true | nil, message */
static int l_write_safetensors(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    if (!lua_isnoneornil(L, 3)) luaL_checktype(L, 3, LUA_TTABLE);
    lua_settop(L, 3);
    int n, n_meta = 0;
    jl_model_tensor *ts = jl_lua_model_tensors(L, 2, "write_safetensors", &n);
    jl_model_metadata *meta = lua_istable(L, 3) ? jl_lua_model_metadata(L, 3, "write_safetensors", &n_meta) : NULL;
    if (jl_model_file_write_safetensors(path, ts, n, meta, n_meta) != JL_OK) return jl_lua_io_failure(L);
    lua_pushboolean(L, 1);
    return 1;
}

static const luaL_Reg model_file_functions[] = {
    {"read", l_read},
    {"write_safetensors", l_write_safetensors},
    {NULL, NULL},
};

void jl_lua_open_model_files(lua_State *L, int module, int methods)
{
    if (luaL_newmetatable(L, JL_MODEL_FILE_BOX_MT)) {
        lua_pushcfunction(L, box_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_pop(L, 1);
    lua_newtable(L);
    jl_lua_setfuncs(L, lua_gettop(L), model_file_functions);
    lua_setfield(L, module, "model_files");
}
