/* model.c — jetlab_model (jetlab.h): a checkpoint's scorer with its own Lua
 * state, used under the model's mutex so that calls on one model are
 * serialised; different models share nothing but core's thread pool. */
#include <pthread.h>
#include <stdlib.h>

#include "lib_internal.h"

#ifndef JETLAB_VERSION
#error "JETLAB_VERSION must be defined (CMakeLists.txt does it)"
#endif

struct jetlab_model {
    pthread_mutex_t lock;
    jlib_scorer scorer;
};

const char *jetlab_version(void) { return JETLAB_VERSION; }

jetlab_status jetlab_open(const char *checkpoint_path, jetlab_model **model)
{
    jlib_clear_error();
    if (!model)
        return jlib_fail(JETLAB_ERROR_ARGUMENT, "jetlab_open: model (the result pointer) is NULL");
    *model = NULL;
    if (!checkpoint_path)
        return jlib_fail(JETLAB_ERROR_ARGUMENT, "jetlab_open: checkpoint_path is NULL");
    jetlab_model *m = calloc(1, sizeof *m);
    if (!m)
        return jlib_fail(JETLAB_ERROR_MEMORY, "jetlab_open: no memory");
    jetlab_status st = jlib_scorer_open(checkpoint_path, &m->scorer);
    if (st != JETLAB_OK) {
        free(m);
        return st;
    }
    pthread_mutex_init(&m->lock, NULL);
    *model = m;
    return JETLAB_OK;
}

void jetlab_close(jetlab_model *model)
{
    if (!model)
        return;
    jlib_scorer_close(&model->scorer);
    pthread_mutex_destroy(&model->lock);
    free(model);
}

const char *jetlab_describe(const jetlab_model *model) { return model ? model->scorer.describe : NULL; }

/* Scores jets (built by the caller under no lock) into scores under the model's mutex. */
static jetlab_status score_locked(jetlab_model *model, jlib_jets *jets, int64_t n, float *scores)
{
    pthread_mutex_lock(&model->lock);
    jetlab_status st = jlib_scorer_run(&model->scorer, jets, n, scores);
    pthread_mutex_unlock(&model->lock);
    jlib_jets_release(jets);
    return st;
}

static jetlab_status check_call(const char *fn, const jetlab_model *model, const float *scores)
{
    if (!model)
        return jlib_fail(JETLAB_ERROR_ARGUMENT, "%s: model is NULL", fn);
    if (!scores)
        return jlib_fail(JETLAB_ERROR_ARGUMENT, "%s: scores is NULL", fn);
    return JETLAB_OK;
}

jetlab_status jetlab_score_jets(jetlab_model *model, int64_t n_jets, const int64_t *offsets, const float *pt,
                                const float *eta, const float *phi, const float *E, float *scores)
{
    jlib_clear_error();
    jetlab_status st = check_call("jetlab_score_jets", model, scores);
    jlib_jets jets = {0};
    if (st == JETLAB_OK)
        st = jlib_jets_from_lists(n_jets, offsets, pt, eta, phi, E, model->scorer.width, &jets);
    return st == JETLAB_OK ? score_locked(model, &jets, n_jets, scores) : st;
}

jetlab_status jetlab_score_padded(jetlab_model *model, int64_t n_jets, int64_t n_constituents, const float *pt,
                                  const float *eta, const float *phi, const float *E, float *scores)
{
    jlib_clear_error();
    jetlab_status st = check_call("jetlab_score_padded", model, scores);
    jlib_jets jets = {0};
    if (st == JETLAB_OK)
        st = jlib_jets_from_padded(n_jets, n_constituents, pt, eta, phi, E, model->scorer.width, &jets);
    return st == JETLAB_OK ? score_locked(model, &jets, n_jets, scores) : st;
}
