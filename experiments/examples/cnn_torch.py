"""cnn_torch.py -- the PyTorch twin of examples/cnn.lua: the Keras CNN of the design on
Fashion-MNIST with Keras's defaults (Glorot-uniform weights, zero biases, batch 32), Adam
lr 2e-3 with a cosine decay over the epochs, 5 epochs, inputs in [0, 1].

    /usr/bin/python3 experiments/examples/cnn_torch.py [--epochs N] [--threads N] [--lr LR] [--batch N]
"""
from torch import nn

from fmnist import classifier_main, load


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
    classifier_main("cnn_torch", fashion_cnn, load, lr=2e-3, batch=32)


if __name__ == "__main__":
    main()
