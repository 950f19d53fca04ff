/* test_profile.c — the op profiler (core/tensor/jl_profile.h): kernel ops and autograd
 * backwards counted with their calls while on, nothing while off, nested kernels
 * counted to the outermost call, counters cleared by each start. */
#include <criterion/criterion.h>
#include <string.h>

#include "jl_profile.h"
#include "reference.h"

#define SHAPE(...) ((const int64_t[]){__VA_ARGS__})

/* The entry (name, kind), or NULL. */
static const jl_profile_entry *find(const jl_profile_entry *e, int n, const char *name, jl_profile_kind kind)
{
    for (int i = 0; i < n; i++)
        if (e[i].kind == kind && strcmp(e[i].name, name) == 0) return &e[i];
    return NULL;
}

Test(profile, counts_ops_and_backwards_while_on)
{
    static jl_profile_entry e[JL_PROFILE_MAX_ENTRIES];
    jl_tensor *x = ref_randn(2, SHAPE(16, 8), 1, true), *w = ref_randn(2, SHAPE(4, 8), 2, true);
    jl_tensor *before = jl_linear(x, w, NULL); /* not profiled */
    jl_profile_start();
    cr_assert(jl_profile_on());
    for (int i = 0; i < 2; i++) {
        jl_tensor *y = jl_linear(x, w, NULL), *s = jl_sum(y, JL_ALL_DIMS, false);
        cr_assert_eq(jl_backward(s, NULL), JL_OK, "%s", jl_last_error());
        jl_release(y);
        jl_release(s);
    }
    jl_profile_stop();
    cr_assert(!jl_profile_on());
    jl_tensor *after = jl_linear(x, w, NULL); /* not profiled */
    int n = jl_profile_entries(e, JL_PROFILE_MAX_ENTRIES);
    const jl_profile_entry *gemm = find(e, n, "gemm", JL_PROFILE_OP), *back = find(e, n, "linear", JL_PROFILE_BACKWARD);
    cr_assert_not_null(gemm);
    cr_assert_eq(gemm->calls, 2, "the forward GEMMs only: backward's count to the backward");
    cr_assert_not_null(back);
    cr_assert_eq(back->calls, 2);
    cr_assert(gemm->seconds >= 0 && back->seconds > 0);
    cr_assert_null(find(e, n, "gemm", JL_PROFILE_BACKWARD));
    jl_profile_start();
    jl_profile_stop();
    cr_assert_eq(jl_profile_entries(e, JL_PROFILE_MAX_ENTRIES), 0, "start clears the counters");
    jl_tensor *tmp[] = {x, w, before, after};
    for (size_t i = 0; i < sizeof tmp / sizeof *tmp; i++) jl_release(tmp[i]);
}

Test(profile, nested_calls_count_once_and_tokens_balance)
{
    static jl_profile_entry e[JL_PROFILE_MAX_ENTRIES];
    jl_profile_start();
    int64_t outer = jl_profile_begin();
    int64_t inner = jl_profile_begin();
    cr_assert(outer >= 0);
    cr_assert(inner < 0, "a call inside a timed call is not timed");
    jl_profile_end(inner, "inner", JL_PROFILE_OP);
    jl_profile_end(outer, "outer", JL_PROFILE_OP);
    int64_t again = jl_profile_begin(); /* depth back at zero: timed again */
    cr_assert(again >= 0);
    jl_profile_end(again, "outer", JL_PROFILE_OP);
    jl_profile_stop();
    int64_t off = jl_profile_begin();
    jl_profile_end(off, "off", JL_PROFILE_OP);
    int n = jl_profile_entries(e, JL_PROFILE_MAX_ENTRIES);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(e[0].name, "outer");
    cr_assert_eq(e[0].calls, 2);
}
