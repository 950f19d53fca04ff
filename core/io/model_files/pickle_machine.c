/* pickle_machine.c — the opcode loop of the restricted pickle machine
 * (pickle_machine.h). Opcode values and arguments: CPython's
 * Lib/pickletools.py. */
#include <stdlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pickle_machine.h"

enum {
    OP_MARK = '(', OP_STOP = '.', OP_BININT = 'J', OP_BININT1 = 'K', OP_BININT2 = 'M', OP_NONE = 'N',
    OP_BINPERSID = 'Q', OP_REDUCE = 'R', OP_BINSTRING = 'T', OP_SHORT_BINSTRING = 'U', OP_BINUNICODE = 'X',
    OP_APPEND = 'a', OP_BUILD = 'b', OP_GLOBAL = 'c', OP_APPENDS = 'e', OP_BINGET = 'h', OP_LONG_BINGET = 'j',
    OP_BINPUT = 'q', OP_LONG_BINPUT = 'r', OP_SETITEM = 's', OP_TUPLE = 't', OP_SETITEMS = 'u',
    OP_EMPTY_DICT = '}', OP_EMPTY_LIST = ']', OP_EMPTY_TUPLE = ')', OP_BINFLOAT = 'G', OP_BINBYTES = 'B',
    OP_SHORT_BINBYTES = 'C', OP_PROTO = 0x80, OP_NEWOBJ = 0x81, OP_TUPLE1 = 0x85, OP_TUPLE2 = 0x86,
    OP_TUPLE3 = 0x87, OP_NEWTRUE = 0x88, OP_NEWFALSE = 0x89, OP_LONG1 = 0x8a, OP_SHORT_BINUNICODE = 0x8c,
    OP_BINUNICODE8 = 0x8d, OP_BINBYTES8 = 0x8e, OP_STACK_GLOBAL = 0x93, OP_MEMOIZE = 0x94, OP_FRAME = 0x95,
};

#define PK_MAX_GLOBAL_LINE 256

typedef struct {
    pk_machine *m;
    size_t pos, at;             /* read position; offset of the current opcode */
    uint8_t op;
    pk_value **stack;
    size_t depth, cap;
    size_t *marks;
    size_t n_marks, cap_marks;
    pk_value **memo;
    size_t memo_len;            /* slots allocated */
    size_t memo_count;          /* slots filled: MEMOIZE's index */
} run_state;

static const char *const kind_names[] = {
    [PK_NONE] = "None", [PK_BOOL] = "a bool", [PK_INT] = "an int", [PK_BIGINT] = "a big int",
    [PK_FLOAT] = "a float", [PK_STR] = "a str", [PK_BYTES] = "bytes", [PK_TUPLE] = "a tuple",
    [PK_LIST] = "a list", [PK_DICT] = "a dict", [PK_GLOBAL] = "a global", [PK_STORAGE] = "a storage",
    [PK_TENSOR] = "a tensor",
};

const char *pk_kind_name(pk_kind kind) { return kind_names[kind]; }

void pk_machine_init(pk_machine *m, const char *file, const char *stream, const uint8_t *data, size_t size)
{
    memset(m, 0, sizeof *m);
    m->file = file;
    m->stream = stream;
    m->data = data;
    m->size = size;
}

void pk_machine_free(pk_machine *m)
{
    mf_arena_free(&m->arena);
    free(m->storages);
    m->storages = NULL;
    m->n_storages = m->cap_storages = 0;
}

pk_value *pk_new(pk_machine *m, pk_kind kind)
{
    pk_value *v = mf_arena_alloc(&m->arena, sizeof *v);
    if (v) v->kind = kind;
    return v;
}

int pk_seq_push(pk_machine *m, pk_seq *s, pk_value *v)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 4;
        pk_value **grown = mf_arena_alloc(&m->arena, cap * sizeof *grown);
        if (!grown) return MF_NOMEM(m->file);
        if (s->n) memcpy(grown, s->items, s->n * sizeof *grown);
        s->items = grown;
        s->cap = cap;
    }
    s->items[s->n++] = v;
    return JL_OK;
}

