#!/usr/bin/env bash
# Configures and builds jetlab into a build folder: scripts/build.sh [DIR] [cmake args...]
# The CUDA backend is compiled when nvcc is found (JETLAB_CUDA=AUTO).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="${1:-$root/build}"
shift || true
cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build "$dir" -j "$(nproc)"
