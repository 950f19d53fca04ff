/* lua_print.c — __tostring: values laid out like torch, then a footer.
 *
 *   > print(jl.arange(6):view(2, 3):float() / 4)
 *   [[0.0000, 0.2500, 0.5000],
 *    [0.7500, 1.0000, 1.2500]]
 *   [f32 tensor (2, 3)]
 *
 * Tensors over SUMMARY_NUMEL elements show EDGE items at each end of every
 * dim longer than 2*EDGE, with "..." between, under a header line that names
 * their dtype, shape and device before the long output:
 *
 *   [f32 tensor (300, 300), cpu: abbreviated, 3 first and last of each dim]
 *
 * Only the shown elements are read.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lua_args.h"
#include "lua_module.h"

#define SUMMARY_NUMEL 256
#define EDGE 3

typedef struct printer {
    const jl_tensor *t; /* on the CPU while values are collected */
    bool summarize;
    double *vals;       /* shown values, in print order */
    int64_t n, cap;
    char fmt[16];
    int width;
    bool integer;       /* print as integers */
} printer;

/* Positions shown along dim d: all, or the EDGE first and last with -1 for "...". */
static int shown(const printer *p, int d, int64_t *out)
{
    int64_t size = p->t->shape[d];
    if (!p->summarize || size <= 2 * EDGE) {
        for (int64_t i = 0; i < size; i++) out[i] = i;
        return (int)size;
    }
    int k = 0;
    for (int i = 0; i < EDGE; i++) out[k++] = i;
    out[k++] = -1;
    for (int i = EDGE; i > 0; i--) out[k++] = size - i;
    return k;
}

/* Pass 1: reads the shown values in print order. */
static int collect(printer *p, int d, int64_t *index)
{
    if (d == p->t->ndim) return jl_get_item(p->t, index, &p->vals[p->n++]);
    int64_t pos[SUMMARY_NUMEL + 1];
    int k = shown(p, d, pos);
    for (int i = 0; i < k; i++) {
        if (pos[i] < 0) continue;
        index[d] = pos[i];
        if (collect(p, d + 1, index) < 0) return -1;
    }
    return 0;
}

static int format_value(const printer *p, double v, char *buf, size_t size)
{
    if (isnan(v)) return snprintf(buf, size, "nan");
    if (isinf(v)) return snprintf(buf, size, v > 0 ? "inf" : "-inf");
    if (p->integer) return snprintf(buf, size, "%.0f", v);
    return snprintf(buf, size, p->fmt, v);
}

/* Picks one format for all shown values (as torch does) and the column width. */
static void choose_format(printer *p)
{
    double max_abs = 0, min_abs = INFINITY;
    bool all_integral = true;
    for (int64_t i = 0; i < p->n; i++) {
        double v = p->vals[i];
        if (!isfinite(v)) continue;
        double a = fabs(v);
        if (a > max_abs) max_abs = a;
        if (a > 0 && a < min_abs) min_abs = a;
        if (v != floor(v)) all_integral = false;
    }
    p->integer = p->t->dtype != JL_F32 || (all_integral && max_abs < 1e9);
    bool sci = max_abs >= 1e8 || (min_abs < 1e-4) || (min_abs < INFINITY && max_abs / min_abs > 1e3);
    if (min_abs == INFINITY) sci = false; /* all zeros or non-finite */
    snprintf(p->fmt, sizeof p->fmt, sci ? "%%.4e" : "%%.4f");
    p->width = 0;
    char buf[64];
    for (int64_t i = 0; i < p->n; i++) {
        int w = format_value(p, p->vals[i], buf, sizeof buf);
        if (w > p->width) p->width = w;
    }
}

