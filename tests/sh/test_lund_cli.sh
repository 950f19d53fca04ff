# test_lund_cli.sh — `jetlab lund`: usage errors, --h5 on the ATLAS fixture (one
# JSON line per jet, n - 1 nodes, parents -1 / earlier nodes, --max-jets,
# --ln-kt-min prunes), --events on a small event file, missing files.
#   bash tests/sh/test_lund_cli.sh build/jetlab   (from the repository root)
source "$(dirname "$0")/lib.sh" "$@"
FIXTURE=${JETLAB_FIXTURES:-$PWD/tests/fixtures}/atlas2022.h5

run_jetlab lund --help
expect_eq "--help exit status" "$RC" 0
expect_match "--help usage" "$OUT" '^usage: jetlab lund '
expect_match "--help documents the node fields" "$OUT" 'parent,lnz,lnDelta,psi,lnm,lnkt'

run_jetlab lund
expect_eq "neither --events nor --h5" "$RC" 2
expect_match "neither: message" "$ERR" 'give exactly one of --events and --h5'
run_jetlab lund --events a.dat --h5 b.h5
expect_eq "both --events and --h5" "$RC" 2
run_jetlab lund --events a.dat --r 0
expect_match "--r 0 refused" "$ERR" '--r must be > 0'
run_jetlab lund --h5 "$FIXTURE" --max-jets -1
expect_eq "--max-jets -1 refused" "$RC" 2

run_jetlab lund --h5 /nonexistent.h5
expect_eq "missing h5 exit status" "$RC" 1
expect_match "missing h5 message" "$ERR" '^jetlab lund: .*nonexistent\.h5'
run_jetlab lund --events /nonexistent.dat
expect_eq "missing events exit status" "$RC" 1
expect_match "missing events message" "$ERR" 'cannot open'

# check.py FILE [MAX_LN_KT_MIN]: every line a jet with nodes in preorder
cat > "$TMP/check.py" <<'PY'
import json, math, sys
jets = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
cut = float(sys.argv[2]) if len(sys.argv) > 2 else None
total = 0
for j in jets:
    nodes = j["nodes"]
    if cut is None:
        assert len(nodes) == max(j["n"] - 1, 0), (j["event"], len(nodes), j["n"])
    for i, nd in enumerate(nodes):
        assert len(nd) == 6
        assert (nd[0] == -1) == (i == 0) and nd[0] < i, (j["event"], i, nd[0])
        assert all(math.isfinite(v) for v in nd[1:])
        if cut is not None:
            assert nd[5] >= cut - 1e-6, nd
    total += len(nodes)
print(len(jets), total)
PY

run_jetlab lund --h5 "$FIXTURE"
expect_eq "--h5 exit status" "$RC" 0
printf '%s\n' "$OUT" > "$TMP/all.json"
all=$(python3 "$TMP/check.py" "$TMP/all.json" 2>&1)
expect_match "--h5: 10 jets, n - 1 nodes each" "$all" '^10 [0-9]+$'
expect_match "--h5: events numbered from 1" "$OUT" '^\{"event":1,"pt":'

run_jetlab lund --h5 "$FIXTURE" --max-jets 3
expect_eq "--max-jets 3: three lines" "$(printf '%s\n' "$OUT" | wc -l | tr -d ' ')" 3

run_jetlab lund --h5 "$FIXTURE" --ln-kt-min 1
printf '%s\n' "$OUT" > "$TMP/cut.json"
cut=$(python3 "$TMP/check.py" "$TMP/cut.json" 1 2>&1)
expect_match "--ln-kt-min: valid lines" "$cut" '^10 [0-9]+$'
if [ "${cut#* }" -lt "${all#* }" ] 2>/dev/null; then pass; else fail "--ln-kt-min 1 prunes" "$cut vs $all"; fi

# two events: a three-particle jet and a lone particle, then a lone particle
cat > "$TMP/ev.dat" <<'DAT'
100 0 0 100
24.875104131947315 2.4958354161316064 0 25
2 0 0.6070401 2.1781309
-49.49962483002227 7.056000402993361 0 50
#END
-49.49962483002227 7.056000402993361 0 50
DAT
run_jetlab lund --events "$TMP/ev.dat" --r 1.0 --ptmin 10
expect_eq "--events exit status" "$RC" 0
printf '%s\n' "$OUT" > "$TMP/ev.json"
ev=$(python3 "$TMP/check.py" "$TMP/ev.json" 2>&1)
expect_eq "--events: 3 jets, 2 nodes" "$ev" "3 2"
expect_match "--events: the first jet" "$OUT" '^\{"event":1,"pt":[0-9.e+-]+,"m":[0-9.e+-]+,"n":3,"nodes":\[\[-1,'
expect_match "--events: the second event" "$OUT" '^\{"event":2,.*"n":1,"nodes":\[\]\}$'

finish
