# test_lund_fastjet.sh — `jetlab lund --events` against FastJet (tests/fastjet/fj_lund.cc:
# anti-kt jets, C/A re-clustering with JetDefinition::max_allowable_R, recursive
# has_parents declustering along both branches) on every event file of Debian's
# fastjet-examples (plain or gzipped): every anti-kt jet for R = 0.4 and 1.0
# (ptmin 0), the same with an ln kt cut (ln_kt_min = 0, i.e. kt >= 1 GeV), and
# the issue's command line (Pythia 10 events, R = 1.0, ptmin 500). Same jets,
# pt and m within 1e-6 relative, the same number of nodes with the same parents,
# and every feature (ln z, ln Delta, psi, ln m, ln kt) within 1e-6 (relative
# above 1, absolute below).
#   JETLAB_FJ_LUND=build/tests/fastjet/fj_lund bash tests/sh/test_lund_fastjet.sh build/jetlab
# ctest sets JETLAB_FJ_LUND (tests/fastjet); without it, or without the example
# files (JETLAB_FJ_EXAMPLES overrides their folder), the test is skipped.
source "$(dirname "$0")/lib.sh" "$@"

fastjet_events JETLAB_FJ_LUND

# compare.py MANIFEST: each line "LABEL<TAB>JETLAB.json<TAB>FASTJET.json"; prints
# "ok LABEL JETS NODES" or "FAIL LABEL: the first differences" per line.
cat > "$TMP/compare.py" <<'PY'
import json, sys

FIELDS = ("lnz", "lnDelta", "psi", "lnm", "lnkt")

def load(path):
    jets = [json.loads(line) for line in open(path) if line.strip()]
    # equal-pt jets come in no set order from FastJet's sorted_by_pt
    return sorted(jets, key=lambda j: (j["event"], -j["pt"], j["n"]))

def close(a, b):
    return abs(a - b) <= 1e-6 * max(1.0, abs(a), abs(b))

def compare(ours, theirs):
    problems, nodes = [], 0
    if len(ours) != len(theirs):
        problems.append("jet count %d, FastJet %d" % (len(ours), len(theirs)))
    for a, b in zip(ours, theirs):
        where = "event %d, FastJet jet pt %.6g" % (b["event"], b["pt"])
        if a["event"] != b["event"] or a["n"] != b["n"]:
            problems.append("%s: event/constituents differ (%d/%d vs %d/%d)"
                            % (where, a["event"], a["n"], b["event"], b["n"]))
            continue
        for k in ("pt", "m"):
            if not close(a[k], b[k]):
                problems.append("%s: %s %r vs %r" % (where, k, a[k], b[k]))
        if len(a["nodes"]) != len(b["nodes"]):
            problems.append("%s: %d nodes vs %d" % (where, len(a["nodes"]), len(b["nodes"])))
            continue
        for i, (na, nb) in enumerate(zip(a["nodes"], b["nodes"])):
            if na[0] != nb[0]:
                problems.append("%s, node %d: parent %d vs %d" % (where, i, na[0], nb[0]))
            for f, x, y in zip(FIELDS, na[1:], nb[1:]):
                if not close(x, y):
                    problems.append("%s, node %d: %s %r vs %r" % (where, i, f, x, y))
        nodes += len(b["nodes"])
    return problems, nodes

for line in open(sys.argv[1]):
    label, ours, theirs = line.rstrip("\n").split("\t")
    try:
        problems, nodes = compare(load(ours), load(theirs))
    except (OSError, ValueError, KeyError, IndexError, TypeError) as e:
        problems = ["unreadable output: %s" % e]
    if problems:
        print("FAIL %s: %s" % (label, "; ".join(problems[:5])))
    else:
        print("ok %s\t%d %d" % (label, len(load(ours)), nodes))
PY

: > "$TMP/manifest"
k=0
run_pair() { # LABEL FILE R PTMIN [LN_KT_MIN]
  k=$((k + 1))
  local cut=()
  [ $# -ge 5 ] && cut=(--ln-kt-min "$5")
  if ! "$JETLAB" lund --events "$2" --r "$3" --ptmin "$4" "${cut[@]}" \
      > "$TMP/ours.$k.json" 2> "$TMP/ours.err"; then
    fail "$1: jetlab lund failed" "$(cat "$TMP/ours.err")"
    return
  fi
  if ! "$FJ" "$2" "$3" "$4" ${5:+"$5"} > "$TMP/theirs.$k.json" 2> "$TMP/theirs.err"; then
    fail "$1: fj_lund failed" "$(tail -3 "$TMP/theirs.err")"
    return
  fi
  printf '%s\t%s\t%s\n' "$1" "$TMP/ours.$k.json" "$TMP/theirs.$k.json" >> "$TMP/manifest"
}
for f in "${files[@]}"; do
  for r in 0.4 1.0; do
    run_pair "$(basename "$f") R=$r" "$f" "$r" 0
  done
  run_pair "$(basename "$f") R=1.0 ln_kt_min=0" "$f" 1.0 0 0
done
pythia="$TMP/events/Pythia-PtMin1000-LHC-10ev.dat"
if [ -f "$pythia" ]; then
  run_pair "hard: Pythia-PtMin1000-LHC-10ev.dat R=1.0 ptmin=500" "$pythia" 1.0 500
fi

total_jets=0
total_nodes=0
while IFS=$'\t' read -r head counts; do
  status=${head%% *}
  label=${head#* }
  if [ "$status" = ok ]; then
    pass
    jets=${counts% *}
    nodes=${counts#* }
    total_jets=$((total_jets + jets))
    total_nodes=$((total_nodes + nodes))
    case $label in hard:*)
      if [ "$jets" -ge 20 ] && [ "$nodes" -ge 20 ]; then pass
      else fail "Pythia 10 events: two jets above 500 GeV per event, with nodes" "got $jets jets, $nodes nodes"; fi ;;
    esac
  else
    fail "$label"
  fi
done < <(python3 "$TMP/compare.py" "$TMP/manifest")
echo "compared ${#files[@]} files x (R=0.4, R=1.0, R=1.0 with ln kt >= 0) + 1 hard-jet run:" \
     "$total_jets jets, $total_nodes Lund nodes equal to FastJet's"

finish
