#!/usr/bin/env bash
# The built-in generator's speed on 2 cores (issue 4 target: >= 5,000 jets/s
# for top vs QCD at 500-600 GeV): pins jetlab to cores 0 and 1 when taskset is
# there, runs bench/gen_speed.lua with 2 worker threads.
#   bash bench/gen_speed.sh [build folder] [jets]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build}"
jets="${2:-20000}"
pin=()
if command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -ge 2 ]; then pin=(taskset -c 0,1); fi
"${pin[@]}" "$build/jetlab" "$root/bench/gen_speed.lua" "$jets" 2
