/* zip_stored.c — see zip_stored.h. Record layouts: PKWARE APPNOTE 6.3
 * (4.3.7 local header, 4.3.12 central header, 4.3.14-16 zip64 and end records). */
#include <stdlib.h>
#include <string.h>

#include "zip_stored.h"

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_END 0x06054b50u
#define SIG_END64 0x06064b50u
#define SIG_END64_LOCATOR 0x07064b50u
#define LOCAL_SIZE 30
#define CENTRAL_SIZE 46
#define END_SIZE 22
#define END64_SIZE 56
#define END64_LOCATOR_SIZE 20
#define SATURATED32 0xffffffffu

typedef struct {
    uint64_t entries, dir_size, dir_offset;
} central_directory;

static void crc32_table(uint32_t table[256])
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
        table[i] = c;
    }
}

static uint32_t crc32_of(const uint32_t table[256], const uint8_t *p, uint64_t n)
{
    uint32_t c = 0xffffffffu;
    for (uint64_t i = 0; i < n; i++) c = table[(c ^ p[i]) & 0xff] ^ (c >> 8);
    return c ^ 0xffffffffu;
}

/* The end-of-central-directory record (and its zip64 form when present). */
static int find_central_directory(const uint8_t *data, size_t size, const char *file, central_directory *cd)
{
    if (size < END_SIZE)
        return MF_FAIL(file, "truncated zip: %zu bytes cannot hold the end-of-central-directory record", size);
    size_t lowest = size - END_SIZE > 0xffff ? size - END_SIZE - 0xffff : 0;
    size_t end = size - END_SIZE;
    while (mf_le32(data + end) != SIG_END || (size_t)END_SIZE + mf_le16(data + end + 20) > size - end) {
        if (end == lowest)
            return MF_FAIL(file, "truncated zip: no end-of-central-directory record in the last %zu bytes",
                           size - lowest);
        end--;
    }
    cd->entries = mf_le16(data + end + 10);
    cd->dir_size = mf_le32(data + end + 12);
    cd->dir_offset = mf_le32(data + end + 16);
    size_t dir_limit = end;
    if (end >= END64_LOCATOR_SIZE && mf_le32(data + end - END64_LOCATOR_SIZE) == SIG_END64_LOCATOR) {
        uint64_t at = mf_le64(data + end - END64_LOCATOR_SIZE + 8);
        if (at > end - END64_LOCATOR_SIZE || end - END64_LOCATOR_SIZE - at < END64_SIZE ||
            mf_le32(data + at) != SIG_END64)
            return MF_FAIL(file, "truncated zip: the zip64 end record at offset %llu is missing or cut short",
                           (unsigned long long)at);
        cd->entries = mf_le64(data + at + 32);
        cd->dir_size = mf_le64(data + at + 40);
        cd->dir_offset = mf_le64(data + at + 48);
        dir_limit = (size_t)at;
    }
    if (cd->dir_offset > dir_limit || cd->dir_size > dir_limit - cd->dir_offset)
        return MF_FAIL(file, "truncated zip: the central directory (%llu bytes at offset %llu) runs past its end record",
                       (unsigned long long)cd->dir_size, (unsigned long long)cd->dir_offset);
    if (cd->entries > cd->dir_size / CENTRAL_SIZE)
        return MF_FAIL(file, "corrupt zip: %llu entries cannot fit in a central directory of %llu bytes",
                       (unsigned long long)cd->entries, (unsigned long long)cd->dir_size);
    return JL_OK;
}

/* Replaces the saturated 32-bit sizes and offset by the zip64 extra field's. */
static int apply_zip64_extra(const uint8_t *extra, size_t len, uint64_t *usize, uint64_t *csize, uint64_t *offset,
                             const char *file, const char *entry)
{
    while (len >= 4) {
        uint16_t id = mf_le16(extra), n = mf_le16(extra + 2);
        if ((size_t)n > len - 4) break;
        if (id == 1) {
            const uint8_t *p = extra + 4, *stop = p + n;
            uint64_t *fields[3] = {usize, csize, offset};
            for (int i = 0; i < 3; i++) {
                if (*fields[i] != SATURATED32) continue;
                if (stop - p < 8) return MF_FAIL(file, "corrupt zip: the zip64 extra field of '%s' is too short", entry);
                *fields[i] = mf_le64(p);
                p += 8;
            }
            return JL_OK;
        }
        extra += 4 + (size_t)n;
        len -= 4 + (size_t)n;
    }
    return JL_OK;
}

