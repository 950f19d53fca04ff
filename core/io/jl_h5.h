/* jl_h5.h — jets in HDF5 (DESIGN.md, Data): the ATLAS Top Tagging layout
 * (read and write) and the Top Quark Tagging Reference Dataset (a PyTables
 * table; read only), both turned into one in-memory form, jl_h5_jets.
 *
 *   jl_h5_reader *r = jl_h5_open("train.h5", 80);     // sniffs the layout
 *   if (!r) { fprintf(stderr, "%s\n", jl_last_error()); return; }
 *   for (int64_t s = 0; s < jl_h5_count(r); s += 1024) {
 *       jl_h5_jets j;
 *       int64_t n = jl_h5_count(r) - s < 1024 ? jl_h5_count(r) - s : 1024;
 *       if (jl_h5_read(r, s, n, &j) != JL_OK) break;
 *       ... j.pt (n, C) ...
 *       jl_h5_jets_free(&j);
 *   }
 *   jl_h5_close(r);
 *
 *   jl_h5_writer *w = jl_h5_writer_open("gen.h5");      // many batches
 *   jl_h5_writer_write(w, &batch); ...
 *   jl_h5_writer_close(w);                             // renames into place
 *
 * In memory every energy and momentum is in GeV; ATLAS files hold MeV (those
 * jetlab writes too, to stay in the ATLAS layout), PyTables files GeV.
 * Constituents of each jet come sorted by decreasing pT, padding (pt == 0, and
 * then eta, phi and E are 0 too) at the end. Any integer or float dtype on
 * disk is accepted and converted. Failures return NULL or a status with the
 * message in jl_last_error(): JL_EIO for the file's problems (missing file or
 * dataset, wrong rank, inconsistent lengths, unavailable filter), naming the
 * file and the dataset; JL_EARG for the caller's (a range outside the file,
 * a batch of the wrong shape). HDF5's own error printing is silenced.
 *
 * Corrupt files: sniffing and opening (which reads the first chunk of every
 * dataset) run their HDF5 calls in a forked child first, and so does every
 * read with JETLAB_H5_ISOLATION=2 (jl_h5_guard.h), so a crash, runaway
 * allocation or hang inside HDF5 is a JL_EIO error naming the file and the
 * dataset ("jets.h5: HDF5 crashed (SIGSEGV) while reading dataset
 * \"fjet_clus_pt\" ...: the file is corrupt") and this process, its tensors
 * and its HDF5 state are untouched. Writing is not guarded (jetlab's own
 * data).
 *
 * Files in the ATLAS layout (flat root; N jets, C constituent columns):
 *   fjet_clus_pt, fjet_clus_eta, fjet_clus_phi, fjet_clus_E   (N, C)
 *   fjet_pt, fjet_eta, fjet_phi, fjet_m, labels               (N)
 *   weights (2022 release) or training_weights (2024), optional (N)
 * jetlab writes C = 200, float32 everywhere except labels, int32 (1 top or
 * signal, 0 background; the released files' label dtype is not documented, and
 * the reader accepts any), chunks of 1024 jets, shuffle + gzip level 1.
 *
 * PyTables layout: dataset /table/table of compound rows with fields
 * values_block_0 float[4 (C + 1)] = E,PX,PY,PZ of C constituents then of the
 * truth particle, and values_block_1 int[2] = [ttv, is_signal_new]. The
 * reader computes pt, eta (pseudorapidity), phi (in (-pi, pi], as in the ATLAS
 * files) and E of each constituent and the jet-level pt, eta, phi, m from the
 * sum of all the constituents' 4-vectors (not only the first max_constituents);
 * labels = is_signal_new, weights all 1.
 *
 * Thread safety: readers and writers are not shared between threads; distinct
 * ones may be used from different threads when HDF5 is built thread-safe
 * (Debian's is), e.g. a prefetch thread reading while the trainer computes.
 */
#ifndef JL_H5_H
#define JL_H5_H

#include <stdint.h>

#include "jl_tensor.h"

/* Constituent columns of the files jetlab writes. */
#define JL_H5_ATLAS_COLUMNS 200

typedef enum { JL_H5_UNKNOWN = 0, JL_H5_ATLAS, JL_H5_PYTABLES } jl_h5_format;

/* A batch of n jets with c constituent columns, all CPU, contiguous, owned
 * (+1 each); free with jl_h5_jets_free. For writing, weights may be NULL
 * (all 1) and the tensors may have any dtype and device. */
