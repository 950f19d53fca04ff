# test_convert.sh — jetlab convert: real events into the ATLAS layout; the
# jets written are exactly those jetlab cluster finds, with their kinematics.
source "$(dirname "$0")/lib.sh" "$@"

EX=/usr/share/doc/fastjet-examples/examples
EVENTS=$EX/Pythia-PtMin1000-LHC-10ev.dat
if [ ! -f "$EVENTS" ] && [ -f "$EVENTS.gz" ]; then
  gunzip -c "$EVENTS.gz" >"$TMP/events.dat"
  EVENTS=$TMP/events.dat
fi
if [ ! -f "$EVENTS" ]; then
  echo "SKIP: $EVENTS missing (Debian package fastjet-examples)"
  finish
  exit $?
fi

run_jetlab cluster --events "$EVENTS" --r 1.0 --ptmin 500
CLUSTERED=$(printf '%s\n' "$OUT" | grep -c '"pt"')

run_jetlab convert --events "$EVENTS" --r 1.0 --ptmin 500 --label 1 -o "$TMP/jets.h5"
expect_eq "convert exits 0" "$RC" 0
expect_match "convert reports the count" "$ERR" "^jetlab convert: $CLUSTERED jets written to"

run_jetlab -e "
local f = assert(jl.io.open_jets('$TMP/jets.h5'))
local b = f:read(1, f:count())
local sorted = true
for i = 1, f:count() do
  local row = b.pt[i]:tolist()
  for c = 2, #row do if row[c] > row[c - 1] then sorted = false end end
end
print(f:count(), f:format(), b.labels:sum():item(), b.jet_pt:min():item() >= 500, sorted, b.weights_name)"
expect_eq "file has the clustered jets, labels, pt cut, sorted constituents" "$OUT" \
  "$CLUSTERED	atlas	$CLUSTERED	true	true	training_weights"

FIRST_PT=$("$JETLAB" cluster --events "$EVENTS" --r 1.0 --ptmin 500 | head -1 | sed 's/.*"pt":\([0-9.e+-]*\).*/\1/')
run_jetlab -e "local b = jl.io.open_jets('$TMP/jets.h5'):read(1, 1); print(string.format('%.3f', b.jet_pt[1]))"
expect_eq "first jet pt as clustered (GeV after the MeV round trip)" "$OUT" "$(printf '%.3f' "$FIRST_PT")"

run_jetlab convert --events "$TMP/missing.dat" -o "$TMP/x.h5"
expect_eq "missing event file exits 1" "$RC" 1
expect_match "missing event file is named" "$ERR" "missing.dat: cannot open"
run_jetlab convert --events "$EVENTS" --label 3 -o "$TMP/x.h5"
expect_eq "bad label exits 2" "$RC" 2
[ ! -e "$TMP/x.h5" ] && pass || fail "no output file after a failure"

finish
