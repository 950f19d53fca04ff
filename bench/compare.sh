#!/usr/bin/env bash
# compare.sh — jetlab against the PyTorch peer (shared/peers/torch_peer.py), same
# models, same jets, same timing method, several alternating runs, median ratios.
#
#   bench/compare.sh FILE.h5 [--runs 5] [--steps 20] [--models "fcnn particlenet ..."]
#                    [--max-jets N] [--batch 256] [--pad 128] [--threads 2] [--out DIR]
#                    [--gen N] [--bf16]
#
# --summarize RUNS.jsonl: only print the table of an earlier run's log.
# --gen N: when FILE.h5 does not exist, make it first with the built-in generator:
# `jetlab gen --signal top --pt 500:600 -n N --seed 7 -o FILE.h5` (top vs QCD jets).
#
# Sides: jetlab ($JETLAB, default build/jetlab), the peer on Debian's python3-torch
# (/usr/bin/python3), and the peer on PyPI's torch when $VENV/bin/python (default
# .venv: python3 -m venv .venv && .venv/bin/pip install torch h5py numpy) imports it.
# Every run of every side prints one JSON line (kept in DIR/runs.jsonl); the table
# gives the median train_ms_per_sample and infer_ms_per_sample per side and the
# ratio peer / jetlab of the medians (> 1: jetlab faster). Runs alternate the sides
# (jetlab, peer, peer, jetlab, ...) so load from other processes hits both alike.
# The peer runs ParticleNet in its strongest setting, --dynamic-pad (each batch trimmed
# to its longest jet). --bf16 adds the bf16 sides: jetlab-bf16 (jetlab bench
# --matmul-precision bf16) and SIDE-bf16 for each peer (the peer under
# torch.autocast("cpu", bfloat16): bench/torch_peer_bf16.py).
# The peer has no lundnet3 (shown as n/a). Extra rows: fcnn-student at --pad 5 (the
# distillation student's 5 constituents), jetlab's batch-1 inference latency, and
# for the FCNNs the same model as one C inference plan (nn.compile), batched and batch 1.
# Before the models, every side measures the f32 GEMM rate it reaches here
# (bench/gemm_peak.lua, bench/gemm_peak.py); a second table divides jetlab's
# training GEMM work per jet (jl.stats().gemm_flops) by the best of them: the
# floor no engine doing those products can beat, and the bound it puts on the
# speed-up over each peer.
# OpenBLAS's core-type overrides are unset for both sides (benchmark runs only).
# PEER_STEPS_particlenet=N (etc., '-' for '_') sets a model's peer steps (default
# --steps): the padded peer's ParticleNet takes tens of seconds per step here.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE

file="" runs=5 steps=20 models="fcnn fcnn-student particlenet particlenet-lite lundnet5 lundnet3"
max_jets="" batch=256 pad=128 threads=2 out="" gen="" summarize="" bf16=""
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    --models) models="$2"; shift 2 ;;
    --max-jets) max_jets="$2"; shift 2 ;;
    --batch) batch="$2"; shift 2 ;;
    --pad) pad="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --gen) gen="$2"; shift 2 ;;
    --summarize) summarize="$2"; shift 2 ;;
    --bf16) bf16=1; shift ;;
    -h|--help) sed -n '2,35p' "$0"; exit 0 ;;
    -*) echo "compare.sh: unknown option $1" >&2; exit 2 ;;
    *) file="$1"; shift ;;
  esac
done
if [ -n "$summarize" ]; then
  log="$summarize"
else
[ -n "$file" ] || { echo "usage: bench/compare.sh FILE.h5 [options] (see --help)" >&2; exit 2; }
jetlab="${JETLAB:-$root/build/jetlab}"
[ -x "$jetlab" ] || { echo "compare.sh: no jetlab at $jetlab (build first, or set JETLAB)" >&2; exit 2; }
if [ ! -f "$file" ] && [ -n "$gen" ]; then
  (cd "$(dirname "$file")" && "$jetlab" gen --signal top --pt 500:600 -n "$gen" --seed 7 -o "$(basename "$file")") >&2
