/* precision.c — the process-wide matrix-product precision (jl_precision.h). */
#include <stdatomic.h>

#include "jl_error.h"
#include "jl_precision.h"

static atomic_int matmul_precision = JL_PRECISION_F32;

bool jl_bf16_matmul_available(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512bf16");
#else
    return false;
#endif
}

int jl_set_matmul_precision(jl_precision p)
{
    if (p == JL_PRECISION_BF16 && !jl_bf16_matmul_available())
        return JL_FAIL_CODE(JL_EDEVICE, "matmul precision bf16: this CPU has no AVX512-BF16 instructions "
                                        "(the bf16 matrix product needs them); use f32");
    atomic_store(&matmul_precision, (int)p);
    return JL_OK;
}

jl_precision jl_get_matmul_precision(void)
{
    return (jl_precision)atomic_load(&matmul_precision);
}

const char *jl_precision_name(jl_precision p)
{
    return p == JL_PRECISION_BF16 ? "bf16" : "f32";
}
