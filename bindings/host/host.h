/* host.h — internal API shared by the files of the `jetlab` executable.
 *
 * main.c parses the command line and dispatches; state.c builds the Lua state
 * (standard libraries, jetlab.core preload, package.path, global `jl`);
 * paths.c finds the stdlib folder; script.c runs chunks with a traceback;
 * repl.c is the interactive loop; signals.c turns Ctrl-C and SIGTERM into a
 * Lua error (or, in deferred mode, into a flag train.fit polls).
 *
 * Status convention: functions returning int return a Lua status (LUA_OK or
 * an error code) after having reported any error on stderr.
 */
#ifndef JL_HOST_H
#define JL_HOST_H

#include <stddef.h>
#include <stdio.h>

#include <lua.h>

#ifndef JETLAB_VERSION
#error "JETLAB_VERSION must be defined (CMakeLists.txt does it)"
#endif

#define JL_HOST_NAME "jetlab"
/* "jetlab X.Y.Z (Lua 5.4.N)": --version and the REPL banner. */
#define JL_HOST_VERSION_LINE JL_HOST_NAME " " JETLAB_VERSION " (" LUA_RELEASE ")"

/* --- main.c --------------------------------------------------------------- */
/* With JETLAB_CHECK_LEAKS=1 or JETLAB_LEAK_REPORT=FILE (enabled: 1), once
 * the Lua state is closed: when tensors or storages are still live in core,
 * says so on stderr and returns EXIT_FAILURE instead of a successful code;
 * appends a line with the live counts and the peak RSS to FILE. Otherwise
 * returns code. */
int jl_host_leak_check_enabled(void);
int jl_host_check_leaks(int code);

/* --- state.c -------------------------------------------------------------- */
/* Opens the standard libraries, sets package.preload["jetlab.core"], the
 * stdlib search path, package.loaded["jetlab.paths"] and the global
 * `jl = require "jetlab"`. With the leak check enabled, os.exit always
 * closes the state and runs jl_host_check_leaks before exiting. Runs unprotected calls: call it from a protected
 * C function. Returns a status (errors reported). */
int jl_host_open(lua_State *L);

/* --- paths.c -------------------------------------------------------------- */
/* The stdlib folder chosen for this process (see paths.c for the order).
 * Static storage; never NULL. */
const char *jl_host_stdlib_dir(void);
/* Prepends the stdlib folder to package.path and registers
 * package.loaded["jetlab.paths"] = {stdlib = ..., cmd = ...}. Needs the
 * package library open. */
void jl_host_setup_paths(lua_State *L);
/* Writes "<stdlib>/cmd/<name>.lua" into buf; returns 1 when that file exists. */
int jl_host_command_path(const char *name, char *buf, size_t size);
/* Prints the available subcommands (the stdlib/cmd/ *.lua files, sorted,
 * without the extension) to f on one line. */
void jl_host_list_commands(FILE *f);

/* --- script.c ------------------------------------------------------------- */
/* Prints msg to stderr (after flushing stdout), prefixed with "<prefix>: "
 * unless the prefix is NULL (the REPL sets it so). */
void jl_host_message(const char *msg);
void jl_host_message_prefix(const char *prefix);
/* Reports the error message on top of the stack (if status is an error) and
 * pops it; returns status. */
int jl_host_report(lua_State *L, int status);
/* Calls the function below narg arguments with a traceback message handler
 * and Ctrl-C armed; leaves nres results (LUA_MULTRET allowed) or the error. */
int jl_host_docall(lua_State *L, int narg, int nres);
/* Sets the global `arg` as lua.c does: arg[0] = argv[script], arg[1..] the
 * arguments after it, negative indices the interpreter and its options.
 * script == argc means there is no script (arg[0] = argv[0]). */
void jl_host_create_arg(lua_State *L, char **argv, int argc, int script);
/* Runs a string chunk named `name`. Reports errors. */
int jl_host_run_string(lua_State *L, const char *code, const char *name);
/* Runs the file at path (NULL = stdin) with the script arguments of the global
 * `arg` (arg[1..#arg]) as its varargs. Reports errors. */
int jl_host_run_file(lua_State *L, const char *path);

/* --- repl.c --------------------------------------------------------------- */
/* The read-eval-print loop until end of input: readline, prompts and history
 * when stdin is a terminal, plain line reading otherwise. Returns when the
 * input ends. */
void jl_host_repl(lua_State *L);

/* --- repl_session.c ------------------------------------------------------ */
/* The REPL's Lua side, the module jetlab.repl (stdlib/jetlab/repl/): opens it
 * (and sets the global help); a hook that fails reports its error. With
 * one_line (on a terminal), errors show their first line only. */
void jl_host_session_open(lua_State *L, int one_line);
/* Runs line when it is a REPL command (`?...`, `:name`); returns 1 when it was. */
int jl_host_session_command(lua_State *L, const char *line);
/* Around each command, for :time. */
void jl_host_session_started(lua_State *L);
void jl_host_session_finished(lua_State *L);
/* Reports the error message on top (popped) as jl_host_report does, keeping
 * it for :trace; in one-line mode, only its first line, without positions. */
void jl_host_session_report(lua_State *L, int status);
/* The completions of word, the end of line (the text before the cursor):
 * *count malloc'ed strings in a malloc'ed array (NULL when none). */
char **jl_host_session_complete(lua_State *L, const char *line, const char *word, int *count);

/* --- repl_completion.c --------------------------------------------------- */
/* Installs readline's tab completion, answered by the session of L. */
void jl_host_completion_begin(lua_State *L);

/* --- signals.c ------------------------------------------------------------ */
/* Arms Ctrl-C (SIGINT) and SIGTERM for a chunk running in L: the first signal
 * sets jl_lua_interrupted and makes L raise "interrupted" at its next
 * instruction; a second one ends the process. While Lua code has deferred
 * interrupts (jl.defer_interrupts, train.fit), the first signal is only
 * recorded for jl.interrupted(), the second interrupts, the third ends. */
void jl_host_sigint_arm(lua_State *L);
/* Restores the SIGINT/SIGTERM dispositions saved by the matching arm and
 * clears the hook it may have left. */
void jl_host_sigint_disarm(lua_State *L);
/* The number of the last SIGINT/SIGTERM received (or simulated by
 * jl.interrupt) while the last chunk ran, 0 when none: main.c exits with
 * 128 + it when that chunk failed, repl.c stops after a SIGTERM. */
int jl_host_interrupt_signal(void);
/* Installs a SIGINT handler that only records the signal (for the prompt);
 * returns and clears the record with jl_host_sigint_take. */
void jl_host_sigint_catch(void);
int jl_host_sigint_take(void);

#endif
