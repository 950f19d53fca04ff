/* fuzz_lua.c — libFuzzer harness for the Lua API (bindings/): the input
 * becomes a short Lua snippet calling tensor constructors, jl.* functions and
 * tensor methods with small random shapes (at most 64 elements), dtypes, dims
 * (out of range included) and arguments (numbers, nil, strings, tables,
 * tensors, functions), run in a fresh lua_State with luaopen_jetlab_core
 * preloaded and the global `jl` set to it.
 *
 * Every statement runs under pcall: errors are the expected outcome. Bugs are
 * crashes (ASan, UBSan), hangs (libFuzzer's -timeout; Lua itself is bounded
 * by an instruction-count hook and a 64 MiB allocator cap), error values
 * that are empty or print "(null)" (unless the snippet itself has that text, which
 * messages may quote back), and leaks: after lua_close no tensor,
 * storage or autograd node may be alive.
 *
 * Two input forms:
 *   - bytes: read as choices by the generator below (the usual form);
 *   - text starting with "--lua\n": the rest is Lua source, run as is in the
 *     same sandbox (no io, os, require, load; seeds and regressions in
 *     tests/fuzz/corpus/lua and tests/fuzz/regressions/lua are
 *     readable this way).
 * JETLAB_FUZZ_PRINT=1 prints each generated snippet to stderr, to turn a
 * crashing input into a plain Lua test.
 *
 * The functions called are listed once at start-up from the module itself
 * (so new bindings are fuzzed without editing this file), minus the ones
 * that touch files, the process or the thread pool, and those returning
 * large numbers (clock, peak_rss: a size of 10^8 is a legal request that
 * only takes long) — see DENY below.
 */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdarg.h>
#include <stdbool.h>

#include "fuzz_common.h"
#include "jl_autograd.h"
#include "jl_lua.h"
#include "jl_ops.h"
#include "jl_parallel.h"

#define MAX_STATEMENTS 48
#define N_VARS 8
#define MEM_CAP (64u << 20)
#define HOOK_EVERY 1000
#define HOOK_BUDGET 300 /* x HOOK_EVERY VM instructions per input */

/* ---------------------------------------------------------------- output */

typedef struct {
    char *s;
    size_t n, cap;
} sbuf;

__attribute__((format(printf, 2, 3))) static void out(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    if (!b->s) {
        b->cap = 4096;
        b->s = malloc(b->cap);
        if (!b->s) fuzz_fail("out of memory");
    }
    for (;;) {
        va_start(ap, fmt);
        int k = vsnprintf(b->s + b->n, b->cap - b->n, fmt, ap);
        va_end(ap);
        if (k < 0) fuzz_fail("vsnprintf failed");
        if (b->n + (size_t)k < b->cap) {
            b->n += (size_t)k;
            return;
        }
        b->cap = (b->cap + (size_t)k) * 2 + 256;
        b->s = realloc(b->s, b->cap);
        if (!b->s) fuzz_fail("out of memory");
    }
}

/* ---------------------------------------------------------------- choices */

typedef struct {
    const uint8_t *p;
    size_t n, i;
} src;

static unsigned pick(src *s, unsigned n)
{
    unsigned v = s->i < s->n ? s->p[s->i++] : 0;
    return n ? v % n : 0;
}

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define CHOOSE(s, a) ((a)[pick((s), COUNT(a))])

/* Numbers: small sizes and positions, their negatives, and the extremes. No
 * mid-sized values (2^31, 1e9): a tensor of that size is a legal request that
 * only runs out of memory, which is not what this harness looks for. */