/* Pass 2: writes brackets, values and "..." into b. */
static void emit(lua_State *L, luaL_Buffer *b, printer *p, int d, int64_t *next)
{
    (void)L;
    int ndim = p->t->ndim;
    int64_t pos[SUMMARY_NUMEL + 1];
    int k = shown(p, d, pos);
    char buf[64];
    luaL_addchar(b, '[');
    for (int i = 0; i < k; i++) {
        if (pos[i] < 0) {
            luaL_addstring(b, "...");
        } else if (d == ndim - 1) {
            int w = format_value(p, p->vals[(*next)++], buf, sizeof buf);
            for (; w < p->width; w++) luaL_addchar(b, ' ');
            luaL_addstring(b, buf);
        } else {
            emit(L, b, p, d + 1, next);
        }
        if (i + 1 < k) {
            luaL_addchar(b, ',');
            if (d == ndim - 1) {
                luaL_addchar(b, ' ');
            } else {
                for (int nl = 0; nl < ndim - d - 1 && nl < 2; nl++) luaL_addchar(b, '\n');
                for (int s = 0; s <= d; s++) luaL_addchar(b, ' ');
            }
        }
    }
    luaL_addchar(b, ']');
}

/* "[f32 tensor (2, 3), requires_grad, cuda" (the device always with
 * any_device, else only when not the CPU), without the closing bracket. */
static void add_description(luaL_Buffer *b, lua_State *L, const jl_tensor *t, bool any_device)
{
    lua_pushfstring(L, "[%s tensor %s", jl_dtype_name(t->dtype), jl_shape_str(t));
    luaL_addvalue(b);
    if (t->requires_grad) luaL_addstring(b, ", requires_grad");
    if (any_device || jl_device_of(t) != JL_CPU) {
        luaL_addstring(b, ", ");
        luaL_addstring(b, jl_device_name(jl_device_of(t)));
    }
}

static void add_header(luaL_Buffer *b, lua_State *L, const jl_tensor *t)
{
    add_description(b, L, t, true);
    lua_pushfstring(L, ": abbreviated, %d first and last of each dim]\n", EDGE);
    luaL_addvalue(b);
}

static void add_footer(luaL_Buffer *b, lua_State *L, const jl_tensor *t)
{
    add_description(b, L, t, false);
    luaL_addchar(b, ']');
}

int jl_lua_tostring(lua_State *L)
{
    /* the userdata holds one jl_tensor* (lua_tensor.c); NULL once closed */
    jl_tensor **slot = luaL_checkudata(L, 1, JL_TENSOR_MT);
    if (!*slot) {
        lua_pushliteral(L, "[closed tensor]");
        return 1;
    }
    jl_tensor *t = *slot;
    printer p = {.summarize = jl_numel(t) > SUMMARY_NUMEL};

    /* how many values are shown: at most (2*EDGE)^ndim when summarizing */
    int64_t cap = 1;
    for (int d = 0; d < t->ndim; d++)
        cap *= (p.summarize && t->shape[d] > 2 * EDGE) ? 2 * EDGE : t->shape[d];
    p.vals = jl_lua_scratch(L, (size_t)cap * sizeof(double));
    p.cap = cap;

    jl_tensor *host = jl_to_device(t, JL_CPU);
    if (!host) return jl_lua_raise(L);
    p.t = host;
    int64_t index[JL_MAX_DIMS] = {0};
    int rc = collect(&p, 0, index);
    if (rc < 0) {
        jl_release(host);
        return jl_lua_raise(L);
    }
    jl_release(host); /* the values are read; the layout only needs t's shape */
    p.t = t;
    choose_format(&p);

    luaL_Buffer b;
    luaL_buffinit(L, &b);
    int64_t next = 0;
    if (p.summarize) add_header(&b, L, t);
    if (t->ndim == 0) {
        char buf[64];
        format_value(&p, p.vals[0], buf, sizeof buf);
        luaL_addstring(&b, buf);
    } else {
        emit(L, &b, &p, 0, &next);
    }
    luaL_addchar(&b, '\n');
    add_footer(&b, L, t);
    luaL_pushresult(&b);
    return 1;
}
