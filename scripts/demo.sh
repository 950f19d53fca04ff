#!/usr/bin/env bash
# Installs dependencies, builds jetlab, and runs the main job on built-in data:
#   jetlab experiments/all.lua --quick
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bash "$root/scripts/install-deps.sh"
bash "$root/scripts/build.sh" "$root/build"
cd "$root"
"$root/build/jetlab" experiments/all.lua --quick "$@"
