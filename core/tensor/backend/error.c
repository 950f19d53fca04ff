/* error.c — the thread-local error buffer of jl_error.h. */
#include "jl_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define JL_ERROR_CAP 1024

static _Thread_local char error_message[JL_ERROR_CAP];
static _Thread_local int error_code;

static const char *basename_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

int jl_error_set(int code, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(error_message, JL_ERROR_CAP, fmt, ap);
    va_end(ap);
    if (n < 0) n = 0;
    if (n < JL_ERROR_CAP && file)
        snprintf(error_message + n, JL_ERROR_CAP - (size_t)n, " (%s:%d)", basename_of(file), line);
    error_code = code;
    return code;
}

const char *jl_last_error(void) { return error_message; }

int jl_last_error_code(void) { return error_code; }

void jl_error_clear(void)
{
    error_message[0] = '\0';
    error_code = JL_OK;
}

int jl_error_wrap(const char *context)
{
    char previous[JL_ERROR_CAP];
    memcpy(previous, error_message, JL_ERROR_CAP);
    size_t n = strlen(context);
    if (n > JL_ERROR_CAP / 4) n = JL_ERROR_CAP / 4;
    memcpy(error_message, context, n);
    memcpy(error_message + n, ": ", 2);
    size_t room = JL_ERROR_CAP - n - 3;
    size_t keep = strnlen(previous, room);
    memcpy(error_message + n + 2, previous, keep);
    error_message[n + 2 + keep] = '\0';
    return error_code ? error_code : JL_EARG;
}
