# test_cli.sh — the jetlab command line: options, scripts and their arg table,
# errors, subcommands, the stdlib search path, and the jetlab.test runner.
#   bash tests/sh/test_cli.sh /path/to/jetlab
source "$(dirname "$0")/lib.sh" "$@"

# --- options ---------------------------------------------------------------
run_jetlab --version
expect_eq "--version exit status" "$RC" 0
expect_match "--version line" "$OUT" '^jetlab [0-9]+\.[0-9]+\.[0-9]+ \(Lua 5\.4(\.[0-9]+)?\)$'

run_jetlab --help
expect_eq "--help exit status" "$RC" 0
expect_match "--help usage" "$OUT" '^usage: jetlab '
expect_match "--help lists -e" "$OUT" '^ +-e CODE'

run_jetlab --no-such-option
expect_eq "unknown option exit status" "$RC" 2
expect_match "unknown option named" "$ERR" "unrecognized option '--no-such-option'"

run_jetlab -e 'print(1 + 1)' -e 'print("second")'
expect_eq "-e runs in order" "$OUT" $'2\nsecond'
expect_eq "-e exit status" "$RC" 0

run_jetlab -e 'error("bad")'
expect_eq "-e error exit status" "$RC" 1
expect_match "-e error message" "$ERR" '^jetlab: \(command line\):1: bad$'

run_jetlab -e 'print(type(jl), package.loaded.jetlab == jl)'
expect_eq "global jl is require 'jetlab'" "$OUT" $'table\ttrue'

