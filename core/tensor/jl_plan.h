/* jl_plan.h — inference plans: a feed-forward network's layers run in one C
 * call, with no autograd, no Lua between layers and no tensor per layer (the
 * batch-1 latency of a trigger-style tagger is otherwise the per-op overhead).
 * CPU, f32. A plan copies the weights it is given (a snapshot: build a new one
 * after training further). Not safe to run from two threads at once.
 *
 *   jl_plan *p = jl_plan_new(35);                      // input width
 *   jl_plan_add_linear(p, w1, b1);                     // w1 (64, 35), b1 (64) or NULL
 *   jl_plan_add_activation(p, JL_PLAN_RELU);
 *   jl_plan_add_linear(p, w2, b2);                     // w2 (2, 64)
 *   jl_plan_add_activation(p, JL_PLAN_SOFTMAX);
 *   jl_tensor *y = jl_plan_run(p, x);                  // x (B, 35) -> y (B, 2), +1
 *   jl_plan_free(p);
 */
#ifndef JL_PLAN_H
#define JL_PLAN_H

#include "jl_plan_program.h"
#include "jl_tensor.h"

typedef struct jl_plan jl_plan;

/* A new empty plan taking rows of `inputs` features (identity until layers are
 * added); owned by the caller, freed by jl_plan_free. NULL on failure. */
jl_plan *jl_plan_new(int64_t inputs);
void jl_plan_free(jl_plan *p);

/* y = x w^T + b: weight (out, current width) f32, bias (out) f32 or NULL; copied. */
int jl_plan_add_linear(jl_plan *p, const jl_tensor *weight, const jl_tensor *bias);
/* y = x * scale + shift per feature (an eval-mode BatchNorm): scale, shift (width) f32; copied. */
int jl_plan_add_affine(jl_plan *p, const jl_tensor *scale, const jl_tensor *shift);
int jl_plan_add_activation(jl_plan *p, jl_plan_activation a);

/* Feature widths: rows in, rows out; the number of steps. */
int64_t jl_plan_inputs(const jl_plan *p);
int64_t jl_plan_outputs(const jl_plan *p);
int jl_plan_steps(const jl_plan *p);
/* The program a backend runs (borrowed: valid while p lives and gets no more steps). */
const jl_plan_program *jl_plan_program_of(const jl_plan *p);

/* For plan builders: a malloc'd contiguous copy (owned by the caller, free()) of t's
 * values, t an f32 cpu tensor of ndim (1 or 2) dims equal to want; NULL with a message
 * naming `what` and the shapes otherwise. */
float *jl_plan_copy_values(const jl_tensor *t, const char *what, int ndim, const int64_t *want);
/* The same for a linear weight w (out, in), packed as jl_plan_program.h lays linear weights out. */
float *jl_plan_copy_packed(const jl_tensor *w, const char *what, int64_t out, int64_t in);

/* Runs the plan on x (B, inputs) f32 CPU, any strides; returns a new (B, outputs)
 * f32 tensor (+1), or NULL with a message naming the shape or dtype at fault.
 * Rows are split over the thread pool for large B. */
jl_tensor *jl_plan_run(jl_plan *p, const jl_tensor *x);

#endif