static int fail_at(run_state *s, const char *what)
{
    return MF_FAIL(s->m->file, "%spickle opcode 0x%02x at offset %zu: %s", s->m->stream, s->op, s->at, what);
}

/* n argument bytes of the current opcode, or an error. */
static const uint8_t *take(run_state *s, uint64_t n)
{
    if (n > s->m->size - s->pos) {
        MF_FAIL(s->m->file, "%struncated pickle: opcode 0x%02x at offset %zu needs %llu more bytes, %zu are left",
                s->m->stream, s->op, s->at, (unsigned long long)n, s->m->size - s->pos);
        return NULL;
    }
    const uint8_t *p = s->m->data + s->pos;
    s->pos += (size_t)n;
    return p;
}

static int push(run_state *s, pk_value *v)
{
    if (!v) return MF_NOMEM(s->m->file);
    if (s->depth == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        pk_value **grown = realloc(s->stack, cap * sizeof *grown);
        if (!grown) return MF_NOMEM(s->m->file);
        s->stack = grown;
        s->cap = cap;
    }
    s->stack[s->depth++] = v;
    return JL_OK;
}

static pk_value *pop(run_state *s)
{
    size_t floor = s->n_marks ? s->marks[s->n_marks - 1] : 0;
    if (s->depth <= floor) {
        fail_at(s, "the stack is empty");
        return NULL;
    }
    return s->stack[--s->depth];
}

static int push_mark(run_state *s)
{
    if (s->n_marks == s->cap_marks) {
        size_t cap = s->cap_marks ? 2 * s->cap_marks : 16;
        size_t *grown = realloc(s->marks, cap * sizeof *grown);
        if (!grown) return MF_NOMEM(s->m->file);
        s->marks = grown;
        s->cap_marks = cap;
    }
    s->marks[s->n_marks++] = s->depth;
    return JL_OK;
}

/* Pops the topmost mark: the values above it are stack[*first .. depth). */
static int pop_mark(run_state *s, size_t *first)
{
    if (!s->n_marks) return fail_at(s, "no MARK to close");
    *first = s->marks[--s->n_marks];
    return JL_OK;
}

static int push_int(run_state *s, int64_t value)
{
    pk_value *v = pk_new(s->m, PK_INT);
    if (v) v->as.integer = value;
    return push(s, v);
}

static int push_string(run_state *s, pk_kind kind, uint64_t len_bytes, bool is_signed, bool check_utf8)
{
    const uint8_t *p = take(s, len_bytes);
    if (!p) return JL_EIO;
    uint64_t len = len_bytes == 1 ? p[0] : len_bytes == 4 ? mf_le32(p) : mf_le64(p);
    if (is_signed && len > INT32_MAX) return fail_at(s, "negative string length");
    const uint8_t *bytes = take(s, len);
    if (!bytes) return JL_EIO;
    if (check_utf8 && !mf_utf8_valid((const char *)bytes, (size_t)len)) return fail_at(s, "the string is not UTF-8");
    pk_value *v = pk_new(s->m, kind);
    if (!v || !(v->as.str.bytes = mf_arena_strndup(&s->m->arena, (const char *)bytes, (size_t)len)))
        return MF_NOMEM(s->m->file);
    v->as.str.len = (size_t)len;
    return push(s, v);
}

static int push_long1(run_state *s)
{
    const uint8_t *n = take(s, 1);
    const uint8_t *p = n ? take(s, *n) : NULL;
    if (!p) return JL_EIO;
    if (*n > 8) {
        pk_value *v = pk_new(s->m, PK_BIGINT);
        if (!v || !(v->as.str.bytes = mf_arena_strndup(&s->m->arena, (const char *)p, *n))) return MF_NOMEM(s->m->file);
        v->as.str.len = *n;
        return push(s, v);
    }
    uint64_t u = 0;
    for (int i = 0; i < *n; i++) u |= (uint64_t)p[i] << (8 * i);
    if (*n && *n < 8 && (p[*n - 1] & 0x80)) u |= ~(uint64_t)0 << (8 * *n);
    int64_t value;
    memcpy(&value, &u, sizeof value);
    return push_int(s, value);
}

