#!/usr/bin/env bash
# test_mpi_experiment.sh — an experiment run unchanged under MPI
# (`mpirun -n 2 jetlab experiments/compression_kd.lua`, tiny sizes, FCNN and GNN
# teachers, students and distillation) trains the models of one process: every
# test AUC within 1e-3 (2 flipped pairs of the 200 test jets; float rounding
# through the training), and the run is rank 0's alone: one run folder, one
# generated sample, the summary printed once. Skipped without MPI.
source "$(dirname "$0")/lib.sh" "$@"
source "$(dirname "$0")/mpi_lib.sh"

args=(experiments/compression_kd.lua --quick --models '{"fcnn", "gnn"}' --n_jets 1000 --n_train 400 --n_val 100
  --n_test 200 --gnn_n_train 200 --gnn_epochs 1 --gnn_batch 64 --fcnn_epochs 2 --infer_singles 4 --infer_repeats 1
  --infer_batched 64 --cache-mb 0)
"$JETLAB" "${args[@]}" --out "$TMP/one" >"$TMP/one.log" 2>&1
expect_eq "single-process run ($(tail -n 3 "$TMP/one.log"))" "$?" 0
mpi 120 "$JETLAB" "${args[@]}" --out "$TMP/two" >"$TMP/two.log" 2>&1
expect_eq "2-rank run ($(tail -n 3 "$TMP/two.log"))" "$?" 0

# every model and variant's test AUC, "model|variant auc" sorted
cat >"$TMP/aucs.lua" <<'LUA'
local json = require "jetlab.json"
local m = json.decode(assert(io.open(arg[1])):read("a"))
local rows = {}
for model, variants in pairs(m.results) do
  for variant, r in pairs(variants) do
    rows[#rows + 1] = string.format("%s %.9g", (model .. "|" .. variant):gsub(" ", "_"), r.auc)
  end
end
table.sort(rows)
print(table.concat(rows, "\n"))
LUA
aucs() { "$JETLAB" "$TMP/aucs.lua" "$1"; }
aucs "$TMP/one/compression_kd/latest/metrics.json" >"$TMP/one.auc"
aucs "$TMP/two/compression_kd/latest/metrics.json" >"$TMP/two.auc"
report=$(paste -d ' ' "$TMP/one.auc" "$TMP/two.auc" | awk '
  $1 != $3 { bad = "misaligned: " $0 }
  { d = $2 - $4; if (d < 0) d = -d; if (d > worst) { worst = d; at = $1 } n++ }
  END { printf "%s%d models, max AUC difference %.3g (%s), %s\n", bad, n, worst, at,
        (bad == "" && n == 6 && worst <= 1e-3) ? "ok" : "FAR" }')
expect_match "2 ranks train the models of 1 process ($report)" "$report" "^6 models, .* ok$"
expect_eq "one run folder (and latest)" "$(ls "$TMP/two/compression_kd" | wc -l)" 2
expect_eq "one generated sample" "$(ls "$TMP/two/data" | wc -l)" 1
expect_eq "the summary printed once" "$(grep -c '^results: ' "$TMP/two.log")" 1

finish
