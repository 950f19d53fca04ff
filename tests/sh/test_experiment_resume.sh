# test_experiment_resume.sh — an experiment stopped by a real SIGINT goes on
# with --resume: compression_kd at a tiny size (FCNN only) is interrupted while
# its second model (the Student) trains; the message names the exact command
# that resumes it; that command reuses the finished Teacher (checkpoint
# untouched, metrics as recorded), continues the Student from interrupted.h5,
# trains the last model, and ends with a metrics.json whose AUC, accuracy,
# rejections, parameter counts and best epochs equal an uninterrupted run's
# (the CPU is deterministic for a seed). Then: bare --resume on the finished
# run (latest; nothing retrained), and --resume refusing a run made with
# other settings, a folder that is no run, and a missing run.
#   bash tests/sh/test_experiment_resume.sh /path/to/jetlab      (~30 s)
source "$(dirname "$0")/lib.sh" "$@"
cd "$(dirname "$0")/../.." || exit 2
export JETLAB_PROGRESS=0
EPOCHS=40
ARGS=(--quick --n_jets 600 --n_train 200 --n_val 100 --n_test 200 --models '{"fcnn"}' --fcnn_teacher '{32, 32}'
      --fcnn_epochs $EPOCHS --infer_singles 4 --infer_batched 32 --infer_repeats 1)
EXP=experiments/compression_kd.lua

# compare.lua [--subset] A B [KEY...]: the records of metrics.json files A and B
# have the same (model, variant) pairs (--subset: B may have more) and equal
# KEYs (default: the deterministic ones).
cat > "$TMP/compare.lua" <<'LUA'
local json = require "jetlab.json"
local function load(path)
  local f = assert(io.open(path))
  local m = assert(json.decode(f:read("a")))
  f:close()
  return m.results
