# test_experiments_paper.sh — each experiment's --paper preset (issue 17's
# reproduction runs) end to end at tiny sizes on built-in jets: the preset's
# models, schedules, seeds and sources, with the sample sizes and epochs cut
# down. Checks that the transfer experiments start LundNet5 from the authors'
# published W tagger (the preset's --w_pretrained / --pretrained), that the
# records claims.json reads exist in metrics.json, and that --paper runs with
# --seeds record the seeds' spread.
#   bash tests/sh/test_experiments_paper.sh /path/to/jetlab      (~1-2 min)
source "$(dirname "$0")/lib.sh" "$@"
cd "$(dirname "$0")/../.." || exit 2
export JETLAB_PROGRESS=0
R=$TMP/results
W=tests/fixtures/lundnet/W_QCD_500GeV_LundNet5.pt
TINY=(--paper --out "$R" --n_jets 500 --n_val 100 --n_test 200)

# has_record DIR MODEL VARIANT KEY — metrics.json of the latest run in DIR has
# results[MODEL][VARIANT][KEY] as a number (what claims.json's source names).
cat > "$TMP/has_record.lua" <<'LUA'
local json = require "jetlab.json"
local f = assert(io.open(arg[1]))
local m = assert(json.decode(f:read("a")))
f:close()
local r = m.results[arg[2]] and m.results[arg[2]][arg[3]]
assert(r, "no record " .. arg[2] .. " / " .. arg[3])
assert(type(r[arg[4]]) == "number", arg[4] .. " is not a number")
print("ok " .. r[arg[4]])
LUA
has_record() {
  local keep_out=$OUT keep_err=$ERR
  run_jetlab "$TMP/has_record.lua" "$1/metrics.json" "$2" "$3" "$4"
  expect_match "record $2 / $3 / $4" "$OUT$ERR" '^ok [-0-9.e]+$'
  OUT=$keep_out ERR=$keep_err
}

# --- transfer: LundNet5 from the published W tagger and from top 2 TeV ---------
run_jetlab experiments/transfer.lua "${TINY[@]}" --n_train 200 --source_n_train 200 --epochs 1 --pretrain_epochs 1
expect_eq "transfer --paper exit status" "$RC" 0
[ "$RC" = 0 ] || echo "$ERR" | tail -5
d=$R/transfer/latest
expect_match "transfer --paper: W source is the published tagger" "$(cat "$d/summary.md")" \
  "W source: .*W_QCD_500GeV_LundNet5\.pt \(trained elsewhere"
if [ -s "$d/imported_lundnet5_w500/best.h5" ]; then pass; else fail "transfer --paper: no imported W checkpoint"; fi
if [ -e "$d/pretrain_lundnet5_w500" ]; then fail "transfer --paper: pre-trained on W although imported"; else pass; fi
for v in "scratch" "fine-tune from W 500 GeV" "frozen from W 500 GeV" "fine-tune from top 2 TeV"; do
  has_record "$d" "LundNet5 · 100%" "$v" auc
done
has_record "$d" "LundNet5 · 100%" "frozen from W 500 GeV" train_ms_per_sample

# --- data_efficiency: 3 seeds per size from the published W tagger -------------
run_jetlab experiments/data_efficiency.lua "${TINY[@]}" --sizes '{60, 120}' --epochs 1
expect_eq "data_efficiency --paper exit status" "$RC" 0
[ "$RC" = 0 ] || echo "$ERR" | tail -5
d=$R/data_efficiency/latest
expect_match "data_efficiency --paper: published W tagger" "$OUT" "^pre-trained model: .*W_QCD_500GeV_LundNet5\.pt$"
has_record "$d" "LundNet5 · 120 jets" "fine-tune" auc
has_record "$d" "LundNet5 · 120 jets" "fine-tune" auc_std

# --- compression_kd and degradation_kd: seed 1's presets, 3 seeds ---------------
run_jetlab experiments/compression_kd.lua "${TINY[@]}" --n_train 200 --gnn_n_train 100 --fcnn_epochs 1 --gnn_epochs 1 \
  --infer_singles 2 --infer_batched 32 --infer_repeats 1
expect_eq "compression_kd --paper exit status" "$RC" 0
[ "$RC" = 0 ] || echo "$ERR" | tail -5
has_record "$R/compression_kd/latest" FCNN "Student + KD" auc_std

run_jetlab experiments/degradation_kd.lua "${TINY[@]}" --n_train 200 --fcnn_epochs 1
expect_eq "degradation_kd --paper exit status" "$RC" 0
[ "$RC" = 0 ] || echo "$ERR" | tail -5
expect_match "degradation_kd --paper: seeds" "$(cat "$R/degradation_kd/latest/config.lua")" 'seeds = 3'

# --- a W source that does not fit the model is a clear error -------------------
run_jetlab experiments/transfer.lua --quick --out "$TMP/r2" --n_jets 300 --n_train 100 --n_val 50 --n_test 100 \
  --source_n_train 100 --epochs 1 --pretrain_epochs 1 --models '{"lundnet5"}' --fractions '{1}' --w_pretrained "$W"
expect_eq "transfer: unfit W source exit status" "$RC" 1
expect_match "transfer: unfit W source message" "$ERR" "W_QCD_500GeV_LundNet5\.pt does not fit the experiment's lundnet: .*shape"
run_jetlab experiments/transfer.lua --paper --out "$TMP/r2" --w_pretrained "$TMP/missing.pt"
expect_eq "transfer: missing W source exit status" "$RC" 1
expect_match "transfer: missing W source message" "$ERR" "missing\.pt: no such model file"

finish
