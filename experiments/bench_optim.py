"""bench_optim.py -- the PyTorch twin of bench_optim.lua: one torch.optim.Adam
step over the MLP 784-256-128-10's parameters (235146 float32 numbers), with
foreach=False (one tensor at a time) and foreach=True (multi-tensor kernels).

    /usr/bin/python3 experiments/bench_optim.py [threads]
"""
import sys
import time

import torch

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
torch.set_num_threads(threads)
torch.manual_seed(1)
shapes = [(256, 784), (256,), (128, 256), (128,), (10, 128), (10,)]
params = [torch.randn(s, requires_grad=True) for s in shapes]
for p in params:
    p.grad = torch.randn(p.shape)
numel = sum(p.numel() for p in params)

for foreach in (False, True):
    opt = torch.optim.Adam(params, lr=1e-3, foreach=foreach)

    def sample(reps):
        t0 = time.perf_counter()
        for _ in range(reps):
            opt.step()
        return (time.perf_counter() - t0) / reps

    sample(10)
    reps = max(1, int(0.2 / sample(20)))
    times = sorted(sample(reps) for _ in range(7))
    print(f"torch Adam step (foreach={foreach}), {numel} floats, {threads} thread(s): "
          f"best {times[0] * 1e6:.1f} us, median {times[3] * 1e6:.1f} us")
