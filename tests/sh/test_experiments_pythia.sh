# test_experiments_pythia.sh — an experiment on Pythia 8 jets: compression_kd
# --generator pythia at tiny sizes (200 jets, the FCNNs, 1 epoch) makes its
# sample with `jetlab gen --engine pythia --match` (seed 1's ATLAS labels), caches it apart from the built-in
# generator's, records the generator in config.lua, metrics.json and
# summary.md, and reuses the sample on a rerun; --resume refuses a run folder
# made with the other generator; a checkpoint is reused only by runs of its
# generator; without Pythia, --generator pythia names the install command.
#   bash tests/sh/test_experiments_pythia.sh /path/to/jetlab      (~30-60 s)
source "$(dirname "$0")/lib.sh" "$@"
cd "$(dirname "$0")/../.." || exit 2
export JETLAB_PROGRESS=0
R=$TMP/results
TINY=(experiments/compression_kd.lua --quick --out "$R" --models '{"fcnn"}' --n_jets 200 --n_train 100 --n_val 40
  --n_test 60 --fcnn_epochs 1 --infer_singles 2 --infer_batched 32 --infer_repeats 1)

JETLAB_PYTHIA_PYTHON=$TMP/no-python run_jetlab "${TINY[@]}" --generator pythia
expect_eq "no Pythia: exit status" "$RC" 2
expect_match "no Pythia: names the install command" "$ERR" \
  '^experiments/compression_kd\.lua: --generator pythia: Pythia 8 is not installed .*bash .*scripts/install-pythia\.sh'
[ ! -e "$R" ] && pass || fail "no Pythia: nothing made"

if ! bash scripts/install-pythia.sh >"$TMP/install.log" 2>&1; then
  echo "SKIP: pythia8mc cannot be installed here (bash scripts/install-pythia.sh failed: $(tail -n 1 "$TMP/install.log"))"
  finish
  exit $?
fi

run_jetlab "${TINY[@]}" --generator pythia
expect_eq "pythia run: exit status" "$RC" 0
[ "$RC" = 0 ] || echo "$ERR" | tail -5
expect_match "pythia run: the sample made by jetlab gen --engine pythia" "$OUT" \
  '^jetlab gen: wrote 200 jets to .*/data/top500_matched-pythia-[0-9a-f]{8}-1-200\.h5 in .* made by Pythia'
expect_eq "pythia run: one sample, named by generator and settings" "$(ls "$R/data")" \
  "$(cd "$R/data" && ls | grep -E '^top500_matched-pythia-[0-9a-f]{8}-1-200\.h5$')"
expect_match "pythia run: trained on it" "$OUT" "^data: $R/data/top500_matched-pythia-[0-9a-f]{8}-1-200\.h5 — 100 train"
PYTHIA_RUN=$(readlink -f "$R/compression_kd/latest")
config=$(cat "$PYTHIA_RUN/config.lua")
expect_match "pythia run: config.lua names the generator" "$config" '^  generator = "pythia",$'
expect_match "pythia run: the quick_pythia sizes" "$config" '^  gnn_n_train = 400,$'
echo 'local m = require("jetlab.json").decode(io.open(arg[1]):read("a"))
print(m.generator, m.finished ~= nil, m.results.FCNN.Teacher.n)' >"$TMP/metrics.lua"
run_jetlab "$TMP/metrics.lua" "$PYTHIA_RUN/metrics.json"
expect_eq "pythia run: metrics.json names the generator" "$OUT" "pythia	true	60"
summary=$(cat "$PYTHIA_RUN/summary.md")
expect_match "pythia run: summary.md names the generator" "$summary" 'generator: pythia\. Configuration'
expect_match "pythia run: summary.md's note" "$summary" 'Generated jets \(Pythia 8 '

# Checkpoints of a Pythia run are found for Pythia runs only.
echo 'package.path = "experiments/?.lua;" .. package.path
local X = require "common"
for _, g in ipairs({"pythia", "builtin"}) do
  print(g, X.find_checkpoint({out = arg[1], generator = g}, "compression_kd", "fcnn_teacher") ~= nil)
end' >"$TMP/checkpoints.lua"
run_jetlab "$TMP/checkpoints.lua" "$R"
expect_eq "checkpoints: reused by runs of their generator only" "$OUT" "pythia	true
builtin	false"

run_jetlab "${TINY[@]}" --generator pythia
expect_eq "pythia rerun: exit status" "$RC" 0
expect_no_match "pythia rerun: the cached sample reused" "$OUT" '^generating|^jetlab gen'

run_jetlab "${TINY[@]}" --resume "$PYTHIA_RUN"
expect_eq "--resume a pythia run without --generator pythia: exit status" "$RC" 2
expect_match "--resume a pythia run without --generator pythia: says why" "$ERR" \
  'other settings \(generator = pythia there, builtin here[;)]'

run_jetlab "${TINY[@]}"
expect_eq "builtin run: exit status" "$RC" 0
expect_eq "builtin run: its own sample next to Pythia's" "$(ls "$R/data" | grep -c -E '^top500(-builtin-1-200|_matched-pythia-.*)\.h5$')" 2
expect_match "builtin run: metrics.json names the generator" "$(cat "$R/compression_kd/latest/metrics.json")" \
  '"generator": "builtin"'
run_jetlab "${TINY[@]}" --generator pythia --resume
expect_eq "--resume a builtin run with --generator pythia: exit status" "$RC" 2
expect_match "--resume a builtin run with --generator pythia: says why" "$ERR" \
  'other settings \(generator = builtin there, pythia here[;)]'

finish
