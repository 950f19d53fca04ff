/* c_docs.h — the doc comments of the C functions of the bindings/ files, for the
 * REPL's help. The table is generated at build time by scripts/gen_c_docs.py
 * (CMakeLists.txt); Lua reads it as require "jetlab.c_docs":
 *   {["jl.randn"] = {usage = "jl.randn(3, 4[, opts])", doc = "...", file = "lua_construct.c"}, ...}
 */
#ifndef JL_C_DOCS_H
#define JL_C_DOCS_H

#include <lua.h>

typedef struct jl_c_doc {
    const char *name;  /* "jl.randn", "t:sum", "loader:next" */
    const char *usage; /* the call as the comment writes it, with "→ result" */
    const char *doc;   /* the whole comment */
    const char *file;  /* the bindings/ file it comes from */
} jl_c_doc;

/* Sorted by name, ended by an entry of NULLs. */
extern const jl_c_doc jl_c_docs[];

/* The module jetlab.c_docs: the table above by name. */
int luaopen_jetlab_c_docs(lua_State *L);

#endif
