"""mlp_torch.py -- the PyTorch twin of examples/mlp.lua: a DNN 784-256-128-10 on
Fashion-MNIST, inputs normalised with the training set's mean and std (0.2860,
0.3530), Adam lr 1e-3 with a cosine decay over the epochs, batch 64, PyTorch's default
initialisation (which lunet's layers copy).

    /usr/bin/python3 experiments/examples/mlp_torch.py [--epochs N] [--threads N] [--lr LR] [--batch N]
"""
import argparse

import torch
from torch import nn

from fmnist import fit_classifier, load

MEAN, STD = 0.2860, 0.3530


def flat(split):
    x, y = load(split)
    return (x.reshape(-1, 784) - MEAN) / STD, y


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--batch", type=int, default=64)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=a.epochs)
    print(f"mlp_torch: torch {torch.__version__}, {a.threads} thread(s), lr {a.lr}, batch {a.batch}")
    acc = fit_classifier(model, opt, flat("train"), flat("test"), a.epochs, a.batch, scheduler=sched)
    print(f"final test accuracy: {acc:.4f}")


if __name__ == "__main__":
    main()
