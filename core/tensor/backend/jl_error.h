/* jl_error.h — errors are values in core (DESIGN.md rule 4).
 *
 * Every core function that can fail returns a status (JL_OK == 0, negative on
 * failure) or NULL, and leaves a message in a thread-local buffer:
 *
 *   if (a->ndim != 2) return JL_FAIL("matmul: a must be 2-D, got %s", jl_shape_str(a));
 *   ...
 *   jl_tensor *t = jl_add(a, b);
 *   if (!t) puts(jl_last_error());
 *
 * Nothing in core or kernels calls exit/abort on user input; only bindings/
 * turns the message into a Lua error.
 */
#ifndef JL_ERROR_H
#define JL_ERROR_H

#include <stddef.h>

enum {
    JL_OK = 0,
    JL_EARG = -1,    /* bad argument: shape, dtype, index, value */
    JL_ENOMEM = -2,  /* an allocation failed */
    JL_EIO = -3,     /* file or dataset problem */
    JL_EDEVICE = -4, /* op not supported on a device, or a device error */
    JL_EINTR = -5,   /* interrupted by the user */
};

/* Formats a message into the thread-local buffer, prefixed by nothing and
 * suffixed by " (file:line)"; returns `code`. Use through JL_FAIL / JL_FAIL_CODE. */
int jl_error_set(int code, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define JL_FAIL(...) jl_error_set(JL_EARG, __FILE__, __LINE__, __VA_ARGS__)
#define JL_FAIL_CODE(code, ...) jl_error_set((code), __FILE__, __LINE__, __VA_ARGS__)

/* The last message set on this thread ("" when none). Borrowed; valid until the next error. */
const char *jl_last_error(void);
/* The last status code set on this thread. */
int jl_last_error_code(void);
/* Forgets the last error. */
void jl_error_clear(void);

/* Prepends "context: " to the current message (used when an op fails inside a
 * larger one, e.g. a backward rule). Returns the current code. */
int jl_error_wrap(const char *context);

#endif
