#!/usr/bin/env bash
# test_mpi_train.sh — train.fit over MPI (jl.dist, jetlab.dist_train): 2 ranks on
# loopback train mpi_fcnn_train.lua's FCNN for 20 steps and give the
# single-process losses and weights within 1e-5; a rank that raises stops
# every rank with its message; a rank killed with SIGKILL ends the run within
# seconds. Skipped when mpirun is missing or jetlab was built without MPI.
source "$(dirname "$0")/lib.sh" "$@"
SCRIPT=$PWD/tests/sh/mpi_fcnn_train.lua

source "$(dirname "$0")/mpi_lib.sh"

# --- one process = two ranks
"$JETLAB" -e 'io.write(jl.dist.rank(), " ", jl.dist.size())' >"$TMP/single_rank"
expect_eq "rank and size without mpirun" "$(cat "$TMP/single_rank")" "0 1"
"$JETLAB" "$SCRIPT" "$TMP/one.txt"
expect_eq "single-process run" "$?" 0
mpi 60 "$JETLAB" "$SCRIPT" "$TMP/two.txt" >"$TMP/two.log" 2>&1
expect_eq "2-rank run ($(tail -n 3 "$TMP/two.log"))" "$?" 0
expect_eq "epochs and weights written" "$(wc -l <"$TMP/two.txt")" "$(wc -l <"$TMP/one.txt")"
report=$(paste -d ' ' "$TMP/one.txt" "$TMP/two.txt" | awk '
  $1 != $4 && $1 != $5 { bad = "misaligned: " $0 }
  $1 == "loss"   { d = $3 - $6; if (d < 0) d = -d; if (d > loss) loss = d; n_loss++ }
  $1 == "weight" { d = $4 - $8; if (d < 0) d = -d; if (d > w) w = d; n_w++ }
  END { printf "%s losses %d max %.3g, weights %d max %.3g, %s\n", bad, n_loss, loss, n_w, w,
        (bad == "" && n_loss == 10 && n_w > 0 && loss <= 1e-5 && w <= 1e-5) ? "ok" : "FAR" }')
expect_match "2 ranks = 1 process within 1e-5 ($report)" "$report" "^ losses 10 .* ok$"

# --- a rank that raises stops every rank, with its message
start=$SECONDS
mpi 60 "$JETLAB" "$SCRIPT" "$TMP/fail.txt" 1 >"$TMP/fail.log" 2>&1
rc=$?
log=$(cat "$TMP/fail.log")
expect_eq "a failing rank fails the run (not a timeout)" "$([ $rc -ne 0 ] && [ $rc -ne 124 ] && echo failed)" failed
expect_match "the failing rank's message" "$log" "rank 1 failed on purpose in epoch 3"
expect_match "which rank stopped the job" "$log" "rank 1 of 2 exited with status 1; stopping every rank"
expect_eq "nothing written by rank 0" "$([ -e "$TMP/fail.txt" ] && echo written || echo none)" none
expect_eq "stopped within 15 s" "$((SECONDS - start < 15))" 1

# --- a rank killed with SIGKILL ends the run within seconds
mpi 120 "$JETLAB" "$SCRIPT" "$TMP/kill.txt" forever >"$TMP/kill.log" 2>&1 &
launcher=$!
wait_for "$TMP/kill.txt.rank1.pid" '^[0-9]+$' 30 || fail "rank 1 started" "$(cat "$TMP/kill.log")"
sleep 0.5
victim=$(cat "$TMP/kill.txt.rank1.pid")
start=$SECONDS
kill -KILL "$victim"
wait "$launcher"
rc=$?
log=$(cat "$TMP/kill.log")
expect_eq "the run ends after a rank is killed (not a timeout)" "$([ $rc -ne 0 ] && [ $rc -ne 124 ] && echo ended)" ended
expect_eq "ended within 10 s of the kill ($((SECONDS - start)) s)" "$((SECONDS - start < 10))" 1
expect_match "mpirun names the killed rank" "$log" "process rank 1 with PID [0-9]+ .*exited on signal 9"
rank0=$(cat "$TMP/kill.txt.rank0.pid")
for ((i = 0; i < 50; i++)); do kill -0 "$rank0" 2>/dev/null || break; sleep 0.1; done
expect_eq "rank 0 is gone within 5 s more" "$(kill -0 "$rank0" 2>/dev/null && echo alive || echo gone)" gone

finish
