#!/usr/bin/env python3
"""torch_roundtrip.py — models made in PyTorch go through jetlab and back:
torch.save(state_dict) .pt -> ckpt.import -> jetlab forward -> ckpt.export .safetensors
-> safetensors.torch.load_file -> load_state_dict(strict=True) into a fresh PyTorch model.
Run by tests/sh/test_torch_roundtrip.sh with the test venv's python
(scripts/install-test-venv.sh):

    .venv-test/bin/python tests/reference/torch_roundtrip.py build/jetlab

Cases (layout, model):
  peer    fcnn              the peer's fcnn(140, [400] * 5), a flat (8, 140) batch
  peer    particlenet-lite  the peer's ParticleNet(k=7, chans=((32,)*3, (64,)*3), fc=128) on a
                            padded (B, P, 7) batch with masks; jetlab on the same jets ragged
  peer    lundnet5          the peer's LundNet(5) on the Lund graphs of real jets
                            (tests/fixtures/published_lundnet.json); jetlab's variant = "peer"
  weaver  particlenet-lite  weaver-core's weaver.nn.model.ParticleNet (7 inputs, its default
                            conv_params (7, (32,32,32)), (7, (64,64,64)), fc (128, 0.1)),
                            use_fusion True and False, on padded (B, 7, P) features,
                            (B, 2, P) points = the first two features, (B, 1, P) masks
The ParticleNet jets all hold more than k + 1 constituents, so the padded kNN (padded
points pushed 1e9 away) equals jetlab's ragged kNN; eval mode, so the padded rows never
enter a BatchNorm statistic.

Every parameter and BatchNorm running statistic is drawn at random (seeded by the case's
name), so that
eval-mode BatchNorms are not the identity. Checks per case:
  * jetlab's logits vs PyTorch's (the same model in float64 from the float32 weights
    and inputs): max |ours - torch| / max |torch| <= 1e-5;
  * the exported .safetensors loads with load_state_dict(strict=True) (every name,
    no extra one, every shape), every tensor equal to the original bit for bit, and
    the reloaded model's logits equal the original's exactly.

Where the peer's classes come from: the peer is shared material outside this
repository (shared/peers/torch_peer.py); the "peer" layout is defined by its names, so
the test imports the real file: $JETLAB_PEER_PY, else ../shared/peers/torch_peer.py
beside the repository. Where neither exists (a clone without shared/), particlenet-lite
and lundnet5 use the copies of the peer's classes that the golden tests already commit
(tests/fixtures/make_golden_gnn.py), and fcnn, of which no copy is committed, is
reported as not checked; the weaver cases always run. No class is defined twice here.
"""

import importlib.util
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import zlib

import numpy as np
import torch
from safetensors.torch import load_file, save_file

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOL = 1e-5
JETS = [12, 20, 9, 31, 16, 10]    # constituents per ParticleNet jet: all > k + 1 = 8


