# test_import_predict.sh — jetlab import, predict and export from the command
# line: the published LundNet5 (zip) and LundNet3 (legacy) imported with their
# tensor and parameter counts, scored on generated jets (CSV header, one row per
# jet, AUC printed), export → import giving the same CSV byte for byte, and bad
# input (unknown model or layout, a missing file, a checkpoint without spec, an
# unwritable -o): exit 2, a message naming the culprit, nothing written.
source "$(dirname "$0")/lib.sh" "$@"

FX=tests/fixtures/lundnet
run_jetlab gen --signal top --pt 500:600 -n 400 --seed 1 -o "$TMP/f.h5"
expect_eq "gen exits 0" "$RC" 0

run_jetlab import "$FX/Top_QCD_500GeV_LundNet5.pt" --model lundnet5 -o "$TMP/l5.h5"
expect_eq "import lundnet5 exits 0" "$RC" 0
expect_match "import names the format and layout" "$OUT" "LundNet5\.pt \(torch-zip\), layout lundnet → lundnet5"
expect_match "import counts tensors and parameters" "$OUT" "^  112 tensors read, 391724 parameters$"
expect_match "import says what the model reads" "$OUT" "inputs: Lund-plane graphs \(5 features\)"

run_jetlab import "$FX/Top_QCD_500GeV_LundNet3.pt" --model lundnet3 -o "$TMP/l3.h5"
expect_eq "import lundnet3 (legacy) exits 0" "$RC" 0
expect_match "lundnet3: legacy format, 391528 parameters" "$OUT" "torch-legacy"
expect_match "lundnet3 parameters" "$OUT" "391528 parameters"

for m in l5 l3; do
  run_jetlab predict "$TMP/$m.h5" "$TMP/f.h5" -o "$TMP/$m.csv" --batch 64 --threads 2
  expect_eq "predict $m exits 0" "$RC" 0
  expect_eq "predict $m: header" "$(head -1 "$TMP/$m.csv")" "index,label,score"
  expect_eq "predict $m: one row per jet" "$(wc -l <"$TMP/$m.csv" | tr -d ' ')" 401
  expect_match "predict $m: the count" "$OUT" "400 jets scored"
  expect_match "predict $m: AUC and rejections" "$OUT" "^  AUC 0\.[0-9]{4}   1/eB at eS = 0\.3: [0-9.inf]+   at eS = 0\.5: [0-9.inf]+$"
  expect_match "predict $m: speed" "$OUT" "jets/s on 2 threads"
  BAD_ROWS=$(awk -F, 'NR > 1 && !($1 == NR - 2 && ($2 == 0 || $2 == 1) && $3 >= 0 && $3 <= 1)' "$TMP/$m.csv" | wc -l)
  expect_eq "predict $m: index = row, label 0/1, score in [0, 1]" "$BAD_ROWS" 0
done

run_jetlab export "$TMP/l5.h5" --layout lundnet -o "$TMP/l5.safetensors"
expect_eq "export exits 0" "$RC" 0
expect_match "export reports the tensors" "$OUT" "→ .*l5\.safetensors, layout lundnet, 112 tensors"
run_jetlab import "$TMP/l5.safetensors" --model lundnet5 -o "$TMP/l5b.h5"
expect_match "the exported file imports" "$OUT" "\(safetensors\), layout lundnet"
run_jetlab predict "$TMP/l5b.h5" "$TMP/f.h5" -o "$TMP/l5b.csv" --batch 64
expect_eq "export → import: the same scores, byte for byte" "$(cmp "$TMP/l5.csv" "$TMP/l5b.csv" && echo same)" same

run_jetlab predict "$TMP/l5.h5" "$TMP/f.h5" -o "$TMP/l5.h5s.h5"
run_jetlab -e "local f = assert(jl.h5tensors.load('$TMP/l5.h5s.h5'))
for _, d in ipairs(f.datasets) do io.write(d[1], ' ', d[2].dtype, ' ', d[2]:numel(), ';') end"
expect_eq "-o .h5: index, label, score datasets" "$OUT" "/index i64 400;/label i64 400;/score f32 400;"

