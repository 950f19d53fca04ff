/* repl.c — the jetlab read-eval-print loop.
 *
 * On a terminal: readline editing (callback interface, so Ctrl-C at the prompt
 * clears the line and any pending continuation lines), prompts "jl> " and
 * "..> ", history in $JETLAB_HISTORY or ~/.jetlab_history (write failures are
 * ignored). Otherwise (a pipe): lines from stdin, no prompt. Either way, as in
 * lua.c 5.4: a line is first tried as "return <line>" so expressions print
 * their values through the global print; a chunk whose syntax error is at
 * "<eof>" continues on the next line; errors are reported on stderr (on a
 * terminal one line, with :trace for the traceback; through a pipe the whole
 * traceback) and the loop goes on. Lines starting with '?' or ':' are REPL
 * commands (help, :time, :trace), and Tab completes on a terminal: both are
 * the Lua module jetlab.repl's, reached through repl_session.c and
 * repl_completion.c. The loop ends at end of input (Ctrl-D), or after a chunk
 * that a SIGTERM interrupted.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include <lauxlib.h>

#include "host.h"

#define PROMPT_FIRST "jl> "
#define PROMPT_MORE "..> "
#define HISTORY_LINES 1000

/* Results of reading a line (besides 1 = a line was pushed). */
#define READ_EOF 0
#define READ_CANCEL (-1)
/* Results of loading a chunk (besides Lua statuses, all >= 0). */
#define LOAD_EOF (-1)
#define LOAD_CANCEL (-2)
#define LOAD_COMMAND (-3)

static int on_terminal;
static char history_path[4096];

/* --- reading lines ------------------------------------------------------- */

static char *tty_line;
static int tty_done;

static void on_tty_line(char *line)
{
    tty_line = line;
    tty_done = 1;
    rl_callback_handler_remove();
}

/* Reads a line with readline; *line is malloc'ed. Ctrl-C drops what was typed. */
static int read_tty(const char *prompt, char **line)
{
    tty_line = NULL;
    tty_done = 0;
    rl_callback_handler_install(prompt, on_tty_line);
    while (!tty_done) {
        int fd = fileno(rl_instream);
        fd_set in;
        FD_ZERO(&in);
        FD_SET(fd, &in);
        if (select(fd + 1, &in, NULL, NULL, NULL) >= 0) {
            rl_callback_read_char();
        } else if (jl_host_sigint_take()) {
            rl_replace_line("", 0);
            rl_free_line_state();
            rl_callback_sigcleanup();
            rl_callback_handler_remove();
            fputc('\n', rl_outstream);
            return READ_CANCEL;
        } else if (errno != EINTR) {
            rl_callback_handler_remove();
            return READ_EOF;
        }
    }
    if (!tty_line)
        fputc('\n', rl_outstream);
    *line = tty_line;
    return tty_line ? 1 : READ_EOF;
}

/* Reads a line from a non-terminal stdin, without its newline; *line is malloc'ed. */
static int read_pipe(char **line)
{
    size_t cap = 0;
    *line = NULL;
    ssize_t n = getline(line, &cap, stdin);
    if (n < 0) {
        free(*line);
        return READ_EOF;
    }
    if (n > 0 && (*line)[n - 1] == '\n')
        (*line)[n - 1] = '\0';
    return 1;
}

/* Pushes the next input line as a Lua string; returns 1, READ_EOF or READ_CANCEL. */
static int push_line(lua_State *L, int first)
{
    char *line;
    int got = on_terminal ? read_tty(first ? PROMPT_FIRST : PROMPT_MORE, &line) : read_pipe(&line);
    if (got != 1)
        return got;
    if (first && line[0] == '=')
        lua_pushfstring(L, "return %s", line + 1);
    else
        lua_pushstring(L, line);
    free(line);
    return 1;
}

static void save_history(const char *chunk)
{
    if (!on_terminal || !chunk[0])
        return;
    add_history(chunk);
    if (history_path[0] && append_history(1, history_path) != 0)
        write_history(history_path);
}

/* --- loading chunks ------------------------------------------------------ */

/* With the line on top, tries "return <line>"; on success replaces the line
 * with the compiled function. */
static int load_as_expression(lua_State *L)
{
    const char *line = lua_tostring(L, -1);
    const char *code = lua_pushfstring(L, "return %s;", line);
    int status = luaL_loadbuffer(L, code, strlen(code), "=stdin");
    if (status == LUA_OK) {
        save_history(line);
        lua_replace(L, -3);
        lua_pop(L, 1);
    } else {
        lua_pop(L, 2);
    }
    return status;
}

