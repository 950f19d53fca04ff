#!/usr/bin/env bash
# bench/epoch_cache.sh — epoch against `jetlab bench` step time with the
# inputs prepared every epoch (--cache-mb 0) and once per run (the default
# --cache-mb), side by side (issue 16, item 1). Never a test: timings.
#
#   bash bench/epoch_cache.sh [JETLAB] [REPS=3] [EXPERIMENT ARGS...]
#   default experiment: experiments/compression_kd.lua --quick --models '{"fcnn"}'
#
# Runs the experiment REPS times in each setting, interleaved (the machine is
# shared: ratios within one run of this script), then `jetlab bench
# --experiment` on each run folder, and prints per model the medians of: the
# mean epoch ms/sample (all epochs, as the experiment reports it), the mean
# of epochs 2.. (the steady state: the first epoch prepares the inputs and,
# for distillation, runs the teacher once per jet), the bench step's
# ms/sample, and their ratios.
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
for r in $(seq 1 "$REPS"); do
  for mode in off on; do
    flag=(); [ "$mode" = off ] && flag=(--cache-mb 0)
    "$JETLAB" "${EXP[@]}" "${flag[@]}" --out "$OUT/$mode$r" >"$OUT/$mode$r.log" 2>&1
  done
done
data=$(ls "$OUT"/off1/data/*.h5 | head -1)
for r in $(seq 1 "$REPS"); do
  for mode in off on; do
    run=$(readlink -f "$OUT/$mode$r"/*/latest)
    "$JETLAB" bench --experiment "$run" "$data" >"$OUT/bench-$mode$r.txt" 2>/dev/null
  done
done
"$JETLAB" "$root/bench/epoch_cache_table.lua" "$OUT" "$REPS"
