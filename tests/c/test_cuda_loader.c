/* test_cuda_loader.c — cuBLAS is not linked into jetlab (a CPU-only run must
 * not pay for it) but opened on the first CUDA gemm: it loads without a device,
 * from the toolkit, even when $JETLAB_CUBLAS_LIB names nothing. Skipped in a
 * build without the CUDA backend. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "jl_error.h"
#ifdef JETLAB_HAVE_CUDA
#include "cuda_backend.h"
#endif

Test(cuda_loader, cublas_opens_on_demand)
{
#ifdef JETLAB_HAVE_CUDA
    cr_assert_eq(jl_cuda_load_cublas(), JL_OK, "%s", jl_last_error());
#else
    cr_skip_test("built without the CUDA backend");
#endif
}

Test(cuda_loader, a_wrong_override_falls_back_to_the_toolkit_copy)
{
#ifdef JETLAB_HAVE_CUDA
    setenv("JETLAB_CUBLAS_LIB", "/nonexistent/libcublas.so", 1);
    cr_assert_eq(jl_cuda_load_cublas(), JL_OK, "%s", jl_last_error());
#else
    cr_skip_test("built without the CUDA backend");
#endif
}
