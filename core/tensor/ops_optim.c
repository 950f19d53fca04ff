/* ops_optim.c — fused optimizer updates (torch.optim formulas) and the sum of
 * squares behind gradient clipping.
 *
 * SGD (torch.optim.SGD, maximize off), per element, one kernel pass:
 *   g = grad + weight_decay * param
 *   buf = g                                  (fresh buffer: the first step)
 *   buf = momentum * buf + (1 - dampening) * g   (later steps)
 *   d = nesterov ? g + momentum * buf : buf  (d = g when momentum == 0)
 *   param -= lr * d
 *
 * Adam / AdamW (torch.optim.Adam / AdamW, amsgrad and maximize off), step t >= 1:
 *   AdamW: param *= 1 - lr * weight_decay         (an in-place scale first)
 *   Adam:  g = grad + weight_decay * param        (a temporary gradient)
 *   m = lerp(m, g, 1 - beta1);  v = beta2 * v + (1 - beta2) * g^2
 *   param -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 * The moment and parameter update is one kernel pass (adam_update); weight
 * decay uses existing kernels so the kernel's four scalars suffice.
 *
 * These write param (and state) in place without the requires-grad check of
 * copy_/fill_: an optimizer step is outside the graph by definition. Each
 * written storage gets its version bumped, so a graph that saved the old
 * values refuses to run backward on them.
 */
#include <math.h>

#include "jl_ops.h"

/* t is an f32 contiguous tensor of param's shape on param's device. */
static int check_like(const char *op, const char *what, const jl_tensor *param, const jl_tensor *t,
                      bool need_contiguous)
{
    bool same = t->ndim == param->ndim && jl_device_of(t) == jl_device_of(param);
    for (int d = 0; same && d < t->ndim; d++) same = t->shape[d] == param->shape[d];
    if (!same || t->dtype != JL_F32)
        return JL_FAIL("%s: %s must be f32 %s on %s like the parameter, got %s %s on %s", op, what,
                       jl_shape_str(param), jl_device_name(jl_device_of(param)), jl_dtype_name(t->dtype),
                       jl_shape_str(t), jl_device_name(jl_device_of(t)));
    if (need_contiguous && !jl_is_contiguous(t))
        return JL_FAIL("%s: %s %s must be contiguous (it is updated in place)", op, what, jl_shape_str(t));
    return JL_OK;
}

static int check_hyper(const char *op, const char *name, double v, double lo, double hi)
{
    if (v >= lo && v <= hi) return JL_OK;
    return JL_FAIL("%s: %s = %g out of range [%g, %g]", op, name, v, lo, hi);
}

/* Fails up front when param's backend lacks the kernel, so nothing is written. */
static int check_supported(const char *op, const jl_tensor *param, jl_op kernel)
{
    const jl_backend *b = jl_backend_for(jl_device_of(param));
    if (!b) return jl_last_error_code();
    if (b->fn[kernel]) return JL_OK;
    return JL_FAIL_CODE(JL_EDEVICE, "%s: not supported on %s", op, jl_device_name(jl_device_of(param)));
}

static void bump(jl_tensor *t)
{
    if (t) t->storage->version++;
}

int jl_sgd_update_(jl_tensor *param, jl_tensor *grad, jl_tensor *momentum_buf, bool fresh,
                   const jl_sgd_config *c)
{
    const char *op = "sgd_update_";
    bool has_buf = c->momentum != 0.0;
    if (check_like(op, "param", param, param, true) || check_like(op, "grad", param, grad, false) ||
        (has_buf && !momentum_buf && JL_FAIL("%s: momentum %g needs a momentum buffer", op, c->momentum)) ||
        (has_buf && check_like(op, "momentum buffer", param, momentum_buf, true)) ||
        check_hyper(op, "lr", c->lr, 0.0, INFINITY) ||
        check_hyper(op, "momentum", c->momentum, 0.0, INFINITY) ||
        check_hyper(op, "weight_decay", c->weight_decay, 0.0, INFINITY) ||
        check_supported(op, param, JL_OP_sgd_update) ||
        (c->nesterov && (c->momentum <= 0.0 || c->dampening != 0.0) &&
         JL_FAIL("%s: Nesterov momentum requires a momentum and zero dampening", op)))
        return jl_last_error_code();
    bool was_enabled = jl_set_grad_enabled(false);
    jl_tensor *g = jl_contiguous(grad);
    jl_set_grad_enabled(was_enabled);
    if (!g) return jl_error_wrap(op);
    jl_kargs k = {.op = JL_OP_sgd_update,
                  .out = jl_view_of(param),
                  .a = jl_view_of(g),
                  .s = {c->lr, c->momentum, c->dampening, c->weight_decay},
                  .i = {c->nesterov, fresh}};
    if (has_buf) k.b = jl_view_of(momentum_buf);
    int rc = jl_numel(param) ? jl_run(jl_device_of(param), &k) : JL_OK;
    jl_release(g);
    bump(param);
    bump(has_buf ? momentum_buf : NULL);
    return rc;
}

