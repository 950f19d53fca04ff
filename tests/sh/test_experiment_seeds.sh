# test_experiment_seeds.sh — --seeds 2 on compression_kd at a tiny size (FCNN only): every model
# trained twice (<key>_seed1, <key>_seed2, seeds 1 and 2), metrics.json holding the mean,
# the sample standard deviation and the seeds' values with the right arithmetic, the
# bootstrap errors, the summary's "mean ± std ± err" cells and its KD comparison; then a
# real SIGINT while the Student's second seed trains, and the resume command: the finished
# seeds are not retrained, the interrupted one goes on from its epoch, and metrics.json ends
# equal to the uninterrupted run's.
#   bash tests/sh/test_experiment_seeds.sh /path/to/jetlab      (~45 s)
source "$(dirname "$0")/lib.sh" "$@"
cd "$(dirname "$0")/../.." || exit 2
export JETLAB_PROGRESS=0
EPOCHS=20
ARGS=(--quick --n_jets 600 --n_train 200 --n_val 100 --n_test 200 --models '{"fcnn"}' --fcnn_teacher '{32, 32}'
      --fcnn_student '{16}' --fcnn_epochs $EPOCHS --infer_singles 4 --infer_batched 32 --infer_repeats 1 --seeds 2)
EXP=experiments/compression_kd.lua

# check.lua METRICS_JSON: mean and standard deviation against the seeds' values
cat > "$TMP/check.lua" <<'LUA'
local json = require "jetlab.json"
local f = assert(io.open(arg[1]))
local m = assert(json.decode(f:read("a")))
f:close()
local bad, n = {}, 0
for model, variants in pairs(m.results) do
  for variant, r in pairs(variants) do
    n = n + 1
    local v = r.auc_per_seed
    if r.n_seeds ~= 2 or type(v) ~= "table" or #v ~= 2 then
      bad[#bad + 1] = model .. " · " .. variant .. ": no 2 seeds"
    else
      local mean, std = (v[1] + v[2]) / 2, math.abs(v[1] - v[2]) / math.sqrt(2)
      if math.abs(r.auc - mean) > 1e-12 then bad[#bad + 1] = variant .. ": mean " .. r.auc .. " vs " .. mean end
      if math.abs(r.auc_std - std) > 1e-12 then bad[#bad + 1] = variant .. ": std " .. r.auc_std .. " vs " .. std end
      if v[1] == v[2] then bad[#bad + 1] = variant .. ": the seeds gave the same AUC" end
      if not (r.auc_err > 0 and r.auc_err < 0.2) then bad[#bad + 1] = variant .. ": auc_err " .. tostring(r.auc_err) end
      if type(r.train_ms_per_sample_std) ~= "number" then bad[#bad + 1] = variant .. ": no train_ms_per_sample_std" end
    end
  end
end
print(#bad == 0 and "ok " .. n or table.concat(bad, "; "))
LUA
# same.lua A B: the AUCs, their spreads and errors of two metrics.json are equal
cat > "$TMP/same.lua" <<'LUA'
local json = require "jetlab.json"
local function load(p) local f = assert(io.open(p)); local m = json.decode(f:read("a")); f:close(); return m.results end
local a, b = load(arg[1]), load(arg[2])
local bad, n = {}, 0
for model, variants in pairs(a) do
  for variant, r in pairs(variants) do
    n = n + 1
    for _, k in ipairs({"auc", "auc_std", "auc_err", "rej50", "accuracy", "best_epoch"}) do
      local o = b[model] and b[model][variant] and b[model][variant][k]
      if r[k] ~= o then bad[#bad + 1] = string.format("%s · %s %s: %s vs %s", model, variant, k, r[k], o) end
    end
  end
end
print(#bad == 0 and "same " .. n or table.concat(bad, "; "))
LUA

"$JETLAB" $EXP "${ARGS[@]}" --out "$TMP/ref" >"$TMP/ref.out" 2>"$TMP/ref.err"
expect_eq "--seeds 2: exit status" "$?" 0
REF=$TMP/ref/compression_kd/latest
for d in fcnn_teacher_seed1 fcnn_teacher_seed2 fcnn_student_seed2 fcnn_student_kd_seed2; do
  [ -f "$REF/$d/best.h5" ] && pass || fail "--seeds 2: $d/best.h5"
done
run_jetlab "$TMP/check.lua" "$REF/metrics.json"
expect_eq "--seeds 2: mean and standard deviation of the seeds' AUCs" "$OUT" "ok 3"
summary=$(cat "$REF/summary.md")
expect_match "--seeds 2: summary cells mean ± std ± err" "$summary" \
  '^\| FCNN \| Student \| [0-9]+ \| [0-9.]+ ± [0-9.e-]+ ± [0-9.e-]+ \|'
expect_match "--seeds 2: the KD comparison with its verdict" "$summary" \
  '^\| FCNN AUC: Student \+ KD − Student \| .* \| [-+][0-9.e-]+ ± [0-9.e-]+ \| (no effect|effect) \|$'

R=$TMP/run
"$JETLAB" $EXP "${ARGS[@]}" --out "$R" >"$TMP/run.out" 2>"$TMP/run.err" &
interrupt_at "the Student's second seed" "$TMP/run.out" '^-- FCNN · Student: .*seed 2$' $!
RUN=$(readlink -f "$R/compression_kd/latest")
[ -f "$RUN/fcnn_student_seed2/interrupted.h5" ] && pass || fail "SIGINT: the second seed's interrupted.h5"
cmd=$(sed -n 's/^jetlab: train: interrupted .*; resume with: //p' "$TMP/run.err")
expect_match "the resume command keeps --seeds 2" "$cmd" "--seeds 2 .*--resume $RUN\$"
eval "$cmd" >"$TMP/resumed.out" 2>"$TMP/resumed.err"
expect_eq "resumed: exit status" "$?" 0
before=$(awk '/^-- FCNN · Student: .*seed 2$/ { exit } /^epoch / { n++ } END { print n + 0 }' "$TMP/resumed.out")
expect_eq "resumed: the finished seeds are not retrained" "$before" 0
left=$(awk '/^-- FCNN · Student: .*seed 2$/ { on = 1 } /^-- FCNN · Student \+ KD:/ { on = 0 } on && /^epoch / { n++ }
  END { print n + 0 }' "$TMP/resumed.out")
if [ "$left" -ge 1 ] && [ "$left" -lt $EPOCHS ]; then pass; else
  fail "resumed: the second seed goes on from its epoch" "epochs trained now: $left"; fi
run_jetlab "$TMP/same.lua" "$REF/metrics.json" "$RUN/metrics.json"
expect_eq "resumed: metrics.json equals the uninterrupted run's" "$OUT" "same 3"
finish
