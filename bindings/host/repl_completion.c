/* repl_completion.c — tab completion at the REPL's readline prompt: inside a
 * string, file names (readline's own); elsewhere the candidates of the Lua
 * side (jetlab.repl.complete through repl_session.c) for the word before the
 * cursor, where '.', ':' and '/' do not break words ("jl.ran", "x:su").
 * Candidates carry their own trailing "(" or " = ", so nothing is appended.
 */
#include <stdlib.h>
#include <string.h>

#include <readline/readline.h>

#include "host.h"

static lua_State *session;
static char **candidates;
static int n_candidates;

static void drop_candidates(void)
{
    for (int i = 0; i < n_candidates; i++)
        free(candidates[i]);
    free(candidates);
    candidates = NULL;
    n_candidates = 0;
}

static char *next_candidate(const char *text, int state)
{
    static int next;
    (void)text;
    if (state == 0)
        next = 0;
    if (next >= n_candidates)
        return NULL;
    return strdup(candidates[next++]);
}

static char **attempt_completion(const char *text, int start, int end)
{
    (void)start;
    rl_completion_append_character = '\0';
    if (rl_completion_quote_character)
        return rl_completion_matches(text, rl_filename_completion_function);
    rl_attempted_completion_over = 1;
    char *line = strndup(rl_line_buffer, (size_t)end);
    if (!line)
        return NULL;
    drop_candidates();
    candidates = jl_host_session_complete(session, line, text, &n_candidates);
    free(line);
    char **matches = n_candidates > 0 ? rl_completion_matches(text, next_candidate) : NULL;
    drop_candidates();
    return matches;
}

void jl_host_completion_begin(lua_State *L)
{
    session = L;
    rl_attempted_completion_function = attempt_completion;
    /* no '/': readline would skip one right after a quote ("/tmp" → "tmp") */
    rl_completer_word_break_characters = " \t\n\"'><=;|&{}()[],+-*%^~#";
    rl_completer_quote_characters = "\"'";
}
