"""bench_data.py -- the Python twin of bench_data.lua (issue 4: data).

    /usr/bin/python3 experiments/bench_data.py [--threads N] [CASE...]   CASE: load epoch

load   the 60,000 Fashion-MNIST training images and labels from Debian's .gz
       files with gzip + numpy.frombuffer (torchvision is not installed), images
       scaled to float32 in [0, 1] and shaped N x 1 x 28 x 28, labels int64.
epoch  one epoch of shuffled batches of 128 (no model) over those arrays:
       var=dataloader  torch.utils.data.DataLoader over a TensorDataset
                       (impl=torch: per-sample indexing and default collate),
       var=index       a permutation and fancy indexing per batch (impl=numpy),
       var=torch_index the same with torch tensors (impl=torch).

Same timing method and BENCH lines as bench_data.lua (seconds per op):
    BENCH impl=numpy cfg=T1 sec=data case=load var=fashion_train work=1 unit=ms t_best=... t_med=... reps=...
Environment: BENCH_TARGET (0.06), BENCH_SAMPLES (5), FASHION_ROOT.
"""
import gzip
import os
import sys

import numpy as np
import torch

from bench_tensor import measure  # the timing every Python bench shares

ROOT = os.environ.get("FASHION_ROOT") or "/usr/share/datasets/fashion-mnist"


def emit(impl, cfg, case, var, best, med, reps):
    print(f"BENCH impl={impl} cfg={cfg} sec=data case={case} var={var} work=1 "
          f"unit=ms t_best={best:.6e} t_med={med:.6e} reps={reps}", flush=True)


def read_idx(path):
    """an IDX file's bytes as a uint8 array of its shape (header: 00 00 08 ndim, sizes)"""
    with gzip.open(path, "rb") as f:
        b = f.read()
    assert b[0] == 0 and b[1] == 0 and b[2] == 8, f"{path}: not an unsigned-byte IDX file"
    ndim = b[3]
    shape = tuple(int.from_bytes(b[4 + 4 * d:8 + 4 * d], "big") for d in range(ndim))
    return np.frombuffer(b, np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load():
    x = read_idx(f"{ROOT}/train-images-idx3-ubyte.gz")
    y = read_idx(f"{ROOT}/train-labels-idx1-ubyte.gz")
    images = (x.astype(np.float32) / 255).reshape(-1, 1, 28, 28)
    return images, y.astype(np.int64)


def bench_load(cfg):
    best, med, reps = measure(load)
    emit("numpy", cfg, "load", "fashion_train", best, med, reps)


def bench_epoch(cfg):
    images, labels = load()
    n, bs = len(labels), 128

    def numpy_epoch(rng=np.random.default_rng(1)):
        perm = rng.permutation(n)
        for i in range(0, n, bs):
            idx = perm[i:i + bs]
            xb, yb = images[idx], labels[idx]

    best, med, reps = measure(numpy_epoch)
    emit("numpy", cfg, "epoch", "index", best, med, reps)

    ti, tl = torch.from_numpy(images), torch.from_numpy(labels)
    gen = torch.Generator().manual_seed(1)

    def torch_index_epoch():
        perm = torch.randperm(n, generator=gen)
        for i in range(0, n, bs):
            idx = perm[i:i + bs]
            xb, yb = ti[idx], tl[idx]

    best, med, reps = measure(torch_index_epoch)
    emit("torch", cfg, "epoch", "torch_index", best, med, reps)

    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(ti, tl), batch_size=bs,
                                         shuffle=True, generator=gen)

    def dataloader_epoch():
        for xb, yb in loader:
            pass

    best, med, reps = measure(dataloader_epoch)
    emit("torch", cfg, "epoch", "dataloader", best, med, reps)


def main(argv):
    threads = 1
    if len(argv) >= 2 and argv[0] == "--threads":
        threads = int(argv[1])
        argv = argv[2:]
    torch.set_num_threads(threads)
    cfg = f"T{threads}"
    cases = {"load": bench_load, "epoch": bench_epoch}
    for c in argv or ["load", "epoch"]:
        if c not in cases:
            sys.exit(f"bench_data.py: unknown case {c} (load, epoch)")
        cases[c](cfg)


if __name__ == "__main__":
    main(sys.argv[1:])
