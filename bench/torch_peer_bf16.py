#!/usr/bin/env python3
"""The PyTorch peer under bf16 autocast: runs PEER.py (shared/peers/torch_peer.py)
with its arguments inside torch.autocast("cpu", dtype=torch.bfloat16), PyTorch's
mixed precision on the CPU (matrix products in bf16, f32 master weights), for
bench/compare.sh --bf16. Under autocast the models return bf16 scores, which the
peer's inference turns into numpy arrays (no bf16 there): torch.softmax gives f32.
The peer's LundNet sums bf16 messages into f32 tensors with index_add_, which wants
one dtype: the messages are cast to the f32 sums, as a user adapting it would.

  torch_peer_bf16.py PEER.py MODEL FILE.h5 [the peer's options]
"""
import runpy
import sys

import torch

if len(sys.argv) < 2:
    sys.exit(__doc__)
softmax = torch.softmax
torch.softmax = lambda x, *args, **kwargs: softmax(x.float(), *args, **kwargs)
index_add_ = torch.Tensor.index_add_
torch.Tensor.index_add_ = lambda self, dim, index, source, **kwargs: index_add_(
    self, dim, index, source.to(self.dtype), **kwargs)
peer = sys.argv[1]
sys.argv = [peer] + sys.argv[2:]
with torch.autocast("cpu", dtype=torch.bfloat16):
    runpy.run_path(peer, run_name="__main__")