/* param *= factor in place (the elementwise affine kernel, out aliasing a). */
static int scale_in_place(jl_tensor *param, double factor)
{
    jl_view v = jl_view_of(param);
    jl_kargs k = {.op = JL_OP_affine, .out = v, .a = v, .s = {factor, 0.0}};
    return jl_run(jl_device_of(param), &k);
}

/* grad + weight_decay * param, contiguous; +1. */
static jl_tensor *l2_gradient(jl_tensor *grad, jl_tensor *param, double weight_decay)
{
    jl_tensor *wp = jl_affine(param, weight_decay, 0.0);
    jl_tensor *g = wp ? jl_add(grad, wp) : NULL;
    jl_release(wp);
    return g;
}

int jl_adam_update_(jl_tensor *param, jl_tensor *grad, jl_tensor *exp_avg, jl_tensor *exp_avg_sq,
                    int64_t step, const jl_adam_config *c)
{
    const char *op = "adam_update_";
    if (check_like(op, "param", param, param, true) || check_like(op, "grad", param, grad, false) ||
        check_like(op, "exp_avg", param, exp_avg, true) ||
        check_like(op, "exp_avg_sq", param, exp_avg_sq, true) ||
        check_hyper(op, "lr", c->lr, 0.0, INFINITY) || check_hyper(op, "beta1", c->beta1, 0.0, 1.0 - 1e-12) ||
        check_hyper(op, "beta2", c->beta2, 0.0, 1.0 - 1e-12) ||
        check_hyper(op, "eps", c->eps, 0.0, INFINITY) ||
        check_hyper(op, "weight_decay", c->weight_decay, 0.0, INFINITY) ||
        check_supported(op, param, JL_OP_adam_update) ||
        (step < 1 && JL_FAIL("%s: step must be >= 1, got %lld", op, (long long)step)))
        return jl_last_error_code();
    if (jl_numel(param) == 0) return JL_OK;
    bool was_enabled = jl_set_grad_enabled(false);
    bool l2 = c->weight_decay != 0.0 && !c->decoupled;
    jl_tensor *g = l2 ? l2_gradient(grad, param, c->weight_decay) : jl_contiguous(grad);
    jl_tensor *gc = g ? jl_contiguous(g) : NULL;
    jl_set_grad_enabled(was_enabled);
    int rc = gc ? JL_OK : jl_error_wrap(op);
    if (!rc && c->decoupled && c->weight_decay != 0.0)
        rc = scale_in_place(param, 1.0 - c->lr * c->weight_decay);
    if (!rc) {
        jl_kargs k = {.op = JL_OP_adam_update,
                      .out = jl_view_of(param),
                      .a = jl_view_of(gc),
                      .b = jl_view_of(exp_avg),
                      .c = jl_view_of(exp_avg_sq),
                      .s = {c->lr, c->beta1, c->beta2, c->eps},
                      .i = {step}};
        rc = jl_run(jl_device_of(param), &k);
    }
    jl_release(g);
    jl_release(gc);
    bump(param);
    bump(exp_avg);
    bump(exp_avg_sq);
    return rc;
}

int jl_sum_squares(int n, jl_tensor *const *ts, double *out)
{
    double total = 0.0;
    bool was_enabled = jl_set_grad_enabled(false);
    int rc = JL_OK;
    for (int i = 0; i < n && rc == JL_OK; i++) {
        if (ts[i]->dtype != JL_F32) {
            rc = JL_FAIL("sum_squares: tensor %d is %s, expected f32", i + 1, jl_dtype_name(ts[i]->dtype));
            break;
        }
        jl_tensor *sq = jl_mul(ts[i], ts[i]);
        jl_tensor *s = sq ? jl_sum(sq, JL_ALL_DIMS, false) : NULL;
        double v = 0.0;
        rc = s ? jl_to_doubles(s, &v) : jl_last_error_code();
        total += v;
        jl_release(sq);
        jl_release(s);
    }
    jl_set_grad_enabled(was_enabled);
    *out = total;
    return rc;
}
