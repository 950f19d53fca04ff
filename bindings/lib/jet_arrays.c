/* jet_arrays.c — the caller's jets (constituent lists or padded arrays) checked
 * and copied into the four (n, width) f32 tensors jetlab's features and Lund
 * graphs read: each jet's first width constituents, zeros after them. */
#include <string.h>

#include "jl_features.h"
#include "lib_internal.h"

/* One jet's first c constituents: JETLAB_OK or JETLAB_ERROR_JET naming jet i. */
static jetlab_status check_jet(int64_t i, const float *pt, const float *eta, const float *phi, const float *E,
                               int64_t c)
{
    switch (jl_jet_check(pt, eta, phi, E, c)) {
    case JL_JET_INVALID:
        return jlib_fail(JETLAB_ERROR_JET, "jet %lld: a NaN or infinite value, or a constituent with pt > 0 "
                         "and E <= 0", (long long)i);
    case JL_JET_EMPTY:
        return jlib_fail(JETLAB_ERROR_JET, "jet %lld: no constituent with pt > 0", (long long)i);
    default:
        break;
    }
    for (int64_t j = 1; j < c; j++)
        if (pt[j] > pt[j - 1])
            return jlib_fail(JETLAB_ERROR_JET, "jet %lld: constituent %lld has pt %g above constituent %lld's %g "
                             "(constituents must come by decreasing pt, padding last)",
                             (long long)i, (long long)j, (double)pt[j], (long long)(j - 1), (double)pt[j - 1]);
    return JETLAB_OK;
}

static jetlab_status check_arrays(const char *fn, const float *pt, const float *eta, const float *phi,
                                  const float *E)
{
    const char *missing = !pt ? "pt" : !eta ? "eta" : !phi ? "phi" : !E ? "E" : NULL;
    if (missing)
        return jlib_fail(JETLAB_ERROR_ARGUMENT, "%s: %s is NULL", fn, missing);
    return JETLAB_OK;
}

void jlib_jets_release(jlib_jets *jets)
{
    jl_tensor **t[4] = {&jets->pt, &jets->eta, &jets->phi, &jets->E};
    for (int k = 0; k < 4; k++) {
        jl_release(*t[k]);
        *t[k] = NULL;
    }
}

/* out's four tensors, zeros (n, width). */
static jetlab_status new_jets(int64_t n, int64_t width, jlib_jets *out)
{
    int64_t shape[2] = {n, width};
    jl_tensor **t[4] = {&out->pt, &out->eta, &out->phi, &out->E};
    for (int k = 0; k < 4; k++)
        if (!(*t[k] = jl_zeros(JL_F32, 2, shape, JL_CPU))) {
            jlib_jets_release(out);
            return jlib_fail(JETLAB_ERROR_MEMORY, "no memory for %lld jets of %lld constituents", (long long)n,
                             (long long)width);
        }
    return JETLAB_OK;
}

/* Copies c constituents of jet i (checked) into row i of out. */
static jetlab_status copy_jet(jlib_jets *out, int64_t width, int64_t i, const float *pt, const float *eta,
                              const float *phi, const float *E, int64_t c)
{
    jetlab_status st = check_jet(i, pt, eta, phi, E, c);
    if (st != JETLAB_OK)
        return st;
    size_t bytes = (size_t)c * sizeof(float);
    memcpy((float *)jl_data(out->pt) + i * width, pt, bytes);
    memcpy((float *)jl_data(out->eta) + i * width, eta, bytes);
    memcpy((float *)jl_data(out->phi) + i * width, phi, bytes);
    memcpy((float *)jl_data(out->E) + i * width, E, bytes);
    return JETLAB_OK;
}

jetlab_status jlib_jets_from_lists(int64_t n, const int64_t *offsets, const float *pt, const float *eta,
                                   const float *phi, const float *E, int64_t width, jlib_jets *out)
{
    const char *fn = "jetlab_score_jets";
    if (n < 1)
        return jlib_fail(JETLAB_ERROR_ARGUMENT, "%s: n_jets is %lld (at least 1)", fn, (long long)n);
    if (!offsets)
        return jlib_fail(JETLAB_ERROR_ARGUMENT, "%s: offsets is NULL", fn);
    jetlab_status st = check_arrays(fn, pt, eta, phi, E);
    if (st != JETLAB_OK)
        return st;
    if (offsets[0] != 0)
        return jlib_fail(JETLAB_ERROR_ARGUMENT, "%s: offsets[0] is %lld (must be 0)", fn, (long long)offsets[0]);
    int64_t widest = 1;
    for (int64_t i = 0; i < n; i++) {
        int64_t c = offsets[i + 1] - offsets[i];
        if (c < 0)
            return jlib_fail(JETLAB_ERROR_ARGUMENT, "%s: offsets[%lld] = %lld is below offsets[%lld] = %lld", fn,
                             (long long)(i + 1), (long long)offsets[i + 1], (long long)i, (long long)offsets[i]);
        if (c > widest)
            widest = c;
    }
    if (width <= 0)
        width = widest;
    if ((st = new_jets(n, width, out)) != JETLAB_OK)
        return st;
    for (int64_t i = 0; i < n && st == JETLAB_OK; i++) {
        int64_t o = offsets[i], c = offsets[i + 1] - o;
        st = copy_jet(out, width, i, pt + o, eta + o, phi + o, E + o, c < width ? c : width);
    }
    if (st != JETLAB_OK)
        jlib_jets_release(out);
    return st;
}

jetlab_status jlib_jets_from_padded(int64_t n, int64_t columns, const float *pt, const float *eta,
                                    const float *phi, const float *E, int64_t width, jlib_jets *out)
{
    const char *fn = "jetlab_score_padded";
    if (n < 1)
        return jlib_fail(JETLAB_ERROR_ARGUMENT, "%s: n_jets is %lld (at least 1)", fn, (long long)n);
    if (columns < 1)
        return jlib_fail(JETLAB_ERROR_ARGUMENT, "%s: n_constituents is %lld (at least 1)", fn, (long long)columns);
    jetlab_status st = check_arrays(fn, pt, eta, phi, E);
    if (st != JETLAB_OK)
        return st;
    if (width <= 0)
        width = columns;
    if ((st = new_jets(n, width, out)) != JETLAB_OK)
        return st;
    int64_t c = columns < width ? columns : width;
    for (int64_t i = 0; i < n && st == JETLAB_OK; i++) {
        int64_t o = i * columns;
        st = copy_jet(out, width, i, pt + o, eta + o, phi + o, E + o, c);
    }
    if (st != JETLAB_OK)
        jlib_jets_release(out);
    return st;
}