static int push_float(run_state *s)
{
    const uint8_t *p = take(s, 8);
    if (!p) return JL_EIO;
    uint64_t u = 0;
    for (int i = 0; i < 8; i++) u = u << 8 | p[i];
    pk_value *v = pk_new(s->m, PK_FLOAT);
    if (v) memcpy(&v->as.real, &u, sizeof u);
    return push(s, v);
}

/* A tuple of the n values on top of the stack (n == SIZE_MAX: those above the mark). */
static int push_tuple(run_state *s, size_t n)
{
    size_t first = 0;
    if (n == SIZE_MAX) {
        int rc = pop_mark(s, &first);
        if (rc != JL_OK) return rc;
    } else {
        size_t floor = s->n_marks ? s->marks[s->n_marks - 1] : 0;
        if (s->depth - floor < n) return fail_at(s, "not enough values on the stack for the tuple");
        first = s->depth - n;
    }
    pk_value *t = pk_new(s->m, PK_TUPLE);
    if (!t) return MF_NOMEM(s->m->file);
    for (size_t i = first; i < s->depth; i++) {
        int rc = pk_seq_push(s->m, &t->as.seq, s->stack[i]);
        if (rc != JL_OK) return rc;
    }
    s->depth = first;
    return push(s, t);
}

static int memo_put(run_state *s, uint64_t index)
{
    if (!s->depth) return fail_at(s, "nothing on the stack to memoize");
    if (index > s->m->size) return fail_at(s, "memo index beyond any this pickle can fill");
    if (index >= s->memo_len) {
        size_t len = (size_t)index + 1 > 2 * s->memo_len ? (size_t)index + 1 : 2 * s->memo_len;
        pk_value **grown = realloc(s->memo, len * sizeof *grown);
        if (!grown) return MF_NOMEM(s->m->file);
        memset(grown + s->memo_len, 0, (len - s->memo_len) * sizeof *grown);
        s->memo = grown;
        s->memo_len = len;
    }
    if (!s->memo[index]) s->memo_count++;
    s->memo[index] = s->stack[s->depth - 1];
    return JL_OK;
}

static int memo_get(run_state *s, uint64_t index)
{
    if (index >= s->memo_len || !s->memo[index]) {
        char what[64];
        snprintf(what, sizeof what, "memo entry %llu was never stored", (unsigned long long)index);
        return fail_at(s, what);
    }
    return push(s, s->memo[index]);
}

/* SETITEM(S) and APPEND(S): the values above the mark (or the top 1-2) go
 * into the dict or list just below them. */
static int fill_container(run_state *s, pk_kind kind, bool from_mark)
{
    size_t first = 0;
    if (from_mark) {
        int rc = pop_mark(s, &first);
        if (rc != JL_OK) return rc;
    } else {
        size_t n = kind == PK_DICT ? 2 : 1, floor = s->n_marks ? s->marks[s->n_marks - 1] : 0;
        if (s->depth - floor < n) return fail_at(s, "not enough values on the stack");
        first = s->depth - n;
    }
    if (first == 0) return fail_at(s, "no container below the values");
    pk_value *target = s->stack[first - 1];
    if (target->kind != kind) {
        char what[96];
        snprintf(what, sizeof what, "the target is %s, not %s", pk_kind_name(target->kind), pk_kind_name(kind));
        return fail_at(s, what);
    }
    if (kind == PK_DICT && (s->depth - first) % 2) return fail_at(s, "a key without a value");
    for (size_t i = first; i < s->depth; i++) {
        int rc = pk_seq_push(s->m, &target->as.seq, s->stack[i]);
        if (rc != JL_OK) return rc;
    }
    s->depth = first;
    return JL_OK;
}

