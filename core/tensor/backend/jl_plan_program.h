/* jl_plan_program.h — an inference plan (jl_plan.h) as a backend runs it: a list
 * of steps over dense rows of f32 features. core/tensor/plan.c builds and owns
 * the program; a backend's run_plan slot (jl_kernel.h) executes it.
 *
 *   step LINEAR      dst (rows, out) <- src (rows, in) w^T + b; w (out, in), b (out) or NULL
 *   step AFFINE      dst (rows, in) <- src * w + b per feature; w, b (in)
 *   step ACTIVATION  dst (rows, in) <- activation(src), softmax over each row's features
 */
#ifndef JL_PLAN_PROGRAM_H
#define JL_PLAN_PROGRAM_H

#include <stdint.h>

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
    float *w; /* linear: (out, in); affine: scale (in) */
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