fi
[ -f "$file" ] || { echo "compare.sh: no file $file (--gen N makes one)" >&2; exit 2; }
peer="${PEER:-$root/../shared/peers/torch_peer.py}"
[ -f "$peer" ] || { echo "compare.sh: no peer at $peer (set PEER)" >&2; exit 2; }
out="${out:-$(mktemp -d /tmp/jetlab-compare.XXXXXX)}"
mkdir -p "$out"
log="$out/runs.jsonl"
: > "$log"

sides=(jetlab)
declare -A python
if /usr/bin/python3 -c "import torch, h5py" 2>/dev/null; then sides+=(torch-debian); python[torch-debian]=/usr/bin/python3; fi
venv="${VENV:-$root/.venv}"
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import torch, h5py" 2>/dev/null; then
  sides+=(torch-pypi); python[torch-pypi]="$venv/bin/python"
fi
if [ -n "$bf16" ]; then
  for side in "${sides[@]}"; do
    if [ "$side" = jetlab ]; then sides+=(jetlab-bf16); else sides+=("$side-bf16"); python[$side-bf16]="${python[$side]}"; fi
  done
fi
echo "sides: ${sides[*]}; runs: $runs; results: $log" >&2

extra=()
[ -n "$max_jets" ] && extra+=(--max-jets "$max_jets")

# run SIDE MODEL PAD [BATCH1]: one JSON line (tagged with the side) appended to the log
run() {
  local side="$1" model="$2" p="$3" line
  if [ "${side%-bf16}" = jetlab ]; then
    local precision=f32
    [ "$side" = jetlab-bf16 ] && precision=bf16
    line=$("$jetlab" bench "$model" "$file" --batch "$batch" --train-steps "$steps" --pad "$p" \
           --threads "$threads" --batch1 500 --matmul-precision "$precision" "${extra[@]}") || return 0
  else
    [ "$model" = lundnet3 ] && return 0
    local var="PEER_STEPS_${model//-/_}" s="$steps" how=("$peer") options=()
    [ -n "${!var:-}" ] && s="${!var}"
    [ "${side%-bf16}" != "$side" ] && how=("$root/bench/torch_peer_bf16.py" "$peer")
    case "$model" in particlenet*) options+=(--dynamic-pad) ;; esac
    line=$("${python[$side]}" "${how[@]}" "$model" "$file" --batch "$batch" --train-steps "$s" --pad "$p" \
           --threads "$threads" "${options[@]}" "${extra[@]}") || return 0
  fi
  echo "{\"side\": \"$side\", \"pad_run\": $p, ${line#\{}" >> "$log"
  echo "  $side $model pad $p: $line" >&2
}

# the f32 GEMM rate each side reaches on this machine (bench/gemm_peak.*), for the bound table
for side in "${sides[@]}"; do
  [ "${side%-bf16}" != "$side" ] && continue
  if [ "$side" = jetlab ]; then line=$("$jetlab" "$root/bench/gemm_peak.lua" "$threads") || continue
  else line=$("${python[$side]}" "$root/bench/gemm_peak.py" "$threads") || continue; fi
  echo "{\"side\": \"$side\", \"pad_run\": 0, ${line#\{}" >> "$log"
  echo "  $side gemm-peak: $line" >&2
done

