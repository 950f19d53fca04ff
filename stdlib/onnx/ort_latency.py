"""ort_latency.py — ONNX Runtime's side of jetlab's latency comparison (jetlab.onnx.latency:
`jetlab bench --onnx`, bench/onnx_latency.sh): an exported model on the first batch of
INPUTS.json (jetlab.onnx.inputs's batches: the jets jetlab's side times) and on its first
jet alone, median milliseconds over REPS runs after 3 warm-up runs, CPUExecutionProvider,
intra-op threads = THREADS (inter-op 1), as one JSON line. A tool jetlab runs, never part
of the engine.

    python ort_latency.py MODEL.onnx INPUTS.json REPS THREADS"""
import json
import sys
import time

import numpy as np
import onnxruntime as ort

DTYPES = {"node_features": np.float32, "features": np.float32, "points": np.float32, "mask": np.float32}


def first_jet(feed):
    """The feed of the batch's first jet (Lund graphs: its nodes and the edges between them)."""
    if "node_jet" not in feed:
        return {k: v[:1] for k, v in feed.items()}
    n = int((feed["node_jet"] == 0).sum())
    keep = feed["edge_dst"] < n
    return {"node_features": feed["node_features"][:n], "edge_src": feed["edge_src"][keep],
            "edge_dst": feed["edge_dst"][keep], "node_jet": feed["node_jet"][:n], "num_jets": np.array(1, np.int64)}


def median_ms(sess, feed, reps):
    for _ in range(3):
        sess.run(["probabilities"], feed)
    t = []
    for _ in range(reps):
        t0 = time.perf_counter()
        sess.run(["probabilities"], feed)
        t.append((time.perf_counter() - t0) * 1e3)
    return float(np.median(t))


def main():
    model, inputs, reps, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
    batch = json.load(open(inputs))["batches"][0]
    feed = {k: np.asarray(v, dtype=DTYPES.get(k, np.int64)) for k, v in batch["inputs"].items()}
    jets = len(batch["probabilities"])
    print(json.dumps({"side": "onnxruntime", "version": ort.__version__, "threads": threads, "batch": jets,
                      "batched_ms": median_ms(sess, feed, reps), "single_ms": median_ms(sess, first_jet(feed), reps)}))


if __name__ == "__main__":
    sys.exit(main())
