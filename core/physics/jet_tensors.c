/* jet_tensors.c — checks of the four (N, C) constituent tensors of a batch of jets. */
#include "jl_jet_tensors.h"

int jl_jets_check_args(const char *op, jl_tensor *pt, jl_tensor *eta, jl_tensor *phi, jl_tensor *E)
{
    jl_tensor *all[4] = {pt, eta, phi, E};
    static const char *const names[4] = {"pt", "eta", "phi", "E"};
    for (int k = 0; k < 4; k++) {
        jl_tensor *t = all[k];
        if (!t) return JL_FAIL("%s: %s is missing", op, names[k]);
        if (t->dtype != JL_F32 || jl_device_of(t) != JL_CPU || !jl_is_contiguous(t) || t->ndim != 2)
            return JL_FAIL("%s: %s must be a contiguous 2-D f32 CPU tensor (N, C), got %s %s %s", op,
                           names[k], jl_dtype_name(t->dtype), jl_device_name(jl_device_of(t)),
                           jl_shape_str(t));
        if (t->shape[0] != pt->shape[0] || t->shape[1] != pt->shape[1])
            return JL_FAIL("%s: %s %s and pt %s differ in shape", op, names[k], jl_shape_str(t),
                           jl_shape_str(pt));
    }
    return JL_OK;
}
