"""bench_conv.py -- the Keras CNN's convolutions and pools in PyTorch, and the comparison
with lunet's (experiments/bench_conv.c).

    /usr/bin/python3 experiments/bench_conv.py [--threads N]
        PyTorch alone: the same layers, shapes and output lines as bench_conv.c
    /usr/bin/python3 experiments/bench_conv.py --compare [--build DIR] [--rounds R] [--before EXE]
        builds DIR/bench_conv (default DIR build-conv, from DIR's objects), then runs
        lunet 1T, torch 1T, lunet 2T, torch 2T (and EXE 1T, 2T: bench_conv built from an
        older nn_conv.c), R rounds (default 3), the order rotated each round, each run
        after waiting (at most 10 s) for the other processes to use under a quarter of a
        core. Prints per layer and pass the best over the rounds of each run's median, and
        the ratio lunet / torch at each one's fastest thread count (< 1: lunet is faster)

Forward and backward are timed separately, as aten's kernels (what autograd calls):
convolution + convolution_backward (conv1 asks no input gradient: the network's input
needs none), max_pool2d_with_indices + its backward. float32, batch 64. Timing as
bench_timing.h: warm up, loops of ~BENCH_TARGET s, best and median of BENCH_SAMPLES.
"""
import os
import statistics
import subprocess
import sys
import time

LAYERS = [  # name, input shape, weight shape (None: 2x2 max pool), input gradient wanted
    ("conv1", (64, 1, 28, 28), (32, 1, 3, 3), False),
    ("pool1", (64, 32, 26, 26), None, True),
    ("conv2", (64, 32, 13, 13), (64, 32, 3, 3), True),
    ("pool2", (64, 64, 11, 11), None, True),
    ("conv3", (64, 64, 5, 5), (64, 64, 3, 3), True),
]
TARGET = float(os.environ.get("BENCH_TARGET") or 0.06)
SAMPLES = int(os.environ.get("BENCH_SAMPLES") or 5)


def measure(fn):
    fn(); fn()
    reps = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        dt = time.perf_counter() - t0
        if dt >= TARGET / 8:
            reps = max(1, int(reps * TARGET / dt + 0.999))
            break
        reps *= 4
    ts = []
    for _ in range(SAMPLES):
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        ts.append((time.perf_counter() - t0) / reps)
    return min(ts), statistics.median(ts), reps


def run_torch(threads):
    import torch
    aten = torch.ops.aten
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    print(f"# torch conv bench: torch={torch.__version__} threads={torch.get_num_threads()} "
          f"mkldnn={torch.backends.mkldnn.is_available()}", flush=True)
    total = [0.0, 0.0]
    with torch.no_grad():
        for name, xs, ws, need_gx in LAYERS:
            x = torch.randn(xs)
            if ws is None:
                y, idx = aten.max_pool2d_with_indices(x, [2, 2], [2, 2], [0, 0], [1, 1], False)
                gy = torch.randn(y.shape)
                f = lambda: aten.max_pool2d_with_indices(x, [2, 2], [2, 2], [0, 0], [1, 1], False)
                b = lambda: aten.max_pool2d_with_indices_backward(gy, x, [2, 2], [2, 2], [0, 0], [1, 1],
                                                                  False, idx)
            else:
                w, bias = torch.randn(ws) * 0.1, torch.randn(ws[0]) * 0.1
                conv = lambda: aten.convolution(x, w, bias, [1, 1], [0, 0], [1, 1], False, [0, 0], 1)
                gy = torch.randn(conv().shape)
                f = conv
                b = lambda: aten.convolution_backward(gy, x, w, [ws[0]], [1, 1], [0, 0], [1, 1], False,
                                                      [0, 0], 1, [need_gx, True, True])
            for k, fn in enumerate((f, b)):
                best, med, reps = measure(fn)
                total[k] += med
                print(f"BENCH impl=torch cfg=T{threads} case={name} var={'bwd' if k else 'fwd'} "
                      f"t_best={best:.6e} t_med={med:.6e} reps={reps}", flush=True)
    print(f"# sum of medians: fwd {total[0] * 1e3:.3f} ms, bwd {total[1] * 1e3:.3f} ms, "
          f"total {sum(total) * 1e3:.3f} ms")


def parse(out):
    res = {}
    for line in out.splitlines():
        if line.startswith("BENCH "):
            kv = dict(f.split("=", 1) for f in line.split()[1:])
            res[(kv["case"], kv["var"])] = float(kv["t_med"])
    return res