static const char *const numbers[] = {
    "0",   "1",    "2",     "3",     "4",      "5",     "6",      "8",       "-1",       "-2",
    "-3",  "0.5",  "-0.5",  "1.5",   "1e-300", "1e300", "-1e300", "(1<<62)", "(2^62)",   "math.mininteger",
    "math.maxinteger", "(0/0)", "(1/0)", "(-1/0)", "0.1", "-8", "7", "2", "1", "0",
};
static const char *const strings[] = {
    "'f32'", "'i32'", "'i64'", "'u8'", "'bool'", "'float32'", "'cpu'", "'cuda'", "'cuda:0'", "'x'", "''",
    "'sum'", "'mean'", "'none'", "'hardest'", "'random'", "'antikt'", "'kt'", "'cambridge'", "'genkt'",
    "'padded'", "'ragged'", "'1'", "'-1'", "'0x10'",
};
static const char *const dtypes[] = {"'f32'", "'i32'", "'i64'", "'u8'"};
static const char *const keys[] = {
    "dtype", "device", "requires_grad", "keepdim", "unbiased", "algo", "r", "p", "ptmin", "k", "lr",
    "momentum", "dampening", "nesterov", "weight_decay", "beta1", "beta2", "eps", "step", "decoupled",
    "reduction", "weights", "training", "max_constituents", "standardize", "format", "mode", "n", "keep",
    "seed", "smear", "undersample", "relative", "mean", "std", "count", "m2", "eff_s", "eff_b", "x", "y",
};
static const char *const fields[] = {
    "shape", "dtype", "device", "grad", "requires_grad", "is_leaf", "grad_fn", "ndim", "T", "foo",
};
static const char *const binops[] = {"+", "-", "*", "/", "^", "%", "//", "==", "<", "<=", "..", "&"};

/* Function names filled at start-up: "jl.add", "jl.physics.cluster", ... */
static char **funcs, **methods;
static size_t n_funcs, n_methods;

static void gen_arg(src *s, sbuf *b, int depth);

static void gen_var(src *s, sbuf *b) { out(b, "v[%u]", 1 + pick(s, N_VARS)); }

/* A shape with 0..4 dims of sizes 0..4 and at most 64 elements, as "a, b, c". */
static void gen_shape(src *s, sbuf *b, int braces)
{
    unsigned nd = pick(s, 5), numel = 1;
    if (braces) out(b, "{");
    for (unsigned d = 0; d < nd; d++) {
        unsigned k = pick(s, 5);
        if (numel * (k ? k : 1) > 64) k = 1;
        numel *= k ? k : 1;
        out(b, "%s%u", d ? ", " : "", k);
    }
    if (braces) out(b, "}");
}

static void gen_opts(src *s, sbuf *b)
{
    switch (pick(s, 6)) {
    case 0: out(b, "{dtype = %s}", CHOOSE(s, dtypes)); break;
    case 1: out(b, "{requires_grad = true}"); break;
    case 2: out(b, "{dtype = %s, requires_grad = %s}", CHOOSE(s, dtypes), pick(s, 2) ? "true" : "false"); break;
    case 3: out(b, "{device = %s}", CHOOSE(s, strings)); break;
    case 4: out(b, "{%s = ", CHOOSE(s, keys)); gen_arg(s, b, 2); out(b, "}"); break;
    default: out(b, "{}"); break;
    }
}

/* A nested table of numbers of a random (ragged now and then) shape. */
static void gen_nested(src *s, sbuf *b, int depth)
{
    unsigned n = pick(s, 4);
    out(b, "{");
    for (unsigned i = 0; i < n; i++) {
        if (i) out(b, ", ");
        if (depth < 2 && pick(s, 3) == 0) gen_nested(s, b, depth + 1);
        else out(b, "%s", CHOOSE(s, numbers));
    }
    out(b, "}");
}

/* An expression making a new tensor. */
static void gen_ctor(src *s, sbuf *b)
{
    static const char *const filled[] = {"zeros", "ones", "rand", "randn"};
    switch (pick(s, 8)) {
    case 0: case 1: case 2:
        out(b, "jl.%s(", CHOOSE(s, filled));
        gen_shape(s, b, pick(s, 2));
        if (pick(s, 2)) { out(b, ", "); gen_opts(s, b); }
        out(b, ")");
        break;
    case 3:
        out(b, "jl.full(");
        gen_shape(s, b, 1);
        out(b, ", %s", CHOOSE(s, numbers));
        if (pick(s, 2)) { out(b, ", "); gen_opts(s, b); }
        out(b, ")");
        break;
    case 4:
        out(b, "jl.arange(%s, %s)", CHOOSE(s, numbers), pick(s, 2) ? "8" : CHOOSE(s, numbers));
        break;
    case 5: case 6:
        out(b, "jl.from(");
        gen_nested(s, b, 0);
        if (pick(s, 2)) out(b, ", {dtype = %s}", CHOOSE(s, dtypes));
        out(b, ")");
        break;
    default:
        out(b, "jl.randint(0, %u, ", 1 + pick(s, 6));
        gen_shape(s, b, 1);
        out(b, ", {dtype = %s})", CHOOSE(s, dtypes));
        break;
    }
}

