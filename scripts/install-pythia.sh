#!/usr/bin/env bash
# Installs Pythia 8 (PyPI's pythia8mc, a CPython 3.11 wheel) into .venv-pythia at the
# root of the tree, for `jetlab gen --engine pythia`. Idempotent: does nothing when
# the venv already imports pythia8mc. scripts/install-pythia.sh [PYTHON] (default python3.11).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/.venv-pythia"
version=8.317.2
if "$venv/bin/python" -c 'import pythia8mc' 2>/dev/null; then
  exit 0
fi
python="${1:-python3.11}"
command -v "$python" >/dev/null || { echo "install-pythia: $python not found (pythia8mc $version has a wheel for CPython 3.11)" >&2; exit 1; }
"$python" -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "pythia8mc==$version"
"$venv/bin/python" -c 'import pythia8mc'
echo "install-pythia: pythia8mc $version in $venv"
