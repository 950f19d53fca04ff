/* device.c — backend lookup, op dispatch through the per-device tables, and
 * moving tensors between devices. */
#include <string.h>

#include "jl_profile.h"
#include "jl_tensor.h"

#ifndef JETLAB_HAVE_CUDA
const jl_backend *jl_cuda_backend(void) { return NULL; }
#endif

const jl_backend *jl_backend_for(jl_device device)
{
    const jl_backend *be = NULL;
    if (device == JL_CPU) be = jl_cpu_backend();
    else if (device == JL_CUDA) {
        be = jl_cuda_backend();
        if (!be) {
            JL_FAIL_CODE(JL_EDEVICE, "cuda: this jetlab was built without the CUDA backend");
            return NULL;
        }
        if (!be->available()) {
            JL_FAIL_CODE(JL_EDEVICE, "cuda: no CUDA device is present");
            return NULL;
        }
    } else JL_FAIL_CODE(JL_EDEVICE, "unknown device %d", (int)device);
    return be;
}

/* The gemm slot's operands (jl_ops.def): out (batch, M, N), a (batch, M, K) or
 * its transpose when i[1], b likewise when i[2]. */
static void profile_gemm(const jl_kargs *k, int64_t start_ns)
{
    bool ta = k->i[1] != 0, tb = k->i[2] != 0;
    int64_t K = ta ? k->a.shape[1] : k->a.shape[2];
    jl_profile_gemm_add(k->i[0], k->out.shape[1], k->out.shape[2], K, ta, tb,
                        (double)(jl_profile_now_ns() - start_ns) * 1e-9);
}

int jl_run(jl_device device, const jl_kargs *k)
{
    const jl_backend *be = jl_backend_for(device);
    if (!be) return JL_EDEVICE;
    jl_kernel_fn fn = be->fn[k->op];
    if (!fn) return JL_FAIL_CODE(JL_EDEVICE, "%s: not supported on %s", jl_op_name(k->op), be->name);
    if (!jl_profile_on()) return fn(k);
    int64_t token = jl_profile_begin(), start = jl_profile_now_ns();
    int rc = fn(k);
    if (k->op == JL_OP_gemm) profile_gemm(k, start);
    jl_profile_end(token, jl_op_name(k->op), JL_PROFILE_OP);
    return rc;
}

jl_tensor *jl_to_device(jl_tensor *t, jl_device device)
{
    jl_device from = jl_device_of(t);
    if (from == device) return jl_retain(t);
    jl_tensor *src = NULL, *out = NULL;
    if (from == JL_CPU) src = jl_retain(t);
    else {
        /* make it contiguous on its own device first, so one memcpy moves it */
        jl_tensor *tmp = jl_tensor_new(t->dtype, t->ndim, t->shape, from);
        jl_kargs k = {.op = JL_OP_copy, .out = tmp ? jl_view_of(tmp) : (jl_view){0}, .a = jl_view_of(t)};
        if (!tmp || jl_run(from, &k)) {
            jl_release(tmp);
            return NULL;
        }
        src = tmp;
    }
    out = jl_tensor_new(t->dtype, t->ndim, t->shape, device);
    if (!out) goto fail;
    size_t bytes = (size_t)jl_numel(t) * jl_dtype_size(t->dtype);
    if (from == JL_CPU) {
        /* host side may be strided: compact it first */
        jl_tensor *compact = src;
        if (!jl_is_contiguous(src)) {
            compact = jl_tensor_new(t->dtype, t->ndim, t->shape, JL_CPU);
            jl_kargs k = {
                .op = JL_OP_copy, .out = compact ? jl_view_of(compact) : (jl_view){0}, .a = jl_view_of(src)};
            if (!compact || jl_run(JL_CPU, &k)) {
                jl_release(compact);
                goto fail;
            }
            jl_release(src);
            src = compact;
        }
        if (jl_backend_for(device)->from_host(jl_data(out), jl_data(src), bytes)) goto fail;
    } else if (jl_backend_for(from)->to_host(jl_data(out), jl_data(src), bytes)) goto fail;
    jl_release(src);
    return out;
fail:
    jl_release(src);
    jl_release(out);
    return NULL;
}
