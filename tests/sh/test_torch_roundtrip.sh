# test_torch_roundtrip.sh — models made in PyTorch through jetlab and back
# (tests/reference/torch_roundtrip.py: the peer's fcnn, ParticleNet-Lite and LundNet5,
# weaver-core's ParticleNet with and without its fusion block: torch.save .pt ->
# ckpt.import -> the same logits as PyTorch within 1e-5 normalised -> ckpt.export
# .safetensors -> load_state_dict(strict=True) -> identical tensors and logits), and
# tests/reference/lundnet_reference.py --check: the published LundNet in plain PyTorch
# still gives the logits committed in tests/fixtures/published_lundnet.json.
#   JETLAB_TEST_PYTHON=.venv-test/bin/python bash tests/sh/test_torch_roundtrip.sh build/jetlab
# ctest sets JETLAB_TEST_PYTHON to the test venv (scripts/install-test-venv.sh, which
# scripts/test.sh runs). Without a python that imports torch, safetensors and weaver
# the test FAILS: it is not optional.
source "$(dirname "$0")/lib.sh" "$@"

test_python torch safetensors weaver.nn.model.ParticleNet
ref="$(dirname "$0")/../reference"
rc=0
"$py" "$ref/torch_roundtrip.py" "$JETLAB" || rc=1
"$py" "$ref/lundnet_reference.py" --check || rc=1
exit $rc
