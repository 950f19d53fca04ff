/* test_op_table.c — every op of core/tensor/backend/jl_ops.def has a CPU
 * kernel, a CUDA kernel (where the CUDA backend is built; its table needs no
 * device) and a parity case or a documented exemption (parity_cases.h), and
 * its columns agree with its kind. */
#include <criterion/criterion.h>

#include "jl_op_info.h"
#include "parity_cases.h"

TestSuite(op_table);

Test(op_table, every_op_has_a_cpu_kernel)
{
    const jl_backend *cpu = jl_cpu_backend();
    for (int op = 0; op < JL_OP_COUNT; op++)
        cr_expect_not_null(cpu->fn[op], "%s: no CPU kernel (its slot in kernels/cpu is empty)", jl_op_name((jl_op)op));
}

Test(op_table, every_op_has_a_cuda_kernel)
{
    const jl_backend *cuda = jl_cuda_backend();
    if (!cuda) cr_skip_test("built without the CUDA backend: CUDA slots not checked");
    for (int op = 0; op < JL_OP_COUNT; op++)
        cr_expect_not_null(cuda->fn[op], "%s: no CUDA kernel (its slot in kernels/cuda is empty)",
                           jl_op_name((jl_op)op));
}

Test(op_table, every_op_has_one_parity_case_or_exemption)
{
    int rows[JL_OP_COUNT] = {0};
#define COUNT_ROW(name, ...) rows[JL_OP_##name]++;
    PARITY_CASES(COUNT_ROW)
    PARITY_EXEMPT(COUNT_ROW)
#undef COUNT_ROW
    for (int op = 0; op < JL_OP_COUNT; op++)
        cr_expect_eq(rows[op], 1, "%s: %d rows in tests/c/parity_cases.h (a parity case or an exemption), want 1",
                     jl_op_name((jl_op)op), rows[op]);
}

Test(op_table, columns_agree_with_the_kind)
{
    for (int op = 0; op < JL_OP_COUNT; op++) {
        jl_op_kind kind = jl_op_kind_of((jl_op)op);
        const char *name = jl_op_name((jl_op)op);
        cr_expect(jl_op_takes((jl_op)op, JL_F32), "%s: takes no f32", name);
        bool generic_rule = jl_op_saves((jl_op)op) & JL_SAVES_RULE;
        cr_expect(!generic_rule || kind == JL_KIND_UNARY || kind == JL_KIND_BINARY,
                  "%s: saves names a generic elementwise backward, but the op is neither UNARY nor BINARY", name);
        cr_expect(!(jl_op_saves((jl_op)op) & JL_SAVES_B) || kind == JL_KIND_BINARY, "%s: saves b without one", name);
    }
}
