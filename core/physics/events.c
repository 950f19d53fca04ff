/* events.c — reading event text files (`px py pz E` per line, `#END` between
 * events), the format of Debian's fastjet-examples. See jl_jets.h. */
#include "jl_error.h"
#include "jl_jets.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Growable arrays of the reader. */
typedef struct reader {
    const char *path;
    jl_p4 *p;
    int64_t n, cap;
    int64_t *offsets;
    int64_t count, offsets_cap; /* offsets holds count + 1 entries */
} reader;

static int grow(void **data, int64_t *cap, int64_t need, size_t elem)
{
    if (need <= *cap) return JL_OK;
    int64_t c = *cap ? *cap : 64;
    while (c < need) c *= 2;
    void *d = realloc(*data, (size_t)c * elem);
    if (!d) return JL_FAIL_CODE(JL_ENOMEM, "events: out of memory for %lld entries", (long long)c);
    *data = d;
    *cap = c;
    return JL_OK;
}

static int close_event(reader *r)
{
    int rc = grow((void **)&r->offsets, &r->offsets_cap, r->count + 2, sizeof *r->offsets);
    if (rc) return rc;
    r->offsets[++r->count] = r->n;
    return JL_OK;
}

/* Parses one particle line (already known not to be blank or a comment). */
static int parse_particle(reader *r, const char *line, long lineno)
{
    double v[4];
    int got = 0;
    const char *s = line;
    while (got < 4) {
        while (isspace((unsigned char)*s)) s++;
        if (!*s) break;
        char *end;
        errno = 0;
        double x = strtod(s, &end);
        if (end == s || (*end && !isspace((unsigned char)*end))) break;
        if (!isfinite(x))
            return JL_FAIL_CODE(JL_EIO, "%s:%ld: column %d is not a finite number", r->path, lineno, got + 1);
        v[got++] = x;
        s = end;
    }
    if (got < 4)
        return JL_FAIL_CODE(JL_EIO, "%s:%ld: expected 4 numbers (px py pz E), got %d", r->path, lineno, got);
    int rc = grow((void **)&r->p, &r->cap, r->n + 1, sizeof *r->p);
    if (rc) return rc;
    r->p[r->n++] = (jl_p4){v[0], v[1], v[2], v[3]};
    return JL_OK;
}

static int read_lines(reader *r, FILE *f)
{
    char *line = NULL;
    size_t size = 0;
    long lineno = 0;
    int64_t event_start = 0; /* first particle of the open event */
    int rc = JL_OK;
    while (rc == JL_OK && getline(&line, &size, f) != -1) {
        lineno++;
        const char *s = line;
        while (isspace((unsigned char)*s)) s++;
        if (!*s) continue;
        if (*s == '#') {
            if (strncmp(s, "#END", 4) == 0) {
                rc = close_event(r);
                event_start = r->n;
            }
            continue;
        }
        rc = parse_particle(r, s, lineno);
    }
    if (rc == JL_OK && ferror(f))
        rc = JL_FAIL_CODE(JL_EIO, "%s:%ld: read error: %s", r->path, lineno + 1, strerror(errno));
    free(line);
    if (rc == JL_OK && r->n > event_start) rc = close_event(r);
    if (rc == JL_OK && r->n == 0)
        rc = JL_FAIL_CODE(JL_EIO, "%s: no particles (expected lines of px py pz E)", r->path);
    return rc;
}

jl_events *jl_events_read(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        JL_FAIL_CODE(JL_EIO, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    reader r = {.path = path};
    int rc = grow((void **)&r.offsets, &r.offsets_cap, 1, sizeof *r.offsets);
    if (rc == JL_OK) {
        r.offsets[0] = 0;
        rc = read_lines(&r, f);
    }
    fclose(f);
    jl_events *ev = rc == JL_OK ? malloc(sizeof *ev) : NULL;
    if (!ev) {
        if (rc == JL_OK) JL_FAIL_CODE(JL_ENOMEM, "%s: out of memory", path);
        free(r.p);
        free(r.offsets);
        return NULL;
    }
    *ev = (jl_events){.count = r.count, .offsets = r.offsets, .p = r.p};
    return ev;
}

void jl_events_free(jl_events *ev)
{
    if (!ev) return;
    free(ev->offsets);
    free(ev->p);
    free(ev);
}
