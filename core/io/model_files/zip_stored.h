/* zip_stored.h — a reader of zip archives whose entries are stored
 * (uncompressed), as torch.save writes them: the central directory (zip64
 * included) checked against the file, every entry's local header and data
 * range checked, every entry's CRC-32 verified. Compressed or encrypted
 * entries are refused by name. The archive borrows the caller's bytes. */
#ifndef JL_MODEL_FILES_ZIP_STORED_H
#define JL_MODEL_FILES_ZIP_STORED_H

#include "model_files_internal.h"

typedef struct {
    const char *name;       /* NUL-terminated (arena) */
    const uint8_t *data;    /* into the archive's bytes */
    uint64_t size;
} mf_zip_entry;

typedef struct {
    const char *file;       /* display name, for messages */
    mf_zip_entry *entries;  /* sorted by name (arena) */
    size_t n_entries;
    mf_arena arena;
} mf_zip;

/* Opens the archive in data[0..size); *z is ready for mf_zip_close either way. */
int mf_zip_open(mf_zip *z, const uint8_t *data, size_t size, const char *display_name);
/* The entry named exactly `name`, or NULL. */
const mf_zip_entry *mf_zip_find(const mf_zip *z, const char *name);
void mf_zip_close(mf_zip *z);

#endif
