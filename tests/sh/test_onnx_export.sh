# test_onnx_export.sh — jetlab export CKPT -o MODEL.onnx run by ONNX Runtime
# (tests/reference/onnx_check.py) on generated jets against jetlab's probabilities, and
# on the real Pythia jets of fastjet-examples' events:
# an FCNN student with BatchNorm and standardisation (tests/sh/onnx_ckpt.lua) and
# the published LundNet5 and LundNet3 imported from tests/fixtures/lundnet; padded
# ParticleNet-Lite, the seed student and the teacher with fusion (random weights;
# jets with k < n <= P = 128 constituents; the teacher on fewer jets and P = 96, its
# distance tensors being the slow part); each passes onnx.checker (full check), carries
# its metadata_props and agrees within 1e-5 (tests/sh/onnx_inputs.lua writes the
# batches). The exported published LundNet5 scores the fixture's real jets as PyTorch
# (tests/fixtures/published_lundnet.json). Also: the same export twice gives the same
# bytes; --opset 21 exports; bad input (a peer LundNet checkpoint, an unwritable -o,
# --layout with .onnx, an opset out of range, --points below k) exits 2 naming the
# fault, nothing written. ctest sets JETLAB_TEST_PYTHON to the test venv
# (scripts/install-test-venv.sh: onnx, onnxruntime); without it the test FAILS.
source "$(dirname "$0")/lib.sh" "$@"

test_python onnx onnxruntime numpy
here="$(dirname "$0")"
FX=tests/fixtures/lundnet

run_jetlab gen --signal top --pt 500:600 -n 300 --seed 3 -o "$TMP/jets.h5"
expect_eq "gen exits 0" "$RC" 0
run_jetlab "$here/onnx_ckpt.lua" "$TMP/jets.h5" "$TMP/fcnn.h5" fcnn_student
expect_eq "the FCNN checkpoint is made" "$RC" 0
run_jetlab import "$FX/Top_QCD_500GeV_LundNet5.pt" --model lundnet5 -o "$TMP/l5.h5"
expect_eq "import lundnet5 exits 0" "$RC" 0
run_jetlab import "$FX/Top_QCD_500GeV_LundNet3.pt" --model lundnet3 -o "$TMP/l3.h5"
expect_eq "import lundnet3 exits 0" "$RC" 0
for m in particlenet_lite particlenet_student; do
  run_jetlab "$here/onnx_ckpt.lua" "$TMP/jets.h5" "$TMP/$m.h5" $m
  expect_eq "the $m checkpoint is made" "$RC" 0
done
run_jetlab "$here/onnx_ckpt.lua" "$TMP/jets.h5" "$TMP/pn_fusion.h5" particlenet_teacher fusion
expect_eq "the teacher-with-fusion checkpoint is made" "$RC" 0

# onnx_roundtrip NAME JETS POINTS MAX_LEFT_OUT: export, ONNX Runtime against jetlab on
# every jet written (padded ParticleNet: those with k < n <= POINTS; at most
# MAX_LEFT_OUT of the JETS left out) of $JETS (default the generated jets).
onnx_roundtrip() {
  local m=$1 written left
  run_jetlab export "$TMP/$m.h5" -o "$TMP/$m.onnx" --points "$3"
  expect_eq "export $m exits 0" "$RC" 0
  expect_match "export $m reports the opset" "$OUT" "→ $TMP/$m.onnx, ONNX opset 17, [0-9]+ nodes"
  run_jetlab "$here/onnx_inputs.lua" "$TMP/$m.h5" "${JETS:-$TMP/jets.h5}" "$TMP/$m.json" "$2" "$3"
  expect_eq "inputs of $m written" "$RC" 0
  read -r written left < <(printf '%s' "$OUT" | sed -n 's/^onnx_inputs: \([0-9]*\) jets (\([0-9]*\) left out).*/\1 \2/p')
  [ "${left:-999}" -le "$4" ] && [ $((written + left)) -eq "$2" ] && pass ||
    fail "$m: $2 jets, at most $4 left out" "got: $OUT"
  check=$("$py" "$here/../reference/onnx_check.py" "$TMP/$m.onnx" "$TMP/$m.json" --tol 1e-5 --label "$m" 2>&1)
  echo "$check"
  expect_match "ONNX Runtime = jetlab on $m (every jet written, 1e-5)" "$check" "^ok $m: $written jets"
}
onnx_roundtrip fcnn 300 128 0
onnx_roundtrip l5 300 128 0
onnx_roundtrip l3 300 128 0
onnx_roundtrip particlenet_lite 300 128 0
onnx_roundtrip particlenet_student 300 128 30    # jets with n <= k = 16 (19 with seed 3's jets)
onnx_roundtrip pn_fusion 64 96 8

# Real jets: the Pythia events of Debian's fastjet-examples, anti-kt R = 1.0 above 100 GeV.
cat >"$TMP/real_jets.lua" <<'LUA'
local d = "/usr/share/doc/fastjet-examples/examples/"
local b, info = require("jetlab.events").jets({d .. "Pythia-PtMin1000-LHC-10ev.dat", d .. "boosted_top_event.dat",
  d .. "Pythia-dijet-ptmin100-lhc-pileup-1ev.dat", d .. "Pythia-Zp2jets-lhc-pileup-1ev.dat"}, {r = 1.0, ptmin = 100})