static void gen_table(src *s, sbuf *b, int depth)
{
    switch (pick(s, 7)) {
    case 0: out(b, "{}"); break;
    case 1: gen_shape(s, b, 1); break;
    case 2: gen_opts(s, b); break;
    case 3: gen_nested(s, b, 0); break;
    case 4: out(b, "{"); gen_var(s, b); out(b, ", "); gen_var(s, b); out(b, "}"); break;
    case 5: out(b, "{"); gen_arg(s, b, depth + 1); out(b, ", "); gen_arg(s, b, depth + 1); out(b, "}"); break;
    default:
        out(b, "{%s = ", CHOOSE(s, keys)); gen_arg(s, b, depth + 1);
        out(b, ", %s = ", CHOOSE(s, keys)); gen_arg(s, b, depth + 1); out(b, "}");
        break;
    }
}

static void gen_arg(src *s, sbuf *b, int depth)
{
    unsigned k = pick(s, 12);
    if (depth >= 2 && k >= 8) k = k % 4;
    switch (k) {
    case 0: case 1: case 2: case 3: gen_var(s, b); break;
    case 4: case 5: out(b, "%s", CHOOSE(s, numbers)); break;
    case 6: out(b, "nil"); break;
    case 7: out(b, "%s", CHOOSE(s, strings)); break;
    case 8: gen_table(s, b, depth); break;
    case 9: out(b, "%s", pick(s, 2) ? "true" : "false"); break;
    case 10: gen_ctor(s, b); break;
    default: out(b, "function() return "); gen_arg(s, b, depth + 1); out(b, " end"); break;
    }
}

static void gen_args(src *s, sbuf *b, int first)
{
    unsigned n = pick(s, 5);
    for (unsigned i = 0; i < n; i++) {
        if (i || !first) out(b, ", ");
        gen_arg(s, b, 0);
    }
}

static void gen_stmt(src *s, sbuf *b, int depth)
{
    unsigned dst = 1 + pick(s, N_VARS);
    switch (pick(s, 14)) {
    case 0: case 1:
        out(b, "v[%u] = ", dst); gen_ctor(s, b);
        break;
    case 2: case 3: case 4:
        if (!n_funcs) break;
        out(b, "v[%u] = %s(", dst, funcs[pick(s, (unsigned)n_funcs)]);
        gen_args(s, b, 1);
        out(b, ")");
        break;
    case 5: case 6: case 7:
        if (!n_methods) break;
        out(b, "v[%u] = jl.Tensor.%s(", dst, methods[pick(s, (unsigned)n_methods)]);
        if (pick(s, 4)) gen_var(s, b); else gen_arg(s, b, 0);
        gen_args(s, b, 0);
        out(b, ")");
        break;
    case 8: {
        unsigned u = pick(s, 5);
        out(b, "v[%u] = ", dst);
        if (u == 0) { out(b, "-"); gen_var(s, b); }
        else if (u == 1) { out(b, "#"); gen_var(s, b); }
        else if (u == 2) { out(b, "%s %s ", CHOOSE(s, numbers), CHOOSE(s, binops)); gen_var(s, b); }
        else { gen_var(s, b); out(b, " %s ", CHOOSE(s, binops)); if (pick(s, 2)) gen_var(s, b); else out(b, "%s", CHOOSE(s, numbers)); }
        break;
    }
    case 9:
        switch (pick(s, 5)) {
        case 0: out(b, "v[%u] = ", dst); gen_var(s, b); out(b, "[%s]", CHOOSE(s, numbers)); break;
        case 1: gen_var(s, b); out(b, "[%s] = ", CHOOSE(s, numbers)); gen_arg(s, b, 1); break;
        case 2: out(b, "v[%u] = ", dst); gen_var(s, b); out(b, "[%s][%s]", CHOOSE(s, numbers), CHOOSE(s, numbers)); break;
        case 3: out(b, "v[%u] = ", dst); gen_var(s, b); out(b, ".%s", CHOOSE(s, fields)); break;
        default: gen_var(s, b); out(b, ".%s = ", CHOOSE(s, fields)); gen_arg(s, b, 1); break;
        }
        break;
    case 10:
        switch (pick(s, 3)) {
        case 0: gen_var(s, b); out(b, ":backward()"); break;
        case 1: gen_var(s, b); out(b, ":sum():backward()"); break;
        default: gen_var(s, b); out(b, ":backward("); gen_arg(s, b, 0); out(b, ")"); break;
        }
        break;
    case 11:
        if (depth > 1) break;
        switch (pick(s, 3)) {
        case 0: out(b, "jl.no_grad(function() "); gen_stmt(s, b, depth + 1); out(b, " end)"); break;
        case 1: out(b, "jl.enable_grad(function() "); gen_stmt(s, b, depth + 1); out(b, " end)"); break;
        default: out(b, "jl.set_grad_enabled("); gen_arg(s, b, 1); out(b, ")"); break;
        }
        break;
    default:
        switch (pick(s, 6)) {
        case 0: out(b, "do local x <close> = "); gen_var(s, b); out(b, " end"); break;
        case 1: gen_var(s, b); out(b, " = nil"); break;
        case 2: out(b, "collectgarbage()"); break;
        case 3: out(b, "v[%u] = tostring(", dst); gen_var(s, b); out(b, ")"); break;
        case 4: out(b, "v[%u] = ", dst); gen_var(s, b); out(b, ":tolist()"); break;
        default: out(b, "v[%u] = ", dst); gen_var(s, b); out(b, ":%s()", pick(s, 2) ? "clone" : "detach"); break;
        }
        break;
    }
}

