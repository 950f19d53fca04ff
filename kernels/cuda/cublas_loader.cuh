/* cublas_loader.cuh — cuBLAS entry points loaded on first use.
 *
 * cuBLAS (libcublas + libcublasLt, ~700 MB of code) is opened with dlopen the
 * first time a CUDA GEMM runs, not at program start: linked directly it cost
 * every jetlab process 0.4 s and 220 MB of RSS, CPU-only runs included.
 *
 *   const jl_cublas_api *api = jl_cublas();          // NULL + JL error if unavailable
 *   if (api) api->create(&handle);
 *
 * The library is looked up as $JETLAB_CUBLAS_LIB, then libcublas.so.<major>
 * (LD_LIBRARY_PATH, the loader cache), then the toolkit's copy at build time. */
#ifndef JL_CUBLAS_LOADER_CUH
#define JL_CUBLAS_LOADER_CUH

#include <cublas_v2.h>

typedef struct jl_cublas_api {
    decltype(&cublasCreate_v2) create;
    decltype(&cublasDestroy_v2) destroy;
    decltype(&cublasSetStream_v2) set_stream;
    decltype(&cublasSetMathMode) set_math_mode;
    decltype(&cublasSgemmStridedBatched) sgemm_strided_batched;
    decltype(&cublasGetStatusName) status_name;
    decltype(&cublasGetStatusString) status_string;
} jl_cublas_api;

/* The loaded API (process lifetime), or NULL with a JL_EDEVICE message naming
 * the library and the loader's reason. Thread-safe. */
const jl_cublas_api *jl_cublas(void);

#endif
