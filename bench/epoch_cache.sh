#!/usr/bin/env bash
# bench/epoch_cache.sh — epoch against `jetlab bench` step time with the
# inputs prepared every epoch (--cache-mb 0) and once per run (the default
# --cache-mb), side by side (issue 16, item 1). Never a test: timings.
#
#   bash bench/epoch_cache.sh [JETLAB] [REPS=3] [EXPERIMENT ARGS...]
#   BEFORE=/path/to/older/tree bash bench/epoch_cache.sh ...   # a third setting: that tree's
#   build/jetlab and experiment script (same arguments), cached
#   default experiment: experiments/compression_kd.lua --quick --models '{"fcnn"}'
#   BENCH_DATA (default top500*.h5): the run's data file the bench steps read
#
# Runs the experiment REPS times in each setting, interleaved (the machine is
# shared: ratios within one run of this script), then `jetlab bench
# --experiment` (JETLAB's) on each run folder of the current build, and
# prints per model the medians of: the bench step's ms/sample (every run of
# the current build: the same model and batch in each setting), and per
# setting the epoch's training pass in ms/sample over epochs 2.. (the first
# prepares the inputs and runs a distillation teacher once per jet) and over
# all epochs, their ratios to the step, and the whole epoch (validation and
# the two checkpoint writes included) per training sample.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
JETLAB="${1:-$root/build/jetlab}"
REPS="${2:-3}"
shift 2 || shift $#
EXP=("$@")
if [ ${#EXP[@]} -eq 0 ]; then EXP=(experiments/compression_kd.lua --quick --models '{"fcnn"}'); fi
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
cd "$root"
modes=(off on)
[ -n "${BEFORE:-}" ] && modes+=(before)
for r in $(seq 1 "$REPS"); do
  for mode in "${modes[@]}"; do
    cmd=("$JETLAB" "${EXP[@]}")
    [ "$mode" = off ] && cmd+=(--cache-mb 0)
    [ "$mode" = before ] && cmd=("$BEFORE/build/jetlab" "$BEFORE/${EXP[0]}" "${EXP[@]:1}")
    # the data set is made once (off1) and copied: the same jets in every run
    [ "$mode$r" != off1 ] && mkdir -p "$OUT/$mode$r" && cp -r "$OUT/off1/data" "$OUT/$mode$r/"
    "${cmd[@]}" --out "$OUT/$mode$r" >"$OUT/$mode$r.log" 2>&1
  done
done
# the steps are timed on the target task's jets (transfer also makes source-task files)
data=$(ls "$OUT"/off1/data/${BENCH_DATA:-top500*.h5} | head -1)
for r in $(seq 1 "$REPS"); do
  for mode in off on; do
    run=$(readlink -f "$OUT/$mode$r"/*/latest)
    "$JETLAB" bench --experiment "$run" "$data" >"$OUT/bench-$mode$r.txt" 2>/dev/null
  done
done
"$JETLAB" "$root/bench/epoch_cache_table.lua" "$OUT" "$REPS" "${modes[@]}"
