/* json_tree.h — a small strict JSON parser (RFC 8259) for safetensors
 * headers: the whole text must be one value, strings must be UTF-8 without
 * raw control characters, nesting is at most JS_MAX_DEPTH deep. Numbers keep
 * only whether they are integers that fit int64 (and that value): a header
 * needs nothing else. The tree lives in the caller's arena. */
#ifndef JL_MODEL_FILES_JSON_TREE_H
#define JL_MODEL_FILES_JSON_TREE_H

#include "model_files_internal.h"

#define JS_MAX_DEPTH 64

typedef enum { JS_NULL, JS_BOOL, JS_NUMBER, JS_STRING, JS_ARRAY, JS_OBJECT } js_kind;

typedef struct js_value js_value;

typedef struct {
    const char *key;        /* decoded, NUL-terminated */
    size_t key_len;
    js_value *value;
} js_member;

struct js_value {
    js_kind kind;
    bool boolean;
    bool is_int64;          /* JS_NUMBER: an integer within int64 */
    int64_t integer;
    const char *str;        /* JS_STRING: decoded, NUL-terminated */
    size_t len;
    js_value **items;       /* JS_ARRAY */
    js_member *members;     /* JS_OBJECT, in the text's order */
    size_t n, cap;          /* items or members */
};

/* Parses text[0..len); messages say "<file>: <what>: ... at byte N". */
int js_parse(const char *text, size_t len, mf_arena *arena, const char *file, const char *what, js_value **out);
/* The member `key` of an object, or NULL. */
const js_value *js_get(const js_value *object, const char *key);
const char *js_kind_name(js_kind kind);

#endif
