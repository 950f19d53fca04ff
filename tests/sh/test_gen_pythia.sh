# test_gen_pythia.sh — jetlab gen --engine pythia: a small Pythia 8 sample in the
# anchors' settings (top vs QCD at 500 GeV) has jets in the window, half signal
# and the top mass peak; QCD jets at 800-1600 GeV match fastjet-examples' Pythia
# jets; the same seed gives the same jets with 1 or 2 workers, and after an
# interruption and --resume; bad input fails clearly and leaves no file.
source "$(dirname "$0")/lib.sh" "$@"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
if ! bash "$ROOT/scripts/install-pythia.sh" >"$TMP/install.log" 2>&1; then
  echo "SKIP: pythia8mc cannot be installed here (bash scripts/install-pythia.sh failed: $(tail -n 1 "$TMP/install.log"))"
  finish
  exit $?
fi

TOP=(gen --engine pythia --signal top --pt 500 -n 200 --seed 3 --block 25)

# The checks of one file, printed as name=value lines (|y| from pt, eta and m).
CHECKS='
local f = assert(jl.io.open_jets(arg[1]))
local b = f:read(1, f:count())
local pt, eta, m, lab = b.jet_pt:tolist(), b.jet_eta:tolist(), b.jet_m:tolist(), b.labels:tolist()
local cons = b.pt:tolist()
local max_y, min_pt, signal, masses, bins = 0, math.huge, 0, {[0] = {}, [1] = {}}, {}
local mult = {}
for i = 1, #pt do
  local pz, mt = pt[i] * math.sinh(eta[i]), math.sqrt(pt[i] ^ 2 + m[i] ^ 2)
  local e = math.sqrt(mt ^ 2 + pz ^ 2)
  max_y = math.max(max_y, math.abs(0.5 * math.log((e + pz) / (e - pz))))
  min_pt = math.min(min_pt, pt[i])
  signal = signal + lab[i]
  table.insert(masses[lab[i]], m[i])
  local n = 0
  for _, c in ipairs(cons[i]) do if c > 0 then n = n + 1 end end
  mult[#mult + 1] = n
  if lab[i] == 1 then local k = math.floor(m[i] / 10); bins[k] = (bins[k] or 0) + 1 end
end
local peak, most = -1, 0
for k, c in pairs(bins) do if c > most then peak, most = k, c end end
local function median(t) table.sort(t); return t[(#t + 1) // 2] end
print("n=" .. #pt)
print("min_pt_ok=" .. tostring(min_pt >= 500))
print("max_y_ok=" .. tostring(max_y < 2.5))
print("signal=" .. signal)
print(string.format("top_peak=%d", peak * 10 + 5))
print(string.format("median_mass=%.1f", #masses[0] > 0 and median(masses[0]) or 0))
print(string.format("median_mult=%.1f", median(mult)))'
echo "$CHECKS" >"$TMP/checks.lua"
value() { printf '%s\n' "$1" | sed -n "s/^$2=//p"; }
# The same jets: the files differ only in HDF5's object timestamps and their own name.
same_jets() { cmp -s <(h5dump "$1" | tail -n +2) <(h5dump "$2" | tail -n +2); }

run_jetlab "${TOP[@]}" --workers 2 -o "$TMP/top2.h5"
expect_eq "top sample: exits 0" "$RC" 0
expect_match "top sample: reports jets/s" "$OUT" "^jetlab gen: wrote 200 jets to .* jets/s"
run_jetlab "$TMP/checks.lua" "$TMP/top2.h5"
expect_eq "top sample: 200 jets" "$(value "$OUT" n)" 200
expect_eq "top sample: pT >= 500 GeV" "$(value "$OUT" min_pt_ok)" true
expect_eq "top sample: |y| < 2.5" "$(value "$OUT" max_y_ok)" true
expect_eq "top sample: half signal" "$(value "$OUT" signal)" 100
PEAK=$(value "$OUT" top_peak)
if [ "$PEAK" -ge 160 ] && [ "$PEAK" -le 190 ]; then pass; else fail "top mass peak in 160-190 GeV" "got $PEAK"; fi
[ ! -e "$TMP/top2.h5.partial" ] && pass || fail "the side folder is removed after a finished run"

# The selection: of three central jets in the window and a harder forward one, the two hardest central ones.
run_jetlab -e '
local select, rows = require "jetlab.pythia.select", require("jetlab.events").rows(200)
local function particle(pt, y, phi) return {pt * math.cos(phi), pt * math.sin(phi), pt * math.sinh(y), pt * math.cosh(y)} end
local ev = {particle(900, 3.0, 0), particle(570, 0, 1), particle(560, 1, 3), particle(550, -1, 5)}
select.jets(rows, ev, {r = 1.0, eta = 2.5, lo = 500, hi = math.huge}, 1)
local b = rows:batch()
print(rows:count(), string.format("%.0f %.0f", table.unpack(b.jet_pt:tolist())))'
expect_eq "selection: the two hardest jets with |y| < 2.5" "$OUT" "2	570 560"

run_jetlab "${TOP[@]}" --workers 1 -o "$TMP/top1.h5"
expect_eq "1 worker: exits 0" "$RC" 0
same_jets "$TMP/top1.h5" "$TMP/top2.h5" && pass || fail "same seed, same file with 1 or 2 workers"

# --match: a signal jet is kept when one top's three decay quarks are within 0.75 R of its axis.
run_jetlab -e '
local select = require "jetlab.pythia.select"
local function particle(pt, y, phi) return {pt * math.cos(phi), pt * math.sin(phi), pt * math.sinh(y), pt * math.cosh(y)} end
for _, far in ipairs{0.7, 1.8} do
  local rows = require("jetlab.events").rows(200)
  local ev = {particle(570, 0, 1), particle(40, 0.3, 0.8), truth = {{1, 0, 1}, {1, 0.3, 0.8}, {1, 0, far}, {2, 0, 4}, {2, 0.1, 4}, {2, 0, 1}}}
  select.jets(rows, ev, {r = 1.0, eta = 2.5, lo = 500, hi = math.huge}, 1)
  io.write(rows:count(), " ")
end'
expect_eq "--match: kept when contained, not when a quark is 0.8 R away" "$OUT" "1 0 "
JET_PTS='local f = assert(jl.io.open_jets(arg[1])); local b = f:read(1, f:count())
for i, l in ipairs(b.labels:tolist()) do if l == 1 then print(string.format("%.3f", b.jet_pt[i])) end end'
echo "$JET_PTS" >"$TMP/signal_pts.lua"
run_jetlab "${TOP[@]}" -n 30 --match --workers 2 -o "$TMP/top_match.h5"
expect_eq "--match: exits 0" "$RC" 0
run_jetlab "$TMP/signal_pts.lua" "$TMP/top_match.h5"
MATCHED=$OUT
run_jetlab "$TMP/signal_pts.lua" "$TMP/top1.h5"
expect_eq "--match: 15 signal jets, each one of the unmatched run's" \
  "$(comm -23 <(sort <<<"$MATCHED") <(sort <<<"$OUT") | wc -l) $(wc -l <<<"$MATCHED")" "0 15"

# Interrupted after its first block, then resumed: the same file.
"$JETLAB" "${TOP[@]}" --workers 1 -o "$TMP/resumed.h5" >"$TMP/interrupted.out" 2>&1 &
PID=$!
for _ in $(seq 200); do
  ls "$TMP/resumed.h5.partial"/signal-000000.h5 >/dev/null 2>&1 && break
  sleep 0.1
done
kill -INT "$PID"
wait "$PID"
RC=$?
expect_eq "interrupted: exit status 1" "$RC" 1
expect_match "interrupted: says how to resume" "$(cat "$TMP/interrupted.out")" "interrupted: .*--resume"
[ ! -e "$TMP/resumed.h5" ] && pass || fail "interrupted: no output file"
run_jetlab "${TOP[@]}" --workers 2 -o "$TMP/resumed.h5"
expect_match "without --resume: refuses the interrupted run's folder" "$ERR" "add --resume to continue it"
run_jetlab "${TOP[@]}" --workers 2 -o "$TMP/resumed.h5" --resume
expect_eq "resumed: exits 0" "$RC" 0
same_jets "$TMP/top1.h5" "$TMP/resumed.h5" && pass || fail "resumed: the same file as an uninterrupted run"

# QCD against the reference jets (clustered the same way; π0 decayed as in those events).
run_jetlab -e 'local r = assert(jl.gen.reference{pt = {800, 1600}, r = 1.0, eta = 2.5})
print(string.format("median_mass=%.1f\nmedian_mult=%.1f", r.mass_median, r.mult_median))'
REF=$OUT
run_jetlab gen --engine pythia --signal none --pt 800:1600 -n 100 --seed 3 --block 25 --pi0-decays -o "$TMP/qcd.h5"
expect_eq "QCD sample: exits 0" "$RC" 0
run_jetlab "$TMP/checks.lua" "$TMP/qcd.h5"
expect_eq "QCD sample: no signal" "$(value "$OUT" signal)" 0
for q in median_mass median_mult; do
  GOT=$(value "$OUT" $q) WANT=$(value "$REF" $q)
  if awk -v g="$GOT" -v w="$WANT" 'BEGIN { exit !(g > 0.75 * w && g < 1.25 * w) }'; then pass
  else fail "QCD $q within 25% of fastjet-examples' Pythia jets" "got $GOT, reference $WANT"; fi
done

# Bad input: clear errors naming the fault, no file left.
touch "$TMP/a-file"
bad() { # NAME ERE ARGS...
  local name=$1 ere=$2
  shift 2
  run_jetlab gen --engine pythia "$@"
  [ "$RC" -ne 0 ] && pass || fail "$name: fails"
  expect_match "$name: says why" "$ERR" "$ere"
}
bad "unknown --signal" "--signal must be one of top, w, none, got 'higgs'" --signal higgs -n 10 -o "$TMP/bad.h5"
bad "window below pTHatMin" "below --pthatmin 400 GeV" --pt 300 --pthatmin 400 -n 10 -o "$TMP/bad.h5"
bad "-n 0" "-n must be >= 1" -n 0 -o "$TMP/bad.h5"
bad "unwritable output" "cannot write the output" -n 10 -o "$TMP/a-file/bad.h5"
JETLAB_PYTHIA_PYTHON=$TMP/no-python bad "no Pythia" "Pythia 8 is not installed.*install-pythia.sh" -n 10 -o "$TMP/bad.h5"
expect_eq "bad input: no file left" "$(ls "$TMP" | grep -c bad)" 0

finish
