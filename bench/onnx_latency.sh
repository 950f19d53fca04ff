#!/usr/bin/env bash
# onnx_latency.sh — jetlab's inference latency against ONNX Runtime's on the same
# exported models (issue 18): per model, a checkpoint (random weights, BatchNorm
# statistics set: tests/sh/onnx_ckpt.lua; the published LundNet5
# imported), `jetlab export` to ONNX, the same jets as inputs (tests/sh/onnx_inputs.lua),
# then RUNS alternating rounds (jetlab, ORT, ORT, jetlab, ...) of bench/onnx_latency.lua
# and stdlib/onnx/ort_latency.py: median ms of a batch of BATCH jets and of one jet, same
# thread count; the table gives the medians over rounds and the ratio ORT / jetlab
# (> 1: jetlab faster). The FCNN and LundNet run as jetlab deploys them (their
# nn.compile plans); --eager adds rows with their eager forward, timed in the same
# rounds against the same ORT numbers.
#
#   bench/onnx_latency.sh [--runs 5] [--reps 20] [--batch 64] [--threads 2] [--out DIR] [--eager]
#
# JETLAB (default build/jetlab), PYTHON (default .venv-test/bin/python: onnxruntime).
# OpenBLAS's core-type overrides are unset (benchmark runs only).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
runs=5 reps=20 batch=64 threads=2 out="" eager=0
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --reps) reps="$2"; shift 2 ;;
    --batch) batch="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --eager) eager=1; shift ;;
    *) echo "onnx_latency.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
jetlab=${JETLAB:-$root/build/jetlab}
py=${PYTHON:-$root/.venv-test/bin/python}
out=${out:-$(mktemp -d "${TMPDIR:-/tmp}/onnx-latency.XXXXXX")}
mkdir -p "$out"
t="$root/tests/sh"
"$jetlab" gen --signal top --pt 500:600 -n 256 --seed 5 -o "$out/jets.h5" >/dev/null
"$jetlab" "$t/onnx_ckpt.lua" "$out/jets.h5" "$out/fcnn_student.h5" fcnn_student >/dev/null
"$jetlab" import "$root/tests/fixtures/lundnet/Top_QCD_500GeV_LundNet5.pt" --model lundnet5 -o "$out/lundnet5.h5" >/dev/null
models="fcnn_student lundnet5 particlenet_lite particlenet_student particlenet"
for m in particlenet_lite particlenet_student particlenet; do
  "$jetlab" "$t/onnx_ckpt.lua" "$out/jets.h5" "$out/$m.h5" $m >/dev/null
done
for m in $models; do
  "$jetlab" export "$out/$m.h5" -o "$out/$m.onnx" >/dev/null
  "$jetlab" "$t/onnx_inputs.lua" "$out/$m.h5" "$out/jets.h5" "$out/$m.json" "$batch" 128 "$batch" >/dev/null
done
: >"$out/runs.jsonl"
for ((r = 0; r < runs; r++)); do
  for m in $models; do
    jet() { "$jetlab" "$root/bench/onnx_latency.lua" "$out/$m.h5" "$out/jets.h5" "$batch" "$reps" "$threads" "$@"; }
    ort() { "$py" "$root/stdlib/onnx/ort_latency.py" "$out/$m.onnx" "$out/$m.json" "$reps" "$threads"; }
    e=""
    if ((r % 2 == 0)); then
      a=$(jet)
      if ((eager)) && [[ $m == fcnn_student || $m == lundnet5 ]]; then e=$(jet eager); fi
      b=$(ort)
    else
      b=$(ort)
      if ((eager)) && [[ $m == fcnn_student || $m == lundnet5 ]]; then e=$(jet eager); fi
      a=$(jet)
    fi
    printf '{"model":"%s","jetlab":%s,"ort":%s}\n' "$m" "$a" "$b" >>"$out/runs.jsonl"
    if [ -n "$e" ]; then printf '{"model":"%s (eager)","jetlab":%s,"ort":%s}\n' "$m" "$e" "$b" >>"$out/runs.jsonl"; fi
  done
done
"$py" - "$out/runs.jsonl" <<'PY'
import json, sys
import numpy as np
rows = [json.loads(l) for l in open(sys.argv[1])]
print(f"| model | batch | jetlab batch ms | ORT batch ms | ORT/jetlab | jetlab 1-jet ms | ORT 1-jet ms | ORT/jetlab |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for m in dict.fromkeys(r["model"] for r in rows):
    rs = [r for r in rows if r["model"] == m]
    med = lambda side, key: float(np.median([r[side][key] for r in rs]))
    jb, ob, j1, o1 = med("jetlab", "batched_ms"), med("ort", "batched_ms"), med("jetlab", "single_ms"), med("ort", "single_ms")
    ms = lambda v: f"{v:.4f}" if v < 0.1 else f"{v:.3f}"
    print(f"| {m} | {rs[0]['ort']['batch']} | {ms(jb)} | {ms(ob)} | {ob / jb:.2f} | {ms(j1)} | {ms(o1)} | {o1 / j1:.2f} |")
PY
echo "runs: $out/runs.jsonl (threads $threads, $runs rounds of $reps calls)"
