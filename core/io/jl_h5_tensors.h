/* jl_h5_tensors.h — named tensors and scalar attributes in an HDF5 file
 * (h5_tensors.c): the generic layer under checkpoints (stdlib/jetlab/ckpt.lua).
 * Independent of the jet-data reader (jl_h5.h).
 *
 * A file holds datasets at slash paths ("/model/blocks.1.weight"; groups are
 * created as needed) of dtype f32, i32, i64 or u8 and any rank (0-d is an HDF5
 * scalar), plus string or number attributes on any group or dataset ("/" is
 * the file itself). Writing is atomic: the data goes to `path.tmp`, which is
 * flushed, fsync'ed and renamed over `path` only on commit, so a crash leaves
 * either the old file or the new one, never a torn one.
 *
 *   jl_h5t_writer *w = jl_h5t_create("best.h5");
 *   if (!w || jl_h5t_write(w, "/model/fc.weight", weight) < 0 ||
 *       jl_h5t_attr_number(w, "/", "epoch", 12) < 0 || jl_h5t_commit(w) < 0) ...
 *   jl_h5t_file *f = jl_h5t_read_all("best.h5", "checkpoint");
 *   for (int i = 0; i < f->n_datasets; i++) use(f->datasets[i].name, f->datasets[i].tensor);
 *   jl_h5t_file_free(f);
 *
 * Every error is JL_EIO (JL_EARG for a bad argument, JL_ENOMEM) with a
 * message naming the file and, where there is one, the dataset or attribute.
 */
#ifndef JL_H5_TENSORS_H
#define JL_H5_TENSORS_H

#include "jl_tensor.h"

typedef struct jl_h5t_writer jl_h5t_writer;

/* Starts writing `path` by creating `path.tmp` (replacing a stale one); returns
 * an owned writer, released by exactly one of jl_h5t_commit / jl_h5t_abort,
 * or NULL with an error. */
jl_h5t_writer *jl_h5t_create(const char *path);
/* Writes t (borrowed; any device or strides; copied to a contiguous CPU
 * buffer) as dataset `name`, a slash path (a leading '/' is optional),
 * creating the missing groups. Fails when the name is taken. */
int jl_h5t_write(jl_h5t_writer *w, const char *name, jl_tensor *t);
/* Sets attribute `key` on object `object` (a group or dataset path, "/" for
 * the file); a missing group is created. String values are stored as
 * fixed-length UTF-8 strings, numbers as 64-bit floats. */
int jl_h5t_attr_string(jl_h5t_writer *w, const char *object, const char *key, const char *value);
int jl_h5t_attr_number(jl_h5t_writer *w, const char *object, const char *key, double value);
/* Closes the file, fsyncs it, renames path.tmp to path and fsyncs the folder;
 * on failure removes path.tmp. Frees w either way. */
int jl_h5t_commit(jl_h5t_writer *w);
/* Closes and removes path.tmp; frees w (NULL allowed). */
void jl_h5t_abort(jl_h5t_writer *w);

typedef struct jl_h5t_dataset {
    char *name;        /* "/model/fc.weight" */
    jl_tensor *tensor; /* owned by the file struct; CPU, contiguous */
} jl_h5t_dataset;

typedef struct jl_h5t_attr {
    char *object; /* "/" or "/optimizer" ... */
    char *key;
    char *string;  /* the value when a string, else NULL */
    double number; /* the value when a number */
} jl_h5t_attr;

typedef struct jl_h5t_file {
    int n_datasets;
    jl_h5t_dataset *datasets; /* in HDF5 name order, depth first */
    int n_attrs;
    jl_h5t_attr *attrs; /* objects in the same order, "/" first */
} jl_h5t_file;

/* Reads every dataset and scalar attribute of `path`. Float datasets come
 * back as f32, u8 as u8, i32 as i32, other integers as i64; a dataset of any
 * other class, or a non-scalar attribute, is an error. `kind` names what the
 * file should be, for messages ("checkpoint": "cannot read x.h5: not a valid
 * HDF5 checkpoint (truncated or corrupt?)"). Returns an owned struct (free
 * with jl_h5t_file_free), or NULL with an error. */
jl_h5t_file *jl_h5t_read_all(const char *path, const char *kind);
/* Releases the tensors and frees f (NULL allowed). */
void jl_h5t_file_free(jl_h5t_file *f);

#endif
