# test_cluster_fastjet.sh — `jetlab cluster` against FastJet on every event file
# of Debian's fastjet-examples (plain or gzipped), for anti-kt, Cambridge/Aachen
# and kt with R = 0.4 and 1.0, every inclusive jet (ptmin 0): the same jets in
# each event, pt/eta/m within 1e-6 relative, phi within 1e-6 modulo 2pi, and
# the same constituents.
#   JETLAB_FJ_CLUSTER=build/tests/fastjet/fj_cluster bash tests/sh/test_cluster_fastjet.sh build/jetlab
# ctest sets JETLAB_FJ_CLUSTER (tests/fastjet); without it, or without the
# example files (JETLAB_FJ_EXAMPLES overrides their folder), the test is skipped.
source "$(dirname "$0")/lib.sh" "$@"

fastjet_events JETLAB_FJ_CLUSTER

# compare.py MANIFEST: each line "LABEL<TAB>JETLAB.json<TAB>FASTJET.json"; prints
# "ok LABEL N" (N jets equal) or "FAIL LABEL: the first differences" per line.
cat > "$TMP/compare.py" <<'PY'
import json, math, sys

def load(path):
    jets = [json.loads(line) for line in open(path) if line.strip()]
    # FastJet's sorted_by_pt leaves equal-pt jets in no set order: compare by
    # event, then pt, then constituents.
    return sorted(jets, key=lambda j: (j["event"], -j["pt"], j["constituents"]))

def rel(a, b):
    return abs(a - b) <= 1e-6 * max(abs(a), abs(b)) or abs(a - b) <= 1e-12

def compare(ours, theirs):
    problems = []
    if len(ours) != len(theirs):
        problems.append("jet count %d, FastJet %d" % (len(ours), len(theirs)))
    for a, b in zip(ours, theirs):
        where = "event %d, FastJet jet pt %.6g" % (b["event"], b["pt"])
        if a["event"] != b["event"] or a["constituents"] != b["constituents"] or a["n"] != b["n"]:
            problems.append("%s: constituents differ (%d vs %d)" % (where, a["n"], b["n"]))
            continue
        for k in ("pt", "eta", "m"):
            if not rel(a[k], b[k]):
                problems.append("%s: %s %r vs %r" % (where, k, a[k], b[k]))
        dphi = abs(a["phi"] - b["phi"]) % (2 * math.pi)
        if min(dphi, 2 * math.pi - dphi) > 1e-6 * max(1.0, abs(b["phi"])):
            problems.append("%s: phi %r vs %r" % (where, a["phi"], b["phi"]))
    return problems

for line in open(sys.argv[1]):
    label, ours, theirs = line.rstrip("\n").split("\t")
    try:
        problems = compare(load(ours), load(theirs))
    except (OSError, ValueError, KeyError) as e:
        problems = ["unreadable output: %s" % e]
    if problems:
        print("FAIL %s: %s" % (label, "; ".join(problems[:5])))
    else:
        print("ok %s %d" % (label, len(load(ours))))
PY

: > "$TMP/manifest"
k=0
run_pair() { # LABEL FILE ALGO R PTMIN
  k=$((k + 1))
  if ! "$JETLAB" cluster --events "$2" --algo "$3" --r "$4" --ptmin "$5" --constituents \
      > "$TMP/ours.$k.json" 2> "$TMP/ours.err"; then
    fail "$1: jetlab cluster failed" "$(cat "$TMP/ours.err")"
    return
  fi
  "$FJ" "$2" "$3" "$4" "$5" > "$TMP/theirs.$k.json" 2>/dev/null
  printf '%s\t%s\t%s\n' "$1" "$TMP/ours.$k.json" "$TMP/theirs.$k.json" >> "$TMP/manifest"
}
for f in "${files[@]}"; do
  for algo in antikt cambridge kt; do
    for r in 0.4 1.0; do
      run_pair "$(basename "$f") $algo R=$r" "$f" "$algo" "$r" 0
    done
  done
done
# The issue's command line: hard large-R jets only.
pythia="$TMP/events/Pythia-PtMin1000-LHC-10ev.dat"
if [ -f "$pythia" ]; then
  run_pair "hard: Pythia-PtMin1000-LHC-10ev.dat antikt R=1.0 ptmin=500" "$pythia" antikt 1.0 500
fi

total_jets=0
while read -r status label; do
  if [ "$status" = ok ]; then
    pass
    total_jets=$((total_jets + ${label##* }))
    case $label in hard:*)
      n=${label##* }
      if [ "$n" -ge 20 ]; then pass; else fail "Pythia 10 events: two jets above 500 GeV per event" "got $n jets"; fi ;;
    esac
  else
    fail "$label"
  fi
done < <(python3 "$TMP/compare.py" "$TMP/manifest")
echo "compared ${#files[@]} files x 3 algorithms x 2 radii (+1 hard-jet run): $total_jets jets equal to FastJet's"

finish