assert(jl.io.write_jets(arg[1], b))
print(#info)
LUA
run_jetlab "$TMP/real_jets.lua" "$TMP/real.h5"
expect_eq "30 real jets from fastjet-examples' Pythia events" "$OUT" 30
# (ParticleNet: 6 of them have n <= k or more than 128 constituents, pile-up events)
for m in fcnn:0 l5:0 l3:0 particlenet_lite:8 particlenet_student:8; do
  cp "$TMP/${m%:*}.h5" "$TMP/${m%:*}_real.h5"
  JETS=$TMP/real.h5 onnx_roundtrip "${m%:*}_real" 30 128 "${m#*:}"
done

check=$("$py" "$here/../reference/onnx_check.py" "$TMP/l5.onnx" tests/fixtures/published_lundnet.json \
  --published lundnet5 --label published5 2>&1)
echo "$check"
expect_match "the exported published LundNet5 = PyTorch on the fixture's 7 jets" "$check" "^ok published5: 7 jets"

run_jetlab export "$TMP/l5.h5" -o "$TMP/again.onnx"
expect_eq "the same export gives the same bytes" "$(cmp "$TMP/l5.onnx" "$TMP/again.onnx" && echo same)" "same"
run_jetlab export "$TMP/fcnn.h5" -o "$TMP/o21.onnx" --opset 21
check=$("$py" "$here/../reference/onnx_check.py" "$TMP/o21.onnx" "$TMP/fcnn.json" --label opset21 2>&1)
expect_match "opset 21 (IR 10) runs the same" "$check" "^ok opset21: .* opset 21,"

cat >"$TMP/peer.lua" <<'LUA'
local m = require("jetlab.nn").models.lundnet5{variant = "peer"}
assert(require("jetlab.ckpt").save(arg[1], {model = m}))
LUA
run_jetlab "$TMP/peer.lua" "$TMP/peer.h5"
expect_eq "a peer LundNet5 checkpoint is made" "$RC" 0
run_jetlab export "$TMP/peer.h5" -o "$TMP/peer.onnx"
expect_eq "peer LundNet: exit 2" "$RC" 2
expect_match "peer LundNet: no ONNX form, the variant named" "$ERR" "variant 'peer' has no ONNX form"
expect_eq "peer LundNet: nothing written" "$(ls "$TMP"/peer.onnx* 2>/dev/null)" ""
run_jetlab export "$TMP/particlenet_student.h5" -o "$TMP/x.onnx" --points 16
expect_eq "--points 16 with k = 16: exit 2" "$RC" 2
expect_match "--points below k: named" "$ERR" "k = 16 needs more than 16 points"
run_jetlab export "$TMP/l5.h5" -o "$TMP/no/such/dir/l5.onnx"
expect_eq "unwritable -o: exit 2" "$RC" 2
expect_match "unwritable -o: named" "$ERR" "no/such/dir/l5\.onnx: cannot create a temporary file beside it"
run_jetlab export "$TMP/l5.h5" --layout lundnet -o "$TMP/x.onnx"
expect_eq "--layout with .onnx: exit 2" "$RC" 2
run_jetlab export "$TMP/l5.h5" -o "$TMP/x.onnx" --opset 12
expect_eq "opset 12: exit 2" "$RC" 2
expect_match "opset 12: the range named" "$ERR" "opset 12 is not written \(16 to 21\)"
expect_eq "no stray files" "$(ls "$TMP"/x.onnx* 2>/dev/null)" ""

# jetlab bench --onnx: jetlab's latency next to ONNX Runtime's, one JSON line.
cat >"$TMP/bench_row.lua" <<'LUA'
local r = require("jetlab.json").decode(io.read("a"))
local ok = r.jetlab_batched_ms > 0 and r.ort_batched_ms > 0 and r.jetlab_single_ms > 0 and r.ort_single_ms > 0
  and math.abs(r.ort_over_jetlab_batched - r.ort_batched_ms / r.jetlab_batched_ms) < 1e-9
  and math.abs(r.ort_over_jetlab_single - r.ort_single_ms / r.jetlab_single_ms) < 1e-9
print(r.mode, r.model, r.batch, r.threads, r.rounds, tostring(r.compiled), tostring(ok), r.onnxruntime ~= nil)
LUA
for m in l5:lundnet5:true particlenet_lite:particlenet_lite:false; do
  IFS=: read -r f name compiled <<<"$m"
  run_jetlab bench --onnx "$TMP/$f.h5" "$TMP/jets.h5" --batch 16 --reps 2 --rounds 2 --threads 1 --python "$py"
  expect_eq "bench --onnx $name: exits 0" "$RC" 0
  expect_eq "bench --onnx $name: both sides timed, ratios ORT / jetlab" "$(printf '%s' "$OUT" | "$JETLAB" "$TMP/bench_row.lua")" \
    "onnx	$name	16	1	2	$compiled	true	true"
done
run_jetlab bench --onnx "$TMP/l5.h5" "$TMP/jets.h5" --python "$TMP/no-python"
expect_eq "bench --onnx without ONNX Runtime: exit 2" "$RC" 2
expect_match "bench --onnx without ONNX Runtime: names the install command" "$ERR" \
  "ONNX Runtime is not available .*install-test-venv\.sh"
finish
