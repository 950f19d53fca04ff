# test_experiments_smoke.sh — every experiment of experiments/ end to end at
# tiny sizes (a few hundred generated jets, 1 epoch), then the contents of its
# results folder: config.lua, metrics.json with the expected keys, roc_*.csv,
# history_*.csv, summary.md, checkpoints, PNG plots (when gnuplot is there).
# Also all.lua, the sweep (2 worker processes), --data, --device cuda without
# CUDA, and a bad flag.
#   bash tests/sh/test_experiments_smoke.sh /path/to/jetlab      (~1-2 min)
source "$(dirname "$0")/lib.sh" "$@"
cd "$(dirname "$0")/../.." || exit 2
export JETLAB_PROGRESS=0
R=$TMP/results
HAVE_GNUPLOT=0
command -v gnuplot >/dev/null 2>&1 && HAVE_GNUPLOT=1

cat > "$TMP/check_metrics.lua" <<'LUA'
local json = require "jetlab.json"
local f = assert(io.open(arg[1]))
local m = assert(json.decode(f:read("a")))
f:close()
assert(m.experiment == arg[2], "experiment is " .. tostring(m.experiment))
assert(m.finished, "the run did not finish")
local seen, n = {}, 0
for _, variants in pairs(m.results) do
  for _, r in pairs(variants) do
    n = n + 1
    for k in pairs(r) do seen[k] = true end
    if type(r.auc) == "number" then assert(r.auc >= 0 and r.auc <= 1, "auc out of [0, 1]") end
  end
end
assert(n > 0, "no record")
for i = 3, #arg do assert(seen[arg[i]], "no record has " .. arg[i]) end
print("ok " .. n)
LUA

