/* plan.c — the CPU backend's run_plan slot: an inference plan (jl_plan_program.h)
 * over dense rows. The rows are split over the pool when each range gets at least
 * PLAN_GRAIN_MACS multiply-adds (waking the pool costs more than a small batch
 * takes: a batch of 64 FCNN-student rows runs on the caller); each range goes through
 * every step in blocks of PLAN_BLOCK rows between two scratch buffers from the
 * host cache (linear steps: the packed-weight GEMM of packed_gemm.c), and
 * the last step's block is copied into the output. */
#include <math.h>
#include <stdatomic.h>
#include <string.h>

#include "cpu_kernels.h"
#include "jl_formulas.h"
#include "jl_plan_program.h"

#define PLAN_BLOCK 128
#define PLAN_GRAIN_MACS 2097152 /* rows per pool range: at least this many multiply-adds */

static void activate(jl_plan_activation a, float *v, int64_t rows, int64_t width)
{
    int64_t n = rows * width;
    switch (a) {
    case JL_PLAN_RELU:
        for (int64_t i = 0; i < n; i++) v[i] = jl_f32_relu(v[i], 0, 0);
        break;
    case JL_PLAN_SIGMOID:
        for (int64_t i = 0; i < n; i++) v[i] = jl_f32_sigmoid(v[i], 0, 0);
        break;
    case JL_PLAN_TANH:
        for (int64_t i = 0; i < n; i++) v[i] = jl_f32_tanh(v[i], 0, 0);
        break;
    case JL_PLAN_SOFTMAX:
        for (int64_t r = 0; r < rows; r++) {
            float *row = v + r * width, top = row[0];
            for (int64_t j = 1; j < width; j++) top = row[j] > top ? row[j] : top;
            double sum = 0;
            for (int64_t j = 0; j < width; j++) sum += row[j] = expf(row[j] - top);
            for (int64_t j = 0; j < width; j++) row[j] = (float)(row[j] / sum);
        }
        break;
    }
}

/* dst (rows, s->out) <- the step applied to src (rows, s->in), both dense. */
static void run_step(const jl_plan_step *s, const float *src, float *dst, int64_t rows)
{
    if (s->kind == JL_PLAN_STEP_LINEAR) {
        jl_cpu_gemm_packed(rows, s->out, s->in, src, s->in, s->w, s->b, dst, s->out);
        return;
    }
    if (dst != src) memcpy(dst, src, sizeof(float) * (size_t)(rows * s->in));
    if (s->kind == JL_PLAN_STEP_AFFINE) {
        for (int64_t r = 0; r < rows; r++)
            for (int64_t j = 0; j < s->in; j++) dst[r * s->in + j] = dst[r * s->in + j] * s->w[j] + s->b[j];
    } else {
        activate(s->activation, dst, rows, s->in);
    }
}

typedef struct run_ctx {
    const jl_plan_program *p;
    const float *x; /* (B, inputs) dense */
    float *y;       /* (B, outputs) dense */
    atomic_int failed;
} run_ctx;

int jl_cpu_plan_rows(const jl_plan_program *p, const float *x, float *y, int64_t rows)
{
    size_t bytes = sizeof(float) * (size_t)(PLAN_BLOCK * p->max_width);
    float *buf[2] = {jl_cpu_host_alloc(bytes), jl_cpu_host_alloc(bytes)};
    int rc = buf[0] && buf[1] ? JL_OK : JL_ENOMEM;
    for (int64_t r0 = 0; r0 < rows && !rc; r0 += PLAN_BLOCK) {
        int64_t n = rows - r0 < PLAN_BLOCK ? rows - r0 : PLAN_BLOCK;
        const float *src = x + r0 * p->inputs;
        int which = 0;
        for (int i = 0; i < p->n; i++) {
            /* an activation or affine step works in place on a scratch buffer */
            float *dst = p->steps[i].kind != JL_PLAN_STEP_LINEAR && src != x + r0 * p->inputs ? (float *)src
                                                                                          : buf[which ^= 1];
            run_step(&p->steps[i], src, dst, n);
            src = dst;
        }
        memcpy(y + r0 * p->outputs, src, sizeof(float) * (size_t)(n * p->outputs));
    }
    jl_cpu_host_free(buf[0]);
    jl_cpu_host_free(buf[1]);
    return rc;
}

static void run_rows(void *arg, int64_t begin, int64_t end)
{
    run_ctx *c = arg;
    const jl_plan_program *p = c->p;
    if (jl_cpu_plan_rows(p, c->x + begin * p->inputs, c->y + begin * p->outputs, end - begin)) c->failed = 1;
}


static int cpu_run_plan(const jl_plan_program *p, const float *x, float *y, int64_t rows)
{
    run_ctx c = {.p = p, .x = x, .y = y};
    int64_t grain = p->macs_per_row > 0 ? PLAN_GRAIN_MACS / p->macs_per_row : rows;
    jl_parallel_for(rows, grain > PLAN_BLOCK ? grain : PLAN_BLOCK, run_rows, &c);
    if (c.failed) return JL_FAIL_CODE(JL_ENOMEM, "plan: out of host memory for scratch rows");
    return JL_OK;
}

void jl_cpu_register_plan(jl_backend *b)
{
    b->run_plan = cpu_run_plan;
}