# --- scripts -----------------------------------------------------------------
cat > "$TMP/args.lua" <<'LUA'
print(arg[0], arg[1], arg[2], arg[3], #arg)
print(arg[-1], arg[-2], arg[-3])
print(select("#", ...), ...)
LUA
run_jetlab -e 'x = 1' "$TMP/args.lua" a 'b c' ''
expect_eq "script exit status" "$RC" 0
expect_eq "script arg table" "$OUT" \
  "$(printf '%s\ta\tb c\t\t3\n%s\t-e\t%s\n3\ta\tb c\t' "$TMP/args.lua" 'x = 1' "$JETLAB")"

run_jetlab -i 'print("from stdin", ...)' - one
expect_eq "- reads the script from stdin" "$OUT" $'from stdin\tone'

run_jetlab -- "$TMP/args.lua" -e
expect_match "-- ends the options" "$OUT" $'^.*/args.lua\t-e\tnil\tnil\t1$'

printf 'local x = 1\nerror("boom")\n' > "$TMP/err.lua"
run_jetlab "$TMP/err.lua"
expect_eq "script error exit status" "$RC" 1
expect_match "script error file:line: message" "$ERR" "^jetlab: $TMP/err.lua:2: boom$"
expect_match "script error traceback" "$ERR" '^stack traceback:$'
expect_match "script error traceback names the chunk" "$ERR" "$TMP/err.lua:2: in main chunk"

printf 'x = = 1\n' > "$TMP/syntax.lua"
run_jetlab "$TMP/syntax.lua"
expect_eq "syntax error exit status" "$RC" 1
expect_match "syntax error message" "$ERR" "^jetlab: $TMP/syntax.lua:1: unexpected symbol"

run_jetlab "$TMP/missing.lua"
expect_eq "missing script exit status" "$RC" 1
expect_match "missing script message" "$ERR" "cannot open $TMP/missing.lua"

run_jetlab -e 'error(setmetatable({}, {__tostring = function() return "custom" end}))'
expect_match "error objects use __tostring" "$ERR" '^jetlab: custom$'

run_jetlab -e 'os.exit(7)'
expect_eq "os.exit status" "$RC" 7

timeout --foreground -s INT --preserve-status 1 "$JETLAB" -e 'while true do end' >/dev/null 2>"$TMP/stderr"
RC=$?
expect_eq "Ctrl-C stops a script with status 130 (128 + SIGINT)" "$RC" 130
expect_match "Ctrl-C message" "$(cat "$TMP/stderr")" 'interrupted'

# --- -i: the REPL after a script ---------------------------------------------
printf 'x = 21\n' > "$TMP/setx.lua"
run_jetlab -i 'x * 2' -i "$TMP/setx.lua"
expect_eq "-i runs the REPL after the script" "$OUT" 42
expect_eq "-i exit status" "$RC" 0

run_jetlab -i 'print("not reached")' -i "$TMP/err.lua"
expect_eq "-i skips the REPL when the script fails" "$RC:$OUT" "1:"

# --- subcommands -------------------------------------------------------------
# A private stdlib: the entries of the one jetlab uses, plus a cmd/ folder of our own.
STDLIB=$("$JETLAB" -e 'print(require("jetlab.paths").stdlib)')
mkdir -p "$TMP/stdlib/cmd"
for entry in "$STDLIB"/*; do
  [ "$(basename "$entry")" = cmd ] || ln -s "$entry" "$TMP/stdlib/"
done
cat > "$TMP/stdlib/cmd/hello.lua" <<'LUA'
print("hello", arg[0]:match("[^/]+$"), #arg, ...)
LUA
printf 'error("failing command")\n' > "$TMP/stdlib/cmd/broken.lua"

export JETLAB_STDLIB=$TMP/stdlib
run_jetlab hello x y
expect_eq "subcommand runs with its arguments" "$OUT" $'hello\thello.lua\t2\tx\ty'
expect_eq "subcommand exit status" "$RC" 0

run_jetlab broken
expect_eq "failing subcommand exit status" "$RC" 1
expect_match "failing subcommand message" "$ERR" 'cmd/broken.lua:1: failing command'

run_jetlab nosuchcmd a b
expect_eq "unknown subcommand exit status" "$RC" 2
expect_match "unknown subcommand named" "$ERR" "'nosuchcmd' is neither a file nor a command"
expect_match "unknown subcommand lists commands" "$ERR" 'commands: broken, hello$'

run_jetlab --help
expect_match "--help lists commands" "$OUT" '^Commands: broken, hello$'

(cd "$TMP" && printf 'print("the file")\n' > hello && "$JETLAB" hello) > "$TMP/out" 2>&1
expect_eq "an existing file wins over a subcommand" "$(cat "$TMP/out")" "the file"

run_jetlab -e 'print(require("jetlab.paths").stdlib, require("jetlab.paths").cmd)'
expect_eq "JETLAB_STDLIB chooses the stdlib" "$OUT" "$(printf '%s\t%s/cmd' "$TMP/stdlib" "$TMP/stdlib")"

JETLAB_STDLIB=$TMP/nowhere run_jetlab -e 'print("ran")'
expect_eq "missing jetlab module exit status" "$RC:$OUT" "1:"
expect_match "missing jetlab module message" "$ERR" "module 'jetlab' not found"
unset JETLAB_STDLIB

# --- search paths ------------------------------------------------------------
mkdir -p "$TMP/lib"
printf 'return "mymod loaded"\n' > "$TMP/lib/mymod.lua"
LUA_PATH="$TMP/lib/?.lua;;" run_jetlab -e 'print((require "mymod"))' -e 'print(package.path:find(";;", 1, true))'
expect_eq "LUA_PATH honoured, ;; expanded" "$OUT" $'mymod loaded\nnil'
LUA_PATH_5_4="$TMP/lib/?.lua" LUA_PATH="/nowhere/?.lua" run_jetlab -e 'print((require "mymod"))'
expect_eq "LUA_PATH_5_4 wins over LUA_PATH" "$OUT" "mymod loaded"
LUA_PATH="$TMP/lib/?.lua" run_jetlab -e 'print(type(require "jetlab.test"))'
expect_eq "stdlib stays on the path with LUA_PATH set" "$OUT" "table"

run_jetlab -e 'print(package.path:match("^[^;]+"))'
expect_match "build tree finds the source stdlib" "$OUT" '/stdlib/\?\.lua$'

# An installed layout: <prefix>/bin/jetlab finds <prefix>/share/jetlab/stdlib.
mkdir -p "$TMP/prefix/bin" "$TMP/prefix/share/jetlab"
cp "$JETLAB" "$TMP/prefix/bin/jetlab"
ln -s "$TMP/stdlib" "$TMP/prefix/share/jetlab/stdlib"
OUT=$("$TMP/prefix/bin/jetlab" -e 'print(require("jetlab.paths").stdlib)' 2>&1)
expect_eq "installed layout finds share/jetlab/stdlib" "$OUT" "$TMP/stdlib"

# --- the jetlab.test runner -----------------------------------------------------
cat > "$TMP/cases.lua" <<'LUA'
local T = require "jetlab.test"
T.case("eq tables", function() T.eq({1, {a = "x"}}, {1, {a = "x"}}) end)
T.case("near", function() T.near({1, 2.5}, {1 + 1e-9, 2.5}, 1e-6) end)
T.case("raises", function()
  local msg = T.raises(function() error("bad shape (2, 3)") end, "shape %(2, 3%)")
  T.ok(msg:find("bad", 1, true))
end)
T.case("eq fails", function() T.eq({1, {a = "x"}}, {1, {a = "y"}}, "deep") end)
T.case("near fails", function() T.near(1.0, 1.1, 1e-3) end)
T.case("raises fails", function() T.raises(function() end) end)
T.case("runtime error", function() local t = nil; return t.field end)
T.run()
LUA
run_jetlab "$TMP/cases.lua"
expect_eq "runner exit status with failures" "$RC" 1
expect_eq "runner last line" "$(printf '%s\n' "$OUT" | tail -n 1)" "3 passed, 4 failed"
expect_match "runner FAIL eq" "$OUT" '^FAIL eq fails: .*cases.lua:8: deep: not equal at \[2\]\["a"\]: got "x", want "y"$'
expect_match "runner FAIL near" "$OUT" '^FAIL near fails: .*cases.lua:9: not near'
expect_match "runner FAIL raises" "$OUT" '^FAIL raises fails: .*no error raised'
expect_match "runner traceback for errors" "$OUT" "^FAIL runtime error: .*attempt to index a nil value"
JETLAB_TEST_FILTER='^eq' run_jetlab "$TMP/cases.lua"
expect_eq "runner filter" "$RC:$(printf '%s\n' "$OUT" | tail -n 1)" "1:1 passed, 1 failed"
JETLAB_TEST_FILTER='^ra' run_jetlab "$TMP/cases.lua"
expect_eq "runner all passing" "$RC:$OUT" $'1:FAIL raises fails: '"$TMP/cases.lua:10: no error raised"$'\n1 passed, 1 failed'
JETLAB_TEST_FILTER='^near$' run_jetlab "$TMP/cases.lua"
expect_eq "runner exit 0 when all pass" "$RC:$OUT" "0:1 passed, 0 failed"

finish
