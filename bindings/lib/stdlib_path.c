/* stdlib_path.c — where libjetlab finds jetlab's Lua stdlib: the first of
 * $JETLAB_STDLIB; <the library's folder>/../share/jetlab/stdlib (an installed
 * tree, the folder found with dladdr); the source tree's stdlib/
 * (JETLAB_SOURCE_STDLIB, for the build tree); the install prefix's
 * (JETLAB_INSTALL_STDLIB). The middle two are taken only when they exist.
 * Chosen once per process, under pthread_once.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib_internal.h"

#ifndef JETLAB_SOURCE_STDLIB
#error "JETLAB_SOURCE_STDLIB must be defined (CMakeLists.txt does it)"
#endif
#ifndef JETLAB_INSTALL_STDLIB
#error "JETLAB_INSTALL_STDLIB must be defined (CMakeLists.txt does it)"
#endif

static char stdlib_dir[PATH_MAX];
static pthread_once_t chosen = PTHREAD_ONCE_INIT;

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Writes <this library's folder>/../share/jetlab/stdlib, resolved, into out; 1 if it exists. */
static int find_installed(char *out)
{
    Dl_info info;
    if (!dladdr((void *)jlib_stdlib_dir, &info) || !info.dli_fname)
        return 0;
    const char *slash = strrchr(info.dli_fname, '/');
    if (!slash)
        return 0;
    char candidate[PATH_MAX];
    int n = snprintf(candidate, sizeof candidate, "%.*s/../share/jetlab/stdlib",
                     (int)(slash - info.dli_fname), info.dli_fname);
    if (n < 0 || (size_t)n >= sizeof candidate)
        return 0;
    return realpath(candidate, out) != NULL && is_dir(out);
}

static void choose(void)
{
    const char *env = getenv("JETLAB_STDLIB");
    char installed[PATH_MAX];
    const char *dir = JETLAB_INSTALL_STDLIB;
    if (env && env[0])
        dir = env;
    else if (find_installed(installed))
        dir = installed;
    else if (is_dir(JETLAB_SOURCE_STDLIB))
        dir = JETLAB_SOURCE_STDLIB;
    snprintf(stdlib_dir, sizeof stdlib_dir, "%s", dir);
}

const char *jlib_stdlib_dir(void)
{
    pthread_once(&chosen, choose);
    return stdlib_dir;
}