typedef struct jl_h5_jets {
    int64_t n, c;
    jl_tensor *pt, *eta, *phi, *E;                 /* (n, c) f32, GeV */
    jl_tensor *jet_pt, *jet_eta, *jet_phi, *jet_m; /* (n) f32, GeV */
    jl_tensor *labels;                             /* (n) i64 */
    jl_tensor *weights;                            /* (n) f32 */
} jl_h5_jets;

/* Releases every tensor of j and sets them to NULL (idempotent). */
void jl_h5_jets_free(jl_h5_jets *j);

/* "atlas", "pytables", "unknown". */
const char *jl_h5_format_name(jl_h5_format f);

/* Which layout the file at path has, from its dataset names only (the full
 * checks happen in jl_h5_open). JL_H5_UNKNOWN sets jl_last_error (JL_EIO) to
 * the reason: not readable as HDF5, or which datasets or fields are missing. */
jl_h5_format jl_h5_sniff(const char *path);

/* --- reading -------------------------------------------------------------- */
typedef struct jl_h5_reader jl_h5_reader;

/* Opens a jets file of either layout and checks it (datasets present, ranks,
 * dtypes, lengths, filters available); reads will return
 * min(max_constituents, C on disk) columns (max_constituents >= 1).
 * Returns an owned reader (close with jl_h5_close) or NULL. */
jl_h5_reader *jl_h5_open(const char *path, int64_t max_constituents);
/* The same for one layout, without sniffing. */
jl_h5_reader *jl_h5_atlas_open(const char *path, int64_t max_constituents);
jl_h5_reader *jl_h5_pytables_open(const char *path, int64_t max_constituents);
/* Closes the file and frees r (NULL allowed). */
void jl_h5_close(jl_h5_reader *r);

/* Jets in the file. */
int64_t jl_h5_count(const jl_h5_reader *r);
/* Constituent columns a read returns, and columns on disk. */
int64_t jl_h5_columns(const jl_h5_reader *r);
int64_t jl_h5_columns_on_disk(const jl_h5_reader *r);
jl_h5_format jl_h5_format_of(const jl_h5_reader *r);
/* "weights", "training_weights", or NULL when the file has none (weights
 * read as 1). Borrowed, static. */
const char *jl_h5_weights_name(const jl_h5_reader *r);
/* The path the reader was opened with. Borrowed from r. */
const char *jl_h5_path(const jl_h5_reader *r);
/* Rows per HDF5 chunk of the constituent dataset (fjet_clus_pt or
 * /table/table), 0 when it is not chunked. */
int64_t jl_h5_chunk_rows(const jl_h5_reader *r);

/* Reads jets [start, start + count) into *out (overwritten; owned by the
 * caller, free with jl_h5_jets_free; left all NULL on failure). The range
 * must lie inside the file (JL_EARG otherwise). */
int jl_h5_read(jl_h5_reader *r, int64_t start, int64_t count, jl_h5_jets *out);

/* --- writing (ATLAS layout) ----------------------------------------------- */
typedef struct jl_h5_writer jl_h5_writer;

/* Starts a new ATLAS-layout file at path: batches go to a temporary file
 * beside it ("<path>.tmp-<pid>"), renamed over path by jl_h5_writer_close, so
 * a crash never leaves a half-written file at path. Returns an owned writer
 * (end with jl_h5_writer_close or jl_h5_writer_discard) or NULL. */
jl_h5_writer *jl_h5_writer_open(const char *path);
/* Appends a batch: pt/eta/phi/E (n, c) with c <= 200 (padded to 200 with
 * zeros), jet-level (n), labels (n) of any dtype, weights (n) or NULL; the
 * shapes come from the tensors (batch->n and ->c are not read). Values in
 * GeV, stored in MeV; each jet's constituents are sorted by decreasing pT on
 * the way (the batch itself is not changed). After a JL_EIO failure the file
 * may hold part of the batch: discard the writer. */
int jl_h5_writer_write(jl_h5_writer *w, const jl_h5_jets *batch);
/* Jets written so far. */
int64_t jl_h5_writer_count(const jl_h5_writer *w);
/* Flushes, closes and renames the file into place; frees w whatever happens
 * (on failure the temporary file is removed). */
int jl_h5_writer_close(jl_h5_writer *w);
/* Closes and removes the temporary file, leaving path untouched; frees w
 * (NULL allowed). */
void jl_h5_writer_discard(jl_h5_writer *w);

/* One-shot: a writer, one batch, close. */
int jl_h5_atlas_write(const char *path, const jl_h5_jets *jets);

#endif