static void generate(const uint8_t *data, size_t size, sbuf *b)
{
    src s = {data, size, 0};
    out(b, "local v = {jl.zeros(2, 3), jl.randn(3, {requires_grad = true}), "
           "jl.from({1, 2, 3}, {dtype = 'i64'}), jl.arange(6):view(2, 3)}\n");
    for (int k = 0; k < MAX_STATEMENTS && s.i < s.n; k++) {
        out(b, "S(function() ");
        gen_stmt(&s, b, 0);
        out(b, " end)\n");
    }
}

/* ---------------------------------------------------------------- the state */

static size_t mem_used;
static int hook_ticks;

static void *capped_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    (void)ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        free(ptr);
        mem_used -= old;
        return NULL;
    }
    if (nsize > old && mem_used + (nsize - old) > MEM_CAP) return NULL;
    void *p = realloc(ptr, nsize);
    if (p) mem_used = mem_used - old + nsize;
    return p;
}

static void budget_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    if (++hook_ticks > HOOK_BUDGET) luaL_error(L, "fuzz: instruction budget exhausted");
}

/* True while the snippet being run contains "(null)" itself. */
static bool snippet_has_null_text;

/* True when the n bytes at s (NUL bytes included) contain needle. */
static bool has_bytes(const char *s, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(s + i, needle, k) == 0) return true;
    return false;
}

/* S(f): runs f under pcall; an error value must be a non-empty string
 * without "(null)" (or a table/userdata a script raised itself); a message may
 * quote the snippet's own "(null)" back (an option value, a string argument). */
static int l_S(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_settop(L, 1);
    if (lua_pcall(L, 0, 0, 0) != LUA_OK && lua_type(L, -1) == LUA_TSTRING) {
        const char *m = lua_tostring(L, -1);
        if (!*m) fuzz_fail("an empty error message");
        if (strstr(m, "(null)") && !snippet_has_null_text) fuzz_fail("an error message with (null): %s", m);
    }
    return 0;
}

static lua_State *new_state(void)
{
    mem_used = 0;
    hook_ticks = 0;
    lua_State *L = lua_newstate(capped_alloc, NULL);
    if (!L) fuzz_fail("lua_newstate failed");
    static const luaL_Reg libs[] = {
        {LUA_GNAME, luaopen_base}, {LUA_TABLIBNAME, luaopen_table},
        {LUA_STRLIBNAME, luaopen_string}, {LUA_MATHLIBNAME, luaopen_math}, {NULL, NULL},
    };
    for (const luaL_Reg *l = libs; l->name; l++) {
        luaL_requiref(L, l->name, l->func, 1);
        lua_pop(L, 1);
    }
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    lua_pushcfunction(L, luaopen_jetlab_core);
    lua_setfield(L, -2, "jetlab.core");
    lua_pop(L, 1);
    luaL_requiref(L, "jetlab.core", luaopen_jetlab_core, 0);
    lua_setglobal(L, "jl");
    /* the sandbox: nothing that reaches files, the process or other code */
    static const char *const removed[] = {"dofile", "loadfile", "load", "require", "print", NULL};
    for (const char *const *r = removed; *r; r++) {
        lua_pushnil(L);
        lua_setglobal(L, *r);
    }
    lua_pushcfunction(L, l_S);
    lua_setglobal(L, "S");
    return L;
}

