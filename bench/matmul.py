"""PyTorch side of the matmul micro-benchmark (see examples/bench_matmul.rs): GFLOP/s of a
[256, 512] x [512, 512] product, the input-gradient product [256, 512] x [512, 512]^T and the
weight-gradient product [256, 512]^T x [256, 512], on transposed views as autograd forms them.
Usage: python bench/matmul.py [REPS [M K N]]"""
import json
import sys
import time

import torch


def gflops(a, b, reps):
    for _ in range(3):
        a @ b
    t0 = time.perf_counter()
    for _ in range(reps):
        a @ b
    return 2 * a.shape[0] * a.shape[1] * b.shape[1] * reps / (time.perf_counter() - t0) / 1e9


torch.set_num_threads(2)
reps = int(sys.argv[1]) if len(sys.argv) > 1 else 200
m, k, n = (int(v) for v in sys.argv[2:5]) if len(sys.argv) > 4 else (256, 512, 512)
x, w = torch.randn(m, k), torch.randn(k, n)
out = x @ w
print(json.dumps({"impl": "pytorch", "forward_gflops": round(gflops(x, w, reps), 2),
                  "input_grad_gflops": round(gflops(out, w.t(), reps), 2),
                  "weight_grad_gflops": round(gflops(x.t(), out, reps), 2)}))
