#!/usr/bin/env bash
# Runs the core benchmarks (build first: scripts/build.sh). Benchmark runs only:
# OpenBLAS's core-type overrides are unset so it picks its best kernels.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build}"
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
"$build/bench/bench_core" 15
"$build/jetlab" "$root/bench/small_op.lua" 200000
