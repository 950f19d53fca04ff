/* jl_op_info.h — the columns of jl_ops.def as C values (what each column
 * means is at the top of jl_ops.def), and the selectors that generate
 * per-kind tables from it.
 *
 *   if (jl_op_kind_of(op) == JL_KIND_COMPARE) ...
 *   if (jl_op_saves(op) & JL_SAVES_Y) jl_node_save(node, out);
 *
 * A switch over the elementwise formulas (jl_formulas.h), one case per op of
 * the matching kinds:
 *   #define JL_OP(name, kind, ...) JL_EW_##kind(case JL_OP_##name: return jl_f64_##name(x, s0, s1);, , )
 *   #include "jl_ops.def"
 *   #undef JL_OP
 */
#ifndef JL_OP_INFO_H
#define JL_OP_INFO_H

#include <stdbool.h>

#include "jl_kernel.h"

typedef enum {
    JL_KIND_MEMORY,
    JL_KIND_UNARY,   /* out <- f(a) */
    JL_KIND_BINARY,  /* out <- f(a, b), with an f32 formula */
    JL_KIND_COMPARE, /* u8 out <- f(a, b) */
    JL_KIND_MASK,    /* out <- f(a, b), b a u8 mask */
    JL_KIND_TERNARY, /* out <- c ? a : b */
    JL_KIND_REDUCE,
    JL_KIND_GEMM,
    JL_KIND_INDEX,
    JL_KIND_RANDOM,
    JL_KIND_LOSS,
    JL_KIND_OPTIM,
    JL_KIND_GRAPH,
} jl_op_kind;

typedef enum { JL_DTYPES_F32, JL_DTYPES_NUM, JL_DTYPES_ANY, JL_DTYPES_OWN } jl_op_dtypes;

/* Bits of jl_op_saves: RULE when the generic elementwise backward handles the
 * op, then which of the input a, the input b and the output y it keeps. */
enum { JL_SAVES_A = 1, JL_SAVES_B = 2, JL_SAVES_Y = 4, JL_SAVES_RULE = 8 };

/* The saves column's words as bits (pasted by the expansions of jl_ops.def). */
#define JL_SAVES_COLUMN_NONE JL_SAVES_RULE
#define JL_SAVES_COLUMN_A (JL_SAVES_RULE | JL_SAVES_A)
#define JL_SAVES_COLUMN_Y (JL_SAVES_RULE | JL_SAVES_Y)
#define JL_SAVES_COLUMN_AY (JL_SAVES_RULE | JL_SAVES_A | JL_SAVES_Y)
#define JL_SAVES_COLUMN_AB (JL_SAVES_RULE | JL_SAVES_A | JL_SAVES_B)
#define JL_SAVES_COLUMN_BY (JL_SAVES_RULE | JL_SAVES_B | JL_SAVES_Y)
#define JL_SAVES_COLUMN_ABY (JL_SAVES_RULE | JL_SAVES_A | JL_SAVES_B | JL_SAVES_Y)
#define JL_SAVES_COLUMN_NOGRAD 0
#define JL_SAVES_COLUMN_OWN 0

jl_op_kind jl_op_kind_of(jl_op op);
/* The inputs of an elementwise op: 1 (UNARY), 2 (BINARY, COMPARE, MASK), 3 (TERNARY); 0 for other kinds. */
int jl_op_elementwise_inputs(jl_op op);
/* Whether core accepts inputs of this dtype for the op (always true for dtypes OWN). */
bool jl_op_takes(jl_op op, jl_dtype dtype);
/* JL_SAVES_* bits of the op's saves column. */
unsigned jl_op_saves(jl_op op);

/* JL_EW_<kind>(unary, binary, logic) keeps the argument for the formula family
 * of an op of that kind: `unary` for UNARY (jl_f32_/jl_f64_<op>(x, s0, s1)),
 * `binary` for BINARY (f32 and f64 formulas of (x, y, s0, s1)), `logic` for
 * COMPARE and MASK (run through the f64 formula only); nothing for the rest. */
#define JL_EW_MEMORY(unary, binary, logic)
#define JL_EW_UNARY(unary, binary, logic) unary
#define JL_EW_BINARY(unary, binary, logic) binary
#define JL_EW_COMPARE(unary, binary, logic) logic
#define JL_EW_MASK(unary, binary, logic) logic
#define JL_EW_TERNARY(unary, binary, logic)
#define JL_EW_REDUCE(unary, binary, logic)
#define JL_EW_GEMM(unary, binary, logic)
#define JL_EW_INDEX(unary, binary, logic)
#define JL_EW_RANDOM(unary, binary, logic)
#define JL_EW_LOSS(unary, binary, logic)
#define JL_EW_OPTIM(unary, binary, logic)
#define JL_EW_GRAPH(unary, binary, logic)

#endif
