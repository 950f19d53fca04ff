#!/usr/bin/env bash
# test_slurm_sweep.sh — sweeps as SLURM job arrays (jetlab.sweep.slurm) on a real
# single-node SLURM (scripts/slurm-local.sh: munged, slurmctld, slurmd on this
# host; no accounting, so the follower has squeue and the tasks' exit files):
# the example sweep (kd_sweep.lua, tiny) through SLURM gives the local backend's
# sweep.csv; --array-task N runs one point, and points run that way one by one
# are collected as the local run's; a point that fails is reported with its
# log and, on --resume, only it is submitted again; a rerun while a task still
# runs follows it instead of submitting it again; a cancelled task is reported
# without an exit status; sbatch missing or refusing the job is a clear error. The SLURM part is skipped unless root with
# slurm-wlm and munge installed; under CI=true a missing SLURM fails instead.
source "$(dirname "$0")/lib.sh" "$@"
ROOT=$PWD
FLAKY=$ROOT/tests/sh/sweep_flaky.lua
TINY=(--quick --n_jets 600 --n_val 100 --n_test 200 --n_train 200 --epochs 1 --alphas '{0.5, 1}' --Ts '{2, 4}')
SDIR=kd_sweep/quick-n200-e1-seed1

# sweep.csv without its seconds column (the time each point took)
results() { sed 's/,[^,]*$//' "$1"; }

# --- no sbatch on PATH: a clear error, nothing submitted (no SLURM needed)
mkdir -p "$TMP/nobin"
for tool in mkdir mv rm sleep cat; do ln -s "$(command -v $tool)" "$TMP/nobin/$tool"; done
OUT=$(PATH=$TMP/nobin "$JETLAB" "$FLAKY" --out "$TMP/nosbatch" --backend slurm 2>&1)
RC=$?
expect_eq "no sbatch: fails" "$([ $RC -ne 0 ] && echo failed)" failed
expect_match "no sbatch: says so" "$OUT" "sweep flaky: the slurm backend needs sbatch, which is not on PATH"

# --- --array-task N: one point only; the points run one by one = the local run
run_jetlab experiments/kd_sweep.lua "${TINY[@]}" --out "$TMP/local" --workers 1
expect_eq "local backend: exit status ($(echo "$ERR" | tail -n 2))" "$RC" 0
expect_eq "local backend: 4 points" "$(tail -n +2 "$TMP/local/$SDIR/sweep.csv" | wc -l)" 4
run_jetlab experiments/kd_sweep.lua "${TINY[@]}" --out "$TMP/array" --array-task 2
expect_eq "--array-task 2: exit status ($(echo "$ERR" | tail -n 2))" "$RC" 0
expect_eq "--array-task 2: only point 2 (T=4, alpha=0.5)" "$(ls "$TMP/array/$SDIR/points")" "T=4,alpha=0.5.lua"
expect_match "--array-task 2: announced" "$OUT" "T=4,alpha=0.5 done in"
run_jetlab experiments/kd_sweep.lua "${TINY[@]}" --out "$TMP/array" --array-task 4
expect_eq "--array-task out of range: usage error" "$RC" 2
expect_match "--array-task out of range: the range" "$ERR" "--array-task 4: the sweep has points 0 to 3"
for n in 0 1 3; do
  run_jetlab experiments/kd_sweep.lua "${TINY[@]}" --out "$TMP/array" --array-task $n
done
run_jetlab experiments/kd_sweep.lua "${TINY[@]}" --out "$TMP/array"
expect_match "array tasks: a plain run finds every point done" "$OUT" "4 points, 4 already done"
expect_eq "array tasks one by one = local backend" "$(results "$TMP/array/$SDIR/sweep.csv")" \
  "$(results "$TMP/local/$SDIR/sweep.csv")"

# --- a real SLURM from here on
if [ "$(id -u)" -ne 0 ] || ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  why="needs root and Debian's slurm-wlm and munge (scripts/install-deps.sh)"
  if [ "${CI:-}" = true ]; then
    fail "SLURM in CI: $why"
  else
    echo "SKIP: the SLURM cases: $why"
  fi
  finish
  exit
fi
export SLURM_CONF=$TMP/slurm/slurm.conf
export JETLAB_SLURM_PORT=$((20000 + RANDOM % 20000))
trap 'bash "$ROOT/scripts/slurm-local.sh" stop "$TMP/slurm"; rm -rf "$TMP"' EXIT
if ! bash scripts/slurm-local.sh start "$TMP/slurm" >"$TMP/slurm-start.log" 2>&1; then
  fail "SLURM starts" "$(tail -n 20 "$TMP/slurm-start.log")"
  finish
  exit
fi
FAST=(--slurm '{poll = 0.3}')

# --- the example sweep through SLURM = the local backend
start=$SECONDS
run_jetlab experiments/kd_sweep.lua "${TINY[@]}" --out "$TMP/slurm-run" --backend slurm \
  --slurm '{poll = 0.3, time = "00:05:00", cpus_per_task = 1, mem = "500M", extra = {"--nice=10"}}'
