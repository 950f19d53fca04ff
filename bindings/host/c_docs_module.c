/* c_docs_module.c — jetlab.c_docs, the generated doc table of the C
 * functions (c_docs.h) as a Lua table by name. */
#include "c_docs.h"

int luaopen_jetlab_c_docs(lua_State *L)
{
    lua_newtable(L);
    for (const jl_c_doc *d = jl_c_docs; d->name; d++) {
        lua_createtable(L, 0, 3);
        lua_pushstring(L, d->usage);
        lua_setfield(L, -2, "usage");
        lua_pushstring(L, d->doc);
        lua_setfield(L, -2, "doc");
        lua_pushstring(L, d->file);
        lua_setfield(L, -2, "file");
        lua_setfield(L, -2, d->name);
    }
    return 1;
}
