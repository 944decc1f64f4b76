"""bench_tensor.py -- the PyTorch twin of bench_tensor.lua (issue 2: tensor core).

    /usr/bin/python3 experiments/bench_tensor.py [--threads N] SECTION...
        SECTION: matmul ew small (default: all)

--threads N calls torch.set_num_threads(N); OMP_NUM_THREADS / OPENBLAS_NUM_THREADS
come from the environment (bench.sh tries every combination of 1 and 2). The
configuration is printed as cfg=T<set_num_threads>E<env threads>. Same cases, same
timing method and same BENCH lines as bench_tensor.lua:

    BENCH impl=torch cfg=T2E1 sec=matmul case=128x784x256 var=A@B work=... unit=GFLOP/s \
          t_best=<s per op> t_med=<s per op> reps=<ops per sample>

Environment: BENCH_TARGET (seconds per sample, 0.06), BENCH_SAMPLES (5),
BENCH_TORCH_SMALL_N (ops per small-op sample, default 2*10^5: Python is slower).
"""
import gc
import os
import statistics
import sys
import time

import torch

TARGET = float(os.environ.get("BENCH_TARGET") or 0.06)
SAMPLES = int(os.environ.get("BENCH_SAMPLES") or 5)
SMALL_N = int(os.environ.get("BENCH_TORCH_SMALL_N") or 200000)

now = time.perf_counter


def emit(cfg, sec, case, var, work, unit, best, med, reps):
    print(f"BENCH impl=torch cfg={cfg} sec={sec} case={case} var={var} work={work:.17g} "
          f"unit={unit} t_best={best:.6e} t_med={med:.6e} reps={reps}", flush=True)


def measure(fn):
    """warm up, size the loop to about TARGET s, then best and median s/op of SAMPLES"""
    fn(); fn()
    reps = 1
    while True:
        t0 = now()
        for _ in range(reps):
            fn()
        dt = now() - t0
        if dt >= TARGET / 8:
            reps = max(1, int(-(-reps * TARGET // dt)))
            break
        reps *= 4
    ts = []
    for _ in range(SAMPLES):
        t0 = now()
        for _ in range(reps):
            fn()
        ts.append((now() - t0) / reps)
    return min(ts), statistics.median(ts), reps


def bench_matmul(cfg):
    torch.manual_seed(1)
    for m, k, n in ((128, 784, 256), (1024, 1024, 1024)):
        case, flop = f"{m}x{k}x{n}", 2 * m * k * n
        a, at, b = torch.randn(m, k), torch.randn(k, m), torch.randn(k, n)
        ta = at.t()
        assert not ta.is_contiguous()
        emit(cfg, "matmul", case, "A@B", flop, "GFLOP/s", *measure(lambda: a.matmul(b)))
        emit(cfg, "matmul", case, "At.t()@B", flop, "GFLOP/s", *measure(lambda: ta.matmul(b)))


def bench_ew(cfg):
    torch.manual_seed(1)
    for n in (1000000, 10000000):
        case = "1e6" if n == 1000000 else "1e7"
        x, y = torch.randn(n), torch.randn(n)
        emit(cfg, "ew", case, "add", 12 * n, "GB/s", *measure(lambda: x + y))
        emit(cfg, "ew", case, "exp", 8 * n, "GB/s", *measure(lambda: x.exp()))


def bench_small(cfg):
    x, y = torch.randn(2, 2), torch.randn(2, 2)
    def sample(kind, N):
        t0 = now()
        if kind == "x+y":
            for _ in range(N):
                z = x + y
        elif kind == "x:add(y)":
            for _ in range(N):
                z = x.add(y)
        elif kind == "x:add_(y)":
            for _ in range(N):
                x.add_(y)
        elif kind == "x*2":
            for _ in range(N):
                z = x * 2
        elif kind == "empty-loop":
            for _ in range(N):
                z = x
        return (now() - t0) / N

    for kind in ("x+y", "x:add(y)", "x:add_(y)", "x*2", "empty-loop"):
        gc.collect()
        sample(kind, SMALL_N // 10)
        ts = [sample(kind, SMALL_N) for _ in range(max(3, SAMPLES - 2))]
        x.zero_()
        emit(cfg, "small", "2x2", kind, 1, "us", min(ts), statistics.median(ts), SMALL_N)


def main(argv):
    threads = None
    sections = []
    it = iter(argv)
    for a in it:
        if a == "--threads":
            threads = int(next(it))
        else:
            sections.append(a)
    if threads:
        torch.set_num_threads(threads)
    env = os.environ.get("OMP_NUM_THREADS") or os.environ.get("OPENBLAS_NUM_THREADS") or "-"
    cfg = f"T{torch.get_num_threads()}E{env}"
    if not sections or sections == ["all"]:
        sections = ["matmul", "ew", "small"]
    print(f"# torch bench: torch={torch.__version__} threads={torch.get_num_threads()} "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '-')} "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', '-')}", flush=True)
    table = {"matmul": bench_matmul, "ew": bench_ew, "small": bench_small}
    with torch.no_grad():
        for s in sections:
            if s not in table:
                sys.exit(f"bench_tensor.py: unknown section '{s}' (expected matmul, ew, small or all)")
            table[s](cfg)


if __name__ == "__main__":
    main(sys.argv[1:])
