/* jl_precision.h — the matrix-product precision of the CPU gemm op (one setting
 * for the process; set between ops, read by the kernels).
 *
 *   JL_PRECISION_F32   OpenBLAS sgemm (the default)
 *   JL_PRECISION_BF16  operands rounded to bfloat16, products summed in f32
 *                      (kernels/cpu/gemm_bf16.c); tensors, master weights and
 *                      every other op stay f32. Needs AVX512-BF16.
 * The inference plans (jl_plan_program.h) and the CUDA backend stay f32.
 */
#ifndef JL_PRECISION_H
#define JL_PRECISION_H

#include <stdbool.h>

typedef enum jl_precision { JL_PRECISION_F32 = 0, JL_PRECISION_BF16 = 1 } jl_precision;

/* Whether this CPU can run JL_PRECISION_BF16 (AVX512-BF16). */
bool jl_bf16_matmul_available(void);
/* JL_OK, or JL_EDEVICE with a message when this CPU cannot run p. */
int jl_set_matmul_precision(jl_precision p);
jl_precision jl_get_matmul_precision(void);
/* "f32" or "bf16". */
const char *jl_precision_name(jl_precision p);

#endif
