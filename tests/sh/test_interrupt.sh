# test_interrupt.sh — real SIGINT/SIGTERM delivered to a training `jetlab`
# process: it finishes the step, writes interrupted.h5, prints where it
# stopped and how to resume, and exits 130/143; resuming gives final weights
# (and per-epoch losses) bit-identical to an uninterrupted run, with in-memory
# data and with a jetlab.data file source (prefetch thread, Philox shuffle). A
# second signal interrupts at once without a checkpoint. In the REPL an
# interrupted fit returns to the prompt; a SIGTERM ends the REPL with 143.
#   bash tests/sh/test_interrupt.sh build/jetlab
source "$(dirname "$0")/lib.sh" "$@"
TINY=$(cd "$(dirname "$0")" && pwd)/train_tiny.lua
EPOCHS=12

# interrupt_and_resume NAME SIGNAL STATUS [train_tiny options]
interrupt_and_resume() {
  local name=$1 sig=$2 status=$3
  shift 3
  local dir=$TMP/$name
  mkdir -p "$dir/ref"
  "$JETLAB" "$TINY" --dir "$dir/ref" --epochs $EPOCHS --weights "$dir/ref.txt" "$@" >/dev/null 2>"$dir/ref.err"
  expect_eq "$name: uninterrupted run" "$?" 0

  "$JETLAB" "$TINY" --dir "$dir/run" --epochs $EPOCHS --step-ms 4 "$@" >"$dir/out" 2>"$dir/err" &
  local pid=$!
  if ! wait_for "$dir/out" '^epoch 2/'; then
    fail "$name: training did not start" "$(cat "$dir/err")"
    kill -KILL $pid 2>/dev/null
    return
  fi
  kill -"$sig" $pid
  wait $pid
  expect_eq "$name: exit status after $sig" "$?" "$status"
  local err
  err=$(cat "$dir/err")
  expect_match "$name: message" "$err" \
    "^jetlab: train: interrupted \\(SIG$sig\\) (at epoch [0-9]+, batch [0-9]+/[0-9]+|after epoch [0-9]+/$EPOCHS); checkpoint saved to $dir/run/interrupted.h5; resume with --resume $dir/run/interrupted.h5"
  expect_no_match "$name: no traceback" "$err" 'stack traceback'
  [ -f "$dir/run/interrupted.h5" ] && pass || fail "$name: interrupted.h5 written"
  expect_no_match "$name: stopped before the end" "$(cat "$dir/out")" "^epoch $EPOCHS/"

  "$JETLAB" "$TINY" --dir "$dir/run" --epochs $EPOCHS --resume "$dir/run/interrupted.h5" \
    --weights "$dir/resumed.txt" "$@" >"$dir/out2" 2>"$dir/err2"
  expect_eq "$name: resumed run" "$?" 0
  if cmp -s "$dir/ref.txt" "$dir/resumed.txt"; then
    pass
  else
    fail "$name: resumed weights are not bit-identical to the uninterrupted run" \
      "$(diff "$dir/ref.txt" "$dir/resumed.txt" | head -c 600)" "$(cat "$dir/err2")"
  fi
  expect_match "$name: resumed run reaches the last epoch" "$(cat "$dir/out2")" "^epoch $EPOCHS/$EPOCHS"
  [ ! -f "$dir/run/interrupted.h5" ] && pass || fail "$name: interrupted.h5 removed after the resumed run"
}

interrupt_and_resume sigint INT 130
interrupt_and_resume sigterm TERM 143
interrupt_and_resume file_source INT 130 --source file --n 400 --batch 40

# --- a second signal interrupts at once, without a checkpoint ---------------
dir=$TMP/double
"$JETLAB" "$TINY" --dir "$dir" --epochs 1000 --step-ms 400 >"$dir.out" 2>"$dir.err" &
pid=$!
if wait_for "$dir.out" '^epoch 1/'; then
  sleep 0.1
  kill -INT $pid
  sleep 0.1
  kill -INT $pid
  wait $pid
  expect_eq "double Ctrl-C: exit status" "$?" 130
  expect_match "double Ctrl-C: plain interruption" "$(cat "$dir.err")" '^jetlab: .*interrupted$'
  [ ! -f "$dir/interrupted.h5" ] && pass || fail "double Ctrl-C: no interrupted.h5"
else
  fail "double Ctrl-C: training did not start" "$(cat "$dir.err")"
  kill -KILL $pid 2>/dev/null
fi

# --- the REPL: an interrupted fit returns to the prompt ------------------------
run_jetlab -i "$(cat <<EOF
train, nn, optim = require "jetlab.train", require "jetlab.nn", require "jetlab.optim"
net = nn.Linear(3, 2); x = jl.randn(8, 3); y = jl.ones(8, {dtype = "i64"})
f = net.forward; net.forward = function(self, x) jl.interrupt("SIGINT"); return f(self, x) end
train.fit{model = net, optimizer = optim.SGD(net:parameters(), {lr = 0.1}), train = {{x = x, y = y}}, epochs = 3, checkpoint_dir = "$TMP/repl", log = false}
print("still here", jl.interrupted())
EOF
)"
expect_eq "REPL: exit status" "$RC" 0
expect_match "REPL: the interruption is reported" "$ERR" "^train: interrupted \\(SIGINT\\) at epoch 1, batch 1/1; checkpoint saved to $TMP/repl/interrupted.h5"
expect_match "REPL: the next line runs (with the flag cleared)" "$OUT" '^still here	false$'

mkfifo "$TMP/fifo"
"$JETLAB" <"$TMP/fifo" >"$TMP/repl.out" 2>"$TMP/repl.err" &
pid=$!
exec 9>"$TMP/fifo"
echo 'print("ready"); io.stdout:flush(); while true do end' >&9
if wait_for "$TMP/repl.out" '^ready$'; then
  kill -TERM $pid
  wait $pid
  expect_eq "REPL: SIGTERM during a chunk ends it with 143" "$?" 143
else
  fail "REPL: the chunk did not start"
  kill -KILL $pid 2>/dev/null
fi
exec 9>&-

finish
