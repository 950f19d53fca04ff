/* jl_dist.c — jl_dist.h over MPI when built with it, single-process otherwise
 * (owner: jl.dist). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jl_dist.h"
#include "jl_dist_internal.h"

static char error_message[512];

int jl_dist_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error_message, sizeof error_message, fmt, ap);
    va_end(ap);
    return -1;
}

const char *jl_dist_error(void)
{
    return error_message;
}

bool jl_dist_compiled(void)
{
#ifdef JETLAB_HAVE_MPI
    return true;
#else
    return false;
#endif
}

bool jl_dist_launched(void)
{
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_RANK");
}

static void scale_arrays(float *const *arrays, const int64_t *counts, int n, float scale)
{
    if (scale == 1.0f) return;
    for (int i = 0; i < n; i++)
        for (int64_t k = 0; k < counts[i]; k++) arrays[i][k] *= scale;
}

#ifdef JETLAB_HAVE_MPI

static bool joined;
static int my_rank, world_size = 1;
static MPI_Comm grad_comm = MPI_COMM_NULL;

MPI_Comm jl_dist_grad_comm(void)
{
    return grad_comm;
}

int jl_dist_mpi_fail(const char *what, int code)
{
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(code, text, &len) != MPI_SUCCESS) snprintf(text, sizeof text, "error code %d", code);
    return jl_dist_fail("jl.dist: %s failed on rank %d of %d: %s", what, my_rank, world_size, text);
}

static int agreed_status = -1;

void jl_dist_exit_together(int status)
{
    agreed_status = status;
}

/* Every rank ends together: a failed rank aborts the job, a clean one (or one
 * leaving with the status every rank agreed on) finalizes. */
static void leave_job(int status, void *arg)
{
    (void)arg;
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (finalized) return;
    if (status == 0 || status == agreed_status) {
        MPI_Finalize();
        return;
    }
    fflush(stdout);
    fprintf(stderr, "jetlab: rank %d of %d exited with status %d; stopping every rank (MPI_Abort)\n", my_rank,
            world_size, status);
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, status);
}

int jl_dist_init(void)
{
    if (joined || !jl_dist_launched()) return 0;
    int provided = 0, code = MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
    if (code != MPI_SUCCESS) return jl_dist_mpi_fail("MPI_Init_thread", code);
    joined = true;
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &my_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &world_size);
    code = MPI_Comm_dup(MPI_COMM_WORLD, &grad_comm);
    if (code != MPI_SUCCESS) return jl_dist_mpi_fail("MPI_Comm_dup", code);
    MPI_Comm_set_errhandler(grad_comm, MPI_ERRORS_RETURN);
    on_exit(leave_job, NULL);
    return 0;
}

int jl_dist_rank(void)
{
    jl_dist_init();
    return my_rank;
}

int jl_dist_size(void)
{
    jl_dist_init();
    return world_size;
}

static MPI_Datatype mpi_type(jl_dist_type type)
{
    switch (type) {
    case JL_DIST_F32: return MPI_FLOAT;
    case JL_DIST_F64: return MPI_DOUBLE;
    case JL_DIST_I32: return MPI_INT32_T;
    case JL_DIST_I64: return MPI_INT64_T;
    case JL_DIST_U8: return MPI_UINT8_T;
    }
    return MPI_DATATYPE_NULL;
}

/* MPI counts are int: long arrays go in pieces of at most CHUNK elements. */
#define CHUNK ((int64_t)1 << 30)

static size_t type_size(jl_dist_type type)
{
    static const size_t sizes[] = {4, 8, 4, 8, 1};
    return sizes[type];
}

int jl_dist_allreduce_sum(void *buf, int64_t count, jl_dist_type type)
{
    if (jl_dist_init() != 0) return -1;
    if (world_size == 1) return 0;
    if (type == JL_DIST_U8) return jl_dist_fail("jl.dist: allreduce of u8 tensors is not supported (sums overflow a byte)");
    for (int64_t done = 0; done < count; done += CHUNK) {
        int n = (int)(count - done < CHUNK ? count - done : CHUNK);
        int code = MPI_Allreduce(MPI_IN_PLACE, (char *)buf + done * type_size(type), n, mpi_type(type), MPI_SUM,
                                 MPI_COMM_WORLD);
        if (code != MPI_SUCCESS) return jl_dist_mpi_fail("MPI_Allreduce", code);
    }
    return 0;
}