/* The names of the functions to call, from the module itself. */
static const char *const LIST =
    "local DENY = {set_num_threads = true, empty = true, clock = true, isatty = true, peak_rss = true}\n"
    "local SUB = {physics = {cluster = true}, metrics = true, data = {features = true, degrade = true,\n"
    "  moments = true, split = true, standardize_from = true}}\n"
    "local f, m = {}, {}\n"
    "for k, v in pairs(jl) do\n"
    "  if type(v) == 'function' and not DENY[k] then f[#f + 1] = 'jl.' .. k end\n"
    "  local allow = SUB[k]\n"
    "  if type(v) == 'table' and allow then\n"
    "    for k2, v2 in pairs(v) do\n"
    "      if type(v2) == 'function' and (allow == true or allow[k2]) then f[#f + 1] = 'jl.' .. k .. '.' .. k2 end\n"
    "    end\n"
    "  end\n"
    "end\n"
    "for k, v in pairs(jl.Tensor) do if type(v) == 'function' then m[#m + 1] = k end end\n"
    "table.sort(f); table.sort(m)\n"
    "return f, m\n";

static char **to_list(lua_State *L, int idx, size_t *n)
{
    *n = lua_rawlen(L, idx);
    char **list = calloc(*n + 1, sizeof *list);
    for (size_t i = 0; i < *n; i++) {
        lua_rawgeti(L, idx, (lua_Integer)i + 1);
        list[i] = strdup(lua_tostring(L, -1));
        lua_pop(L, 1);
    }
    return list;
}

static int print_snippets;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    jl_set_num_threads(1);
    const char *p = getenv("JETLAB_FUZZ_PRINT");
    print_snippets = p && *p && strcmp(p, "0") != 0;
    lua_State *L = new_state();
    if (luaL_loadstring(L, LIST) != LUA_OK || lua_pcall(L, 0, 2, 0) != LUA_OK)
        fuzz_fail("listing the module failed: %s", lua_tostring(L, -1));
    funcs = to_list(L, -2, &n_funcs);
    methods = to_list(L, -1, &n_methods);
    lua_close(L);
    jl_set_alloc_failure_hook(NULL, NULL);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char TEXT[] = "--lua\n";
    sbuf code = {0};
    if (size >= sizeof TEXT - 1 && memcmp(data, TEXT, sizeof TEXT - 1) == 0) {
        out(&code, "%.*s", (int)(size - (sizeof TEXT - 1)), (const char *)data + sizeof TEXT - 1);
    } else {
        generate(data, size, &code);
    }
    if (print_snippets) fprintf(stderr, "---- snippet\n%s\n", code.s);
    snippet_has_null_text = code.s && has_bytes(code.s, code.n, "(null)");

    jl_set_grad_enabled(true);
    jl_manual_seed(1);
    lua_State *L = new_state();
    lua_sethook(L, budget_hook, LUA_MASKCOUNT, HOOK_EVERY);
    if (luaL_loadbuffer(L, code.s, code.n, "=fuzz") == LUA_OK) {
        if (lua_pcall(L, 0, 0, 0) != LUA_OK && print_snippets)
            fprintf(stderr, "---- error: %s\n", luaL_tolstring(L, -1, NULL));
    } else if (print_snippets) {
        fprintf(stderr, "---- syntax: %s\n", lua_tostring(L, -1));
    }
    lua_close(L);
    jl_set_alloc_failure_hook(NULL, NULL);
    free(code.s);
    jl_error_clear();

    jl_stats st = jl_stats_get();
    if (st.tensors || st.storages || st.nodes)
        fuzz_fail("after lua_close: %lld tensors, %lld storages, %lld autograd nodes alive", (long long)st.tensors,
                  (long long)st.storages, (long long)st.nodes);
    return 0;
}
