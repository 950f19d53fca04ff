/* utf8.c — strict UTF-8 validation (RFC 3629) for JSON strings and names. */
#include "model_files_internal.h"

bool mf_utf8_valid(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        int extra;
        unsigned cp, min;
        if ((c & 0xe0) == 0xc0) extra = 1, cp = c & 0x1f, min = 0x80;
        else if ((c & 0xf0) == 0xe0) extra = 2, cp = c & 0x0f, min = 0x800;
        else if ((c & 0xf8) == 0xf0) extra = 3, cp = c & 0x07, min = 0x10000;
        else return false;
        if (len - i <= (size_t)extra) return false;
        for (int k = 1; k <= extra; k++) {
            if ((s[i + k] & 0xc0) != 0x80) return false;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
        i += (size_t)extra + 1;
    }
    return true;
}