def load_module(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def peer_module():
    """The peer's classes: (module, where from, has fcnn)."""
    for path in (os.environ.get("JETLAB_PEER_PY"), os.path.join(ROOT, "..", "shared", "peers", "torch_peer.py")):
        if path and os.path.isfile(path):
            return load_module("torch_peer", path), os.path.normpath(path), True
    mod = load_module("make_golden_gnn", os.path.join(ROOT, "tests", "fixtures", "make_golden_gnn.py"))
    torch.set_default_dtype(torch.float32)    # make_golden_gnn.py sets float64 on import
    return mod, "tests/fixtures/make_golden_gnn.py (copies of the peer's classes)", False


def randomize(model, seed):
    """Every parameter and BatchNorm statistic drawn from a seeded generator."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() >= 2:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(fan_in))
            elif name.endswith("weight"):                                 # BatchNorm gain
                p.copy_(0.5 + torch.rand(p.shape, generator=g))
            else:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
        for name, b in model.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(0.5 * torch.randn(b.shape, generator=g))
            elif name.endswith("running_var"):
                b.copy_(0.5 + 1.5 * torch.rand(b.shape, generator=g))
            elif name.endswith("num_batches_tracked"):
                b.fill_(int(torch.randint(1, 1000, (1,), generator=g)))
    return model.eval()


# --------------------------------------------------------------- inputs
def ragged_jets(seed):
    """Features of len(JETS) jets (N, 7) float32, coordinates (columns 0, 1) spread like
    (eta, phi) inside a jet, and offsets (B+1)."""
    g = torch.Generator().manual_seed(seed)
    n = sum(JETS)
    x = torch.randn(n, 7, generator=g)
    x[:, :2] *= 0.4
    offsets = torch.tensor([0] + list(np.cumsum(JETS)), dtype=torch.long)
    return x, offsets


def padded(x, offsets):
    """(B, P, 7) zero-padded features and the (B, P) mask."""
    B, P = len(offsets) - 1, max(JETS)
    xp = torch.zeros(B, P, x.shape[1], dtype=x.dtype)
    mask = torch.zeros(B, P, dtype=torch.bool)
    for b in range(B):
        lo, hi = int(offsets[b]), int(offsets[b + 1])
        xp[b, :hi - lo] = x[lo:hi]
        mask[b, :hi - lo] = True
    return xp, mask


def lund_graphs():
    with open(os.path.join(ROOT, "tests", "fixtures", "published_lundnet.json")) as f:
        g = json.load(f)["graphs5"]
    x = torch.tensor(g["x"], dtype=torch.float32)
    offsets = torch.tensor(g["offsets"], dtype=torch.long)
    src = torch.tensor(g["src"], dtype=torch.long)
    dst = torch.tensor(g["dst"], dtype=torch.long)
    return x, offsets, src, dst


# --------------------------------------------------------------- cases
def peer_cases(peer, has_fcnn):
    cases = []
    if has_fcnn:
        flat = torch.randn(8, 140, generator=torch.Generator().manual_seed(1))
        cases.append(dict(name="peer fcnn", layout="peer", model="fcnn", kind="flat",
                          make=lambda: peer.fcnn(140, [400] * 5), inputs={"x": flat},
                          forward=lambda m, d: m(d(flat))))
    x, offsets = ragged_jets(2)
    xp, mask = padded(x, offsets)
    cases.append(dict(name="peer particlenet-lite", layout="peer", model="particlenet-lite", kind="ragged",
                      make=lambda: peer.ParticleNet(k=7, chans=((32,) * 3, (64,) * 3), fc=128),
                      inputs={"x": x, "offsets": offsets}, forward=lambda m, d: m(d(xp), mask)))
    lx, loff, src, dst = lund_graphs()
    counts = loff[1:] - loff[:-1]
    gid = torch.repeat_interleave(torch.arange(len(counts)), counts)

    def lund_forward(m, d):
        xx = d(lx)
        deg = torch.zeros(xx.shape[0], dtype=xx.dtype).index_add_(
            0, dst, torch.ones(len(dst), dtype=xx.dtype)).clamp(min=1)
        return m(xx, src, dst, deg, gid, len(counts))
    cases.append(dict(name="peer lundnet5", layout="peer", model="lundnet5", kind="lund",
                      make=lambda: peer.LundNet(5), inputs={"x": lx, "offsets": loff, "src": src, "dst": dst},
                      forward=lund_forward))
    return cases


def weaver_cases():
    from weaver.nn.model.ParticleNet import ParticleNet
    x, offsets = ragged_jets(3)
    xp, mask = padded(x, offsets)
    feats = xp.transpose(1, 2).contiguous()           # (B, 7, P)
    cases = []
    for fusion in (True, False):
        def make(fusion=fusion):
            return ParticleNet(input_dims=7, num_classes=2, use_fusion=fusion)

        def forward(m, d):
            f = d(feats)
            return m(f[:, :2].contiguous(), f, mask.unsqueeze(1).to(f.dtype))
        cases.append(dict(name="weaver ParticleNet use_fusion=%s" % fusion, layout="weaver", model="particlenet-lite",
                          kind="ragged", make=make, inputs={"x": x, "offsets": offsets}, forward=forward))
    return cases


# --------------------------------------------------------------- checks
def normalised_error(got, want):
    return float((got.double() - want).abs().max() / want.abs().max())


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: torch_roundtrip.py JETLAB")
    jetlab = os.path.abspath(sys.argv[1])
    torch.manual_seed(0)
    torch.set_num_threads(2)
    start = time.time()
    peer, peer_from, has_fcnn = peer_module()
    print("peer classes from", peer_from)
    cases = peer_cases(peer, has_fcnn) + weaver_cases()
    passed, failed = 0, 0
    with tempfile.TemporaryDirectory(prefix="jetlab-roundtrip.") as tmp:
        job = []
        for i, c in enumerate(cases):
            c["torch"] = randomize(c["make"](), zlib.crc32(c["name"].encode()))
            base = os.path.join(tmp, "case%d" % i)
            c["pt"], c["in"], c["export"], c["out"] = (base + s for s in
                                                       (".pt", ".in.safetensors", ".safetensors", ".out.safetensors"))
            torch.save(c["torch"].state_dict(), c["pt"])
            save_file({k: v.contiguous() for k, v in c["inputs"].items()}, c["in"])
            job.append({k: c[k] for k in ("name", "layout", "model", "kind", "pt", "in", "export", "out")})
        with open(os.path.join(tmp, "job.json"), "w") as f:
            json.dump(job, f)
        run = subprocess.run([jetlab, os.path.join(ROOT, "tests", "reference", "roundtrip_jetlab.lua"),
                              os.path.join(tmp, "job.json")], capture_output=True, text=True)
        sys.stdout.write(run.stdout)
        if run.returncode != 0:
            sys.stdout.write(run.stderr)
            print("FAIL jetlab exited with %d" % run.returncode)
            print("0 passed, %d failed" % len(cases))
            return 1
        for c in cases:
            problems = []
            ref = c["torch"]
            with torch.no_grad():
                torch.set_default_dtype(torch.float64)    # the peer's torch.zeros(...) buffers
                want = c["forward"](ref.double(), lambda t: t.double()).clone()
                torch.set_default_dtype(torch.float32)
                ref.float()
                original = c["forward"](ref, lambda t: t)
            ours = load_file(c["out"])["logits"]
            err = normalised_error(ours, want)
            if not err <= TOL:
                problems.append("jetlab's logits: normalised error %.3g > %g" % (err, TOL))
            back = c["make"]()
            exported = load_file(c["export"])
            try:
                back.load_state_dict(exported, strict=True)
            except RuntimeError as e:
                problems.append("load_state_dict(strict=True): %s" % str(e).replace("\n", " "))
            else:
                back.eval()
                sd = ref.state_dict()
                differ = [k for k in sd if not torch.equal(sd[k], exported[k])]
                if differ:
                    problems.append("exported tensors differ from the originals: %s" % ", ".join(differ[:5]))
                with torch.no_grad():
                    again = c["forward"](back, lambda t: t)
                if not torch.equal(again, original):
                    problems.append("the reloaded model's logits differ from the original's")
            n_params = sum(p.numel() for p in ref.parameters())
            if problems:
                failed += 1
                print("FAIL %s" % c["name"])
                for p in problems:
                    print("    " + p)
            else:
                passed += 1
                print("ok   %-34s %7d params, %2d tensors: jetlab vs torch %.2e, .safetensors -> load_state_dict "
                      "(strict) -> logits identical" % (c["name"], n_params, len(exported), err))
    if not has_fcnn:
        print("NOT CHECKED peer fcnn: the peer file is not here and no copy of its fcnn is committed")
    print("%.1f s" % (time.time() - start))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
