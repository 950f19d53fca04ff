#!/usr/bin/env bash
# test_mpi_experiment_resume.sh — an experiment under MPI stopped by a real
# signal on one rank goes on with --resume under 2 ranks: compression_kd at a
# tiny size (FCNN only, 12 epochs) as 2 ranks gets SIGINT on rank 1 alone while
# its Student trains; both ranks stop after the same step (exit 130, no
# MPI_Abort), rank 0 saves interrupted.h5 and names the resume command; that
# command under 2 ranks reuses the Teacher, continues the Student and ends
# with the metrics.json of an uninterrupted 2-rank run (AUC, accuracy,
# rejections, parameters, best epochs: equal). Skipped without MPI.
source "$(dirname "$0")/lib.sh" "$@"
source "$(dirname "$0")/mpi_lib.sh"
export JETLAB_PROGRESS=0
EPOCHS=12
ARGS=(--quick --n_jets 600 --n_train 200 --n_val 100 --n_test 200 --models '{"fcnn"}' --fcnn_teacher '{32, 32}'
      --fcnn_epochs $EPOCHS --infer_singles 4 --infer_batched 32 --infer_repeats 1 --cache-mb 0)
EXP=experiments/compression_kd.lua

# the deterministic fields of two metrics.json: "same N" or "differ: ..."
cat >"$TMP/compare.lua" <<'LUA'
local json = require "jetlab.json"
local function load(path) return assert(json.decode(assert(io.open(path)):read("a"))).results end
local a, b = load(arg[1]), load(arg[2])
local n, bad = 0, {}
for model, variants in pairs(a) do
  for variant, ra in pairs(variants) do
    local rb = (b[model] or {})[variant] or {}
    n = n + 1
    for _, k in ipairs({"auc", "accuracy", "rej30", "rej50", "params", "best_epoch", "n"}) do
      if ra[k] ~= rb[k] then bad[#bad + 1] = string.format("%s %s %s: %s vs %s", model, variant, k, ra[k], rb[k]) end
    end
  end
end
print(#bad > 0 and "differ: " .. table.concat(bad, "; ") or "same " .. n)
LUA

mpi 120 "$JETLAB" $EXP "${ARGS[@]}" --out "$TMP/ref" >"$TMP/ref.out" 2>"$TMP/ref.err"
expect_eq "uninterrupted 2-rank run ($(tail -n 2 "$TMP/ref.err"))" "$?" 0

R=$TMP/run
JETLAB_TEST_RUN=$TMP mpi 120 "$JETLAB" $EXP "${ARGS[@]}" --out "$R" >"$TMP/run.out" 2>"$TMP/run.err" &
launcher=$!
if ! wait_for "$TMP/run.out" '^epoch 3/' 120 '^-- FCNN · Student:'; then
  kill -KILL "$launcher" 2>/dev/null
  fail "the Student did not start" "$(tail -5 "$TMP/run.err")"
  finish
  exit
fi
# rank 1 alone: the jetlab process of this run (JETLAB_TEST_RUN, inherited) whose environment says
# rank 1, not a child it forked (the HDF5 reader of core/io/h5_guard.c has the same environment)
rank1=
for pid in $(pgrep -x jetlab); do
  env_of=$(tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null)
  parent=$(ps -o comm= -p "$(ps -o ppid= -p "$pid" | tr -d ' ')" 2>/dev/null)
  if grep -qx "JETLAB_TEST_RUN=$TMP" <<<"$env_of" && grep -qx 'OMPI_COMM_WORLD_RANK=1' <<<"$env_of" \
    && [ "$parent" != jetlab ]; then rank1=$pid; fi
done
expect_match "rank 1's process found" "$rank1" '^[0-9]+$'
kill -INT "$rank1"
wait "$launcher"
expect_eq "both ranks stop with SIGINT's status" "$?" 130
RUN=$(readlink -f "$R/compression_kd/latest")
err=$(cat "$TMP/run.err")
expect_eq "both ranks name the same step" \
  "$(grep -o 'interrupted (SIGINT) [^;]*' "$TMP/run.err" | sort -u | wc -l) $(grep -c 'interrupted (SIGINT)' "$TMP/run.err")" "1 2"
expect_no_match "no rank aborts the job" "$err" "MPI_Abort|MPI_ABORT"
[ -f "$RUN/fcnn_student/interrupted.h5" ] && pass || fail "rank 0 saved the Student's interrupted.h5"
cmd=$(printf '%s\n' "$err" | sed -n 's/^jetlab: train: interrupted .*; resume with: //p' | head -n 1)
expect_match "the message gives the resume command" "$cmd" "$EXP .*--resume $RUN\$"

eval "mpi 120 $cmd" >"$TMP/resumed.out" 2>"$TMP/resumed.err"
expect_eq "resumed 2-rank run ($(tail -n 2 "$TMP/resumed.err"))" "$?" 0
expect_match "the resumed run says so" "$(cat "$TMP/resumed.out")" "^resuming $RUN: "
[ ! -f "$RUN/fcnn_student/interrupted.h5" ] && pass || fail "interrupted.h5 removed at the end"
run_jetlab "$TMP/compare.lua" "$TMP/ref/compression_kd/latest/metrics.json" "$RUN/metrics.json"
expect_eq "resumed = uninterrupted (metrics.json)" "$OUT" "same 3"

finish
