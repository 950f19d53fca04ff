/* error.c — the calling thread's last libjetlab error (jetlab_last_error). */
#include <stdarg.h>
#include <stdio.h>

#include "lib_internal.h"

static _Thread_local char message[1024];

jetlab_status jlib_fail(jetlab_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    return status;
}

void jlib_clear_error(void) { message[0] = '\0'; }

const char *jetlab_last_error(void) { return message; }
