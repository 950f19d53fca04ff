#!/usr/bin/env bash
# test_mpi_graph.sh — data-parallel graph networks over MPI (jetlab.dist_train,
# jetlab.dist_shard, nn.BatchNorm1d sync, jl.dist.reducer): 2 ranks on
# loopback against one process holding the whole batch.
#   - synchronised BatchNorm (mpi_syncbn.lua): rows, input/weight/bias
#     gradients and running statistics of a split batch = plain BatchNorm's
#     on the whole batch, and a GraphEdgeConv block whose share on rank 1 has
#     no edge = the block on the whole graph, within 1e-5;
#   - LundNet5 (graph batches split by jets, BatchNorm synchronised by
#     default, gradients in several buckets started during backward) trained
#     8 SGD steps with per-jet weights: losses, shared validation's loss and
#     AUC, weights (parameters and BatchNorm buffers; relative above 1) within
#     1e-4 of one process; the ParticleNet student on ragged batches within 1e-5;
#   - an interruption recorded on rank 1 only stops both ranks after the same
#     step (exit 143, no MPI_Abort), rank 0 writes interrupted.h5, and the run
#     resumed from it under 2 ranks ends bit-identical to the uninterrupted one.
# Skipped when mpirun is missing or jetlab was built without MPI.
source "$(dirname "$0")/lib.sh" "$@"
SCRIPT=$PWD/tests/sh/mpi_graph_train.lua

source "$(dirname "$0")/mpi_lib.sh"

# compare ONE TWO TOL: "losses N max D, weights N max D, ok|FAR": training and
# validation losses, validation AUCs, weights (relative where |w| > 1)
compare() {
  paste -d ' ' "$1" "$2" | awk -v tol="$3" '
    $1 != $4 && $1 != $5 { bad = "misaligned: " $0 }
    $1 == "loss"   { n_loss++ }
    $1 ~ /^(loss|val_loss|val_auc)$/ { d = $3 - $6; if (d < 0) d = -d; if (d > loss) loss = d }
    $1 == "weight" { d = $4 - $8; if (d < 0) d = -d; a = $4 < 0 ? -$4 : $4; if (a > 1) d = d / a
                     if (d > w) { w = d; at = $2 } n_w++ }
    END { printf "%s losses %d max %.3g, weights %d max %.3g (%s), %s\n", bad, n_loss, loss, n_w, w, at,
          (bad == "" && n_loss == 4 && n_w > 0 && loss <= tol && w <= tol) ? "ok" : "FAR" }'
}

# --- synchronised BatchNorm against plain BatchNorm on the whole batch
mpi 60 "$JETLAB" tests/sh/mpi_syncbn.lua >"$TMP/syncbn.log" 2>&1
expect_eq "sync BatchNorm run ($(tail -n 3 "$TMP/syncbn.log"))" "$?" 0
for r in 0 1; do
  line=$(grep "^syncbn $r " "$TMP/syncbn.log")
  expect_match "rank $r: sync BatchNorm = BatchNorm within 1e-5 ($line)" \
    "$(echo "$line" | awk '{ print ($3 <= 1e-5 ? "ok" : "FAR") }')" "^ok$"
done

# --- LundNet5 and the ParticleNet student: 2 ranks = 1 process
for case in "lundnet5 1e-4" "particlenet_student 1e-5"; do
  set -- $case
  "$JETLAB" "$SCRIPT" "$TMP/one_$1.txt" "$1"
  expect_eq "$1: single-process run" "$?" 0
  mpi 60 "$JETLAB" "$SCRIPT" "$TMP/two_$1.txt" "$1" >"$TMP/two_$1.log" 2>&1
  expect_eq "$1: 2-rank run ($(tail -n 3 "$TMP/two_$1.log"))" "$?" 0
  report=$(compare "$TMP/one_$1.txt" "$TMP/two_$1.txt" "$2")
  expect_match "$1: 2 ranks = 1 process within $2 ($report)" "$report" "^ losses 4 .* ok$"
done

# --- interrupted on one rank, resumed under 2 ranks = uninterrupted
mpi 60 "$JETLAB" "$SCRIPT" "$TMP/whole.txt" lundnet5 "$TMP/whole" >"$TMP/whole.log" 2>&1
expect_eq "uninterrupted 2-rank run with checkpoints ($(tail -n 3 "$TMP/whole.log"))" "$?" 0
mpi 60 "$JETLAB" "$SCRIPT" "$TMP/cut.txt" lundnet5 "$TMP/cut" interrupt >"$TMP/cut.log" 2>&1
rc=$?
log=$(cat "$TMP/cut.log")
expect_eq "every rank stops with the signal's status" "$rc" 143
expect_eq "both ranks name the same step" \
  "$(grep -c 'train: interrupted (SIGTERM) at epoch 2, batch 1/2; checkpoint saved to' "$TMP/cut.log")" 2
expect_no_match "no rank aborts the job" "$log" "MPI_Abort|MPI_ABORT"
expect_eq "rank 0 wrote interrupted.h5" "$([ -s "$TMP/cut/interrupted.h5" ] && echo yes)" yes
expect_eq "no results before the end" "$([ -e "$TMP/cut.txt" ] && echo written || echo none)" none
mpi 60 "$JETLAB" "$SCRIPT" "$TMP/resumed.txt" lundnet5 "$TMP/cut" "$TMP/cut/interrupted.h5" >"$TMP/resumed.log" 2>&1
expect_eq "resumed 2-rank run ($(tail -n 3 "$TMP/resumed.log"))" "$?" 0
expect_eq "resumed = uninterrupted, bit for bit" "$(cmp -s "$TMP/whole.txt" "$TMP/resumed.txt" && echo same)" same
expect_eq "interrupted.h5 removed once the resumed run finished" \
  "$([ -e "$TMP/cut/interrupted.h5" ] && echo left || echo gone)" gone

finish
