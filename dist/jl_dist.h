/* jl_dist.h — the process group of a data-parallel run (owner: jl.dist,
 * bindings/lua_dist.c). Core-free: it moves raw arrays between processes.
 *
 * Built with MPI (JETLAB_HAVE_MPI, CMake -DJETLAB_MPI=AUTO|ON) and started by
 * a launcher (mpirun sets OMPI_COMM_WORLD_SIZE; PMIx / PMI launchers set
 * PMIX_RANK / PMI_RANK), jl_dist_init calls MPI_Init_thread once and the
 * process is one rank of MPI_COMM_WORLD. Otherwise there is one process:
 * rank 0 of size 1, and every collective is a no-op.
 *
 * A rank that exits with a nonzero status after MPI_Init (a Lua error, an
 * interruption, os.exit(false)) prints which rank stopped and calls MPI_Abort,
 * which ends every rank of the job: no rank is left waiting in a collective.
 * A clean exit calls MPI_Finalize (so does the status every rank agreed to
 * exit with, jl_dist_exit_together).
 *
 * Functions returning int give 0, or -1 with jl_dist_error() set.
 */
#ifndef JL_DIST_H
#define JL_DIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { JL_DIST_F32, JL_DIST_F64, JL_DIST_I32, JL_DIST_I64, JL_DIST_U8 } jl_dist_type;

/* True when this build has MPI. */
bool jl_dist_compiled(void);
/* True when the process was started by an MPI launcher. */
bool jl_dist_launched(void);
/* Joins the MPI job when launched by one (idempotent); 0 or -1. */
int jl_dist_init(void);
/* This process's rank (0-based) and the number of ranks; 0 and 1 without MPI.
 * Both call jl_dist_init first; on its failure they report rank 0 of 1. */
int jl_dist_rank(void);
int jl_dist_size(void);

/* Sums count elements of buf across ranks, in place. */
int jl_dist_allreduce_sum(void *buf, int64_t count, jl_dist_type type);
/* Copies count elements of root's buf into every rank's buf. */
int jl_dist_broadcast(void *buf, int64_t count, jl_dist_type type, int root);
int jl_dist_barrier(void);
/* Every rank is about to exit with this status, together (train.fit stopping
 * on an interruption all ranks agreed on): exiting with it then finalizes MPI
 * instead of aborting the job. Any other nonzero status still aborts. */
void jl_dist_exit_together(int status);

/* The gradient reduction: arrays[i] (counts[i] floats each) become the sum
 * over ranks of scale * arrays[i]. The arrays are packed into buckets of at
 * most bucket_elems floats; each bucket's MPI_Iallreduce starts as soon as it
 * is packed, so packing the next overlaps the reduction of the previous. */
int jl_dist_allreduce_f32_arrays(float *const *arrays, const int64_t *counts, int n, float scale,
                                 int64_t bucket_elems);

/* A gradient reducer: the overlapped form of jl_dist_allreduce_f32_arrays,
 * fed array by array as backward makes gradients ready (owner: the caller of
 * jl_dist_reducer_new, which frees it).
 *
 *   jl_dist_reducer *r = jl_dist_reducer_new(counts, n, bucket_elems);
 *   jl_dist_reducer_begin(r, scale);          // each step
 *   jl_dist_reducer_ready(r, i, grad_i);      // as soon as gradient i is whole
 *   jl_dist_reducer_finish(r, grads, grads);  // the rest, wait, copy back
 *
 * Arrays are packed in index order into buckets of at most bucket_elems
 * floats (a longer array is a bucket alone). ready copies scale * data
 * (NULL: zeros) into its bucket; a bucket whose arrays are all in starts its
 * MPI_Iallreduce (on a communicator of its own) once every bucket before it
 * has started, so every rank starts them in the same order whatever the order
 * of ready calls. finish feeds the arrays not yet ready from in[i], waits for
 * every bucket and writes the sums over ranks into out[i]. In one process the
 * sums are the scaled arrays. */
typedef struct jl_dist_reducer jl_dist_reducer;
jl_dist_reducer *jl_dist_reducer_new(const int64_t *counts, int n, int64_t bucket_elems);
void jl_dist_reducer_free(jl_dist_reducer *r);
int jl_dist_reducer_begin(jl_dist_reducer *r, float scale);
int jl_dist_reducer_ready(jl_dist_reducer *r, int i, const float *data);
int jl_dist_reducer_finish(jl_dist_reducer *r, const float *const *in, float *const *out);
/* The number of buckets, and how many started before finish in the last step
 * (the overlap: buckets reduced while backward still ran). */
int jl_dist_reducer_buckets(const jl_dist_reducer *r);
int jl_dist_reducer_started_early(const jl_dist_reducer *r);

/* The NCCL path (several GPUs; JETLAB_HAVE_NCCL, built when CMake finds CUDA,
 * NCCL and MPI; dist/jl_dist_nccl.c). Arrays are device pointers of this
 * rank's GPU: one GPU per rank, which the launcher picks (srun
 * --gpus-per-task=1, or CUDA_VISIBLE_DEVICES per local rank under mpirun), so
 * every rank works on its device 0. The communicator is made on first use:
 * rank 0's ncclUniqueId broadcast over MPI, ncclCommInitRank. Each call waits
 * for the device (the CUDA backend's work is done before NCCL reads the
 * arrays) and for NCCL's stream (the sums are in place when it returns). In
 * one process they do nothing but the scaling; without NCCL they fail. */
bool jl_dist_nccl_compiled(void);
/* arrays[i] (counts[i] device floats each) become the sum over ranks of
 * scale * arrays[i]: one NCCL group of allreduces (ncclRedOpCreatePreMulSum). */
int jl_dist_nccl_allreduce_f32(float *const *arrays, const int64_t *counts, int n, float scale);
/* bytes of root's device buf into every rank's. */
int jl_dist_nccl_broadcast(void *buf, int64_t bytes, int root);

/* The message of the last failure. */
const char *jl_dist_error(void);

#endif
