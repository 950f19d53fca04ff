/* backend.cu — the CUDA backend table: device detection, the one stream,
 * host <-> device copies, CUDA errors as jetlab errors, and every filled op
 * slot (each kernels/cuda file registers its own).
 *
 * Detection runs once: cudaGetDeviceCount failing (no driver, no device) or
 * returning 0 makes available() return 0, and core then refuses CUDA tensors
 * with its own message; nothing here aborts. Device 0 is the device.
 */
#include <pthread.h>

#include "cuda_common.cuh"

static jl_backend cuda_table;
static pthread_once_t cuda_table_once = PTHREAD_ONCE_INIT;
static pthread_once_t cuda_device_once = PTHREAD_ONCE_INIT;
static int device_present;
static cudaStream_t stream;

int jl_cuda_fail(const char *what, cudaError_t err, const char *file, int line)
{
    return jl_error_set(JL_EDEVICE, file, line, "%s: CUDA error %s: %s", what, cudaGetErrorName(err),
                        cudaGetErrorString(err));
}

/* Counts devices and creates the stream; leaves device_present 0 on any failure. */
static void device_init(void)
{
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess || count <= 0 ||
        cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking) != cudaSuccess) {
        cudaGetLastError(); /* clear, so that no later call reports this */
        return;
    }
    device_present = 1;
}

static int cuda_available(void)
{
    pthread_once(&cuda_device_once, device_init);
    return device_present;
}

cudaStream_t jl_cuda_stream(void) { return stream; }

/* host dst (bytes) <- device src (bytes); waits for the stream, so every
 * kernel queued before has finished and its errors surface here */
static int cuda_to_host(void *dst, const void *src, size_t bytes)
{
    if (bytes == 0) return JL_OK;
    JL_CUDA_TRY("to_host", cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream));
    JL_CUDA_TRY("to_host", cudaStreamSynchronize(stream));
    return JL_OK;
}

/* device dst (bytes) <- host src (bytes); waits for the copy, since the
 * runtime does not promise that a pageable src is consumed on return and the
 * caller frees it at once */
static int cuda_from_host(void *dst, const void *src, size_t bytes)
{
    if (bytes == 0) return JL_OK;
    JL_CUDA_TRY("from_host", cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream));
    JL_CUDA_TRY("from_host", cudaStreamSynchronize(stream));
    return JL_OK;
}

static void table_init(void)
{
    cuda_table.name = "cuda";
    cuda_table.alloc = jl_cuda_alloc;
    cuda_table.free = jl_cuda_free;
    cuda_table.to_host = cuda_to_host;
    cuda_table.from_host = cuda_from_host;
    cuda_table.available = cuda_available;
    jl_cuda_register_memory(&cuda_table);
    jl_cuda_register_elementwise(&cuda_table);
    jl_cuda_register_reduce(&cuda_table);
    jl_cuda_register_gemm(&cuda_table);
    jl_cuda_register_index(&cuda_table);
    jl_cuda_register_random(&cuda_table);
    jl_cuda_register_loss(&cuda_table);
    jl_cuda_register_optim(&cuda_table);
    jl_cuda_register_nn(&cuda_table);
    jl_cuda_register_graph(&cuda_table);
    jl_cuda_register_edgeconv(&cuda_table);
}

extern "C" const jl_backend *jl_cuda_backend(void)
{
    pthread_once(&cuda_table_once, table_init);
    return &cuda_table;
}