/* A syntax error at "<eof>" (message on top): the chunk needs more lines. */
static int incomplete(lua_State *L, int status)
{
    static const char mark[] = "<eof>";
    const size_t marklen = sizeof mark - 1;
    size_t len;
    const char *msg;
    if (status != LUA_ERRSYNTAX)
        return 0;
    msg = lua_tolstring(L, -1, &len);
    return len >= marklen && strcmp(msg + len - marklen, mark) == 0;
}

/* With the chunk text on top, adds lines until it compiles or fails for good
 * (a syntax error not at the end, or the input ends); replaces the text with
 * the function or the error message. */
static int load_statements(lua_State *L)
{
    for (;;) {
        size_t len;
        const char *text = lua_tolstring(L, -1, &len);
        int status = luaL_loadbuffer(L, text, len, "=stdin");
        int more = incomplete(L, status) ? push_line(L, 0) : READ_EOF;
        if (more == READ_CANCEL) {
            lua_pop(L, 2);
            return LOAD_CANCEL;
        }
        if (more != 1) {
            save_history(text);
            lua_remove(L, -2);
            return status;
        }
        lua_remove(L, -2);
        lua_pushliteral(L, "\n");
        lua_insert(L, -2);
        lua_concat(L, 3);
    }
}

/* Pushes the next chunk (a function) or its compile error; returns its status,
 * or LOAD_EOF / LOAD_CANCEL / LOAD_COMMAND (a REPL command, run) with nothing
 * pushed. */
static int load_chunk(lua_State *L)
{
    int got = push_line(L, 1);
    if (got != 1)
        return got == READ_CANCEL ? LOAD_CANCEL : LOAD_EOF;
    if (jl_host_session_command(L, lua_tostring(L, -1))) {
        save_history(lua_tostring(L, -1));
        lua_pop(L, 1);
        return LOAD_COMMAND;
    }
    if (load_as_expression(L) == LUA_OK)
        return LUA_OK;
    return load_statements(L);
}

/* --- the loop ------------------------------------------------------------ */

/* Prints the values above base with the global print. */
static void print_results(lua_State *L, int base)
{
    int n = lua_gettop(L) - base;
    if (n <= 0)
        return;
    luaL_checkstack(L, LUA_MINSTACK, "too many results to print");
    lua_getglobal(L, "print");
    lua_insert(L, base + 1);
    if (lua_pcall(L, n, 0, 0) != LUA_OK)
        jl_host_message(lua_pushfstring(L, "error calling 'print' (%s)", lua_tostring(L, -1)));
}

static void terminal_begin(lua_State *L)
{
    const char *env = getenv("JETLAB_HISTORY");
    const char *home = getenv("HOME");
    if (env && env[0])
        snprintf(history_path, sizeof history_path, "%s", env);
    else if (home && home[0])
        snprintf(history_path, sizeof history_path, "%s/.jetlab_history", home);
    rl_readline_name = JL_HOST_NAME;
    rl_catch_signals = 0;
    stifle_history(HISTORY_LINES);
    if (history_path[0]) {
        read_history(history_path);
        history_truncate_file(history_path, HISTORY_LINES);
    }
    jl_host_sigint_catch();
    jl_host_completion_begin(L);
    printf("%s  (Ctrl-D exits, Ctrl-C interrupts, ? help, :trace the last traceback)\n", JL_HOST_VERSION_LINE);
    fflush(stdout);
}

void jl_host_repl(lua_State *L)
{
    on_terminal = isatty(STDIN_FILENO);
    jl_host_session_open(L, on_terminal);
    if (on_terminal)
        terminal_begin(L);
    jl_host_message_prefix(NULL);
    for (;;) {
        int base = lua_gettop(L);
        int status = load_chunk(L);
        if (status == LOAD_EOF)
            break;
        if (status == LOAD_CANCEL || status == LOAD_COMMAND)
            continue;
        jl_host_session_started(L);
        if (status == LUA_OK)
            status = jl_host_docall(L, 0, LUA_MULTRET);
        if (status == LUA_OK)
            print_results(L, base);
        else
            jl_host_session_report(L, status);
        lua_settop(L, base);
        jl_host_session_finished(L);
        fflush(stdout);
        if (jl_host_interrupt_signal() == SIGTERM)
            break; /* asked to terminate: main.c exits 143 */
    }
    jl_host_message_prefix(JL_HOST_NAME);
}