# check_run NAME EXPERIMENT KEY... — the latest run of EXPERIMENT under $R
check_run() {
  local name=$1 exp=$2
  shift 2
  local dir=$R/$exp/latest
  if [ ! -d "$dir" ]; then fail "$name: no run folder $dir"; return; fi
  for f in config.lua metrics.json summary.md; do
    if [ -s "$dir/$f" ]; then pass; else fail "$name: $f missing or empty"; fi
  done
  # metrics.json: valid JSON, the experiment's name, and every KEY in at least one record
  local keep_out=$OUT keep_err=$ERR
  run_jetlab "$TMP/check_metrics.lua" "$dir/metrics.json" "$exp" "$@"
  expect_match "$name: metrics.json keys" "$OUT$ERR" '^ok [0-9]+$'
  OUT=$keep_out ERR=$keep_err
  local roc
  roc=$(ls "$dir"/roc_*.csv 2>/dev/null | head -1)
  if [ -n "$roc" ] && [ "$(head -1 "$roc")" = "eff_s,eff_b,rejection" ] && [ "$(wc -l < "$roc")" -gt 2 ]; then
    pass
  else
    fail "$name: no roc_*.csv with points in $dir"
  fi
  expect_match "$name: summary.md has a table" "$(cat "$dir/summary.md")" '^\| model'
  if [ "$HAVE_GNUPLOT" = 1 ]; then
    if ls "$dir"/*.png >/dev/null 2>&1; then pass; else fail "$name: no PNG plot in $dir"; fi
  fi
}

# check_files NAME DIR PATTERN... — each glob matches at least one file
check_files() {
  local name=$1 dir=$2
  shift 2
  for p in "$@"; do
    if compgen -G "$dir/$p" >/dev/null; then pass; else fail "$name: nothing matches $dir/$p"; fi
  done
}

TINY=(--quick --out "$R" --n_jets 600 --n_val 100 --n_test 200)
TRAIN_KEYS=(auc accuracy rej30 rej50 train_ms_per_sample infer_us_per_jet infer_us_per_jet_batched params)

# --- degradation_kd ----------------------------------------------------------
run_jetlab experiments/degradation_kd.lua "${TINY[@]}" --n_train 200 --gnn_n_train 100 --fcnn_epochs 1 --gnn_epochs 1
expect_eq "degradation_kd exit status" "$RC" 0
[ "$RC" = 0 ] || echo "$ERR" | tail -5
check_run degradation_kd degradation_kd "${TRAIN_KEYS[@]}" alpha T
check_files degradation_kd "$R/degradation_kd/latest" fcnn_teacher/best.h5 gnn_student_kd_undersample/best.h5 \
  roc_fcnn_student_kd_smear.csv roc_gnn_mixed_teacher_on_undersample.csv history_gnn_teacher.csv
expect_match "degradation_kd: AUC table" "$(cat "$R/degradation_kd/latest/summary.md")" '^\| GNN · 5 constituents \|'
expect_match "degradation_kd: generated data cached" "$(ls "$R/data")" '^top500-builtin-1-600\.h5$'

# --- compression_kd ----------------------------------------------------------
run_jetlab experiments/compression_kd.lua "${TINY[@]}" --n_train 200 --gnn_n_train 100 --fcnn_epochs 1 --gnn_epochs 1 \
  --infer_singles 4 --infer_batched 64 --infer_repeats 1
expect_eq "compression_kd exit status" "$RC" 0
[ "$RC" = 0 ] || echo "$ERR" | tail -5
check_run compression_kd compression_kd "${TRAIN_KEYS[@]}"
check_files compression_kd "$R/compression_kd/latest" fcnn_teacher/best.h5 gnn_student_kd/best.h5 roc_gnn_student.csv
expect_match "compression_kd: parameter counts" "$(cat "$R/compression_kd/latest/summary.md")" '^\| FCNN \| Student \| 36034 \|'
expect_match "compression_kd: terminal summary" "$OUT" '^Compression: accuracy against size and speed$'

# --- transfer ----------------------------------------------------------------
run_jetlab experiments/transfer.lua "${TINY[@]}" --n_train 200 --source_n_train 200 --epochs 1 --pretrain_epochs 1 \
  --fractions '{1, 0.5}'
expect_eq "transfer exit status" "$RC" 0
[ "$RC" = 0 ] || echo "$ERR" | tail -5
check_run transfer transfer "${TRAIN_KEYS[@]}" fraction n_train
check_files transfer "$R/transfer/latest" pretrain_lundnet5_top2000/best.h5 pretrain_lundnet5_w500/best.h5 \
  lundnet3_frozen_top2000_50/best.h5 roc_particlenet_finetune_top2000_100.csv history_lundnet5_frozen_w500_100.csv
summary=$(cat "$R/transfer/latest/summary.md")
expect_match "transfer: Table 1" "$summary" '^## Table 1: training time'
expect_match "transfer: Table 2 row" "$summary" '^\| LundNet5 \| fine-tune from W 500 GeV \| [0-9.]+ ± [0-9.e-]+ \| [0-9.]+ ± [0-9.e-]+ \|$'
if [ "$HAVE_GNUPLOT" = 1 ]; then check_files transfer "$R/transfer/latest" roc_lundnet3_50.png val_acc_particlenet_100.png; fi

# --- data_efficiency (reuses transfer's pre-trained LundNet5) ----------------
run_jetlab experiments/data_efficiency.lua "${TINY[@]}" --sizes '{50, 100}' --epochs 1
expect_eq "data_efficiency exit status" "$RC" 0
[ "$RC" = 0 ] || echo "$ERR" | tail -5
check_run data_efficiency data_efficiency "${TRAIN_KEYS[@]}" n_train
expect_match "data_efficiency: pre-trained model reused" "$OUT" 'pre-trained model: .*transfer/latest/pretrain_lundnet5_top2000/best\.h5'
expect_match "data_efficiency: table" "$(cat "$R/data_efficiency/latest/summary.md")" '^\| 100 \| [0-9.]+ ± [0-9.e-]+ \| [0-9.]+ ± [0-9.e-]+ \| [0-9.]+ ± [0-9.e-]+ \|$'
if [ "$HAVE_GNUPLOT" = 1 ]; then check_files data_efficiency "$R/data_efficiency/latest" auc_vs_size.png; fi

# --- real_events (scores the checkpoints above) ------------------------------
if [ -f /usr/share/doc/fastjet-examples/examples/boosted_top_event.dat ]; then
  run_jetlab experiments/real_events.lua --quick --out "$R" --n_ref 400 --n_train 200 --n_val 50 --n_test 150 \
    --matched_epochs 1
  expect_eq "real_events exit status" "$RC" 0
  [ "$RC" = 0 ] || echo "$ERR" | tail -5
  check_run real_events real_events "${TRAIN_KEYS[@]}" median_qcd top_scores qcd_mistag50
  check_files real_events "$R/real_events/latest" pythia_jets.h5
  expect_match "real_events: 23 Pythia jets" "$OUT" '^23 Pythia jets'
  expect_match "real_events: LundNet5 from transfer scored" "$(cat "$R/real_events/latest/summary.md")" \
    '^\| LundNet5 \(top 2 TeV\) \| generated'
else
  echo "skip real_events: fastjet-examples not installed"
fi

# --- all.lua (one experiment) and the combined summary ---------------------
run_jetlab experiments/all.lua --quick --out "$R" --only '{"real_events"}'
expect_eq "all.lua exit status" "$RC" 0
expect_match "all.lua: wall time table" "$OUT" '^Wall time per experiment \(s\)$'
expect_match "all.lua: final line" "$OUT" '^all: 1 experiment\(s\) in [0-9]+ s'
check_files all.lua "$R/all/latest" summary.md config.lua

# --- the sweep in 2 worker processes -----------------------------------------
run_jetlab experiments/kd_sweep.lua "${TINY[@]}" --n_train 200 --epochs 1 --alphas '{0.5, 1}' --Ts '{2}' --workers 2
expect_eq "kd_sweep exit status" "$RC" 0
[ "$RC" = 0 ] || echo "$ERR" | tail -5
sdir=$R/kd_sweep/quick-n200-e1-seed1
check_files kd_sweep "$sdir" sweep.csv summary.md teacher/best.h5 'points/*.lua'
expect_eq "kd_sweep: two points" "$(tail -n +2 "$sdir/sweep.csv" | wc -l)" 2
expect_match "kd_sweep: csv header" "$(head -1 "$sdir/sweep.csv")" '^T,alpha,.*auc'
run_jetlab experiments/kd_sweep.lua "${TINY[@]}" --n_train 200 --epochs 1 --alphas '{0.5, 1}' --Ts '{2}'
expect_match "kd_sweep: resumed, nothing to redo" "$OUT" '2 points, 2 already done'

# --- --data: a user's ATLAS-format file instead of generated jets ------------
"$JETLAB" gen --signal top --pt 500:600 -n 400 --seed 7 -o "$TMP/user.h5" >/dev/null
run_jetlab experiments/compression_kd.lua --quick --out "$TMP/r2" --data "$TMP/user.h5" --models '{"fcnn"}' \
  --n_train 200 --n_val 50 --n_test 100 --fcnn_epochs 1 --infer_singles 2 --infer_batched 32 --infer_repeats 1
expect_eq "--data exit status" "$RC" 0
expect_match "--data: used" "$OUT" "^data: $TMP/user.h5 — 200 train"
expect_eq "--data: nothing generated" "$(ls "$TMP/r2/data" 2>/dev/null | wc -l)" 0
expect_match "--data: in config.lua" "$(cat "$TMP/r2/compression_kd/latest/config.lua")" "data = \"$TMP/user.h5\""
run_jetlab experiments/compression_kd.lua --quick --out "$TMP/r2" --data "$TMP/missing.h5"
expect_eq "--data missing file: exit status" "$RC" 1
expect_match "--data missing file: message" "$ERR" 'no such file: .*missing\.h5'

# --- flags -----------------------------------------------------------------
if "$JETLAB" -e 'os.exit(jl.cuda_available() and 0 or 1)'; then
  echo "skip --device cuda error: this jetlab has a CUDA device"
else
  run_jetlab experiments/transfer.lua --quick --out "$TMP/r3" --device cuda
  expect_eq "--device cuda without CUDA: exit status" "$RC" 2
  expect_match "--device cuda without CUDA: message" "$ERR" 'no CUDA device'
fi
run_jetlab experiments/degradation_kd.lua --quick --out "$TMP/r3" --no-such-flag 1
expect_eq "bad flag: exit status" "$RC" 2
run_jetlab experiments/degradation_kd.lua --help
expect_match "--help lists alpha with its default" "$OUT" 'alpha.*default: 0\.5'

finish
