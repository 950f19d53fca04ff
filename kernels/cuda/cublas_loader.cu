/* cublas_loader.cu — dlopen of cuBLAS on first use (see cublas_loader.cuh). */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "cublas_loader.cuh"
#include "cuda_backend.h"
#include "cuda_common.cuh"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static jl_cublas_api api;
static bool loaded;
static char failure[512];

template <typename F> static bool find(void *lib, const char *name, F *slot)
{
    *slot = (F)dlsym(lib, name);
    if (!*slot) snprintf(failure, sizeof failure, "symbol %s is missing (%s)", name, dlerror());
    return *slot != NULL;
}

static void load(void)
{
    const char *candidates[] = {getenv("JETLAB_CUBLAS_LIB"), JETLAB_CUBLAS_SONAME, JETLAB_CUBLAS_PATH};
    void *lib = NULL;
    char tried[384] = "";
    for (size_t i = 0; i < sizeof candidates / sizeof *candidates && !lib; i++) {
        if (!candidates[i] || !candidates[i][0]) continue;
        lib = dlopen(candidates[i], RTLD_NOW | RTLD_LOCAL);
        if (!lib) snprintf(tried, sizeof tried, "%s", dlerror());
    }
    if (!lib) {
        snprintf(failure, sizeof failure, "%s", tried);
        return;
    }
    loaded = find(lib, "cublasCreate_v2", &api.create) && find(lib, "cublasDestroy_v2", &api.destroy) &&
             find(lib, "cublasSetStream_v2", &api.set_stream) &&
             find(lib, "cublasSetMathMode", &api.set_math_mode) &&
             find(lib, "cublasSgemmStridedBatched", &api.sgemm_strided_batched) &&
             find(lib, "cublasGetStatusName", &api.status_name) &&
             find(lib, "cublasGetStatusString", &api.status_string);
}

const jl_cublas_api *jl_cublas(void)
{
    pthread_once(&once, load);
    if (loaded) return &api;
    JL_FAIL_CODE(JL_EDEVICE, "cuda: cannot load cuBLAS: %s (set JETLAB_CUBLAS_LIB to libcublas.so's path)", failure);
    return NULL;
}

extern "C" int jl_cuda_load_cublas(void) { return jl_cublas() ? JL_OK : jl_last_error_code(); }
