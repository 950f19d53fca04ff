"""onnx_check.py — an ONNX file exported by jetlab (jetlab export CKPT -o MODEL.onnx)
checked with onnx and run by ONNX Runtime on the batches tests/sh/onnx_inputs.lua wrote,
against jetlab's probabilities.

    python onnx_check.py MODEL.onnx INPUTS.json [--tol 1e-5] [--label NAME]
    python onnx_check.py MODEL.onnx tests/fixtures/published_lundnet.json --published lundnet5

--published KEY: INPUTS is the published LundNet fixture (tests/reference/lundnet_reference.py:
the Lund graphs of real jets and PyTorch's signal probabilities of the published model,
which lundnet_reference.py --check re-derives); the exported model against PyTorch.

Checks: onnx.checker.check_model(full_check=True) passes; the graph's inputs are the
batch's; output `probabilities` (B, 2) within tol (absolute) of jetlab's on every jet;
metadata_props name the model, the inputs and the feature order. Prints the largest
error; exits 1 on any failure."""
import argparse
import json
import sys

import numpy as np
import onnx
import onnxruntime as ort

DTYPES = {"features": np.float32, "node_features": np.float32, "edge_src": np.int64, "edge_dst": np.int64,
          "node_jet": np.int64, "num_jets": np.int64, "points": np.float32, "mask": np.float32}


def published_batch(fixture, key):
    """The fixture's Lund graphs (graphs5 / graphs3) as one batch, PyTorch's probabilities (jets, 2)."""
    g = fixture["graphs" + key[-1]]
    jets = len(g["offsets"]) - 1
    node_jet = [j for j in range(jets) for _ in range(g["offsets"][j], g["offsets"][j + 1])]
    signal = fixture[key]["probabilities"]
    inputs = {"node_features": g["x"], "edge_src": g["src"], "edge_dst": g["dst"], "node_jet": node_jet,
              "num_jets": jets}
    return {"batches": [{"inputs": inputs, "probabilities": [[1 - p, p] for p in signal]}]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("inputs")
    ap.add_argument("--tol", type=float, default=1e-5)
    ap.add_argument("--label", default="")
    ap.add_argument("--published", help="key of the published LundNet fixture (lundnet5, lundnet3)")
    a = ap.parse_args()
    model = onnx.load(a.model)
    onnx.checker.check_model(model, full_check=True)
    meta = {p.key: p.value for p in model.metadata_props}
    for key in ("jetlab.model", "inputs", "outputs", "feature_order", "signal_class"):
        if key not in meta:
            print(f"FAIL {a.label}: metadata_props lacks {key}")
            return 1
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(a.model, opts, providers=["CPUExecutionProvider"])
    names = sorted(i.name for i in sess.get_inputs())
    data = json.load(open(a.inputs))
    if a.published:
        data = published_batch(data, a.published)
    worst, jets = 0.0, 0
    for b in data["batches"]:
        if sorted(b["inputs"]) != names:
            print(f"FAIL {a.label}: graph inputs {names}, batch has {sorted(b['inputs'])}")
            return 1
        feed = {k: np.asarray(v, dtype=DTYPES[k]) for k, v in b["inputs"].items()}
        if "node_features" in feed and feed["node_features"].size == 0:
            feed["node_features"] = feed["node_features"].reshape(0, -1)
        (probs,) = sess.run(["probabilities"], feed)
        want = np.asarray(b["probabilities"], dtype=np.float64)
        if probs.shape != want.shape:
            print(f"FAIL {a.label}: probabilities {probs.shape}, jetlab {want.shape}")
            return 1
        worst = max(worst, float(np.abs(probs - want).max()))
        jets += want.shape[0]
    ok = worst <= a.tol and jets > 0
    ref = "pytorch" if a.published else "jetlab"
    print(f"{'ok' if ok else 'FAIL'} {a.label}: {jets} jets, max |p_onnx - p_{ref}| = {worst:.3g} "
          f"(tol {a.tol:g}), opset {model.opset_import[0].version}, {len(model.graph.node)} nodes")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
