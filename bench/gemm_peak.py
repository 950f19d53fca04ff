"""gemm_peak.py: the machine's f32 matrix-product rate as torch reaches it
(torch.mm on --threads threads), one JSON line; the same shapes and method as
gemm_peak.lua (median of 5 timings per shape, the best shape's median).
Run: python gemm_peak.py [threads]"""
import json
import sys
import time

import torch

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
torch.set_num_threads(threads)
shapes = [(1024, 1024, 1024), (2048, 2048, 2048), (7168, 448, 384), (256, 400, 400)]
best, per_shape = 0.0, {}
for m, k, n in shapes:
    a, b = torch.randn(m, k), torch.randn(k, n)
    reps = max(3, int(2e10 // (2 * m * k * n)))
    torch.mm(a, b)
    rates = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(reps):
            torch.mm(a, b)
        rates.append(2 * m * k * n * reps / (time.perf_counter() - t0) / 1e9)
    rate = sorted(rates)[2]
    per_shape["%dx%dx%d" % (m, k, n)] = round(rate, 1)
    best = max(best, rate)
print(json.dumps({"model": "gemm-peak", "threads": threads, "torch": torch.__version__,
                  "gemm_gflops": round(best, 1), "shapes": per_shape}))
