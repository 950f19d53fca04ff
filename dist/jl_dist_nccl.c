/* jl_dist_nccl.c — jl_dist.h's NCCL path: collectives on device arrays for
 * data-parallel training on several GPUs (owner: jl.dist, bindings/lua_dist.c,
 * for tensors on the GPU). Built with JETLAB_HAVE_NCCL only (CUDA, NCCL and
 * MPI found); otherwise every function says NCCL is missing. Unverified on
 * this project's machines (one GPU at most): compiled, not run on several. */
#include <stdio.h>

#include "jl_dist.h"
#include "jl_dist_internal.h"

#ifdef JETLAB_HAVE_NCCL
#include <cuda_runtime.h>
#include <nccl.h>

static ncclComm_t comm;
static cudaStream_t stream;
static bool ready;

bool jl_dist_nccl_compiled(void)
{
    return true;
}

static int nccl_fail(const char *what, ncclResult_t r)
{
    return jl_dist_fail("jl.dist: %s failed on rank %d of %d: %s", what, jl_dist_rank(), jl_dist_size(),
                        ncclGetErrorString(r));
}

static int cuda_fail(const char *what, cudaError_t e)
{
    return jl_dist_fail("jl.dist: %s failed on rank %d of %d: %s", what, jl_dist_rank(), jl_dist_size(),
                        cudaGetErrorString(e));
}

/* The communicator over every rank, made once: rank 0's id broadcast over MPI. */
static int setup(void)
{
    if (ready) return 0;
    if (jl_dist_init() != 0) return -1;
    ncclUniqueId id;
    ncclResult_t r;
    if (jl_dist_rank() == 0 && (r = ncclGetUniqueId(&id)) != ncclSuccess) return nccl_fail("ncclGetUniqueId", r);
    if (jl_dist_broadcast(&id, (int64_t)sizeof id, JL_DIST_U8, 0) != 0) return -1;
    cudaError_t e = cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking);
    if (e != cudaSuccess) return cuda_fail("cudaStreamCreateWithFlags", e);
    if ((r = ncclCommInitRank(&comm, jl_dist_size(), id, jl_dist_rank())) != ncclSuccess)
        return nccl_fail("ncclCommInitRank", r);
    ready = true;
    return 0;
}

/* The device's queued work (the CUDA backend's stream) done before NCCL reads. */
static int device_idle(void)
{
    cudaError_t e = cudaDeviceSynchronize();
    return e == cudaSuccess ? 0 : cuda_fail("cudaDeviceSynchronize", e);
}

static int stream_done(void)
{
    cudaError_t e = cudaStreamSynchronize(stream);
    return e == cudaSuccess ? 0 : cuda_fail("cudaStreamSynchronize of NCCL's stream", e);
}

int jl_dist_nccl_allreduce_f32(float *const *arrays, const int64_t *counts, int n, float scale)
{
    if (setup() != 0 || device_idle() != 0) return -1;
    ncclRedOp_t op;
    ncclResult_t r = ncclRedOpCreatePreMulSum(&op, &scale, ncclFloat, ncclScalarHostImmediate, comm);
    if (r != ncclSuccess) return nccl_fail("ncclRedOpCreatePreMulSum", r);
    int status = 0;
    if ((r = ncclGroupStart()) != ncclSuccess) status = nccl_fail("ncclGroupStart", r);
    for (int i = 0; i < n && status == 0; i++) {
        r = ncclAllReduce(arrays[i], arrays[i], (size_t)counts[i], ncclFloat, op, comm, stream);
        if (r != ncclSuccess) status = nccl_fail("ncclAllReduce", r);
    }
    if ((r = ncclGroupEnd()) != ncclSuccess && status == 0) status = nccl_fail("ncclGroupEnd", r);
    if (status == 0) status = stream_done();
    ncclRedOpDestroy(op, comm);
    return status;
}

int jl_dist_nccl_broadcast(void *buf, int64_t bytes, int root)
{
    if (root < 0 || root >= jl_dist_size())
        return jl_dist_fail("jl.dist: broadcast root %d is not a rank (0..%d)", root, jl_dist_size() - 1);
    if (setup() != 0 || device_idle() != 0) return -1;
    ncclResult_t r = ncclBroadcast(buf, buf, (size_t)bytes, ncclUint8, root, comm, stream);
    if (r != ncclSuccess) return nccl_fail("ncclBroadcast", r);
    return stream_done();
}

#else /* no NCCL */

bool jl_dist_nccl_compiled(void)
{
    return false;
}

static int missing(void)
{
    return jl_dist_fail("jl.dist: collectives on GPU tensors need NCCL: this build has none (configure with CUDA, "
                        "NCCL and MPI found; or move the tensors to the CPU)");
}

int jl_dist_nccl_allreduce_f32(float *const *arrays, const int64_t *counts, int n, float scale)
{
    (void)arrays, (void)counts, (void)n, (void)scale;
    return missing();
}

int jl_dist_nccl_broadcast(void *buf, int64_t bytes, int root)
{
    (void)buf, (void)bytes, (void)root;
    return missing();
}

#endif
