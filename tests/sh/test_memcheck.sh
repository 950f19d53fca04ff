# test_memcheck.sh — memory checks of a quick training run (tests/sh/train_tiny.lua
# on a small generated HDF5 file through jetlab.data: loader with prefetch
# thread, FCNN with dropout, AdamW, schedule, validation, checkpoints):
#   * natively with JETLAB_LEAK_REPORT: exit 0, no live tensor or storage
#     after the Lua state is closed, and the peak RSS reported (and bounded);
#     JETLAB_CHECK_LEAKS=1 is silent when nothing leaks, os.exit included;
#   * under valgrind memcheck when it is installed and runs this binary (a
#     -march=native build may use instructions valgrind lacks: then skipped,
#     see scripts/memcheck.sh which builds without): the run interrupted by
#     SIGINT (exit 130, interrupted.h5) and its resume, with no memory error
#     and no definite leak (--errors-for-leak-kinds=definite).
# The fuller sweep (valgrind or LSan, more runs, every Lua suite) is scripts/memcheck.sh.
#   bash tests/sh/test_memcheck.sh build/jetlab
source "$(dirname "$0")/lib.sh" "$@"
TINY=$(cd "$(dirname "$0")" && pwd)/train_tiny.lua
QUICK=(--source file --n 160 --batch 20)

# --- natively: live tensors back to zero, peak RSS ---------------------------
JETLAB_LEAK_REPORT="$TMP/native.leaks" "$JETLAB" "$TINY" --dir "$TMP/native" --epochs 3 "${QUICK[@]}" \
  >"$TMP/native.out" 2>"$TMP/native.err"
expect_eq "native quick run" "$?" 0
expect_match "no live tensors after lua_close" "$(cat "$TMP/native.leaks")" \
  '^jetlab\[[0-9]+\]: at exit: 0 live tensors, 0 storages, 0 bytes; peak RSS [0-9.]+ MiB$'
expect_match "no live tensors after collectgarbage in the script" "$(cat "$TMP/native.out")" '^done: 0 live tensors'
rss=$(sed -n 's/.*peak RSS \([0-9.]*\) MiB$/\1/p' "$TMP/native.leaks")
echo "quick run: peak RSS ${rss:-?} MiB"
if [ -n "$rss" ] && awk -v r="$rss" 'BEGIN { exit !(r < 256) }'; then pass; else fail "peak RSS under 256 MiB" "$rss"; fi

JETLAB_CHECK_LEAKS=1 "$JETLAB" -e 'x = jl.randn(4, 4); y = x:matmul(x)' >"$TMP/e.out" 2>"$TMP/e.err"
expect_eq "leak check with globals holding tensors: exit status" "$?" 0
expect_eq "leak check: silent when nothing leaks" "$(cat "$TMP/e.err")" ""
JETLAB_LEAK_REPORT="$TMP/exit.leaks" "$JETLAB" -e 'x = jl.randn(4, 4); os.exit(3)'
expect_eq "os.exit keeps its status under the leak check" "$?" 3
expect_match "os.exit closes the state first" "$(cat "$TMP/exit.leaks")" 'at exit: 0 live tensors'

# --- under valgrind --------------------------------------------------------------
VG=(valgrind -q --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite --error-exitcode=99)
if ! command -v valgrind >/dev/null; then
  echo "valgrind not found: valgrind part skipped"
elif ! "${VG[@]}" "$JETLAB" -e 'jl.randn(64, 64):matmul(jl.randn(64, 64))' >/dev/null 2>"$TMP/vg0.err"; then
  echo "valgrind cannot run this build (see below): valgrind part skipped; scripts/memcheck.sh builds one it can"
  head -n 5 "$TMP/vg0.err"
else
  dir=$TMP/vg
  VG_FAILED_BEFORE=$FAILED
  JETLAB_LEAK_REPORT="$TMP/vg1.leaks" "${VG[@]}" --log-file="$TMP/vg1.log" "$JETLAB" "$TINY" --dir "$dir" --epochs 3 --step-ms 20 \
    "${QUICK[@]}" >"$TMP/vg1.out" 2>"$TMP/vg1.err" &
  pid=$!
  for ((i = 0; i < 3000; i++)); do
    grep -q '^epoch 1/' "$TMP/vg1.out" 2>/dev/null && break
    sleep 0.02
  done
  kill -INT $pid
  wait $pid
  expect_eq "valgrind: interrupted run exit status" "$?" 130
  expect_match "valgrind: interrupted run saved its state" "$(cat "$TMP/vg1.err")" 'checkpoint saved to .*/interrupted\.h5'
  expect_no_match "valgrind: interrupted run is clean" "$(cat "$TMP/vg1.log")" '.'
  JETLAB_LEAK_REPORT="$TMP/vg2.leaks" "${VG[@]}" --log-file="$TMP/vg2.log" "$JETLAB" "$TINY" --dir "$dir" --epochs 3 \
    --resume "$dir/interrupted.h5" "${QUICK[@]}" >"$TMP/vg2.out" 2>"$TMP/vg2.err"
  expect_eq "valgrind: resumed run exit status" "$?" 0
  expect_no_match "valgrind: resumed run is clean" "$(cat "$TMP/vg2.log")" '.'
  expect_match "valgrind: resumed run frees every tensor" "$(cat "$TMP/vg2.leaks")" 'at exit: 0 live tensors'
  if cat "$TMP/vg1.log" "$TMP/vg2.log" | grep -Eq 'unhandled instruction|Illegal opcode'; then
    # a -march=native instruction valgrind does not know: not a finding of ours
    echo "valgrind met an instruction it does not support: valgrind results ignored (use scripts/memcheck.sh)"
    FAILED=$VG_FAILED_BEFORE
  fi
  [ $FAILED -eq 0 ] || { head -n 40 "$TMP/vg1.log" "$TMP/vg2.log"; tail -n 5 "$TMP/vg1.err" "$TMP/vg2.err"; }
fi

finish
