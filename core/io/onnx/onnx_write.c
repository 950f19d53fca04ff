/* onnx_write.c — jl_onnx_write: the encoded model written atomically (a
 * temporary file beside the target, fsynced, renamed over it). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jl_onnx.h"

/* Writes n bytes to fd, retrying short writes; 0 or -1 with errno set. */
static int write_fully(int fd, const uint8_t *bytes, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, bytes, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        bytes += w;
        n -= (size_t)w;
    }
    return 0;
}

int jl_onnx_write(const char *path, const jl_onnx_model *m)
{
    if (!path || !*path) return JL_FAIL("onnx: no output path");
    uint8_t *bytes;
    size_t len;
    int rc = jl_onnx_encode(m, &bytes, &len);
    if (rc != JL_OK) return rc;
    size_t cap = strlen(path) + 32;
    char *temp = malloc(cap);
    if (!temp) {
        free(bytes);
        return JL_FAIL_CODE(JL_ENOMEM, "onnx: out of memory");
    }
    snprintf(temp, cap, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) {
        rc = JL_FAIL_CODE(JL_EIO, "%s: cannot create a temporary file beside it: %s", path, strerror(errno));
    } else {
        int failed = write_fully(fd, bytes, len) != 0 || fsync(fd) != 0;
        int saved = errno;
        if (close(fd) != 0 && !failed) failed = 1, saved = errno;
        if (!failed && rename(temp, path) != 0) failed = 1, saved = errno;
        if (failed) {
            unlink(temp);
            rc = JL_FAIL_CODE(JL_EIO, "%s: cannot write: %s", path, strerror(saved));
        }
    }
    free(temp);
    free(bytes);
    return rc;
}
