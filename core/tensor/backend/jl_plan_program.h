/* jl_plan_program.h — an inference plan (jl_plan.h) as a backend runs it: a list
 * of steps over dense rows of f32 features. core/tensor/plan.c builds and owns
 * the program; a backend's run_plan slot (jl_kernel.h) executes it.
 *
 *   step LINEAR      dst (rows, out) <- src (rows, in) w^T + b; w (out, in) packed, b (out) or NULL
 *   step AFFINE      dst (rows, in) <- src * w + b per feature; w, b (in)
 *   step ACTIVATION  dst (rows, in) <- activation(src), softmax over each row's features
 */
#ifndef JL_PLAN_PROGRAM_H
#define JL_PLAN_PROGRAM_H

#include <stdint.h>
#include <string.h>

/* Linear weights w (out, in) are stored packed for the CPU's plan GEMM
 * (kernels/cpu/packed_gemm.c): panels of JL_PLAN_PANEL output rows, panel p
 * holding w[p*16 + j][k] at [p][k][j] (in x 16 floats), the last panel zero-padded. */
#define JL_PLAN_PANEL 16

static inline int64_t jl_plan_packed_floats(int64_t out, int64_t in)
{
    return (out + JL_PLAN_PANEL - 1) / JL_PLAN_PANEL * JL_PLAN_PANEL * in;
}

/* dst (jl_plan_packed_floats(out, in)) <- w (out, in) row-major, packed. */
static inline void jl_plan_pack(const float *w, int64_t out, int64_t in, float *dst)
{
    memset(dst, 0, sizeof(float) * (size_t)jl_plan_packed_floats(out, in));
    for (int64_t o = 0; o < out; o++)
        for (int64_t k = 0; k < in; k++)
            dst[(o / JL_PLAN_PANEL) * JL_PLAN_PANEL * in + k * JL_PLAN_PANEL + o % JL_PLAN_PANEL] = w[o * in + k];
}

typedef enum {
    JL_PLAN_RELU,
    JL_PLAN_SIGMOID,
    JL_PLAN_TANH,
    JL_PLAN_SOFTMAX, /* over the features of each row */
} jl_plan_activation;

typedef enum { JL_PLAN_STEP_LINEAR, JL_PLAN_STEP_AFFINE, JL_PLAN_STEP_ACTIVATION } jl_plan_step_kind;

typedef struct jl_plan_step {
    jl_plan_step_kind kind;
    jl_plan_activation activation;
    int64_t in, out;
    float *w; /* linear: (out, in) packed; affine: scale (in) */
    float *b; /* linear: (out) or NULL; affine: shift (in) */
} jl_plan_step;

typedef struct jl_plan_program {
    int64_t inputs, outputs; /* features of a row in and out */
    int64_t max_width;       /* the widest row between two steps */
    int64_t macs_per_row;    /* multiply-adds of the linear steps per row */
    int n;
    jl_plan_step *steps; /* n steps, owned by the plan */
} jl_plan_program;

#endif