expect_eq "slurm backend: exit status ($(echo "$ERR" | tail -n 3))" "$RC" 0
expect_match "slurm backend: one array job" "$OUT" "submitted SLURM job [0-9]+, 4 tasks \(0-3\)"
expect_match "slurm backend: followed to the end" "$OUT" "4 done, 0 failed, 0 running, 0 pending"
expect_eq "slurm backend: the array script" "$(grep -c -e '^#SBATCH --array=0-3$' -e '--array-task "\$SLURM_ARRAY_TASK_ID"' \
  -e '^#SBATCH --time=00:05:00$' -e '^#SBATCH --cpus-per-task=1$' -e '^#SBATCH --mem=500M$' -e '^#SBATCH --nice=10$' \
  "$TMP/slurm-run/$SDIR/slurm/array.sbatch")" 6
expect_eq "slurm backend: a log per task" "$(ls "$TMP/slurm-run/$SDIR/slurm" | grep -c '^task-[0-3]\.log$')" 4
expect_eq "slurm backend = local backend" "$(results "$TMP/slurm-run/$SDIR/sweep.csv")" \
  "$(results "$TMP/local/$SDIR/sweep.csv")"
echo "kd_sweep through SLURM: $((SECONDS - start)) s"

# --- a failed point: reported with its log; --resume submits only it
touch "$TMP/fail"
run_jetlab "$FLAKY" --out "$TMP/flaky" --fail "$TMP/fail" --backend slurm "${FAST[@]}"
expect_eq "failed task: the sweep fails" "$RC" 1
log=$TMP/flaky/flaky/slurm/task-2.log
expect_match "failed task: named, with its exit status and log" "$ERR" "task 2 \(x=3\): exit 1, log $log"
expect_match "failed task: its log holds the error" "$(cat "$log")" "point x=3 fails on purpose"
expect_eq "failed task: the other points done" "$(ls "$TMP/flaky/flaky/points" | tr '\n' ' ')" "x=1.lua x=2.lua x=4.lua "
rm "$TMP/fail"
run_jetlab "$FLAKY" --out "$TMP/flaky" --fail "$TMP/fail" --backend slurm "${FAST[@]}" --resume
expect_eq "resubmitted: exit status ($(echo "$ERR" | tail -n 3))" "$RC" 0
expect_match "resubmitted: only the failed point" "$OUT" "submitted SLURM job [0-9]+, 1 tasks \(2\)"
expect_eq "resubmitted: two submissions" "$(cut -d ' ' -f 2 "$TMP/flaky/flaky/slurm/jobs.txt" | tr '\n' ' ')" "0,1,2,3 2 "
expect_eq "resubmitted: every point" "$(cut -d, -f1,2 "$TMP/flaky/flaky/sweep.csv" | tr '\n' ' ')" \
  "x,y 1,1 2,4 3,9 4,16 "

# --- the follower lost (its session ended) while a task runs: the same command follows that task
touch "$TMP/hold"
"$JETLAB" "$FLAKY" --out "$TMP/held" --hold "$TMP/hold" --backend slurm "${FAST[@]}" >"$TMP/held1.log" 2>&1 &
follower=$!
wait_for "$TMP/held1.log" "3 done, 0 failed, 1 running" 30 || fail "held task: the other points finish" "$(cat "$TMP/held1.log")"
{ kill -KILL $follower; wait $follower; } 2>/dev/null
"$JETLAB" "$FLAKY" --out "$TMP/held" --hold "$TMP/hold" --backend slurm "${FAST[@]}" --resume >"$TMP/held2.log" 2>&1 &
follower=$!
wait_for "$TMP/held2.log" "following them" 30
rm "$TMP/hold"
wait $follower
expect_eq "held task: the second follower ends well ($(tail -n 2 "$TMP/held2.log"))" "$?" 0
expect_match "held task: followed, not submitted again" "$(cat "$TMP/held2.log")" \
  "1 points still queued or running in SLURM job [0-9]+: following them"
expect_no_match "held task: no second job" "$(cat "$TMP/held2.log")" "submitted SLURM job"
expect_eq "held task: one submission" "$(wc -l <"$TMP/held/flaky/slurm/jobs.txt")" 1
expect_match "held task: its point collected" "$(cat "$TMP/held2.log")" "x=4 done in"

# --- a task cancelled while it runs (no exit status; no accounting here): reported as such
touch "$TMP/hold2"
"$JETLAB" "$FLAKY" --out "$TMP/cancel" --hold "$TMP/hold2" --backend slurm "${FAST[@]}" >"$TMP/cancel.log" 2>&1 &
follower=$!
wait_for "$TMP/cancel.log" "3 done, 0 failed, 1 running" 30 || fail "cancelled task: the other points finish" "$(cat "$TMP/cancel.log")"
scancel "$(cut -d ' ' -f 1 "$TMP/cancel/flaky/slurm/jobs.txt")"
wait $follower
expect_eq "cancelled task: the sweep fails" "$?" 1
rm "$TMP/hold2"
expect_match "cancelled task: no exit status, its log" "$(cat "$TMP/cancel.log")" \
  "task 3 \(x=4\): ended without an exit status \(cancelled, out of time or memory, or its node failed; no accounting here to say which\), log $TMP/cancel/flaky/slurm/task-3.log"

# --- sbatch refusing the job: its message
run_jetlab "$FLAKY" --out "$TMP/refused" --backend slurm --slurm '{partition = "nosuch"}'
expect_eq "refused: fails" "$RC" 1
expect_match "refused: sbatch's message" "$ERR" "sweep flaky: sbatch .*/refused/flaky/slurm/array.sbatch failed \(exit 1\): .*nvalid partition"

finish