/* GLOBAL's argument: "module\nname\n". */
static int read_global_line(run_state *s, char *out)
{
    size_t left = s->m->size - s->pos;
    const uint8_t *p = s->m->data + s->pos;
    const uint8_t *nl = memchr(p, '\n', left < PK_MAX_GLOBAL_LINE ? left : PK_MAX_GLOBAL_LINE);
    if (!nl) return fail_at(s, "GLOBAL without a newline-terminated name");
    size_t n = (size_t)(nl - p);
    memcpy(out, p, n);
    out[n] = '\0';
    s->pos += n + 1;
    return JL_OK;
}

static int do_global(run_state *s)
{
    char module[PK_MAX_GLOBAL_LINE], name[PK_MAX_GLOBAL_LINE];
    int rc = read_global_line(s, module);
    if (rc == JL_OK) rc = read_global_line(s, name);
    pk_value *g = NULL;
    if (rc == JL_OK) rc = pk_torch_global(s->m, module, name, s->at, &g);
    return rc == JL_OK ? push(s, g) : rc;
}

static int do_stack_global(run_state *s)
{
    pk_value *name = pop(s), *module = name ? pop(s) : NULL;
    if (!module) return JL_EIO;
    if (name->kind != PK_STR || module->kind != PK_STR || strlen(name->as.str.bytes) != name->as.str.len ||
        strlen(module->as.str.bytes) != module->as.str.len)
        return fail_at(s, "STACK_GLOBAL needs two strings without NUL bytes");
    pk_value *g = NULL;
    int rc = pk_torch_global(s->m, module->as.str.bytes, name->as.str.bytes, s->at, &g);
    return rc == JL_OK ? push(s, g) : rc;
}

static int do_call(run_state *s)
{
    pk_value *args = pop(s), *callable = args ? pop(s) : NULL;
    if (!callable) return JL_EIO;
    pk_value *result = NULL;
    int rc = pk_torch_call(s->m, callable, args, s->at, &result);
    return rc == JL_OK ? push(s, result) : rc;
}

static int do_build(run_state *s)
{
    pk_value *state = pop(s);
    if (!state) return JL_EIO;
    if (!s->depth) return fail_at(s, "BUILD without an object");
    return pk_torch_build(s->m, s->stack[s->depth - 1], state, s->at);
}

static int do_persistent_load(run_state *s)
{
    pk_value *pid = pop(s);
    if (!pid) return JL_EIO;
    pk_value *storage = NULL;
    int rc = pk_torch_persistent_load(s->m, pid, s->at, &storage);
    return rc == JL_OK ? push(s, storage) : rc;
}

static int read_uint(run_state *s, int bytes, uint64_t *value)
{
    const uint8_t *p = take(s, (uint64_t)bytes);
    if (!p) return JL_EIO;
    *value = bytes == 1 ? p[0] : bytes == 2 ? mf_le16(p) : bytes == 4 ? mf_le32(p) : mf_le64(p);
    return JL_OK;
}

