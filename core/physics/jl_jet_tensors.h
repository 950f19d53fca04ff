/* jl_jet_tensors.h — a batch of jets as four (N, C) f32 CPU tensors in GeV
 * (jl_h5_jets's pt, eta, phi, E): constituents sorted by decreasing pT,
 * padding (pt == 0, with eta, phi, E == 0) at the end. Shared by the Lund
 * declustering (physics), the features and the degradation (data).
 *
 *   if (jl_jets_check_args("lund", pt, eta, phi, E)) return NULL;  // message names the tensor
 */
#ifndef JL_JET_TENSORS_H
#define JL_JET_TENSORS_H

#include "jl_tensor.h"

/* Checks the four jet tensors of an op: f32, CPU, contiguous, 2-D, one shape.
 * pt, eta, phi, E (N, C). JL_OK, or an error naming op and the tensor at fault. */
int jl_jets_check_args(const char *op, jl_tensor *pt, jl_tensor *eta, jl_tensor *phi, jl_tensor *E);

#endif
