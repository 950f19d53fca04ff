/* features.c — the ATLAS 7 per-constituent features, padded and ragged,
 * parallel over jets; standardisation moments.
 * The recipe and its conventions are in jl_features.h. */
#include <math.h>
#include <string.h>

#include "jl_error.h"
#include "jl_features.h"
#include "jl_ops.h"
#include "jl_parallel.h"

#define JL_PI 3.14159265358979323846

static int64_t columns_used(int64_t c, int64_t max_constituents)
{
    return max_constituents > 0 && max_constituents < c ? max_constituents : c;
}

/* Python's (x + pi) % (2 pi) - pi: into [-pi, pi). */
static double wrap_phi(double x)
{
    double y = fmod(x + JL_PI, 2.0 * JL_PI);
    if (y < 0) y += 2.0 * JL_PI;
    return y - JL_PI;
}

/* One jet's features over its first cm columns. padded: row j for column j
 * and zero rows for padding (rows (cm, 7)); otherwise the real constituents'
 * rows one after the other. coords (same rows, 2) or NULL gets raw eta', phi'
 * (padded: zero for padding). Returns the number of real constituents. */
static int64_t jet_rows(const float *pt, const float *eta, const float *phi, const float *E, int64_t cm,
                        const jl_standardize *s, bool padded, float *rows, float *coords)
{
    double spt = 0, sE = 0;
    for (int64_t j = 0; j < cm; j++) {
        if (pt[j] > 0) {
            spt += pt[j];
            sE += E[j];
        }
    }
    double eta0 = cm > 0 ? eta[0] : 0.0, phi0 = cm > 0 ? phi[0] : 0.0;
    /* columns 1 and 2 centred, padding (eta = phi = 0) past cm, as in the peer */
    double ce[3], cp[3];
    for (int64_t j = 1; j < 3; j++) {
        ce[j] = (j < cm ? eta[j] : 0.0) - eta0;
        cp[j] = wrap_phi((j < cm ? phi[j] : 0.0) - phi0);
    }
    double alpha = atan2(cp[1], ce[1]) + JL_PI / 2;
    double ca = cos(alpha), sa = sin(alpha);
    double flip = ce[2] * ca + cp[2] * sa < 0 ? -1.0 : 1.0;

    int64_t n = 0;
    for (int64_t j = 0; j < cm; j++) {
        int64_t at = padded ? j : n;
        if (!(pt[j] > 0)) {
            if (padded) {
                memset(rows + at * JL_FEATURES, 0, JL_FEATURES * sizeof *rows);
                if (coords) coords[2 * at] = coords[2 * at + 1] = 0.0f;
            }
            continue;
        }
        double e = eta[j] - eta0, p = wrap_phi(phi[j] - phi0);
        double er = (e * ca + p * sa) * flip, pr = -e * sa + p * ca;
        double f[JL_FEATURES] = {
            er, pr, log(pt[j]), log(E[j]), log(pt[j] / spt), log(E[j] / sE), sqrt(er * er + pr * pr),
        };
        float *row = rows + at * JL_FEATURES;
        for (int k = 0; k < JL_FEATURES; k++) row[k] = (float)(s ? (f[k] - s->mean[k]) / s->std[k] : f[k]);
        if (coords) {
            coords[2 * at] = (float)er;
            coords[2 * at + 1] = (float)pr;
        }
        n++;
    }
    return n;
}

int64_t jl_jet_features(const float *pt, const float *eta, const float *phi, const float *E, int64_t c,
                        const jl_features_opts *o, float *rows, float *coords)
{
    return jet_rows(pt, eta, phi, E, columns_used(c, o->max_constituents), o->standardize, false, rows,
                    coords);
}

/* --- over a batch --------------------------------------------------------- */

typedef struct {
    const float *pt, *eta, *phi, *E;
    int64_t c, cm;
    const jl_standardize *s;
    bool padded;
    float *x, *coords;
    const int64_t *offsets; /* ragged: row offsets; padded: NULL */
} batch_ctx;

static void batch_body(void *arg, int64_t begin, int64_t end)
{
    const batch_ctx *b = arg;
    for (int64_t i = begin; i < end; i++) {
        int64_t in = i * b->c, row = b->padded ? i * b->cm : b->offsets[i];
        jet_rows(b->pt + in, b->eta + in, b->phi + in, b->E + in, b->cm, b->s, b->padded,
                 b->x + row * JL_FEATURES, b->coords ? b->coords + row * 2 : NULL);
    }
}

static void run_batch(batch_ctx *b, int64_t n, bool serial)
{
    int64_t grain = JL_GRAIN_ELEMENTS / (b->cm * 64 + 1) + 1;
    if (serial) batch_body(b, 0, n);
    else jl_parallel_for(n, grain, batch_body, b);
}

static batch_ctx batch_of(jl_tensor *pt, jl_tensor *eta, jl_tensor *phi, jl_tensor *E,
                          const jl_features_opts *o, bool padded)
{
    int64_t c = pt->shape[1];
    return (batch_ctx){.pt = jl_data(pt),
                       .eta = jl_data(eta),
                       .phi = jl_data(phi),
                       .E = jl_data(E),
                       .c = c,
                       .cm = columns_used(c, o->max_constituents),
                       .s = o->standardize,
                       .padded = padded};
}

