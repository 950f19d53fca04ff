# test_repl.sh — the jetlab REPL: through a pipe (no prompts, auto-print,
# multi-line chunks, errors that keep the session going, exit 0 at end of
# input), then on a terminal driven by tmux when tmux is installed (readline,
# prompts, Ctrl-C during a chunk and at the prompt, history, Ctrl-D).
#   bash tests/sh/test_repl.sh /path/to/jetlab
source "$(dirname "$0")/lib.sh" "$@"

# --- through a pipe ------------------------------------------------------------
run_jetlab -i $'1+1\nx = 3\nx * 2\n'
expect_eq "expressions print, statements do not" "$OUT" $'2\n6'
expect_eq "no stderr output" "$ERR" ""
expect_eq "exit status 0 at end of input" "$RC" 0

run_jetlab -i $'function f(a, b)\n  return a + b,\n    a * b\nend\nf(2, 5)\n'
expect_eq "multi-line function, multiple values" "$OUT" $'7\t10'

run_jetlab -i $'1, "two", nil, false\nsetmetatable({}, {__tostring = function() return "shown" end})\n=40+2\n'
expect_eq "values printed with tostring" "$OUT" $'1\ttwo\tnil\tfalse\nshown\n42'

run_jetlab -i $'error("boom")\nprint("after")\n'
expect_eq "the session continues after an error" "$OUT" "after"
expect_match "runtime error message" "$ERR" '^stdin:1: boom$'
expect_match "runtime error traceback" "$ERR" '^stack traceback:$'
expect_no_match "no program name prefix at the REPL" "$ERR" '^jetlab:'
expect_eq "exit status 0 after an error" "$RC" 0

run_jetlab -i $'x = = 1\nprint("ok")\n'
expect_match "syntax error reported" "$ERR" '^stdin:1: unexpected symbol near'
expect_eq "the session continues after a syntax error" "$OUT" "ok"

run_jetlab -i $'local t = {\n  a = 1,\n}\nprint("table built")\n'
expect_eq "multi-line table constructor" "$OUT" "table built"

run_jetlab -i $'for i = 1, 2 do\n  print(i)\n'
expect_match "input ending inside a chunk is reported" "$ERR" "'end' expected .*near <eof>$"
expect_eq "... and nothing runs" "$OUT:$RC" ":0"

run_jetlab -i $'print(type(jl))\n'
expect_eq "jl is set in the REPL" "$OUT" "table"

run_jetlab
expect_eq "empty input" "$OUT:$ERR:$RC" "::0"

# --- on a terminal, through tmux -----------------------------------------------------
source "$(dirname "$0")/tmux_lib.sh"

HISTORY=$TMP/history
start_repl JETLAB_HISTORY="$HISTORY"
wait_for_screen "banner" '^jetlab [0-9.]+ \(Lua' &&
wait_for_screen "prompt" '^jl> ?$'

tmux_ send-keys -t repl '1+2' Enter
wait_for_screen "expression printed" '^3$'

tmux_ send-keys -t repl 'function g()' Enter
wait_for_screen "continuation prompt" '^\.\.> ?$'
enter_line '  return "from g" end'
tmux_ send-keys -t repl 'g()' Enter
wait_for_screen "multi-line definition" '^from g$'

tmux_ send-keys -t repl 'print("loop" .. "ing") while true do end' Enter
wait_for_screen "a chunk starts" '^looping$'
tmux_ send-keys -t repl C-c
wait_for_screen "Ctrl-C interrupts a running chunk" 'interrupted$'
wait_for_prompt "the interrupted chunk"
tmux_ send-keys -t repl 'print("alive")' Enter
wait_for_screen "the session is alive after Ctrl-C" '^alive$'

tmux_ send-keys -t repl 'print("typed" .. "away")'
wait_for_screen "typing at the prompt" '^jl> print\("typed" \.\. "away"\)$'
tmux_ send-keys -t repl C-c
wait_for_prompt "Ctrl-C at the prompt"
tmux_ send-keys -t repl 'print("clean" .. "line")' Enter
wait_for_screen "the line after Ctrl-C at the prompt runs" '^cleanline$'
expect_no_match "Ctrl-C at the prompt drops the typed line" "$(screen)" '^typedaway$'

tmux_ send-keys -t repl C-d
for _ in $(seq 100); do
  tmux_ has-session -t repl 2>/dev/null || break
  sleep 0.1
done
if tmux_ has-session -t repl 2>/dev/null; then fail "Ctrl-D ends the session" "$(screen)"; else pass; fi

expect_match "history saved" "$(cat "$HISTORY" 2>/dev/null)" '^1\+2$'
expect_no_match "history skips the dropped line" "$(cat "$HISTORY" 2>/dev/null)" 'typed'

finish
