#!/usr/bin/env python3
"""lundnet_reference.py — the published LundNet (fdreyer/LundNet, the models in
tests/fixtures/lundnet/) written in plain PyTorch from the description in the
anchors README (shared/anchors/README.md: architecture, graph, features), run on
the Lund graphs of real jets; writes tests/fixtures/published_lundnet.json, which
tests/lua/test_published_models.lua compares jetlab's forward against.

    build/jetlab tests/reference/make_lund_graphs.lua /tmp/lund_graphs.json
    .venv-test/bin/python tests/reference/lundnet_reference.py /tmp/lund_graphs.json
    .venv-test/bin/python tests/reference/lundnet_reference.py --check   # (tests/sh/test_torch_roundtrip.sh)

--check recomputes the logits of the committed fixture's graphs and compares them with
the committed ones (relative 1e-12), so CI reruns the reference that made the fixture.

No DGL: a batch of graphs is node features x (N, F), edges as index tensors src,
dst (E) (every tree edge in both directions), and offsets (B+1) (jet b owns nodes
offsets[b] .. offsets[b+1]-1). The mean over the edges arriving at a node is an
index_add_ over dst divided by the in-degree (at least 1: a node without incoming
edges, the root of a one-node jet, gets a zero message, as DGL's mean).

The model files are read with torch.load(weights_only=True) and loaded with
load_state_dict(strict=True), so every one of the 112 tensors has to find its
module. Eval mode (running statistics, no dropout); computed in float64 from the
float32 weights and features, so the fixture carries PyTorch's exact answer and
the test measures jetlab's float32 error alone.
"""

import hashlib
import json
import os
import sys

import torch
import torch.nn as nn

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODELS = os.path.join(ROOT, "tests", "fixtures", "lundnet")
OUT = os.path.join(ROOT, "tests", "fixtures", "published_lundnet.json")
CHANNELS = ((32, 32), (32, 32), (64, 64), (64, 64), (128, 128), (128, 128))


class EdgeConvBlock(nn.Module):
    """Per edge src -> dst: theta(x_dst - x_src) + phi(x_src); per layer BatchNorm1d
    and ReLU with a Linear (fcs) between layers; mean over the edges arriving at each
    node; shortcut sc + sc_bn when the width changes, else the identity; ReLU(sum)."""

    def __init__(self, cin, outs):
        super().__init__()
        self.theta = nn.Linear(cin, outs[0], bias=False)
        self.phi = nn.Linear(cin, outs[0], bias=False)
        self.fcs = nn.ModuleList(nn.Linear(a, b, bias=False) for a, b in zip(outs[:-1], outs[1:]))
        self.bns = nn.ModuleList(nn.BatchNorm1d(c) for c in outs)
        if cin != outs[-1]:
            self.sc = nn.Linear(cin, outs[-1], bias=False)
            self.sc_bn = nn.BatchNorm1d(outs[-1])
        else:
            self.sc = None

    def forward(self, x, src, dst, indeg):
        e = self.theta(x[dst] - x[src]) + self.phi(x[src])
        for i, bn in enumerate(self.bns):
            if i > 0:
                e = self.fcs[i - 1](e)
            e = torch.relu(bn(e))
        h = torch.zeros(x.shape[0], e.shape[1], dtype=e.dtype).index_add_(0, dst, e) / indeg.unsqueeze(1)
        sc = x if self.sc is None else self.sc_bn(self.sc(x))
        return torch.relu(h + sc)


class LundNet(nn.Module):
    """bn_fts; six edge_convs; fusion_block Linear(448 -> 384), ReLU, BatchNorm1d over the
    concatenated block outputs; mean over each jet's nodes; fc: Linear(384 -> 256), ReLU,
    Dropout(0.1), Linear(256 -> 2)."""

    def __init__(self, features):
        super().__init__()
        self.bn_fts = nn.BatchNorm1d(features)
        self.edge_convs = nn.ModuleList()
        c = features
        for outs in CHANNELS:
            self.edge_convs.append(EdgeConvBlock(c, outs))
            c = outs[-1]
        total = sum(outs[-1] for outs in CHANNELS)
        self.fusion_block = nn.Sequential(nn.Linear(total, 384), nn.ReLU(), nn.BatchNorm1d(384))
        self.fc = nn.Sequential(nn.Sequential(nn.Linear(384, 256), nn.ReLU(), nn.Dropout(0.1)), nn.Linear(256, 2))

    def forward(self, x, src, dst, offsets):
        n = x.shape[0]
        indeg = torch.zeros(n, dtype=x.dtype).index_add_(0, dst, torch.ones(dst.shape[0], dtype=x.dtype)).clamp(min=1)
        h = self.bn_fts(x)
        outs = []
        for conv in self.edge_convs:
            h = conv(h, src, dst, indeg)
            outs.append(h)
        h = self.fusion_block(torch.cat(outs, 1))
        counts = offsets[1:] - offsets[:-1]
        jet = torch.repeat_interleave(torch.arange(counts.shape[0]), counts)
        pooled = torch.zeros(counts.shape[0], h.shape[1], dtype=h.dtype).index_add_(0, jet, h)
        return self.fc(pooled / counts.unsqueeze(1).to(h.dtype))


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def run(features, graphs):
    name = "Top_QCD_500GeV_LundNet%d.pt" % features
    path = os.path.join(MODELS, name)
    model = LundNet(features)
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True), strict=True)
    model.double().eval()
    params = sum(p.numel() for p in model.parameters())
    x = torch.tensor(graphs["x"], dtype=torch.float32).double()
    src = torch.tensor(graphs["src"], dtype=torch.long)
    dst = torch.tensor(graphs["dst"], dtype=torch.long)
    offsets = torch.tensor(graphs["offsets"], dtype=torch.long)
    with torch.no_grad():
        logits = model(x, src, dst, offsets)
    print("%s: %d parameters, %d tensors; logits of %d jets" % (name, params, len(model.state_dict()),
                                                                logits.shape[0]))
    return {"file": name, "sha256": sha256(path), "parameters": params, "logits": logits.tolist(),
            "probabilities": torch.softmax(logits, 1)[:, 1].tolist()}


def check():
    with open(OUT) as f:
        data = json.load(f)
    bad = 0
    for features in (5, 3):
        key = "lundnet%d" % features
        got = torch.tensor(run(features, data["graphs%d" % features])["logits"])
        want = torch.tensor(data[key]["logits"])
        err = float((got - want).abs().max() / want.abs().max())
        ok = err <= 1e-12 and got.shape == want.shape
        bad += not ok
        print("%s %s: the committed logits, normalised difference %.1e" % ("ok  " if ok else "FAIL", key, err))
    print("%d passed, %d failed" % (2 - bad, bad))
    return 1 if bad else 0


def main():
    torch.set_num_threads(1)
    if sys.argv[1:] == ["--check"]:
        return check()
    if len(sys.argv) != 2:
        sys.exit("usage: lundnet_reference.py GRAPHS.json (from tests/reference/make_lund_graphs.lua) | --check")
    with open(sys.argv[1]) as f:
        data = json.load(f)
    data["lundnet5"] = run(5, data["graphs5"])
    data["lundnet3"] = run(3, data["graphs3"])
    data["made_by"] = ("tests/reference/make_lund_graphs.lua (graphs, jetlab) and tests/reference/lundnet_reference.py "
                       "(logits, PyTorch %s, float64)" % torch.__version__.split("+")[0])
    with open(OUT, "w") as f:
        json.dump(data, f, separators=(",", ":"))
        f.write("\n")
    print("wrote", os.path.relpath(OUT, ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