def build(bdir):
    srcs = sorted(f for f in os.listdir("src")
                  if f.endswith(".c") and not f.startswith("l_") and f != "main.c")
    objs = [os.path.join(bdir, f[:-2] + ".o") for f in srcs]
    exe = os.path.join(bdir, "bench_conv")
    cmd = ["cc", "-O3", "-march=native", "-mprefer-vector-width=512", "-std=gnu11", "-fopenmp",
           "-Wall", "-Wextra", "-Isrc", "-I/usr/include/x86_64-linux-gnu/openblas-openmp", "-o", exe,
           "experiments/bench_conv.c", *objs, "-llua5.4", "-lopenblas", "-lsqlite3", "-lz", "-lm", "-ldl"]
    subprocess.run(cmd, check=True)
    return exe


def cpu_busy():
    """jiffies the whole machine spent busy, and in all"""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v) - idle, sum(v)


def wait_quiet(max_s=10.0):
    """wait (at most max_s) until other processes use under a quarter of a core;
    returns the cores they used in the last second"""
    t0 = time.time()
    while True:
        b0, a0 = cpu_busy()
        time.sleep(1.0)
        b1, a1 = cpu_busy()
        cores = (os.cpu_count() or 1) * (b1 - b0) / max(1, a1 - a0)
        if cores < 0.25 or time.time() - t0 > max_s:
            return cores


def compare(bdir, rounds, before):
    exe = build(bdir)
    progs = {"lunet": exe, "before": before}
    runs = [("lunet", 1), ("torch", 1), ("lunet", 2), ("torch", 2)]
    if before:
        runs += [("before", 1), ("before", 2)]
    best = {}  # (impl, threads) -> {(case, var): best median over rounds}
    for r in range(rounds):
        for impl, t in runs[r % len(runs):] + runs[:r % len(runs)]:
            cmd = ([progs[impl], str(t)] if impl != "torch"
                   else [sys.executable, os.path.abspath(__file__), "--threads", str(t)])
            others = wait_quiet()
            b0, a0 = cpu_busy()
            out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
            print(f"# round {r + 1}: {impl} T{t}; other processes used {others:.2f} cores before the run")
            sys.stdout.write(out.replace("impl=lunet", f"impl={impl}"))
            for k, v in parse(out).items():
                d = best.setdefault((impl, t), {})
                d[k] = min(v, d.get(k, float("inf")))
    impls = ["before", "lunet", "torch"] if before else ["lunet", "torch"]
    head = "".join(f" {i} 1T | {i} 2T |" for i in impls)
    print(f"\nms per call, best of {rounds} rounds of each run's median; ratio = lunet / torch, "
          "each at its fastest thread count (< 1: lunet faster)\n")
    print(f"| layer | pass |{head}" + (" before/torch |" if before else "") + " lunet/torch |")
    print("|---|---|" + "---|" * (2 * len(impls) + 1 + bool(before)))
    tot = {(i, t): 0.0 for i in impls for t in (1, 2)}
    for name, *_ in LAYERS:
        for var in ("fwd", "bwd"):
            v = {(i, t): best[(i, t)][(name, var)] for i in impls for t in (1, 2)}
            for k in tot:
                tot[k] += v[k]
            fast = {i: min(v[(i, 1)], v[(i, 2)]) for i in impls}
            cells = "".join(f" {v[(i, 1)] * 1e3:.3f} | {v[(i, 2)] * 1e3:.3f} |" for i in impls)
            ratios = (f" {fast['before'] / fast['torch']:.2f} |" if before else "") + \
                     f" {fast['lunet'] / fast['torch']:.2f} |"
            print(f"| {name} | {var} |{cells}{ratios}")
    fast = {i: min(tot[(i, 1)], tot[(i, 2)]) for i in impls}
    cells = "".join(f" {tot[(i, 1)] * 1e3:.3f} | {tot[(i, 2)] * 1e3:.3f} |" for i in impls)
    ratios = (f" {fast['before'] / fast['torch']:.2f} |" if before else "") + \
             f" {fast['lunet'] / fast['torch']:.2f} |"
    print(f"| all | fwd+bwd |{cells}{ratios}")


def main(argv):
    threads, bdir, rounds, cmp, before = 1, "build-conv", 3, False, None
    it = iter(argv)
    for a in it:
        if a == "--threads":
            threads = int(next(it))
        elif a == "--build":
            bdir = next(it)
        elif a == "--rounds":
            rounds = int(next(it))
        elif a == "--compare":
            cmp = True
        elif a == "--before":
            before = next(it)
        else:
            sys.exit(f"bench_conv.py: unknown argument '{a}'")
    if cmp:
        compare(bdir, rounds, before)
    else:
        run_torch(threads)


if __name__ == "__main__":
    main(sys.argv[1:])
