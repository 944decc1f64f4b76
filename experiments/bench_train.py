"""bench_train.py -- the PyTorch twin of bench_train.lua: one training step
(forward + backward + Adam) of the MLP, the Keras CNN and the LSTM.

    /usr/bin/python3 experiments/bench_train.py [--threads N] [mlp|cnn|lstm ...]
"""
import sys

import torch
from torch import nn

from bench_tensor import emit, measure


class LstmHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(128, 256)
        self.fc = nn.Linear(256, 10)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.fc(out[-1])


MODELS = {
    "mlp": lambda: (nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                                  nn.Linear(128, 10)), torch.randn(128, 784), 128),
    "cnn": lambda: (nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3),
                                  nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(64, 64, 3), nn.ReLU(), nn.Flatten(),
                                  nn.Linear(576, 64), nn.ReLU(), nn.Linear(64, 10)),
                    torch.randn(64, 1, 28, 28), 64),
    "lstm": lambda: (LstmHead(), torch.randn(20, 64, 128), 64),
}


def main(argv):
    threads = None
    if argv[:1] == ["--threads"]:
        threads = int(argv[1])
        torch.set_num_threads(threads)
        argv = argv[2:]
    import os
    env = os.environ.get("OMP_NUM_THREADS", "-")
    cfg = f"T{torch.get_num_threads()}E{env}"
    for name in argv or ["mlp", "cnn", "lstm"]:
        torch.manual_seed(1)
        model, x, n = MODELS[name]()
        y = torch.randint(0, 10, (n,))
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        lossf = nn.CrossEntropyLoss()

        def step():
            opt.zero_grad()
            loss = lossf(model(x), y)
            loss.backward()
            opt.step()
        best, med, reps = measure(step)
        emit(cfg, "train", name, "step", 1, "ms", best, med, reps)


if __name__ == "__main__":
    main(sys.argv[1:])