/* One opcode; *stop set by STOP. */
static int step(run_state *s, bool *stop)
{
    uint64_t u = 0;
    int rc;
    switch (s->op) {
    case OP_PROTO:
        if ((rc = read_uint(s, 1, &u)) != JL_OK) return rc;
        return u >= 2 && u <= 5 ? JL_OK : fail_at(s, "pickle protocol outside 2..5");
    case OP_FRAME: return read_uint(s, 8, &u);
    case OP_STOP: *stop = true; return JL_OK;
    case OP_MARK: return push_mark(s);
    case OP_EMPTY_DICT: return push(s, pk_new(s->m, PK_DICT));
    case OP_EMPTY_LIST: return push(s, pk_new(s->m, PK_LIST));
    case OP_EMPTY_TUPLE: return push(s, pk_new(s->m, PK_TUPLE));
    case OP_TUPLE: return push_tuple(s, SIZE_MAX);
    case OP_TUPLE1: return push_tuple(s, 1);
    case OP_TUPLE2: return push_tuple(s, 2);
    case OP_TUPLE3: return push_tuple(s, 3);
    case OP_BININT1: return read_uint(s, 1, &u) == JL_OK ? push_int(s, (int64_t)u) : JL_EIO;
    case OP_BININT2: return read_uint(s, 2, &u) == JL_OK ? push_int(s, (int64_t)u) : JL_EIO;
    case OP_BININT: return read_uint(s, 4, &u) == JL_OK ? push_int(s, (int32_t)(uint32_t)u) : JL_EIO;
    case OP_LONG1: return push_long1(s);
    case OP_BINFLOAT: return push_float(s);
    case OP_SHORT_BINUNICODE: return push_string(s, PK_STR, 1, false, true);
    case OP_BINUNICODE: return push_string(s, PK_STR, 4, false, true);
    case OP_BINUNICODE8: return push_string(s, PK_STR, 8, false, true);
    case OP_SHORT_BINSTRING: return push_string(s, PK_STR, 1, false, false);
    case OP_BINSTRING: return push_string(s, PK_STR, 4, true, false);
    case OP_SHORT_BINBYTES: return push_string(s, PK_BYTES, 1, false, false);
    case OP_BINBYTES: return push_string(s, PK_BYTES, 4, false, false);
    case OP_BINBYTES8: return push_string(s, PK_BYTES, 8, false, false);
    case OP_NONE: return push(s, pk_new(s->m, PK_NONE));
    case OP_NEWTRUE:
    case OP_NEWFALSE: {
        pk_value *v = pk_new(s->m, PK_BOOL);
        if (v) v->as.boolean = s->op == OP_NEWTRUE;
        return push(s, v);
    }
    case OP_BINPUT: return read_uint(s, 1, &u) == JL_OK ? memo_put(s, u) : JL_EIO;
    case OP_LONG_BINPUT: return read_uint(s, 4, &u) == JL_OK ? memo_put(s, u) : JL_EIO;
    case OP_MEMOIZE: return memo_put(s, s->memo_count);
    case OP_BINGET: return read_uint(s, 1, &u) == JL_OK ? memo_get(s, u) : JL_EIO;
    case OP_LONG_BINGET: return read_uint(s, 4, &u) == JL_OK ? memo_get(s, u) : JL_EIO;
    case OP_SETITEM: return fill_container(s, PK_DICT, false);
    case OP_SETITEMS: return fill_container(s, PK_DICT, true);
    case OP_APPEND: return fill_container(s, PK_LIST, false);
    case OP_APPENDS: return fill_container(s, PK_LIST, true);
    case OP_GLOBAL: return do_global(s);
    case OP_STACK_GLOBAL: return do_stack_global(s);
    case OP_REDUCE:
    case OP_NEWOBJ: return do_call(s);
    case OP_BUILD: return do_build(s);
    case OP_BINPERSID: return do_persistent_load(s);
    default: return fail_at(s, "unknown or not allowed in a state_dict");
    }
}

int pk_machine_run(pk_machine *m, size_t start, size_t *end, pk_value **result)
{
    run_state s = {.m = m, .pos = start};
    int rc = JL_OK;
    bool stop = false;
    while (rc == JL_OK && !stop) {
        if (s.pos >= m->size) {
            rc = MF_FAIL(m->file, "%struncated pickle: it ends at offset %zu without STOP", m->stream, s.pos);
            break;
        }
        s.at = s.pos;
        s.op = m->data[s.pos++];
        rc = step(&s, &stop);
    }
    if (rc == JL_OK) {
        pk_value *top = pop(&s);
        if (!top) rc = JL_EIO;
        *result = top;
        *end = s.pos;
    }
    free(s.stack);
    free(s.marks);
    free(s.memo);
    return rc;
}
