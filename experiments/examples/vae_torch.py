"""vae_torch.py -- the PyTorch twin of examples/vae.lua: the same VAE (MLP or
convolutional), PyTorch's default init, Adam(lr=1e-3), batches of 128, the loss
BCE-with-logits + KL summed per image and averaged over the batch, and the test
negative ELBO (one z per image) in nats per image after every epoch.

    /usr/bin/python3 experiments/examples/vae_torch.py [--conv] [--epochs N] [--quick] [--threads N]
"""
import argparse
import time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from fmnist import load  # the Fashion-MNIST reader the twins share


def mlp_parts(latent):
    return (nn.Sequential(nn.Flatten(), nn.Linear(784, 400), nn.ReLU()), 400,
            nn.Sequential(nn.Linear(latent, 400), nn.ReLU(), nn.Linear(400, 784), nn.Unflatten(1, (1, 28, 28))))


def conv_parts(latent):
    down = dict(stride=2, padding=1)
    return (nn.Sequential(nn.Conv2d(1, 32, 4, **down), nn.ReLU(), nn.Conv2d(32, 64, 4, **down), nn.ReLU(),
                          nn.Flatten()), 64 * 7 * 7,
            nn.Sequential(nn.Linear(latent, 64 * 7 * 7), nn.ReLU(), nn.Unflatten(1, (64, 7, 7)),
                          nn.ConvTranspose2d(64, 32, 4, **down), nn.ReLU(), nn.ConvTranspose2d(32, 1, 4, **down)))


class VAE(nn.Module):
    def __init__(self, parts, latent):
        super().__init__()
        self.encoder, hidden, self.decoder = parts(latent)
        self.mu = nn.Linear(hidden, latent)
        self.logvar = nn.Linear(hidden, latent)

    def forward(self, x):
        h = self.encoder(x)
        mu, logvar = self.mu(h), self.logvar(h)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return self.decoder(z), mu, logvar


def neg_elbo(logits, x, mu, logvar):
    n = x.shape[0]
    bce = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / n
    kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) / n
    return bce + kl, bce, kl


def neg_elbo_of(model, x):
    logits, mu, logvar = model(x)
    return neg_elbo(logits, x, mu, logvar)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--conv", action="store_true")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--latent", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    o = ap.parse_args()
    torch.set_num_threads(o.threads)
    torch.manual_seed(1)
    train_x, _ = load("train", n=2000 if o.quick else 60000)   # the labels are not used
    test_x, _ = load("test", n=500 if o.quick else 10000)
    model = VAE(conv_parts if o.conv else mlp_parts, o.latent)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    nparams = sum(p.numel() for p in model.parameters())
    arch = "conv" if o.conv else "mlp"
    print(f"vae_torch ({arch}): {len(train_x)} training and {len(test_x)} test images, {o.epochs} epochs, "
          f"latent {o.latent}, {nparams} parameters, {torch.get_num_threads()} threads", flush=True)
    for epoch in range(1, o.epochs + 1):
        t0 = time.time()
        model.train()
        total = 0.0
        for idx in torch.randperm(len(train_x)).split(128):
            x = train_x[idx]
            loss, _, _ = neg_elbo_of(model, x)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(x)
        model.eval()
        sums = np.zeros(3)
        with torch.no_grad():
            for x in test_x.split(500):
                sums += np.array([v.item() for v in neg_elbo_of(model, x)]) * len(x)
        loss, bce, kl = sums / len(test_x)
        print(f"epoch {epoch}/{o.epochs}  train loss {total / len(train_x):.2f}  test negative ELBO {loss:.2f} "
              f"nats/image (BCE {bce:.2f} + KL {kl:.2f})  ({time.time() - t0:.1f} s)", flush=True)


if __name__ == "__main__":
    main()
