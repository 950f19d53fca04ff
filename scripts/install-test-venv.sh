#!/usr/bin/env bash
# Installs the Python side of the PyTorch reference tests into .venv-test at the root of
# the tree (gitignored): PyTorch, safetensors, numpy, h5py, scikit-learn, onnx and onnxruntime
# from PyPI, and
# weaver-core without its dependencies (its weaver.nn.model.ParticleNet needs torch and
# numpy only; the rest of weaver-core's requirements are its training framework's).
# Used by tests/sh/test_torch_roundtrip.sh and test_onnx_export.sh through JETLAB_TEST_PYTHON
# (tests/CMakeLists.txt)
# and by the scripts that make the committed PyTorch fixtures (tests/reference/).
# Idempotent: does nothing when the venv already imports everything.
# scripts/install-test-venv.sh [PYTHON] (default python3).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/.venv-test"
check='import torch, safetensors.torch, numpy, h5py, sklearn, onnx, onnxruntime; from weaver.nn.model.ParticleNet import ParticleNet'
if "$venv/bin/python" -c "$check" 2>/dev/null; then
  exit 0
fi
python="${1:-python3}"
command -v "$python" >/dev/null || { echo "install-test-venv: $python not found" >&2; exit 1; }
start=$SECONDS
"$python" -m venv "$venv"
pip=("$venv/bin/pip" install --quiet --disable-pip-version-check)
"${pip[@]}" torch safetensors numpy h5py scikit-learn onnx onnxruntime
"${pip[@]}" --no-deps "weaver-core==0.5.3"
"$venv/bin/python" -c "$check"
echo "install-test-venv: $("$venv/bin/python" -c 'import torch; print("torch", torch.__version__)') in $venv ($((SECONDS - start)) s)"
