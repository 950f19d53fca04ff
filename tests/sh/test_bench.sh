# test_bench.sh — `jetlab bench`: every model runs on a small ATLAS-layout file
# (the 10 jets of tests/fixtures/atlas2022.h5 repeated to 240) and prints one JSON
# line with the PyTorch peer's fields; bad arguments are named.
#   bash tests/sh/test_bench.sh /path/to/jetlab
source "$(dirname "$0")/lib.sh" "$@"

run_jetlab -e "
local f = assert(jl.io.open_jets('tests/fixtures/atlas2022.h5'))
local b = assert(f:read(1, f:count()))
local idx = {}
for i = 1, 240 do idx[i] = (i - 1) % f:count() + 1 end
local index = jl.tensor(idx, {dtype = 'i64'})
local out = {weights_name = b.weights_name}
for k, v in pairs(b) do if jl.is_tensor(v) then out[k] = v:index_select(1, index) end end
assert(jl.io.write_jets('$TMP/jets.h5', out))"
expect_eq "test file written" "$RC" 0

for model in fcnn fcnn-student particlenet particlenet-lite lundnet5 lundnet3; do
  run_jetlab bench "$model" "$TMP/jets.h5" --batch 16 --train-steps 2 --pad 40 --threads 2 --batch1 3
  expect_eq "$model exit status" "$RC" 0
  for field in '"model": "'"$model"'"' '"params": [0-9]+' '"batch": 16' '"pad": 40' '"threads": 2' \
               '"train_ms_per_sample": [0-9.e+-]+' '"infer_ms_per_sample": [0-9.e+-]+' \
               '"infer_ms_per_sample_batch1": [0-9.e+-]+' '"graph_building": "[^"]+"'; do
    expect_match "$model prints $field" "$OUT" "$field"
  done
  case $model in fcnn* | lundnet*) # their nn.compile plans are timed too
    for field in '"infer_ms_per_sample_compiled": [0-9.e+-]+' '"infer_ms_per_sample_batch1_compiled": [0-9.e+-]+'; do
      expect_match "$model prints $field" "$OUT" "$field"
    done ;;
  esac
done

run_jetlab bench particlenet-lite "$TMP/jets.h5" --batch 16 --train-steps 1
expect_match "particlenet-lite params as the peer's" "$OUT" '"params": 26416'
expect_match "kNN is timed" "$OUT" '"graph_building": "kNN inside the timed region'

run_jetlab bench nosuchmodel "$TMP/jets.h5"
expect_eq "unknown model exit status" "$RC" 2
expect_match "unknown model named" "$ERR" "unknown model 'nosuchmodel'"

run_jetlab bench fcnn "$TMP/missing.h5"
expect_eq "missing file exit status" "$RC" 2
expect_match "missing file named" "$ERR" "missing.h5"

run_jetlab bench fcnn "$TMP/jets.h5" --batch 1000
expect_eq "batch larger than the training jets" "$RC" 2
expect_match "batch too large named" "$ERR" "fewer than one batch"

finish
