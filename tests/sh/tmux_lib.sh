# tmux_lib.sh — a jetlab REPL on a terminal driven by tmux, for the REPL tests
# (sourced after lib.sh, not run by ctest). Skips the rest of the test when
# tmux is not installed.
#
#   start_repl [ENV=VALUE...]      # a session "repl" running $JETLAB, 100x40
#   tmux_ send-keys -t repl 'x = 1' Enter
#   screen                         # the visible lines
#   wait_for_screen NAME ERE       # up to 10 s for a screen line matching ERE (a check)
#   wait_for_prompt WHAT           # up to 20 s for an empty prompt as the last line (WHAT: for the message)
#   enter_line 'x = 1'             # types a line, Enter, and waits up to 20 s for the next
#                                  # empty prompt, so the keys that follow reach readline
#                                  # and not the terminal's echo while the line still runs
#   clear_screen                   # clears the terminal (the next checks see new lines only)
if ! command -v tmux >/dev/null 2>&1; then
  echo "SKIP interactive checks: tmux is not installed"
  finish
  exit
fi

SOCKET=jetlab-test-$$
tmux_() { tmux -L "$SOCKET" "$@"; }
trap 'tmux_ kill-server 2>/dev/null; rm -rf "$TMP"' EXIT

screen() { tmux_ capture-pane -p -t repl 2>/dev/null; }

wait_for_screen() {
  for _ in $(seq 100); do
    screen | grep -Eq -- "$2" && { pass; return 0; }
    sleep 0.1
  done
  fail "$1" "no screen line matches: $2" "screen:" "$(screen)"
  return 1
}

wait_for_prompt() {
  for _ in $(seq 200); do
    [[ "$(screen | grep -v '^[[:space:]]*$' | tail -n 1)" =~ ^jl\>\ ?$ ]] && return 0
    sleep 0.1
  done
  fail "an empty prompt after: $1" "screen:" "$(screen)"
  return 1
}

enter_line() {
  tmux_ send-keys -t repl "$1" Enter
  wait_for_prompt "$1"
}

start_repl() {
  local env=""
  for kv in "$@"; do env+="$(printf '%q ' "$kv")"; done
  tmux_ new-session -d -s repl -x 100 -y 40 "env $env$(printf %q "$JETLAB")"
}

clear_screen() {
  tmux_ send-keys -t repl C-l
  tmux_ clear-history -t repl
  sleep 0.2
}
