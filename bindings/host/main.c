/* main.c — the `jetlab` executable: command-line parsing and dispatch.
 *
 *   jetlab [options] [script [args]]     run a script (arg table as in lua.c)
 *   jetlab [options] NAME [args]         run the subcommand stdlib/cmd/NAME.lua
 *   jetlab [options] - [args]            run a script read from stdin
 *   jetlab                               the REPL
 *
 * Everything after the options runs inside one protected call (as lua.c's
 * pmain), in a state prepared by state.c. Exit status: 0 on success, 1 when a
 * chunk fails or the jetlab module cannot be loaded, 2 for usage errors and
 * unknown subcommands, 128 + the signal (130 SIGINT, 143 SIGTERM) when the
 * failing chunk had been interrupted by one (train.fit's checkpoint-and-stop
 * included). The REPL exits 0 at end of input, even after errors, and 143
 * when a SIGTERM interrupted one of its chunks.
 *
 * JETLAB_CHECK_LEAKS=1: after the state is closed (every tensor userdata
 * collected), live tensors or storages left in core are reported on stderr and
 * turn a successful exit into status 1. JETLAB_LEAK_REPORT=FILE does the same
 * and appends "jetlab[pid]: at exit: N live tensors, ...; peak RSS X MiB" to
 * FILE for every process (child processes included). os.exit does the same
 * then (state.c), closing the state even without its `close` argument.
 */
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>

#include "host.h"
#include "jl_tensor.h"

#define EXIT_USAGE 2

typedef struct options {
    int interactive;  /* -i */
    int has_code;     /* at least one -e */
    int version;      /* -v, --version */
    int help;         /* -h, --help */
    int script;       /* argv index of the script or subcommand; argc when none */
    int after_dashes; /* the script came after "--" ("-" is then a file) */
} options;

static void print_usage(FILE *f)
{
    fprintf(f,
        "usage: " JL_HOST_NAME " [options] [script [args]]\n"
        "       " JL_HOST_NAME " [options] COMMAND [args]\n"
        "Options:\n"
        "  -e CODE        run the Lua string CODE (may be repeated)\n"
        "  -i             enter the REPL after running the script and -e code\n"
        "  -v, --version  print the version and exit\n"
        "  -h, --help     print this help and exit\n"
        "  --             stop handling options\n"
        "  -              run a script read from stdin\n"
        "With no script, command or -e, " JL_HOST_NAME " starts the REPL (lines from stdin\n"
        "when it is not a terminal; exit status 0 at end of input).\n"
        "Before any code runs the global `jl` holds require \"jetlab\".\n"
        "COMMAND (a name that is not a file, without '/' or '.lua') runs\n"
        "<stdlib>/cmd/COMMAND.lua; stdlib: %s\n"
        "Commands: ",
        jl_host_stdlib_dir());
    jl_host_list_commands(f);
    fprintf(f,
        "Environment: JETLAB_STDLIB (stdlib folder), LUA_PATH_5_4 / LUA_PATH,\n"
        "LUA_CPATH_5_4 / LUA_CPATH, JETLAB_HISTORY (REPL history file).\n");
}

static int usage_error(const char *what, const char *arg)
{
    fprintf(stderr, JL_HOST_NAME ": %s '%s'\n", what, arg);
    print_usage(stderr);
    return EXIT_USAGE;
}

/* Fills o from argv; returns 0 or an exit status for a bad command line. */
static int parse_options(int argc, char **argv, options *o)
{
    memset(o, 0, sizeof *o);
    o->script = argc;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || strcmp(a, "-") == 0) {
            o->script = i;
            return 0;
        }
        if (strcmp(a, "--") == 0) {
            o->script = i + 1;
            o->after_dashes = 1;
            return 0;
        }
        if (strncmp(a, "-e", 2) == 0) {
            if (a[2] == '\0' && ++i >= argc)
                return usage_error("missing code after", "-e");
            o->has_code = 1;
        } else if (strcmp(a, "-i") == 0) {
            o->interactive = 1;
        } else if (strcmp(a, "-v") == 0 || strcmp(a, "--version") == 0) {
            o->version = 1;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            o->help = 1;
        } else {
            return usage_error("unrecognized option", a);
        }
    }
    return 0;
}

/* Runs every -e chunk, in order; stops at the first failure. */
static int run_code_options(lua_State *L, char **argv, const options *o)
{
    for (int i = 1; i < o->script; i++) {
        if (strncmp(argv[i], "-e", 2) != 0)
            continue;
        const char *code = argv[i][2] ? argv[i] + 2 : argv[++i];
        if (jl_host_run_string(L, code, "=(command line)") != LUA_OK)
            return 0;
    }
    return 1;
}

static int exists_as_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && !S_ISDIR(st.st_mode);
}

