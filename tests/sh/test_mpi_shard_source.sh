#!/usr/bin/env bash
# test_mpi_shard_source.sh — under MPI a jetlab.data view gives train.fit each
# rank's jets of a global batch only (the source's batches hold the rank's
# rows, not the global batch's: 25 or 13/14 of 50 or 27, counted as the source
# handed them over), while epoch 1 fills the row cache and epochs 2-3 gather
# from it; the 2-rank run gives the single-process losses, validation losses
# and weights within 1e-5 (mpi_view_train.lua). Skipped without MPI.
source "$(dirname "$0")/lib.sh" "$@"
source "$(dirname "$0")/mpi_lib.sh"
SCRIPT=$PWD/tests/sh/mpi_view_train.lua

"$JETLAB" "$SCRIPT" "$TMP/one.txt" >"$TMP/one.log" 2>&1
expect_eq "single-process run ($(tail -n 3 "$TMP/one.log"))" "$?" 0
mpi 60 "$JETLAB" "$SCRIPT" "$TMP/two.txt" >"$TMP/two.log" 2>&1
expect_eq "2-rank run ($(tail -n 3 "$TMP/two.log"))" "$?" 0

# each line "rows <jets of x> <n> <global n>": one process, whole batches; rank r, its block
expect_eq "one process: whole batches" "$(awk '$2 != $4 || $3 != $4 { bad++ } END { print NR, bad + 0 }' "$TMP/one.txt.rank0")" "27 0"
blocks() { # the rank's block of a batch of n over 2 ranks: rank 0 takes the odd jet
  awk -v r="$1" '{ want = int($4 / 2) + (r == 0 ? $4 % 2 : 0); if ($2 != want || $3 != want) bad++; rows += $2; total += $4 }
    END { printf "%d batches, %d of %d jets, %d wrong\n", NR, rows, total, bad }' "$2"
}
expect_eq "rank 0 got only its jets" "$(blocks 0 "$TMP/two.txt.rank0")" "27 batches, 642 of 1281 jets, 0 wrong"
expect_eq "rank 1 got only its jets" "$(blocks 1 "$TMP/two.txt.rank1")" "27 batches, 639 of 1281 jets, 0 wrong"

expect_eq "epochs and weights written" "$(wc -l <"$TMP/two.txt")" "$(wc -l <"$TMP/one.txt")"
report=$(paste -d ' ' "$TMP/one.txt" "$TMP/two.txt" | awk '
  $1 != "weight" && $1 == $4 { d = $3 - $6; if (d < 0) d = -d; if (d > loss) loss = d; n_loss++; next }
  $1 == "weight" && $1 == $5 { d = $4 - $8; if (d < 0) d = -d; if (d > w) w = d; n_w++; next }
  { bad = "misaligned: " $0 }
  END { printf "%s losses %d max %.3g, weights %d max %.3g, %s\n", bad, n_loss, loss, n_w, w,
        (bad == "" && n_loss == 6 && n_w > 0 && loss <= 1e-5 && w <= 1e-5) ? "ok" : "FAR" }')
expect_match "2 ranks = 1 process within 1e-5 ($report)" "$report" "^ losses 6 .* ok$"

finish
