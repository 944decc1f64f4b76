"""mlp_torch.py -- the PyTorch twin of examples/mlp.lua: a DNN 784-256-128-10 on
Fashion-MNIST, inputs normalised with the training set's mean and std (0.2860,
0.3530), Adam lr 1e-3 with a cosine decay over the epochs, batch 64, PyTorch's default
initialisation (which lunet's layers copy).

    /usr/bin/python3 experiments/examples/mlp_torch.py [--epochs N] [--threads N] [--lr LR] [--batch N]
"""
from torch import nn

from fmnist import classifier_main, load

MEAN, STD = 0.2860, 0.3530


def flat(split):
    x, y = load(split)
    return (x.reshape(-1, 784) - MEAN) / STD, y


def mlp():
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))


def main():
    classifier_main("mlp_torch", mlp, flat, lr=1e-3, batch=64)


if __name__ == "__main__":
    main()
