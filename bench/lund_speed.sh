#!/usr/bin/env bash
# Lund graphs per second on 2 cores (issue 5 target: >= 50,000 jets/s for jets of
# ~50 constituents): pins jetlab to cores 0 and 1 when taskset is there and runs
# bench/lund_speed.lua with 2 worker threads.
#   bash bench/lund_speed.sh [build folder] [jets]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build}"
jets="${2:-20000}"
pin=()
if command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -ge 2 ]; then pin=(taskset -c 0,1); fi
"${pin[@]}" "$build/jetlab" "$root/bench/lund_speed.lua" "$jets" 2
