/* json_tree.c — see json_tree.h. Recursive descent, depth-limited. */
#include <string.h>

#include "json_tree.h"

typedef struct {
    const char *text;
    size_t len, pos;
    int depth;
    mf_arena *arena;
    const char *file, *what;
} parser;

static int fail(parser *p, const char *why)
{
    return MF_FAIL(p->file, "%s: %s at byte %zu", p->what, why, p->pos);
}

static void skip_space(parser *p)
{
    while (p->pos < p->len && strchr(" \t\r\n", p->text[p->pos]) && p->text[p->pos]) p->pos++;
}

static bool literal(parser *p, const char *word)
{
    size_t n = strlen(word);
    if (p->len - p->pos < n || memcmp(p->text + p->pos, word, n) != 0) return false;
    p->pos += n;
    return true;
}

static int hex4(parser *p, unsigned *out)
{
    if (p->len - p->pos < 4) return fail(p, "a \\u escape cut short");
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p->text[p->pos++];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0) return fail(p, "a \\u escape with a non-hex digit");
        v = v << 4 | (unsigned)d;
    }
    *out = v;
    return JL_OK;
}

static size_t put_utf8(char *out, unsigned cp)
{
    if (cp < 0x80) return out[0] = (char)cp, 1;
    if (cp < 0x800) return out[0] = (char)(0xc0 | cp >> 6), out[1] = (char)(0x80 | (cp & 0x3f)), 2;
    if (cp < 0x10000)
        return out[0] = (char)(0xe0 | cp >> 12), out[1] = (char)(0x80 | (cp >> 6 & 0x3f)),
               out[2] = (char)(0x80 | (cp & 0x3f)), 3;
    return out[0] = (char)(0xf0 | cp >> 18), out[1] = (char)(0x80 | (cp >> 12 & 0x3f)),
           out[2] = (char)(0x80 | (cp >> 6 & 0x3f)), out[3] = (char)(0x80 | (cp & 0x3f)), 4;
}

static int escape(parser *p, char *out, size_t *n)
{
    if (p->pos >= p->len) return fail(p, "a string cut short");
    char c = p->text[p->pos++];
    const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
    const char *hit = c ? strchr(from, c) : NULL;
    if (hit) {
        out[(*n)++] = to[hit - from];
        return JL_OK;
    }
    if (c != 'u') return fail(p, "an unknown escape");
    unsigned cp, low;
    int rc = hex4(p, &cp);
    if (rc != JL_OK) return rc;
    if (cp >= 0xdc00 && cp <= 0xdfff) return fail(p, "a lone low surrogate");
    if (cp >= 0xd800 && cp <= 0xdbff) {
        if (!literal(p, "\\u")) return fail(p, "a high surrogate without its pair");
        if ((rc = hex4(p, &low)) != JL_OK) return rc;
        if (low < 0xdc00 || low > 0xdfff) return fail(p, "a high surrogate without its pair");
        cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
    }
    *n += put_utf8(out + *n, cp);
    return JL_OK;
}

/* A string at p->pos (after its opening quote) into *str, *len. */
static int string_body(parser *p, const char **str, size_t *len)
{
    size_t start = p->pos, end = start;
    while (end < p->len && p->text[end] != '"') end += p->text[end] == '\\' ? 2 : 1;
    if (end >= p->len) return fail(p, "a string without its closing quote");
    char *out = mf_arena_alloc(p->arena, end - start + 1);
    if (!out) return MF_NOMEM(p->file);
    size_t n = 0;
    while (p->pos < end) {
        unsigned char c = (unsigned char)p->text[p->pos];
        if (c < 0x20) return fail(p, "a control character inside a string");
        if (c == '\\') {
            p->pos++;
            int rc = escape(p, out, &n);
            if (rc != JL_OK) return rc;
        } else {
            out[n++] = (char)c;
            p->pos++;
        }
    }
    p->pos = end + 1;
    if (!mf_utf8_valid(out, n)) return fail(p, "a string that is not UTF-8");
    *str = out;
    *len = n;
    return JL_OK;
}

