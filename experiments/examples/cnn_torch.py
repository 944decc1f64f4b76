"""cnn_torch.py -- the PyTorch twin of examples/cnn.lua: the Keras CNN of the design on
Fashion-MNIST with Keras's defaults (Glorot-uniform weights, zero biases, batch 32), Adam
lr 2e-3 with a cosine decay over the epochs, 5 epochs, inputs in [0, 1].

    /usr/bin/python3 experiments/examples/cnn_torch.py [--epochs N] [--threads N] [--lr LR] [--batch N]
"""
import argparse

import torch
from torch import nn

from fmnist import fit_classifier, load


def fashion_cnn():
    """the model of examples/common/fashion_cnn.lua, with Keras's initialisation"""
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 3), nn.ReLU(),
        nn.Flatten(), nn.Linear(576, 64), nn.ReLU(), nn.Linear(64, 10))
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
    return model


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--batch", type=int, default=32)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    model = fashion_cnn()
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=a.epochs)
    print(f"cnn_torch: torch {torch.__version__}, {a.threads} thread(s), lr {a.lr}, batch {a.batch}")
    acc = fit_classifier(model, opt, load("train"), load("test"), a.epochs, a.batch, scheduler=sched)
    print(f"final test accuracy: {acc:.4f}")


if __name__ == "__main__":
    main()