for model in $models; do
  pads="$pad"
  [ "$model" = fcnn-student ] && [ "$pad" != 5 ] && pads="$pad 5"
  for p in $pads; do
    for ((r = 1; r <= runs; r++)); do
      if ((r % 2)); then order=("${sides[@]}"); else order=(); for ((i = ${#sides[@]} - 1; i >= 0; i--)); do order+=("${sides[$i]}"); done; fi
      for side in "${order[@]}"; do run "$side" "$model" "$p"; done
    done
  done
done

fi

/usr/bin/python3 - "$log" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
sides = []
for r in rows:
    if r["side"] not in sides:
        sides.append(r["side"])
keys = []
for r in rows:
    k = (r["model"], r["pad_run"])
    if k not in keys and r["model"] != "gemm-peak":
        keys.append(k)
def med(model, pad, side, field):
    v = [r[field] for r in rows if r["model"] == model and r["pad_run"] == pad and r["side"] == side and field in r]
    return (statistics.median(v), len(v)) if v else (None, 0)
def fmt(v):
    return "n/a" if v is None else ("%.4g" % v)
head = ["model", "pad"]
for field, short in (("train_ms_per_sample", "train"), ("infer_ms_per_sample", "infer")):
    for s in sides:
        head.append("%s %s ms/jet" % (s, short))
    for s in sides[1:]:
        head.append("%s/jetlab %s" % (s, short))
head += ["jetlab batch-1 infer ms/jet", "jetlab compiled infer ms/jet", "jetlab compiled batch-1 ms/jet"]
print("| " + " | ".join(head) + " |")
print("|" + "---|" * len(head))
for model, pad in keys:
    cells = [model, str(pad)]
    for field in ("train_ms_per_sample", "infer_ms_per_sample"):
        ours, _ = med(model, pad, "jetlab", field)
        vals = [med(model, pad, s, field)[0] for s in sides]
        cells += [fmt(v) for v in vals]
        for s, v in zip(sides[1:], vals[1:]):
            cells.append("n/a" if v is None or not ours else "%.1fx" % (v / ours))
    for field in ("infer_ms_per_sample_batch1", "infer_ms_per_sample_compiled", "infer_ms_per_sample_batch1_compiled"):
        cells.append(fmt(med(model, pad, "jetlab", field)[0]))
    print("| " + " | ".join(cells) + " |")
peaks = {r["side"]: r["gemm_gflops"] for r in rows if r["model"] == "gemm-peak"}
if peaks:
    peak = max(peaks.values())
    print("\nGEMM bound: the f32 matrix-product rate of this machine (bench/gemm_peak.*, best shape's median: " +
          ", ".join("%s %.0f" % kv for kv in peaks.items()) + " GFLOP/s; peak %.0f). jetlab's training does the "
          "matrix products below per jet; at the peak rate with nothing else costing time, a step would take "
          "at least MFLOP / peak, which bounds the speed-up any engine doing these products could show "
          "against a peer's measured time." % peak)
    print()
    bhead = ["model", "pad", "jetlab GEMM MFLOP/jet (train)", "jetlab GEMM GFLOP/s (train)",
             "floor ms/jet at peak", "jetlab ms/jet / floor"] + ["bound on %s/jetlab train" % s for s in sides[1:]]
    print("| " + " | ".join(bhead) + " |")
    print("|" + "---|" * len(bhead))
    for model, pad in keys:
        mflop, _ = med(model, pad, "jetlab", "train_gemm_mflop_per_sample")
        if not mflop:
            continue
        ours, _ = med(model, pad, "jetlab", "train_ms_per_sample")
        rate, _ = med(model, pad, "jetlab", "train_gemm_gflops")
        floor = mflop / peak
        cells = [model, str(pad), "%.3g" % mflop, fmt(rate), "%.4g" % floor, "%.2f" % (ours / floor)]
        for s in sides[1:]:
            v = med(model, pad, s, "train_ms_per_sample")[0]
            cells.append("n/a" if v is None else "%.1fx" % (v / floor))
        print("| " + " | ".join(cells) + " |")
n = {s: len([r for r in rows if r["side"] == s and r["model"] != "gemm-peak"]) for s in sides}
print("\nruns per side: " + ", ".join("%s %d" % kv for kv in n.items()) +
      "; torch versions: " + ", ".join(sorted({r.get("torch", "") for r in rows if "torch" in r})))
EOF