static int looks_like_command(const char *name)
{
    return name[0] != '\0' && strchr(name, '/') == NULL && strstr(name, ".lua") == NULL;
}

/* Runs argv[o->script]: stdin, a file, or a subcommand. Returns an exit status. */
static int run_script(lua_State *L, char **argv, const options *o)
{
    const char *name = argv[o->script];
    char command[PATH_MAX];
    if (strcmp(name, "-") == 0 && !o->after_dashes)
        return jl_host_run_file(L, NULL) == LUA_OK ? EXIT_SUCCESS : EXIT_FAILURE;
    if (exists_as_file(name) || !looks_like_command(name))
        return jl_host_run_file(L, name) == LUA_OK ? EXIT_SUCCESS : EXIT_FAILURE;
    if (!jl_host_command_path(name, command, sizeof command)) {
        fprintf(stderr, JL_HOST_NAME ": '%s' is neither a file nor a command; commands: ", name);
        jl_host_list_commands(stderr);
        return EXIT_USAGE;
    }
    lua_getglobal(L, "arg");
    lua_pushstring(L, command);
    lua_rawseti(L, -2, 0);
    lua_pop(L, 1);
    return jl_host_run_file(L, command) == LUA_OK ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* The protected main: argc, argv and the options as light userdata arguments;
 * returns the exit status. */
static int l_pmain(lua_State *L)
{
    int argc = (int)lua_tointeger(L, 1);
    char **argv = lua_touserdata(L, 2);
    const options *o = lua_touserdata(L, 3);
    int code = EXIT_SUCCESS;

    if (jl_host_open(L) != LUA_OK) {
        lua_pushinteger(L, EXIT_FAILURE);
        return 1;
    }
    jl_host_create_arg(L, argv, argc, o->script);
    if (!run_code_options(L, argv, o))
        code = EXIT_FAILURE;
    else if (o->script < argc)
        code = run_script(L, argv, o);
    if (code == EXIT_SUCCESS && (o->interactive || (o->script >= argc && !o->has_code)))
        jl_host_repl(L);
    lua_pushinteger(L, code);
    return 1;
}

int jl_host_leak_check_enabled(void)
{
    const char *check = getenv("JETLAB_CHECK_LEAKS"), *report = getenv("JETLAB_LEAK_REPORT");
    return (check && strcmp(check, "1") == 0) || (report && report[0]);
}

int jl_host_check_leaks(int code)
{
    if (!jl_host_leak_check_enabled())
        return code;
    jl_stats s = jl_stats_get();
    struct rusage ru;
    long peak_kib = getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : -1;
    char line[256];
    snprintf(line, sizeof line,
             JL_HOST_NAME "[%ld]: at exit: %lld live tensors, %lld storages, %lld bytes; peak RSS %.1f MiB\n",
             (long)getpid(), (long long)s.tensors, (long long)s.storages, (long long)s.bytes[JL_CPU],
             peak_kib / 1024.0);
    const char *report = getenv("JETLAB_LEAK_REPORT");
    if (report && report[0]) {
        FILE *f = fopen(report, "a");
        if (f) {
            fputs(line, f);
            fclose(f);
        }
    }
    if (s.tensors != 0 || s.storages != 0) {
        fputs(line, stderr);
        fprintf(stderr, JL_HOST_NAME ": leak check failed: tensors are still live after the Lua state was closed\n");
        if (code == EXIT_SUCCESS)
            code = EXIT_FAILURE;
    }
    return code;
}

int main(int argc, char **argv)
{
    options o;
    int code = parse_options(argc, argv, &o);
    if (code != 0)
        return code;
    if (o.help) {
        print_usage(stdout);
        return EXIT_SUCCESS;
    }
    if (o.version) {
        puts(JL_HOST_VERSION_LINE);
        return EXIT_SUCCESS;
    }

    /* Lua's collector frees hundreds of small blocks at once; with glibc's
     * fastbins each such burst is consolidated again on the next large
     * request, which cost ~30% of a small op's CPU time. Without them small
     * blocks still come from the per-thread tcache. */
    mallopt(M_MXFAST, 0);
    lua_State *L = luaL_newstate();
    if (L == NULL) {
        jl_host_message("cannot create the Lua state: not enough memory");
        return EXIT_FAILURE;
    }
    lua_pushcfunction(L, l_pmain);
    lua_pushinteger(L, argc);
    lua_pushlightuserdata(L, argv);
    lua_pushlightuserdata(L, &o);
    int status = lua_pcall(L, 3, 1, 0);
    code = status == LUA_OK ? (int)lua_tointeger(L, -1) : EXIT_FAILURE;
    jl_host_report(L, status);
    int sig = jl_host_interrupt_signal();
    if (sig && (code == EXIT_FAILURE || sig == SIGTERM))
        code = 128 + sig;
    lua_close(L);
    return jl_host_check_leaks(code);
}
