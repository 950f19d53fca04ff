/* jetlab.h — libjetlab: score jets with a jetlab checkpoint from C or C++.
 *
 *   #include <jetlab.h>          // pkg-config --cflags --libs jetlab
 *
 *   jetlab_model *m;
 *   if (jetlab_open("lundnet5.h5", &m) != JETLAB_OK) {
 *       fprintf(stderr, "%s\n", jetlab_last_error());
 *       return 1;
 *   }
 *   float scores[2];
 *   // two jets, 3 and 2 constituents: offsets {0, 3, 5} into the constituent arrays
 *   int64_t offsets[3] = {0, 3, 5};
 *   if (jetlab_score_jets(m, 2, offsets, pt, eta, phi, E, scores) != JETLAB_OK)
 *       fprintf(stderr, "%s\n", jetlab_last_error());
 *   jetlab_close(m);
 *
 * A checkpoint is what `jetlab train`, train.fit or `jetlab import` writes: it
 * records the model (spec.model) and how its inputs are prepared (spec.inputs:
 * ATLAS features, flat, padded or ragged, standardised; or Lund-plane graphs).
 * A score is the softmax probability of the signal class, the `score` column of
 * `jetlab predict CKPT JETS -o scores.csv --no-degrade` for the same jets: the
 * degradation a checkpoint may record is not applied, jets are scored as given.
 * A flat FCNN runs as nn.compile's inference plan; other models as in predict.
 *
 * Jets. Constituents in GeV (pt, E) with eta and phi, as float. Each jet's
 * constituents sorted by decreasing pt; in the padded form, padding entries
 * (pt = eta = phi = E = 0) come after the real ones (pt > 0). A model that
 * reads its first C constituents (spec.inputs.max_constituents) takes each
 * jet's first C, the rest counting as padding. A jet with a NaN or infinite
 * value, a real constituent with E <= 0, no real constituent, or constituents
 * out of order is an error naming the jet (0-based); nothing is scored then.
 *
 * Errors are values: every function returning jetlab_status returns JETLAB_OK
 * or an error code, and jetlab_last_error() then gives a message naming the
 * file or argument at fault. Nothing in the library exits or aborts the
 * process, nor writes to stdout or stderr.
 *
 * Ownership. jetlab_open gives the caller a jetlab_model, released by
 * jetlab_close (once). Input arrays are borrowed for the duration of the call
 * and never modified; score arrays are the caller's, written in full on
 * success (unspecified on error). Strings returned are the library's: do not
 * free them.
 *
 * Threads. Any function may be called from any thread. Each jetlab_model owns
 * its own Lua interpreter and a mutex: calls on one model are serialised (safe
 * from many threads, one at a time), calls on different models run in
 * parallel. jetlab_close must not race other calls on the same model. Each
 * call may itself use jetlab's thread pool (JETLAB_NUM_THREADS, default all
 * cores), shared by the whole process, one parallel section at a time.
 *
 * Files. The library runs jetlab's Lua stdlib, found at the first of
 * $JETLAB_STDLIB; <the library's folder>/../share/jetlab/stdlib (an installed
 * tree); the source tree's stdlib (a build tree); the install prefix's
 * share/jetlab/stdlib. Checkpoint reads run their HDF5 calls as jetlab does.
 */
#ifndef JETLAB_H
#define JETLAB_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum jetlab_status {
    JETLAB_OK = 0,
    JETLAB_ERROR_ARGUMENT = 1, /* a NULL pointer, a negative count, bad offsets */
    JETLAB_ERROR_CHECKPOINT = 2, /* missing, unreadable or without spec.inputs */
    JETLAB_ERROR_JET = 3,      /* a jet the model cannot take (see Jets above) */
    JETLAB_ERROR_MODEL = 4,    /* the model failed on the jets; the stdlib missing */
    JETLAB_ERROR_MEMORY = 5,
} jetlab_status;

/* A checkpoint opened for scoring: opaque, owned by the caller. */
typedef struct jetlab_model jetlab_model;

/* Opens checkpoint_path; on success *model is a new model (release with
 * jetlab_close), on error *model is NULL. */
jetlab_status jetlab_open(const char *checkpoint_path, jetlab_model **model);

/* Releases model and everything it holds; NULL is ignored. */
void jetlab_close(jetlab_model *model);

/* Scores n_jets jets given as constituent lists: jet i owns entries
 * offsets[i] .. offsets[i+1]-1 of pt, eta, phi and E (offsets: n_jets + 1
 * non-decreasing values, offsets[0] = 0); scores[i] = P(signal) of jet i. */
jetlab_status jetlab_score_jets(jetlab_model *model, int64_t n_jets, const int64_t *offsets,
                                const float *pt, const float *eta, const float *phi, const float *E,
                                float *scores);

/* Scores n_jets jets given as padded (n_jets, n_constituents) row-major arrays
 * (jet i's constituent j at [i * n_constituents + j]), the layout of ATLAS jet
 * files; scores[i] = P(signal) of jet i. */
jetlab_status jetlab_score_padded(jetlab_model *model, int64_t n_jets, int64_t n_constituents,
                                  const float *pt, const float *eta, const float *phi, const float *E,
                                  float *scores);

/* One line saying what the model reads, e.g. "Lund-plane graphs (5 features) of
 * every constituent"; valid until jetlab_close(model). NULL for NULL. */
const char *jetlab_describe(const jetlab_model *model);

/* The message of the last error on the calling thread ("" when none yet);
 * valid until the next libjetlab call on this thread. */
const char *jetlab_last_error(void);

/* The library's version, e.g. "0.1.0". */
const char *jetlab_version(void);

#ifdef __cplusplus
}
#endif

#endif
