# test_repl_workbench.sh — the REPL's workbench (issue 19): help (`?name`,
# `?`, help(obj)) and `:time` / `:trace` through a pipe, option-name
# completion from Lua; then on a terminal driven by tmux: Tab completion of
# globals, fields, methods, option names and file names, help, timing, and
# one-line errors with :trace for the traceback.
#   bash tests/sh/test_repl_workbench.sh /path/to/jetlab
source "$(dirname "$0")/lib.sh" "$@"

# --- through a pipe ------------------------------------------------------------
run_jetlab -i $'?jl.randn\n'
expect_match "?jl.randn prints the usage of a C function" "$OUT" '^jl\.randn\(3, 4\[, opts\]\): standard normal\.$'

run_jetlab -i $'?train.fit\n?jl.shape_str\n'
expect_match "?train.fit finds the stdlib module and its --- usage line" "$OUT" '^train\.fit\{\.\.\.\} → history'
expect_match "... and its source" "$OUT" 'stdlib/jetlab/train\.lua:[0-9]+\)$'
expect_match "a Lua function of jl" "$OUT" '^jl\.shape_str\(t\) → "\(3, 4\)"'

run_jetlab -i $'x = jl.ones(2, 3)\n?x:sum\nhelp(jl.nn.Linear(3, 2))\nhelp(require "jetlab.optim")\n?no.such.thing\n'
expect_match "a tensor method" "$OUT" '^t:sum\(dim\?, keepdim\?\)'
expect_match "help(model) shows its parameters" "$OUT" '^parameters: 8 \(trainable 8\)$'
expect_match "help(module) shows its header" "$OUT" '^jetlab\.optim — optimizers'
expect_match "... and its members" "$OUT" '^members: .*Adam'
expect_match "a C submodule lists the usage of its functions" "$(printf '?jl.io\n' | "$JETLAB")" '^  jl\.io\.open_jets\(path'
expect_match "an unknown name says so" "$OUT" '^\?no\.such\.thing: nothing by that name$'

run_jetlab -i $'?\n'
expect_match "? lists the stdlib modules" "$OUT" '^  train +the training loop'
expect_match "... and the C ones" "$OUT" '^  C: .*jl\.io'

run_jetlab -i $':time\nx = jl.zeros(256)\n:time\n1\n'
expect_match ":time prints the time and the tensor memory delta" "$OUT" '^time [0-9]+\.[0-9]+ s  tensor memory \+1\.0 KiB$'
expect_eq ":time toggles" "$(printf '%s\n' "$OUT" | grep -c '^time ')" 1

run_jetlab -i $'jl.matmul(jl.zeros(3, 4), jl.zeros(3, 4))\n:trace\n:nope\n'
expect_match "errors through a pipe keep the traceback" "$ERR" '^stack traceback:$'
expect_match ":trace prints the last error" "$OUT" '^stdin:1: matmul: shapes \(3, 4\) and \(3, 4\) do not align'
expect_match "an unknown command" "$ERR" '^:nope: unknown command'

complete_lua() {
  run_jetlab -i "print(table.concat(require(\"jetlab.repl.complete\").candidates($1), \"|\"))"$'\n'
}
complete_lua '"train.fit({mo", "mo"'
expect_eq "train.fit's option names" "$OUT" "model = "
complete_lua '"opt = optim.SGD(ps, {lr = 0.1, mo", "mo"'
expect_eq "an optimizer's option names after another option" "$OUT" "momentum = "
complete_lua '"train.fit(mo", "mo"'
expect_eq "no option names outside the braces" "$OUT" ""
complete_lua '"y = x/jl.ze", "x/jl.ze"'
expect_eq "a path after an operator that does not break words" "$OUT" "x/jl.zeros(|x/jl.zeros_like("

# --- on a terminal, through tmux -----------------------------------------------
source "$(dirname "$0")/tmux_lib.sh"
touch "$TMP/workbench_data.h5"
start_repl JETLAB_HISTORY="$TMP/history"
wait_for_screen "prompt" '^jl> ?$'

tmux_ send-keys -t repl 'jl.ran' Tab
wait_for_screen "jl.ran<Tab> completes to jl.rand" '^jl> jl\.rand$'
tmux_ send-keys -t repl C-u
enter_line 'x = jl.randn(3, 4)'
tmux_ send-keys -t repl 'x:sum' Tab
wait_for_screen "x:sum<Tab> completes to x:sum(" '^jl> x:sum\($'
tmux_ send-keys -t repl C-u 'x:su' Tab Tab
wait_for_screen "x:su<Tab><Tab> lists the methods" '^x:sub\( +x:sum\($'
tmux_ send-keys -t repl C-u
enter_line 'train = require "jetlab.train"'
tmux_ send-keys -t repl 'train.fit({optimizer = opt, mo' Tab
wait_for_screen "option names inside train.fit{...}" '^jl> train\.fit\(\{optimizer = opt, model = ?$'
tmux_ send-keys -t repl C-u "f = io.open(\"$TMP/workbench_d" Tab
wait_for_screen "file names inside a string" "^jl> f = io\.open\(\"$TMP/workbench_data\.h5\"\$"
tmux_ send-keys -t repl C-u
clear_screen

tmux_ send-keys -t repl '?jl.randn' Enter
wait_for_screen "?jl.randn prints its usage" '^jl\.randn\(3, 4\[, opts\]\): standard normal\.$'

tmux_ send-keys -t repl ':time' Enter '1+1' Enter
wait_for_screen ":time prints a time" '^time [0-9]+\.[0-9]+ s  tensor memory \+0 B$'
tmux_ send-keys -t repl ':time' Enter
clear_screen

tmux_ send-keys -t repl 'jl.matmul(x, x)' Enter
wait_for_screen "a shape error prints one line" '^matmul: shapes \(3, 4\) and \(3, 4\) do not align \(4 vs 3\)$'
expect_no_match "... without a traceback" "$(screen)" 'stack traceback|stdin:1:|\.c:[0-9]+'
tmux_ send-keys -t repl ':trace' Enter
wait_for_screen ":trace then prints the traceback" '^stack traceback:$'
expect_match "... with the position" "$(screen)" '^stdin:1: matmul: shapes'

tmux_ send-keys -t repl C-d
finish
