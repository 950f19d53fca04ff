# test_onnx_export.sh — jetlab export CKPT -o MODEL.onnx run by ONNX Runtime
# (tests/reference/onnx_check.py) on generated jets against jetlab's probabilities:
# an FCNN student with BatchNorm and standardisation (tests/sh/onnx_fcnn_ckpt.lua) and
# the published LundNet5 and LundNet3 imported from tests/fixtures/lundnet; each
# passes onnx.checker (full check), carries its metadata_props and agrees within 1e-5
# (tests/sh/onnx_inputs.lua writes the batches). Also: the same export twice gives the
# same bytes; --opset 21 exports; bad input (a ParticleNet checkpoint, an unwritable
# -o, --layout with .onnx, an opset out of range) exits 2 naming the fault, nothing
# written. ctest sets JETLAB_TEST_PYTHON to the test venv (scripts/install-test-venv.sh:
# onnx, onnxruntime); without it the test FAILS.
source "$(dirname "$0")/lib.sh" "$@"

py=${JETLAB_TEST_PYTHON:-}
if [ -z "$py" ] || ! "$py" -c 'import onnx, onnxruntime, numpy' 2>"$TMP/import.err"; then
  fail "the ONNX test venv" "JETLAB_TEST_PYTHON='$py' does not import onnx and onnxruntime:" \
    "$(tail -n 1 "$TMP/import.err" 2>/dev/null)" "run scripts/install-test-venv.sh (it makes .venv-test)"
  finish || exit 1
fi
here="$(dirname "$0")"
FX=tests/fixtures/lundnet

run_jetlab gen --signal top --pt 500:600 -n 300 --seed 3 -o "$TMP/jets.h5"
expect_eq "gen exits 0" "$RC" 0
run_jetlab "$here/onnx_fcnn_ckpt.lua" "$TMP/jets.h5" "$TMP/fcnn.h5"
expect_eq "the FCNN checkpoint is made" "$RC" 0
run_jetlab import "$FX/Top_QCD_500GeV_LundNet5.pt" --model lundnet5 -o "$TMP/l5.h5"
expect_eq "import lundnet5 exits 0" "$RC" 0
run_jetlab import "$FX/Top_QCD_500GeV_LundNet3.pt" --model lundnet3 -o "$TMP/l3.h5"
expect_eq "import lundnet3 exits 0" "$RC" 0

for m in fcnn l5 l3; do
  run_jetlab export "$TMP/$m.h5" -o "$TMP/$m.onnx"
  expect_eq "export $m exits 0" "$RC" 0
  expect_match "export $m reports the opset" "$OUT" "→ $TMP/$m.onnx, ONNX opset 17, [0-9]+ nodes"
  run_jetlab "$here/onnx_inputs.lua" "$TMP/$m.h5" "$TMP/jets.h5" "$TMP/$m.json" 300
  expect_eq "inputs of $m written" "$RC" 0
  check=$("$py" "$here/../reference/onnx_check.py" "$TMP/$m.onnx" "$TMP/$m.json" --tol 1e-5 --label "$m" 2>&1)
  echo "$check"
  expect_match "ONNX Runtime = jetlab on $m (300 jets, 1e-5)" "$check" "^ok $m: 300 jets"
done

run_jetlab export "$TMP/l5.h5" -o "$TMP/again.onnx"
expect_eq "the same export gives the same bytes" "$(cmp "$TMP/l5.onnx" "$TMP/again.onnx" && echo same)" "same"
run_jetlab export "$TMP/fcnn.h5" -o "$TMP/o21.onnx" --opset 21
check=$("$py" "$here/../reference/onnx_check.py" "$TMP/o21.onnx" "$TMP/fcnn.json" --label opset21 2>&1)
expect_match "opset 21 (IR 10) runs the same" "$check" "^ok opset21: .* opset 21,"

cat >"$TMP/pn.lua" <<'LUA'
local m = require("jetlab.nn").models.particlenet_lite()
assert(require("jetlab.ckpt").save(arg[1], {model = m}))
LUA
run_jetlab "$TMP/pn.lua" "$TMP/pn.h5"
expect_eq "a ParticleNet-Lite checkpoint is made" "$RC" 0
run_jetlab export "$TMP/pn.h5" -o "$TMP/pn.onnx"
expect_eq "ParticleNet: exit 2" "$RC" 2
expect_match "ParticleNet: no ONNX form, the families named" "$ERR" "model 'particlenet_lite' has no ONNX form \(exported: fcnn"
expect_eq "ParticleNet: nothing written" "$(ls "$TMP"/pn.onnx* 2>/dev/null)" ""
run_jetlab export "$TMP/l5.h5" -o "$TMP/no/such/dir/l5.onnx"
expect_eq "unwritable -o: exit 2" "$RC" 2
expect_match "unwritable -o: named" "$ERR" "no/such/dir/l5\.onnx: cannot create a temporary file beside it"
run_jetlab export "$TMP/l5.h5" --layout lundnet -o "$TMP/x.onnx"
expect_eq "--layout with .onnx: exit 2" "$RC" 2
run_jetlab export "$TMP/l5.h5" -o "$TMP/x.onnx" --opset 12
expect_eq "opset 12: exit 2" "$RC" 2
expect_match "opset 12: the range named" "$ERR" "opset 12 is not written \(16 to 21\)"
expect_eq "no stray files" "$(ls "$TMP"/x.onnx* 2>/dev/null)" ""
finish