static int number(parser *p, js_value *v)
{
    bool negative = p->pos < p->len && p->text[p->pos] == '-';
    if (negative) p->pos++;
    size_t digits = p->pos;
    uint64_t magnitude = 0;
    bool fits = true;
    while (p->pos < p->len && p->text[p->pos] >= '0' && p->text[p->pos] <= '9') {
        unsigned d = (unsigned)(p->text[p->pos++] - '0');
        if (magnitude > (UINT64_MAX - d) / 10) fits = false;
        else magnitude = magnitude * 10 + d;
    }
    if (p->pos == digits || (p->text[digits] == '0' && p->pos - digits > 1)) return fail(p, "a malformed number");
    bool integer = true;
    if (p->pos < p->len && p->text[p->pos] == '.') {
        integer = false;
        size_t frac = ++p->pos;
        while (p->pos < p->len && p->text[p->pos] >= '0' && p->text[p->pos] <= '9') p->pos++;
        if (p->pos == frac) return fail(p, "a malformed number");
    }
    if (p->pos < p->len && (p->text[p->pos] == 'e' || p->text[p->pos] == 'E')) {
        integer = false;
        p->pos++;
        if (p->pos < p->len && (p->text[p->pos] == '+' || p->text[p->pos] == '-')) p->pos++;
        size_t exp = p->pos;
        while (p->pos < p->len && p->text[p->pos] >= '0' && p->text[p->pos] <= '9') p->pos++;
        if (p->pos == exp) return fail(p, "a malformed number");
    }
    v->kind = JS_NUMBER;
    v->is_int64 = integer && fits && magnitude <= (uint64_t)INT64_MAX + negative;
    if (v->is_int64) v->integer = negative ? (int64_t)(0 - magnitude) : (int64_t)magnitude;
    return JL_OK;
}

/* The array with room for element n (doubled in the arena when full); NULL when out of memory. */
static void *grow(parser *p, void *array, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap) return array;
    size_t next = *cap ? 2 * *cap : 8;
    void *grown = mf_arena_alloc(p->arena, next * elem);
    if (!grown) return NULL;
    if (n) memcpy(grown, array, n * elem);
    *cap = next;
    return grown;
}

static int value(parser *p, js_value **out);

static int array(parser *p, js_value *v)
{
    v->kind = JS_ARRAY;
    skip_space(p);
    if (literal(p, "]")) return JL_OK;
    for (;;) {
        js_value *item;
        int rc = value(p, &item);
        if (rc != JL_OK) return rc;
        if (!(v->items = grow(p, v->items, &v->cap, v->n, sizeof *v->items))) return MF_NOMEM(p->file);
        v->items[v->n++] = item;
        skip_space(p);
        if (literal(p, "]")) return JL_OK;
        if (!literal(p, ",")) return fail(p, "expected ',' or ']'");
    }
}

static int object(parser *p, js_value *v)
{
    v->kind = JS_OBJECT;
    skip_space(p);
    if (literal(p, "}")) return JL_OK;
    for (;;) {
        js_member m;
        skip_space(p);
        if (!literal(p, "\"")) return fail(p, "expected a string key");
        int rc = string_body(p, &m.key, &m.key_len);
        if (rc != JL_OK) return rc;
        skip_space(p);
        if (!literal(p, ":")) return fail(p, "expected ':'");
        if ((rc = value(p, &m.value)) != JL_OK) return rc;
        if (!(v->members = grow(p, v->members, &v->cap, v->n, sizeof *v->members))) return MF_NOMEM(p->file);
        v->members[v->n++] = m;
        skip_space(p);
        if (literal(p, "}")) return JL_OK;
        if (!literal(p, ",")) return fail(p, "expected ',' or '}'");
    }
}

static int value(parser *p, js_value **out)
{
    skip_space(p);
    if (p->pos >= p->len) return fail(p, "the text ends where a value should be");
    js_value *v = mf_arena_alloc(p->arena, sizeof *v);
    if (!v) return MF_NOMEM(p->file);
    *out = v;
    char c = p->text[p->pos];
    int rc = JL_OK;
    if (c == '{' || c == '[') {
        if (++p->depth > JS_MAX_DEPTH) return fail(p, "nesting deeper than 64");
        p->pos++;
        rc = c == '{' ? object(p, v) : array(p, v);
        p->depth--;
    } else if (c == '"') {
        p->pos++;
        v->kind = JS_STRING;
        rc = string_body(p, &v->str, &v->len);
    } else if (c == '-' || (c >= '0' && c <= '9')) {
        rc = number(p, v);
    } else if (literal(p, "true") || literal(p, "false")) {
        v->kind = JS_BOOL;
        v->boolean = c == 't';
    } else if (literal(p, "null")) {
        v->kind = JS_NULL;
    } else {
        rc = fail(p, "an unexpected character");
    }
    return rc;
}

int js_parse(const char *text, size_t len, mf_arena *arena, const char *file, const char *what, js_value **out)
{
    parser p = {.text = text, .len = len, .arena = arena, .file = file, .what = what};
    int rc = value(&p, out);
    if (rc != JL_OK) return rc;
    skip_space(&p);
    return p.pos == len ? JL_OK : fail(&p, "text after the JSON value");
}

const js_value *js_get(const js_value *object, const char *key)
{
    for (size_t i = 0; i < object->n; i++)
        if (strcmp(object->members[i].key, key) == 0) return object->members[i].value;
    return NULL;
}

static const char *const kind_names[] = {
    [JS_NULL] = "null", [JS_BOOL] = "a boolean", [JS_NUMBER] = "a number",
    [JS_STRING] = "a string", [JS_ARRAY] = "an array", [JS_OBJECT] = "an object",
};

const char *js_kind_name(js_kind kind) { return kind_names[kind]; }
