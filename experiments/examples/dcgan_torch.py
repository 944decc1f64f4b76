"""dcgan_torch.py -- the PyTorch twin of examples/dcgan.lua: the same DCGAN (G: Linear(100,
128*7*7) -> 128x7x7 -> ConvTranspose2d(128,64,4,2,1) -> BatchNorm -> ReLU ->
ConvTranspose2d(64,1,4,2,1) -> Tanh; D: Conv2d(1,64,4,2,1) -> LeakyReLU(0.2) ->
Conv2d(64,128,4,2,1) -> BatchNorm -> LeakyReLU(0.2) -> Linear(128*7*7, 1)), trained by
gan_torch.py's loop (same optimiser, batches and outputs; grids dcgan_torch_epoch_N.png).

    /usr/bin/python3 experiments/examples/dcgan_torch.py [--epochs N] [--quick] [--out DIR] [--threads N]
"""
from torch import nn

from gan_torch import NZ, train


def conv_models():
    down = dict(stride=2, padding=1)
    g = nn.Sequential(nn.Linear(NZ, 128 * 7 * 7), nn.Unflatten(1, (128, 7, 7)),
                      nn.ConvTranspose2d(128, 64, 4, **down), nn.BatchNorm2d(64), nn.ReLU(),
                      nn.ConvTranspose2d(64, 1, 4, **down), nn.Tanh())
    d = nn.Sequential(nn.Conv2d(1, 64, 4, **down), nn.LeakyReLU(0.2),
                      nn.Conv2d(64, 128, 4, **down), nn.BatchNorm2d(128), nn.LeakyReLU(0.2),
                      nn.Flatten(), nn.Linear(128 * 7 * 7, 1))
    return g, d


if __name__ == "__main__":
    train("dcgan", conv_models, 5, 256)