/* Reads central directory entry `index` at data[*at], advancing *at. */
static int read_entry(mf_zip *z, const uint8_t *data, const central_directory *cd, size_t *at, size_t index,
                      const uint32_t crc_table[256])
{
    const char *file = z->file;
    size_t dir_end = (size_t)(cd->dir_offset + cd->dir_size);
    const uint8_t *c = data + *at;
    if (dir_end - *at < CENTRAL_SIZE || mf_le32(c) != SIG_CENTRAL)
        return MF_FAIL(file, "truncated zip: central directory entry %zu of %llu is missing or cut short", index + 1,
                       (unsigned long long)cd->entries);
    size_t name_len = mf_le16(c + 28), extra_len = mf_le16(c + 30), comment_len = mf_le16(c + 32);
    if (dir_end - *at - CENTRAL_SIZE < name_len + extra_len + comment_len)
        return MF_FAIL(file, "truncated zip: central directory entry %zu runs past the directory", index + 1);
    char *name = mf_arena_strndup(&z->arena, (const char *)c + CENTRAL_SIZE, name_len);
    if (!name) return MF_NOMEM(file);
    uint16_t flags = mf_le16(c + 8), method = mf_le16(c + 10);
    uint32_t crc = mf_le32(c + 16);
    uint64_t csize = mf_le32(c + 20), usize = mf_le32(c + 24), offset = mf_le32(c + 42);
    int rc = apply_zip64_extra(c + CENTRAL_SIZE + name_len, extra_len, &usize, &csize, &offset, file, name);
    if (rc != JL_OK) return rc;
    if (flags & 1) return MF_FAIL(file, "zip entry '%s' is encrypted", name);
    if (method != 0)
        return MF_FAIL(file, "zip entry '%s' is compressed (method %u); only stored entries are read (torch.save "
                       "writes them uncompressed: was the file re-zipped?)", name, method);
    if (csize != usize)
        return MF_FAIL(file, "zip entry '%s' is stored but its sizes differ (%llu and %llu)", name,
                       (unsigned long long)csize, (unsigned long long)usize);
    if (offset > cd->dir_offset || cd->dir_offset - offset < LOCAL_SIZE || mf_le32(data + offset) != SIG_LOCAL)
        return MF_FAIL(file, "truncated zip: the local header of '%s' at offset %llu is missing", name,
                       (unsigned long long)offset);
    const uint8_t *local = data + offset;
    uint64_t start = offset + LOCAL_SIZE + mf_le16(local + 26) + mf_le16(local + 28);
    if (start > cd->dir_offset || usize > cd->dir_offset - start)
        return MF_FAIL(file, "truncated zip: the data of '%s' (%llu bytes at offset %llu) runs past the end",
                       name, (unsigned long long)usize, (unsigned long long)start);
    if (mf_le16(local + 26) != name_len || memcmp(local + LOCAL_SIZE, name, name_len) != 0)
        return MF_FAIL(file, "corrupt zip: the local header at offset %llu does not name '%s'",
                       (unsigned long long)offset, name);
    if (crc32_of(crc_table, data + start, usize) != crc)
        return MF_FAIL(file, "corrupt zip: the CRC-32 of '%s' does not match its data", name);
    z->entries[index] = (mf_zip_entry){.name = name, .data = data + start, .size = usize};
    *at += CENTRAL_SIZE + name_len + extra_len + comment_len;
    return JL_OK;
}

static int compare_entries(const void *a, const void *b)
{
    return strcmp(((const mf_zip_entry *)a)->name, ((const mf_zip_entry *)b)->name);
}

int mf_zip_open(mf_zip *z, const uint8_t *data, size_t size, const char *display_name)
{
    memset(z, 0, sizeof *z);
    z->file = display_name;
    central_directory cd = {0};
    int rc = find_central_directory(data, size, display_name, &cd);
    if (rc != JL_OK) return rc;
    z->entries = mf_arena_alloc(&z->arena, (size_t)cd.entries * sizeof *z->entries);
    if (!z->entries) return MF_NOMEM(display_name);
    uint32_t crc_table[256];
    crc32_table(crc_table);
    size_t at = (size_t)cd.dir_offset;
    for (size_t i = 0; i < cd.entries; i++)
        if ((rc = read_entry(z, data, &cd, &at, i, crc_table)) != JL_OK) return rc;
    z->n_entries = (size_t)cd.entries;
    if (z->n_entries > 1) qsort(z->entries, z->n_entries, sizeof *z->entries, compare_entries);
    for (size_t i = 1; i < z->n_entries; i++)
        if (strcmp(z->entries[i - 1].name, z->entries[i].name) == 0)
            return MF_FAIL(display_name, "corrupt zip: two entries are named '%s'", z->entries[i].name);
    return JL_OK;
}

const mf_zip_entry *mf_zip_find(const mf_zip *z, const char *name)
{
    mf_zip_entry key = {.name = name};
    return z->n_entries ? bsearch(&key, z->entries, z->n_entries, sizeof key, compare_entries) : NULL;
}

void mf_zip_close(mf_zip *z)
{
    mf_arena_free(&z->arena);
    z->entries = NULL;
    z->n_entries = 0;
}
