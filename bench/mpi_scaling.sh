#!/usr/bin/env bash
# bench/mpi_scaling.sh — data-parallel training's communication against its
# compute, and the estimate of scaling LundNet5 and ParticleNet to 8-64 nodes
# (issue 20; the README's "Running on a cluster"). Never a test: timings.
#
#   bash bench/mpi_scaling.sh [JETLAB] [REPEATS=30] [STEPS=5] [KEEP_DIR] [RUNS=3]
#
# KEEP_DIR keeps the measurements (allreduce.jsonl, steps.jsonl) for
# `jetlab bench/mpi_scaling_table.lua KEEP_DIR/allreduce.jsonl KEEP_DIR/steps.jsonl`.
# 1. mpirun -n 2 (loopback) bench/mpi_allreduce.lua: allreduce time per step
#    against gradient size, and for the two models' parameter lists;
# 2. jetlab bench MODEL (one process, its threads) on 1,024 generated jets at
#    the per-rank batches of a global batch of 256 over K = 1, 8, 16, 32, 64
#    ranks (256, 32, 16, 8, 4): training step times, RUNS runs of each, the
#    table keeping the fastest (the machine is shared);
# 3. bench/mpi_scaling_table.lua: both tables and the estimate (its header
#    states the network model and assumptions).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
JETLAB="${1:-$root/build/jetlab}"
REPEATS="${2:-30}"
STEPS="${3:-5}"
KEEP="${4:-}"
RUNS="${5:-3}"
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
cd "$root"
echo "load average before: $(cut -d ' ' -f 1-3 /proc/loadavg) on $(nproc) cores" >&2
mpirun --oversubscribe --allow-run-as-root --bind-to none --mca btl self,vader,tcp -n 2 \
  "$JETLAB" bench/mpi_allreduce.lua "$REPEATS" >"$OUT/allreduce.jsonl"
"$JETLAB" gen --signal top --pt 500:600 -n 1024 --seed 3 -o "$OUT/jets.h5" >/dev/null
for ((run = 1; run <= RUNS; run++)); do
  for model in lundnet5 particlenet; do
    for batch in 256 32 16 8 4; do
      "$JETLAB" bench "$model" "$OUT/jets.h5" --batch "$batch" --train-steps "$STEPS" >>"$OUT/steps.jsonl"
    done
  done
done
echo "load average after: $(cut -d ' ' -f 1-3 /proc/loadavg)" >&2
if [ -n "$KEEP" ]; then mkdir -p "$KEEP" && cp "$OUT/allreduce.jsonl" "$OUT/steps.jsonl" "$KEEP/"; fi
"$JETLAB" bench/mpi_scaling_table.lua "$OUT/allreduce.jsonl" "$OUT/steps.jsonl"
