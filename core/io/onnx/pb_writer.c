/* pb_writer.c — protobuf wire primitives into a growing buffer (pb_writer.h). */
#include "pb_writer.h"

#include <stdlib.h>
#include <string.h>

enum { WIRE_VARINT = 0, WIRE_LEN = 2, WIRE_I32 = 5 };

/* Room for n more bytes; false (and b->failed) when it cannot grow. */
static bool reserve(pb_buf *b, size_t n)
{
    if (b->failed) return false;
    if (b->len + n <= b->cap) return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n) {
        if (cap > SIZE_MAX / 2) return b->failed = true, false;
        cap *= 2;
    }
    uint8_t *p = realloc(b->bytes, cap);
    if (!p) return b->failed = true, false;
    b->bytes = p;
    b->cap = cap;
    return true;
}

/* The varint encoding of v into out (at most 10 bytes); its length. */
static size_t encode_varint(uint64_t v, uint8_t out[10])
{
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

static void append(pb_buf *b, const void *data, size_t n)
{
    if (n == 0 || !reserve(b, n)) return;
    memcpy(b->bytes + b->len, data, n);
    b->len += n;
}

static void varint(pb_buf *b, uint64_t v)
{
    uint8_t tmp[10];
    append(b, tmp, encode_varint(v, tmp));
}

static void tag(pb_buf *b, int field, int wire) { varint(b, ((uint64_t)field << 3) | (uint64_t)wire); }

void pb_int(pb_buf *b, int field, int64_t value)
{
    tag(b, field, WIRE_VARINT);
    varint(b, (uint64_t)value); /* negative int64: ten bytes, as protobuf writes them */
}

void pb_float(pb_buf *b, int field, float value)
{
    uint32_t bits;
    memcpy(&bits, &value, 4);
    uint8_t le[4] = {(uint8_t)bits, (uint8_t)(bits >> 8), (uint8_t)(bits >> 16), (uint8_t)(bits >> 24)};
    tag(b, field, WIRE_I32);
    append(b, le, 4);
}

void pb_bytes(pb_buf *b, int field, const void *data, size_t n)
{
    tag(b, field, WIRE_LEN);
    varint(b, n);
    append(b, data, n);
}

void pb_string(pb_buf *b, int field, const char *s)
{
    if (s) pb_bytes(b, field, s, strlen(s));
}

size_t pb_begin(pb_buf *b, int field)
{
    tag(b, field, WIRE_LEN);
    return b->len;
}

void pb_end(pb_buf *b, size_t start)
{
    if (b->failed) return;
    uint8_t tmp[10];
    size_t n = encode_varint(b->len - start, tmp);
    if (!reserve(b, n)) return;
    memmove(b->bytes + start + n, b->bytes + start, b->len - start);
    memcpy(b->bytes + start, tmp, n);
    b->len += n;
}
