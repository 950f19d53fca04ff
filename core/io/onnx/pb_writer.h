/* pb_writer.h — the protobuf wire format, written into a growing byte buffer
 * (internal to core/io/onnx). Only what ONNX's messages need: varints, 32-bit
 * floats, length-delimited bytes and nested messages.
 *
 *   pb_buf b = {0};
 *   size_t at = pb_begin(&b, 7);        // field 7, a nested message
 *   pb_string(&b, 2, "graph");           //   its field 2
 *   pb_end(&b, at);                      // the length goes in front of it
 *   if (b.failed) ...                    // an allocation failed somewhere
 *   free(b.bytes);
 *
 * Ownership: the buffer owns b.bytes (malloc'd); the caller frees it. After a
 * failed allocation every call is a no-op and b.failed stays true. */
#ifndef JL_PB_WRITER_H
#define JL_PB_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t *bytes;
    size_t len, cap;
    bool failed;
} pb_buf;

/* Field `field` as a varint (wire type 0): int32, int64 and enum fields. */
void pb_int(pb_buf *b, int field, int64_t value);
/* Field `field` as a 32-bit little-endian float (wire type 5). */
void pb_float(pb_buf *b, int field, float value);
/* Field `field` as length-delimited bytes (wire type 2). */
void pb_bytes(pb_buf *b, int field, const void *data, size_t n);
/* A NUL-terminated string as pb_bytes; NULL writes nothing. */
void pb_string(pb_buf *b, int field, const char *s);
/* Starts a nested message of field `field`; returns where its body begins. */
size_t pb_begin(pb_buf *b, int field);
/* Ends the message begun at `start`: its length is put in front of its body. */
void pb_end(pb_buf *b, size_t start);

#endif
