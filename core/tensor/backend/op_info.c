/* op_info.c — the name and columns of every op, generated from jl_ops.def. */
#include "jl_op_info.h"

typedef struct op_row {
    const char *name;
    jl_op_kind kind;
    jl_op_dtypes dtypes;
    unsigned saves;
} op_row;

static const op_row rows[JL_OP_COUNT] = {
#define JL_OP(name, kind, dtypes, saves, doc) \
    {#name, JL_KIND_##kind, JL_DTYPES_##dtypes, JL_SAVES_COLUMN_##saves},
#include "jl_ops.def"
#undef JL_OP
};

static bool known(jl_op op) { return (unsigned)op < JL_OP_COUNT; }

const char *jl_op_name(jl_op op) { return known(op) ? rows[op].name : "?"; }

jl_op_kind jl_op_kind_of(jl_op op) { return known(op) ? rows[op].kind : JL_KIND_MEMORY; }

int jl_op_elementwise_inputs(jl_op op)
{
    switch (jl_op_kind_of(op)) {
    case JL_KIND_UNARY: return 1;
    case JL_KIND_BINARY:
    case JL_KIND_COMPARE:
    case JL_KIND_MASK: return 2;
    case JL_KIND_TERNARY: return 3;
    default: return 0;
    }
}

bool jl_op_takes(jl_op op, jl_dtype dtype)
{
    switch (known(op) ? rows[op].dtypes : JL_DTYPES_OWN) {
    case JL_DTYPES_F32: return dtype == JL_F32;
    case JL_DTYPES_NUM: return dtype != JL_U8;
    default: return true;
    }
}

unsigned jl_op_saves(jl_op op) { return known(op) ? rows[op].saves : 0; }
