/* paths.c — where the jetlab executable finds its Lua stdlib.
 *
 * The stdlib folder is the first of: $JETLAB_STDLIB; <exe dir>/../share/
 * jetlab/stdlib (an installed tree, exe found through /proc/self/exe); the
 * source tree's stdlib/ (JETLAB_SOURCE_STDLIB, for the build tree); the
 * install prefix's (JETLAB_INSTALL_STDLIB). The middle two are taken only when
 * they exist. package.path gets "<stdlib>/?.lua;<stdlib>/?/init.lua;"
 * prepended to what the package library computed (LUA_PATH_5_4, LUA_PATH with
 * ";;" expanded, or the default), and Lua sees the choice as
 * package.loaded["jetlab.paths"] = {stdlib = ..., cmd = ..., exe = ...}.
 */
#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>

#include "host.h"

#ifndef JETLAB_SOURCE_STDLIB
#error "JETLAB_SOURCE_STDLIB must be defined (CMakeLists.txt does it)"
#endif
#ifndef JETLAB_INSTALL_STDLIB
#error "JETLAB_INSTALL_STDLIB must be defined (CMakeLists.txt does it)"
#endif

static char exe_path[PATH_MAX];
static char stdlib_dir[PATH_MAX];

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The executable's own path, or "" when /proc is not there. */
static const char *find_exe(void)
{
    if (!exe_path[0]) {
        ssize_t n = readlink("/proc/self/exe", exe_path, sizeof exe_path - 1);
        exe_path[n > 0 ? n : 0] = '\0';
    }
    return exe_path;
}

/* Writes <exe dir>/../share/jetlab/stdlib, resolved, into out; 1 if it exists. */
static int find_installed(char *out)
{
    char candidate[PATH_MAX];
    const char *exe = find_exe();
    const char *slash = strrchr(exe, '/');
    if (!slash)
        return 0;
    int n = snprintf(candidate, sizeof candidate, "%.*s/../share/jetlab/stdlib",
                     (int)(slash - exe), exe);
    if (n < 0 || (size_t)n >= sizeof candidate)
        return 0;
    return realpath(candidate, out) != NULL && is_dir(out);
}

static void choose(const char *dir)
{
    snprintf(stdlib_dir, sizeof stdlib_dir, "%s", dir);
}

const char *jl_host_stdlib_dir(void)
{
    if (stdlib_dir[0])
        return stdlib_dir;
    const char *env = getenv("JETLAB_STDLIB");
    char installed[PATH_MAX];
    if (env && env[0])
        choose(env);
    else if (find_installed(installed))
        choose(installed);
    else if (is_dir(JETLAB_SOURCE_STDLIB))
        choose(JETLAB_SOURCE_STDLIB);
    else
        choose(JETLAB_INSTALL_STDLIB);
    return stdlib_dir;
}

void jl_host_setup_paths(lua_State *L)
{
    const char *dir = jl_host_stdlib_dir();
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "path");
    lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;%s", dir, dir, lua_tostring(L, -1));
    lua_setfield(L, -3, "path");
    lua_pop(L, 1);

    lua_getfield(L, -1, "loaded");
    lua_createtable(L, 0, 3);
    lua_pushstring(L, dir);
    lua_setfield(L, -2, "stdlib");
    lua_pushfstring(L, "%s/cmd", dir);
    lua_setfield(L, -2, "cmd");
    lua_pushstring(L, find_exe());
    lua_setfield(L, -2, "exe");
    lua_setfield(L, -2, "jetlab.paths");
    lua_pop(L, 2);
}

int jl_host_command_path(const char *name, char *buf, size_t size)
{
    int n = snprintf(buf, size, "%s/cmd/%s.lua", jl_host_stdlib_dir(), name);
    return n > 0 && (size_t)n < size && is_file(buf);
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void jl_host_list_commands(FILE *f)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/cmd", jl_host_stdlib_dir());
    char **names = NULL;
    size_t count = 0, cap = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len <= 4 || e->d_name[0] == '.' || strcmp(e->d_name + len - 4, ".lua") != 0)
            continue;
        if (count == cap) {
            cap = cap ? 2 * cap : 16;
            char **grown = realloc(names, cap * sizeof *names);
            if (!grown)
                break;
            names = grown;
        }
        names[count] = strndup(e->d_name, len - 4);
        if (names[count])
            count++;
    }
    if (d)
        closedir(d);
    if (count > 1)
        qsort(names, count, sizeof *names, compare_names);
    if (count == 0)
        fputs("(none)", f);
    for (size_t i = 0; i < count; i++) {
        fprintf(f, "%s%s", i ? ", " : "", names[i]);
        free(names[i]);
    }
    fputc('\n', f);
    free(names);
}
