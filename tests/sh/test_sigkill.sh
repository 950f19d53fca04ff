# test_sigkill.sh — crash safety of checkpoints: a tiny training run (two
# steps per epoch, best.h5 and last.h5 rewritten every epoch, so a write is
# under way much of the time) is killed with SIGKILL after a deterministic
# sequence of pseudo-random delays, ROUNDS times (default 100; env
# JETLAB_SIGKILL_ROUNDS), each round resuming from the last.h5 the previous
# one left. After every kill the folder is snapshotted; then one jetlab
# process checks every snapshot: each *.h5 (never a *.h5.tmp, which a kill in
# the middle of a write leaves behind) loads with ckpt.load, holds every
# parameter with finite values, and last.h5 holds a resumable training state.
# Finally a resumed run completes and leaves no .tmp file.
#   bash tests/sh/test_sigkill.sh build/jetlab
source "$(dirname "$0")/lib.sh" "$@"
TINY=$(cd "$(dirname "$0")" && pwd)/train_tiny.lua
ROUNDS=${JETLAB_SIGKILL_ROUNDS:-100}
dir=$TMP/run
snaps=$TMP/snaps
mkdir -p "$dir" "$snaps"

x=20240611 # the delays: a linear congruential sequence, 20..419 ms
started=$SECONDS
for ((i = 1; i <= ROUNDS; i++)); do
  x=$(((x * 1103515245 + 12345) % 2147483648))
  ms=$((20 + (x >> 8) % 400))
  resume=()
  [ -f "$dir/last.h5" ] && resume=(--resume "$dir/last.h5")
  "$JETLAB" "$TINY" --dir "$dir" --epochs 1000000 --n 64 --batch 32 "${resume[@]}" >/dev/null 2>"$TMP/err" &
  pid=$!
  sleep "$(printf '0.%03d' "$ms")"
  kill -KILL $pid 2>/dev/null
  wait $pid 2>/dev/null
  rc=$?
  if [ $rc -ne 137 ]; then
    fail "round $i: the run ended with status $rc before the kill" "$(tail -n 5 "$TMP/err")"
    break
  fi
  mkdir "$snaps/$i"
  cp -p "$dir"/*.h5* "$snaps/$i"/ 2>/dev/null
done
echo "$ROUNDS kills in $((SECONDS - started)) s"

# One process checks every snapshot; it prints a summary line and one line per problem.
cat >"$TMP/check.lua" <<'EOF'
local ckpt = require "jetlab.ckpt"
local root, rounds = arg[1], tonumber(arg[2])
local problems, loaded, with_tmp, max_epoch, empty = 0, 0, 0, 0, 0
local function problem(msg) problems = problems + 1; print("PROBLEM " .. msg) end
for i = 1, rounds do
  local d = root .. "/" .. i
  local p = io.popen("ls -1 '" .. d .. "' 2>/dev/null")
  local names = {}
  for name in p:lines() do names[#names + 1] = name end
  p:close()
  if #names == 0 then empty = empty + 1 end
  local tmp = false
  for _, name in ipairs(names) do
    if name:match("%.tmp$") then
      tmp = true
    elseif name:match("%.h5$") then
      local c, err = ckpt.load(d .. "/" .. name)
      if not c then
        problem(string.format("round %d: %s does not load: %s", i, name, err))
      else
        loaded = loaded + 1
        local n = 0
        for pname, t in pairs(c.model_state) do
          n = n + 1
          local ss = jl.sum_squares({t})
          if ss ~= ss or ss == math.huge then problem(string.format("round %d: %s: %s is not finite", i, name, pname)) end
        end
        if n ~= 6 then problem(string.format("round %d: %s has %d tensors, expected 6", i, name, n)) end
        if not c.optimizer_state or not c.epoch then problem(string.format("round %d: %s lacks optimizer or epoch", i, name)) end
        if name == "last.h5" then
          local ts = c.train_state
          if type(ts) ~= "table" or ts.version ~= 1 or ts.epoch ~= c.epoch + 1 or ts.batch ~= 0 or #ts.history ~= c.epoch then
            problem(string.format("round %d: last.h5 has no consistent training state", i))
          end
          if c.epoch > max_epoch then max_epoch = c.epoch end
        end
      end
    else
      problem(string.format("round %d: unexpected file %s", i, name))
    end
  end
  if tmp then with_tmp = with_tmp + 1 end
end
print(string.format("checked %d rounds: %d checkpoints loaded, %d rounds left a partial .tmp (killed mid-write), %d before any checkpoint; last.h5 reached epoch %d; %d problems",
  rounds, loaded, with_tmp, empty, max_epoch, problems))
os.exit(problems == 0 and 0 or 1)
EOF
out=$("$JETLAB" "$TMP/check.lua" "$snaps" "$((i - 1))" 2>&1)
rc=$?
echo "$out" | tail -n 1
expect_eq "every checkpoint left by a kill loads" "$rc" 0
[ $rc -eq 0 ] || echo "$out" | head -n 20
expect_match "killed mid-write at least once" "$out" 'left a partial \.tmp' # (the count is in the summary)
expect_no_match "never killed mid-write" "$out" ' 0 rounds left a partial'

# A last resumed run finishes (a few epochs more) and leaves no .tmp behind.
epoch=$("$JETLAB" -e "print(assert(require('jetlab.ckpt').load('$dir/last.h5')).epoch)" 2>&1)
"$JETLAB" "$TINY" --dir "$dir" --epochs $((epoch + 3)) --n 64 --batch 32 --resume "$dir/last.h5" >"$TMP/final.out" 2>&1
expect_eq "the final resumed run completes" "$?" 0
expect_match "it trains the remaining epochs" "$(cat "$TMP/final.out")" "^epoch $((epoch + 3))/$((epoch + 3))"
expect_eq "no .tmp left" "$(ls "$dir" | grep -c '\.tmp$')" 0

finish
