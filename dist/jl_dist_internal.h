/* jl_dist_internal.h — what the files of dist/ share (internal; owner: jl_dist.c). */
#ifndef JL_DIST_INTERNAL_H
#define JL_DIST_INTERNAL_H

/* Sets jl_dist_error() from a printf format; returns -1. */
int jl_dist_fail(const char *fmt, ...);

#ifdef JETLAB_HAVE_MPI
#include <mpi.h>
/* The communicator of the gradient buckets: a duplicate of MPI_COMM_WORLD
 * (MPI_COMM_NULL before jl_dist_init), so that their nonblocking reductions,
 * started in whatever order backward makes gradients ready, never match a
 * blocking collective of MPI_COMM_WORLD (synchronised BatchNorm, the loss). */
MPI_Comm jl_dist_grad_comm(void);
/* Sets jl_dist_error() to "<what> failed on rank r of K: <MPI's text>"; returns -1. */
int jl_dist_mpi_fail(const char *what, int code);
#endif

#endif