# bad input: exit 2, the culprit named, nothing written
bad() { # NAME PATTERN OUTPUT ARGS...
  local name=$1 pattern=$2 output=$3
  shift 3
  run_jetlab "$@"
  expect_eq "$name: exit 2" "$RC" 2
  expect_match "$name: message" "$ERR" "$pattern"
  expect_eq "$name: nothing written" "$(ls "$output" "$output.tmp" 2>/dev/null)" ""
}
bad "unknown model" "--model must be one of lundnet5, .*got 'lundnet9'" "$TMP/x.h5" \
  import "$FX/Top_QCD_500GeV_LundNet5.pt" --model lundnet9 -o "$TMP/x.h5"
bad "unknown layout" "--layout must be one of lundnet, peer, weaver, got 'keras'" "$TMP/x.h5" \
  import "$FX/Top_QCD_500GeV_LundNet5.pt" --model lundnet5 --layout keras -o "$TMP/x.h5"
bad "wrong model for the file" "LundNet3\.pt: tensor 'bn_fts\.weight' is \(3\); lundnet5 expects \(5\)" "$TMP/x.h5" \
  import "$FX/Top_QCD_500GeV_LundNet3.pt" --model lundnet5 -o "$TMP/x.h5"
bad "missing model file" "nope\.pt: cannot open" "$TMP/x.h5" import "$TMP/nope.pt" --model lundnet5 -o "$TMP/x.h5"
bad "import: unwritable -o" "cannot write -o $TMP/no/dir/x\.h5" "$TMP/no/dir/x.h5" \
  import "$FX/Top_QCD_500GeV_LundNet5.pt" --model lundnet5 -o "$TMP/no/dir/x.h5"
run_jetlab -e "local ckpt = require 'jetlab.ckpt'
local m = require('jetlab.nn').models.fcnn_student(35)
assert(ckpt.save('$TMP/nospec.h5', {model = m}))"
bad "checkpoint without inputs" "nospec\.h5 records no inputs" "$TMP/x.csv" \
  predict "$TMP/nospec.h5" "$TMP/f.h5" -o "$TMP/x.csv"
bad "missing jet file" "cannot open .*nojets\.h5" "$TMP/x.csv" predict "$TMP/l5.h5" "$TMP/nojets.h5" -o "$TMP/x.csv"
bad "missing checkpoint" "cannot read .*nockpt\.h5" "$TMP/x.csv" predict "$TMP/nockpt.h5" "$TMP/f.h5" -o "$TMP/x.csv"
bad "predict: unwritable -o" "cannot write $TMP/no/dir/x\.csv" "$TMP/no/dir/x.csv" \
  predict "$TMP/l5.h5" "$TMP/f.h5" -o "$TMP/no/dir/x.csv"
bad "predict: no -o" "missing --output" "$TMP/x.csv" predict "$TMP/l5.h5" "$TMP/f.h5"
bad "export: unknown layout" "--layout must be one of" "$TMP/x.safetensors" \
  export "$TMP/l5.h5" --layout keras -o "$TMP/x.safetensors"
bad "export: not .safetensors" "export writes \.safetensors or \.onnx files" "$TMP/x.pt" \
  export "$TMP/l5.h5" --layout lundnet -o "$TMP/x.pt"
bad "export: a jet file for the checkpoint" "f\.h5 is an HDF5 file but not a jetlab checkpoint" "$TMP/x.safetensors" \
  export "$TMP/f.h5" --layout lundnet -o "$TMP/x.safetensors"

run_jetlab predict --help
expect_eq "predict --help exits 0" "$RC" 0
expect_match "predict --help names the columns" "$OUT" "header index,label,score"

finish
