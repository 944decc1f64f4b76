"""fmnist.py -- Fashion-MNIST for the PyTorch twins of the examples, as lunet's
data.fashion_mnist gives it: images float32 N x 1 x 28 x 28 in [0, 1], labels int64
(0-based here, as PyTorch's losses want them), read from Debian's .gz files with the
IDX reader of experiments/bench_data.py (torchvision is not installed).

    from fmnist import load, batches
    x, y = load("train", n=60000)
    for xb, yb in batches(x, y, 64, shuffle=True, generator=g): ...
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from bench_data import ROOT, read_idx  # noqa: E402  (the one IDX reader of experiments/)

FILES = {"train": "train", "test": "t10k"}


def load(split="train", n=None):
    """the first n images and labels of a split ("train" or "test") as torch tensors"""
    prefix = f"{ROOT}/{FILES[split]}"
    x = read_idx(f"{prefix}-images-idx3-ubyte.gz")[:n]
    y = read_idx(f"{prefix}-labels-idx1-ubyte.gz")[:n]
    images = torch.from_numpy(x.reshape(-1, 1, 28, 28).astype("float32") / 255)
    return images, torch.from_numpy(y.astype("int64"))


def batches(x, y, batch_size, shuffle=False, generator=None):
    """(x, y) batches of batch_size (the last one may be short), in a new random order
    each call when shuffle is set"""
    n = len(y)
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    for i in range(0, n, batch_size):
        idx = order[i:i + batch_size]
        yield x[idx], y[idx]


def accuracy(model, x, y, batch_size=1000):
    """the share of (x, y) that model classifies right, in eval mode without gradients"""
    model.eval()
    with torch.no_grad():
        correct = sum((model(xb).argmax(1) == yb).sum().item() for xb, yb in batches(x, y, batch_size))
    model.train()
    return correct / len(y)


def fit_classifier(model, opt, train, test, epochs, batch_size, scheduler=None, seed=1):
    """the loop of lunet.train.fit for a classifier: cross-entropy, shuffled batches, the
    scheduler stepped after each epoch; prints test accuracy and time per epoch and
    returns the last test accuracy"""
    import time
    g = torch.Generator().manual_seed(seed)
    lossf = torch.nn.CrossEntropyLoss()
    acc = None
    for epoch in range(1, epochs + 1):
        t0 = time.perf_counter()
        total, n = 0.0, 0
        for xb, yb in batches(*train, batch_size, shuffle=True, generator=g):
            loss = lossf(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total, n = total + loss.item() * len(yb), n + len(yb)
        acc = accuracy(model, *test)
        if scheduler is not None:
            scheduler.step()
        print(f"epoch {epoch}/{epochs}  loss {total / n:.4f}  test accuracy {acc:.4f}  "
              f"({time.perf_counter() - t0:.1f} s)", flush=True)
    return acc


def classifier_main(name, build, data, lr, batch):
    """the main of a classifier twin (mlp_torch, cnn_torch): --epochs (5), --threads (1),
    --lr, --batch; seed 1; Adam with the rate decayed along a cosine over the epochs;
    data(split) gives the (x, y) of "train" and "test"; prints the final test accuracy"""
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--lr", type=float, default=lr)
    ap.add_argument("--batch", type=int, default=batch)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    model = build()
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=a.epochs)
    print(f"{name}: torch {torch.__version__}, {a.threads} thread(s), lr {a.lr}, batch {a.batch}")
    acc = fit_classifier(model, opt, data("train"), data("test"), a.epochs, a.batch, scheduler=sched)
    print(f"final test accuracy: {acc:.4f}")
