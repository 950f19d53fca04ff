/* lib_internal.h — what the files of libjetlab share (bindings/lib; the public
 * API is jetlab.h):
 *   error.c        the calling thread's last error (jetlab_last_error)
 *   stdlib_path.c  where the library finds jetlab's Lua stdlib
 *   jet_arrays.c   the caller's jets checked and copied into (N, W) tensors
 *   lua_scorer.c   a Lua state holding a checkpoint's scorer (jetlab.embedded)
 *   model.c        jetlab_model: open, score under the model's mutex, close
 */
#ifndef JETLAB_LIB_INTERNAL_H
#define JETLAB_LIB_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <lua.h>

#include "jetlab.h"
#include "jl_tensor.h"

/* Sets the calling thread's message (printf format) and returns status. */
jetlab_status jlib_fail(jetlab_status status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Clears the calling thread's message. */
void jlib_clear_error(void);

/* The stdlib folder (see jetlab.h, Files), chosen once per process. */
const char *jlib_stdlib_dir(void);

/* A batch of jets as four contiguous (n, width) f32 CPU tensors, owned. */
typedef struct jlib_jets {
    jl_tensor *pt, *eta, *phi, *E;
} jlib_jets;

/* The caller's jets checked (jetlab.h, Jets) and copied into out, each jet cut
 * or padded to width columns (width <= 0: the widest jet, at least 1).
 * Returns JETLAB_OK or an error status with the message set. */
jetlab_status jlib_jets_from_lists(int64_t n, const int64_t *offsets, const float *pt, const float *eta,
                                   const float *phi, const float *E, int64_t width, jlib_jets *out);
jetlab_status jlib_jets_from_padded(int64_t n, int64_t columns, const float *pt, const float *eta,
                                    const float *phi, const float *E, int64_t width, jlib_jets *out);
/* Releases the tensors of jets (idempotent). */
void jlib_jets_release(jlib_jets *jets);

/* A Lua state with the stdlib and the scorer of one checkpoint. */
typedef struct jlib_scorer {
    lua_State *L;
    int64_t width;       /* the columns the model reads; 0: every column given */
    char *describe;      /* predict.describe(spec.inputs), owned */
} jlib_scorer;

/* Opens path's scorer into out; JETLAB_OK or an error status with the message set. */
jetlab_status jlib_scorer_open(const char *path, jlib_scorer *out);
/* Scores jets (n of them) into scores; the state's temporaries are collected before it returns. */
jetlab_status jlib_scorer_run(jlib_scorer *s, const jlib_jets *jets, int64_t n, float *scores);
void jlib_scorer_close(jlib_scorer *s);

#endif