jl_tensor *jl_atlas_features(jl_tensor *pt, jl_tensor *eta, jl_tensor *phi, jl_tensor *E,
                             const jl_features_opts *o)
{
    if (jl_jets_check_args("atlas_features", pt, eta, phi, E) != JL_OK) return NULL;
    batch_ctx b = batch_of(pt, eta, phi, E, o, true);
    int64_t n = pt->shape[0];
    jl_tensor *x = jl_tensor_new(JL_F32, 3, (int64_t[]){n, b.cm, JL_FEATURES}, JL_CPU);
    if (!x) return NULL;
    b.x = jl_data(x);
    run_batch(&b, n, o->serial);
    return x;
}

int jl_atlas_features_ragged(jl_tensor *pt, jl_tensor *eta, jl_tensor *phi, jl_tensor *E,
                             const jl_features_opts *o, jl_tensor **x, jl_tensor **offsets,
                             jl_tensor **coords)
{
    *x = *offsets = NULL;
    if (coords) *coords = NULL;
    int rc = jl_jets_check_args("atlas_features", pt, eta, phi, E);
    if (rc != JL_OK) return rc;
    batch_ctx b = batch_of(pt, eta, phi, E, o, false);
    int64_t n = pt->shape[0], n1 = n + 1;
    *offsets = jl_tensor_new(JL_I64, 1, &n1, JL_CPU);
    if (!*offsets) return jl_last_error_code();
    int64_t *off = jl_data(*offsets);
    off[0] = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t real = 0;
        for (int64_t j = 0; j < b.cm; j++) real += b.pt[i * b.c + j] > 0;
        off[i + 1] = off[i] + real;
    }
    *x = jl_tensor_new(JL_F32, 2, (int64_t[]){off[n], JL_FEATURES}, JL_CPU);
    if (coords) *coords = jl_tensor_new(JL_F32, 2, (int64_t[]){off[n], 2}, JL_CPU);
    if (!*x || (coords && !*coords)) {
        rc = jl_last_error_code();
        jl_release(*x);
        jl_release(*offsets);
        if (coords) jl_release(*coords);
        *x = *offsets = NULL;
        if (coords) *coords = NULL;
        return rc;
    }
    b.x = jl_data(*x);
    b.coords = coords ? jl_data(*coords) : NULL;
    b.offsets = off;
    run_batch(&b, n, o->serial);
    return JL_OK;
}

/* --- moments -------------------------------------------------------------- */

int jl_moments_add(jl_moments *m, jl_tensor *x)
{
    if (x->dtype != JL_F32 || jl_device_of(x) != JL_CPU || x->ndim != 2 || x->shape[1] != JL_FEATURES)
        return JL_FAIL("feature moments: x must be an f32 CPU tensor (N_total, %d), got %s %s %s",
                       JL_FEATURES, jl_dtype_name(x->dtype), jl_device_name(jl_device_of(x)),
                       jl_shape_str(x));
    jl_tensor *cx = jl_contiguous(x);
    if (!cx) return jl_last_error_code();
    const float *v = jl_data(cx);
    int64_t n = x->shape[0];
    if (n > 0) {
        /* the batch's own mean and m2, then Chan et al.'s merge */
        double mean[JL_FEATURES] = {0}, m2[JL_FEATURES] = {0};
        for (int64_t i = 0; i < n; i++)
            for (int k = 0; k < JL_FEATURES; k++) mean[k] += v[i * JL_FEATURES + k];
        for (int k = 0; k < JL_FEATURES; k++) mean[k] /= (double)n;
        for (int64_t i = 0; i < n; i++) {
            for (int k = 0; k < JL_FEATURES; k++) {
                double d = v[i * JL_FEATURES + k] - mean[k];
                m2[k] += d * d;
            }
        }
        double na = (double)m->count, nb = (double)n, nt = na + nb;
        for (int k = 0; k < JL_FEATURES; k++) {
            double delta = mean[k] - m->mean[k];
            m->mean[k] += delta * nb / nt;
            m->m2[k] += m2[k] + delta * delta * na * nb / nt;
        }
        m->count += n;
    }
    jl_release(cx);
    return JL_OK;
}

int jl_moments_finish(const jl_moments *m, jl_standardize *out)
{
    if (m->count < 2)
        return JL_FAIL("feature standardisation needs at least 2 constituents, got %lld",
                       (long long)m->count);
    for (int k = 0; k < JL_FEATURES; k++) {
        out->mean[k] = m->mean[k];
        double sd = sqrt(m->m2[k] / (double)(m->count - 1));
        out->std[k] = sd > JL_STD_FLOOR ? sd : JL_STD_FLOOR;
    }
    return JL_OK;
}

/* --- raw jets ------------------------------------------------------------- */

jl_jet_check_result jl_jet_check(const float *pt, const float *eta, const float *phi, const float *E,
                                 int64_t c)
{
    int64_t real = 0;
    for (int64_t j = 0; j < c; j++) {
        if (!isfinite(pt[j]) || !isfinite(eta[j]) || !isfinite(phi[j]) || !isfinite(E[j]))
            return JL_JET_INVALID;
        if (pt[j] > 0) {
            if (!(E[j] > 0)) return JL_JET_INVALID;
            real++;
        }
    }
    return real ? JL_JET_OK : JL_JET_EMPTY;
}