end
local subset = arg[1] == "--subset"
local first = subset and 2 or 1
local a, b = load(arg[first]), load(arg[first + 1])
local keys = {}
for i = first + 2, #arg do keys[#keys + 1] = arg[i] end
if #keys == 0 then keys = {"auc", "accuracy", "rej30", "rej50", "params", "best_epoch", "n", "alpha", "T"} end
local n, bad = 0, {}
for model, variants in pairs(a) do
  for variant, ra in pairs(variants) do
    local rb = b[model] and b[model][variant]
    if not rb then
      bad[#bad + 1] = model .. " · " .. variant .. " missing"
    else
      n = n + 1
      for _, k in ipairs(keys) do
        if ra[k] ~= rb[k] then
          bad[#bad + 1] = string.format("%s · %s: %s %s vs %s", model, variant, k, tostring(ra[k]), tostring(rb[k]))
        end
      end
    end
  end
end
for model, variants in pairs(b) do
  for variant in pairs(variants) do
    if not subset and not (a[model] and a[model][variant]) then bad[#bad + 1] = model .. " · " .. variant .. " extra" end
  end
end
if #bad > 0 then print("differ: " .. table.concat(bad, "; ")) else print("same " .. n) end
LUA

# --- the uninterrupted reference ------------------------------------------------
"$JETLAB" $EXP "${ARGS[@]}" --out "$TMP/ref" >"$TMP/ref.out" 2>"$TMP/ref.err"
expect_eq "reference run: exit status" "$?" 0

# --- a real SIGINT while the second model trains --------------------------------
R=$TMP/run
"$JETLAB" $EXP "${ARGS[@]}" --out "$R" >"$TMP/run.out" 2>"$TMP/run.err" &
interrupt_at "the Student's training" "$TMP/run.out" '^-- FCNN · Student:' $!
RUN=$(readlink -f "$R/compression_kd/latest")
err=$(cat "$TMP/run.err")
expect_match "SIGINT: the message names the checkpoint and the resume command" "$err" \
  "^jetlab: train: interrupted \\(SIGINT\\) .*; checkpoint saved to $RUN/fcnn_student/interrupted.h5; resume with: .*$EXP .*--resume $RUN\$"
expect_no_match "SIGINT: no traceback" "$err" 'stack traceback'
[ -f "$RUN/fcnn_student/interrupted.h5" ] && pass || fail "SIGINT: the Student's interrupted.h5 is there"
[ ! -e "$RUN/fcnn_student_kd" ] && pass || fail "SIGINT: the third model had not started"
cp "$RUN/fcnn_teacher/best.h5" "$TMP/teacher_best.h5"
cp "$RUN/metrics.json" "$TMP/interrupted_metrics.json"

# --- the command the message gives ------------------------------------------------
cmd=$(printf '%s\n' "$err" | sed -n 's/^jetlab: train: interrupted .*; resume with: //p')
expect_match "the resume command is the original one plus --resume" "$cmd" \
  "^$JETLAB $EXP --quick --n_jets 600 .*--fcnn_epochs $EPOCHS .* --out $R --resume $RUN\$"
eval "$cmd" >"$TMP/resumed.out" 2>"$TMP/resumed.err"
expect_eq "resumed run: exit status" "$?" 0
[ "$?" = 0 ] || tail -5 "$TMP/resumed.err"
out=$(cat "$TMP/resumed.out")
expect_match "resumed run: says so" "$out" "^resuming $RUN: "
# the Teacher: not retrained (no epoch line before the Student's header), its files untouched
teacher_epochs=$(awk '/^-- FCNN · Student:/ { exit } /^epoch / { n++ } END { print n + 0 }' "$TMP/resumed.out")
expect_eq "resumed run: the finished Teacher is not retrained" "$teacher_epochs" 0
cmp -s "$TMP/teacher_best.h5" "$RUN/fcnn_teacher/best.h5" && pass || fail "resumed run: the Teacher's best.h5 is untouched"
# the Student: only the epochs left; the KD Student: all of them
student_epochs=$(awk '/^-- FCNN · Student:/ { on = 1 } /^-- FCNN · Student \+ KD:/ { on = 0 } on && /^epoch / { n++ }
  END { print n + 0 }' "$TMP/resumed.out")
if [ "$student_epochs" -ge 1 ] && [ "$student_epochs" -lt $EPOCHS ]; then pass; else
  fail "resumed run: the Student goes on from its checkpoint" "epochs trained now: $student_epochs"; fi
expect_match "resumed run: the last model trains" "$out" "^epoch $EPOCHS/$EPOCHS"
[ ! -f "$RUN/fcnn_student/interrupted.h5" ] && pass || fail "resumed run: interrupted.h5 removed at the end"
expect_eq "resumed run: the same run folder is latest" "$(readlink -f "$R/compression_kd/latest")" "$RUN"
run_jetlab "$TMP/compare.lua" "$TMP/ref/compression_kd/latest/metrics.json" "$RUN/metrics.json"
expect_eq "resumed run: metrics.json equals the uninterrupted run's" "$OUT" "same 3"
run_jetlab "$TMP/compare.lua" --subset "$TMP/interrupted_metrics.json" "$RUN/metrics.json" infer_us_per_jet \
  infer_us_per_jet_batched train_seconds train_ms_per_sample
expect_eq "resumed run: the Teacher's metrics (timings too) are the ones recorded before" "$OUT" "same 1"
expect_match "resumed run: metrics.json says finished and resumed" "$(cat "$RUN/metrics.json")" '"resumed": "'
expect_match "resumed run: finished" "$(cat "$RUN/metrics.json")" '"finished": "'

# --- bare --resume: the latest run, finished: nothing is trained again ------------
run_jetlab $EXP "${ARGS[@]}" --out "$R" --resume
expect_eq "bare --resume of a finished run: exit status" "$RC" 0
expect_no_match "bare --resume of a finished run: no training" "$OUT" '^epoch '
run_jetlab "$TMP/compare.lua" "$TMP/ref/compression_kd/latest/metrics.json" "$RUN/metrics.json"
expect_eq "bare --resume of a finished run: metrics.json unchanged" "$OUT" "same 3"

# --- a run made before a common flag existed: it reads as the flag's default ---------
grep -v 'matmul_precision' "$RUN/config.lua" > "$TMP/older_config.lua" && cp "$RUN/config.lua" "$TMP/config.lua.kept"
cp "$TMP/older_config.lua" "$RUN/config.lua"
run_jetlab $EXP "${ARGS[@]}" --out "$R" --resume "$RUN"
expect_eq "--resume of a run older than --matmul_precision: exit status" "$RC" 0
run_jetlab $EXP "${ARGS[@]}" --out "$R" --matmul_precision bf16 --resume "$RUN"
expect_match "--resume of it with bf16: refused, naming the default it reads" "$ERR" \
  'other settings \(matmul_precision = f32 there, bf16 here\)'
cp "$TMP/config.lua.kept" "$RUN/config.lua"

# --- refusals ---------------------------------------------------------------------
run_jetlab $EXP "${ARGS[@]}" --out "$R" --fcnn_epochs 39 --resume "$RUN"
expect_eq "--resume with other settings: exit status" "$RC" 2
expect_match "--resume with other settings: names them" "$ERR" \
  "--resume $RUN: that run was made with other settings \\(fcnn_epochs = $EPOCHS there, 39 here\\)"
run_jetlab $EXP "${ARGS[@]}" --out "$R" --resume "$TMP"
expect_eq "--resume of a folder that is no run: exit status" "$RC" 2
expect_match "--resume of a folder that is no run: message" "$ERR" "--resume $TMP: not a run folder"
run_jetlab $EXP "${ARGS[@]}" --out "$TMP/empty" --resume
expect_eq "--resume with no run: exit status" "$RC" 2
expect_match "--resume with no run: message" "$ERR" "no run of compression_kd to resume"
run_jetlab experiments/transfer.lua --quick --out "$R" --resume "$RUN"
expect_eq "--resume of another experiment's run: exit status" "$RC" 2
expect_match "--resume of another experiment's run: message" "$ERR" "a run of compression_kd, not of transfer"

finish
