# lib.sh — helpers shared by the shell tests (sourced, not run by ctest).
#
#   source "$(dirname "$0")/lib.sh" "$@"     # sets JETLAB (absolute) and TMP
#   run_jetlab [-i INPUT] ARGS...            # sets OUT, ERR, RC
#   expect_eq NAME ACTUAL EXPECTED
#   expect_match NAME TEXT ERE               # TEXT must contain a line matching ERE
#   expect_no_match NAME TEXT ERE
#   wait_for FILE ERE [SECONDS [AFTER]]      # polls until a line of FILE matches ERE
#                                            # (after a line matching AFTER, when given)
#   interrupt_at WHAT OUT_FILE AFTER PID     # SIGINT to PID at the 3rd epoch after AFTER
#   fastjet_events HELPER_VAR                # FJ, files: the FastJet helper and event files
#   test_python MODULES...                   # py: the test venv's python, which imports MODULES
#   finish                                   # prints "N passed, N failed"; exit status
set -u

JETLAB=${1:?usage: bash $0 /path/to/jetlab}
case $JETLAB in /*) ;; *) JETLAB=$PWD/$JETLAB ;; esac
[ -x "$JETLAB" ] || { echo "not an executable: $JETLAB"; exit 2; }
# The tests choose these themselves.
unset JETLAB_STDLIB JETLAB_TEST_FILTER LUA_PATH LUA_PATH_5_4
TMP=$(mktemp -d "${TMPDIR:-/tmp}/jetlab-sh.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

PASSED=0
FAILED=0

pass() { PASSED=$((PASSED + 1)); }
fail() {
  FAILED=$((FAILED + 1))
  echo "FAIL $1"
  shift
  for line in "$@"; do printf '    %s\n' "$line"; done
}

# run_jetlab [-i INPUT] ARGS...: runs $JETLAB with INPUT (default: nothing) on stdin.
run_jetlab() {
  local input=""
  if [ "${1:-}" = "-i" ]; then input=$2; shift 2; fi
  OUT=$(printf '%s' "$input" | "$JETLAB" "$@" 2>"$TMP/stderr")
  RC=$?
  ERR=$(cat "$TMP/stderr")
}

expect_eq() {
  if [ "$2" = "$3" ]; then pass; else fail "$1" "got:  $(printf %q "$2")" "want: $(printf %q "$3")"; fi
}

expect_match() {
  if printf '%s\n' "$2" | grep -Eq -- "$3"; then pass; else fail "$1" "no line matches: $3" "in: $2"; fi
}

expect_no_match() {
  if printf '%s\n' "$2" | grep -Eq -- "$3"; then fail "$1" "a line matches: $3" "in: $2"; else pass; fi
}

wait_for() {
  local i
  for ((i = 0; i < ${3:-30} * 50; i++)); do
    if [ -n "${4:-}" ]; then
      awk -v after="$4" -v want="$2" '$0 ~ after { on = 1 } on && $0 ~ want { found = 1 } END { exit !found }' \
        "$1" 2>/dev/null && return 0
    else
      grep -Eq -- "$2" "$1" 2>/dev/null && return 0
    fi
    sleep 0.02
  done
  return 1
}

# interrupt_at WHAT OUT_FILE AFTER PID: waits (up to 120 s) for the 3rd epoch line after the line
# matching AFTER in OUT_FILE, then sends SIGINT to PID and waits for it; expects exit status 130.
# When the line never comes: kills PID, fails with WHAT, and ends the test.
interrupt_at() {
  if ! wait_for "$2" '^epoch 3/' 120 "$3"; then
    fail "$1 did not start" "$(tail -5 "${2%.out}.err" 2>/dev/null)"
    kill -KILL "$4" 2>/dev/null
    finish
    exit
  fi
  kill -INT "$4"
  wait "$4"
  expect_eq "SIGINT: exit status" "$?" 130
}

# fastjet_events HELPER_VAR: FJ = the FastJet reference helper named by the
# variable HELPER_VAR (ctest sets it: tests/fastjet), and the array files =
# every event file of Debian's fastjet-examples (plain or gzipped;
# JETLAB_FJ_EXAMPLES overrides their folder), copied to $TMP/events. Without
# the helper or the files, the test is skipped (exit 0).
fastjet_events() {
  FJ=${!1:-}
  local examples=${JETLAB_FJ_EXAMPLES:-/usr/share/doc/fastjet-examples/examples} f
  if [ -z "$FJ" ] || [ ! -x "$FJ" ]; then
    echo "SKIP: no FastJet helper ($1 unset: build with libfastjet-dev installed)"
    finish
    exit
  fi
  mkdir -p "$TMP/events"
  shopt -s nullglob
  for f in "$examples"/*.dat; do cp "$f" "$TMP/events/"; done
  for f in "$examples"/*.dat.gz; do gunzip -c "$f" > "$TMP/events/$(basename "${f%.gz}")"; done
  files=("$TMP"/events/*.dat)
  if [ ${#files[@]} -eq 0 ]; then
    echo "SKIP: no event files in $examples (install fastjet-examples)"
    finish
    exit
  fi
}

# test_python MODULES...: py = $JETLAB_TEST_PYTHON (ctest sets it to the test venv,
# scripts/install-test-venv.sh) when it imports every module named; otherwise the test
# FAILS (it is not optional) and exits 1.
test_python() {
  py=${JETLAB_TEST_PYTHON:-}
  local imports
  imports=$(IFS=,; echo "$*")
  if [ -z "$py" ] || ! "$py" -c "import $imports" 2>"$TMP/import.err"; then
    fail "the test venv" "JETLAB_TEST_PYTHON='$py' does not import $*:" \
      "$(tail -n 1 "$TMP/import.err" 2>/dev/null)" "run scripts/install-test-venv.sh (it makes .venv-test)"
    finish
    exit 1
  fi
}

finish() {
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
}