int jl_dist_broadcast(void *buf, int64_t count, jl_dist_type type, int root)
{
    if (jl_dist_init() != 0) return -1;
    if (root < 0 || root >= world_size) return jl_dist_fail("jl.dist: broadcast root %d is not a rank (0..%d)", root, world_size - 1);
    if (world_size == 1) return 0;
    for (int64_t done = 0; done < count; done += CHUNK) {
        int n = (int)(count - done < CHUNK ? count - done : CHUNK);
        int code = MPI_Bcast((char *)buf + done * type_size(type), n, mpi_type(type), root, MPI_COMM_WORLD);
        if (code != MPI_SUCCESS) return jl_dist_mpi_fail("MPI_Bcast", code);
    }
    return 0;
}

int jl_dist_barrier(void)
{
    if (jl_dist_init() != 0) return -1;
    if (world_size == 1) return 0;
    int code = MPI_Barrier(MPI_COMM_WORLD);
    return code == MPI_SUCCESS ? 0 : jl_dist_mpi_fail("MPI_Barrier", code);
}

/* One bucket: a run of whole arrays [first, last) packed into buf. */
typedef struct bucket {
    int first, last;
    float *buf;
    MPI_Request request;
} bucket;

static void unpack(const bucket *b, float *const *arrays, const int64_t *counts)
{
    const float *src = b->buf;
    for (int i = b->first; i < b->last; src += counts[i], i++) memcpy(arrays[i], src, (size_t)counts[i] * sizeof(float));
}

int jl_dist_allreduce_f32_arrays(float *const *arrays, const int64_t *counts, int n, float scale,
                                 int64_t bucket_elems)
{
    if (jl_dist_init() != 0) return -1;
    scale_arrays(arrays, counts, n, scale);
    if (world_size == 1 || n == 0) return 0;
    bucket *buckets = calloc((size_t)n, sizeof *buckets);
    if (!buckets) return jl_dist_fail("jl.dist: out of memory for %d gradient buckets", n);
    int nb = 0, status = 0;
    for (int i = 0; i < n && status == 0;) {
        bucket *b = &buckets[nb];
        int64_t elems = 0;
        b->first = i;
        do elems += counts[i++];
        while (i < n && elems + counts[i] <= bucket_elems);
        b->last = i;
        if (elems > CHUNK) {
            status = jl_dist_fail("jl.dist: a gradient of %lld elements is past MPI's int count", (long long)elems);
            break;
        }
        b->buf = malloc((size_t)(elems ? elems : 1) * sizeof(float));
        if (!b->buf) {
            status = jl_dist_fail("jl.dist: out of memory for a gradient bucket of %lld floats", (long long)elems);
            break;
        }
        float *dst = b->buf;
        for (int k = b->first; k < b->last; dst += counts[k], k++) memcpy(dst, arrays[k], (size_t)counts[k] * sizeof(float));
        int code = MPI_Iallreduce(MPI_IN_PLACE, b->buf, (int)elems, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &b->request);
        if (code != MPI_SUCCESS) {
            free(b->buf);
            status = jl_dist_mpi_fail("MPI_Iallreduce", code);
            break;
        }
        nb++;
    }
    for (int k = 0; k < nb; k++) {
        int code = MPI_Wait(&buckets[k].request, MPI_STATUS_IGNORE);
        if (code != MPI_SUCCESS && status == 0) status = jl_dist_mpi_fail("MPI_Wait", code);
        if (status == 0) unpack(&buckets[k], arrays, counts);
        free(buckets[k].buf);
    }
    free(buckets);
    return status;
}

#else /* one process */

int jl_dist_init(void)
{
    static bool warned;
    if (jl_dist_launched() && !warned) {
        warned = true;
        fprintf(stderr, "jetlab: started by an MPI launcher, but this build has no MPI (-DJETLAB_MPI=AUTO found "
                        "none): every process runs alone as rank 0 of 1\n");
    }
    return 0;
}

int jl_dist_rank(void)
{
    return 0;
}

int jl_dist_size(void)
{
    return 1;
}

int jl_dist_allreduce_sum(void *buf, int64_t count, jl_dist_type type)
{
    return 0;
}

int jl_dist_broadcast(void *buf, int64_t count, jl_dist_type type, int root)
{
    return root == 0 ? 0 : jl_dist_fail("jl.dist: broadcast root %d is not a rank (a single process has rank 0 only)", root);
}

int jl_dist_barrier(void)
{
    return 0;
}

void jl_dist_exit_together(int status)
{
    (void)status;
}

int jl_dist_allreduce_f32_arrays(float *const *arrays, const int64_t *counts, int n, float scale,
                                 int64_t bucket_elems)
{
    scale_arrays(arrays, counts, n, scale);
    return 0;
}

#endif
