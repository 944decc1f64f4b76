"""gan_torch.py -- the PyTorch twin of examples/gan.lua: the same MLP GAN (G 100-256-512-784
with LeakyReLU(0.2) and Tanh, D 784-512-256-1 with LeakyReLU(0.2)), PyTorch's default init,
batches of 64 (the last short one dropped), images scaled to [-1, 1], one D step and one G
step per batch with BCE-with-logits, Adam(lr=2e-4, betas=(0.5, 0.999)). Prints both losses
and mean D(x), D(G(z)) per epoch and writes a grid of 64 samples from a fixed noise batch
per epoch (gan_torch_epoch_N.png, written with zlib: no torchvision here), and at the end
1000 samples as one 25x40 grid without padding (gan_torch_1000.png) for lunet's classifier
to judge, as experiments/results/gan.md shows.

    /usr/bin/python3 experiments/examples/gan_torch.py [--epochs N] [--quick] [--out DIR] [--threads N]

The training loop (train) is shared with dcgan_torch.py.
"""
import argparse
import struct
import time
import zlib

import torch
from torch import nn
from torch.nn import functional as F

from fmnist import load

NZ = 100


def mlp_models():
    g = nn.Sequential(nn.Linear(NZ, 256), nn.LeakyReLU(0.2), nn.Linear(256, 512), nn.LeakyReLU(0.2),
                      nn.Linear(512, 784), nn.Tanh(), nn.Unflatten(1, (1, 28, 28)))
    d = nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.LeakyReLU(0.2), nn.Linear(512, 256),
                      nn.LeakyReLU(0.2), nn.Linear(256, 1))
    return g, d


def save_grid(images, path, nrow=8, padding=2):
    """(N, 1, H, W) in [0, 1] as a grey PNG grid laid out as lunet.image.grid does
    (torchvision's make_grid, black padding)"""
    n, _, h, w = images.shape
    cols = min(nrow, n)
    rows = (n + cols - 1) // cols
    grid = torch.zeros(rows * (h + padding) + padding, cols * (w + padding) + padding)
    for k in range(n):
        r, c = divmod(k, cols)
        top, left = r * (h + padding) + padding, c * (w + padding) + padding
        grid[top:top + h, left:left + w] = images[k, 0]
    pixels = (grid.clamp(0, 1) * 255 + 0.5).floor().to(torch.uint8).numpy()
    raw = b"".join(b"\0" + row.tobytes() for row in pixels)

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    H, W = pixels.shape
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", W, H, 8, 0, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def train(name, models, default_epochs, quick_n):
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=".")
    ap.add_argument("--threads", type=int, default=1)
    o = ap.parse_args()
    if o.epochs is None:
        o.epochs = 1 if o.quick else default_epochs
    torch.set_num_threads(o.threads)
    torch.manual_seed(1)
    x, _ = load("train", n=quick_n if o.quick else None)
    x = x * 2 - 1                                   # Tanh's range
    G, D = models()
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    batch = 64
    ones, zeros = torch.ones(batch, 1), torch.zeros(batch, 1)
    fixed = torch.randn(64, NZ)
    gen = torch.Generator().manual_seed(1)
    print(f"{name}_torch: {len(x)} training images, {o.epochs} epochs, batch {batch}, {o.threads} thread(s)", flush=True)
    for epoch in range(1, o.epochs + 1):
        t0 = time.perf_counter()
        sums, k = [0.0, 0.0, 0.0, 0.0], 0
        order = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x) - batch + 1, batch):
            real = x[order[i:i + batch]]
            fake = G(torch.randn(batch, NZ))
            real_logit, fake_logit = D(real), D(fake.detach())
            d_loss = (F.binary_cross_entropy_with_logits(real_logit, ones)
                      + F.binary_cross_entropy_with_logits(fake_logit, zeros))
            opt_d.zero_grad()
            d_loss.backward()
            opt_d.step()
            g_loss = F.binary_cross_entropy_with_logits(D(fake), ones)
            opt_g.zero_grad()
            g_loss.backward()
            opt_g.step()
            k += 1
            for j, v in enumerate((d_loss.item(), g_loss.item(), torch.sigmoid(real_logit).mean().item(),
                                   torch.sigmoid(fake_logit).mean().item())):
                sums[j] += v
        d_loss, g_loss, d_x, d_g_z = (s / k for s in sums)
        G.eval()
        with torch.no_grad():
            save_grid((G(fixed) + 1) / 2, f"{o.out}/{name}_torch_epoch_{epoch}.png")
        G.train()
        print(f"epoch {epoch}/{o.epochs}  d_loss {d_loss:.4f}  g_loss {g_loss:.4f}  D(x) {d_x:.4f}  "
              f"D(G(z)) {d_g_z:.4f}  ({time.perf_counter() - t0:.1f} s)", flush=True)
    # 1000 samples for lunet's judge (examples/common/gan_quality.lua): 25 rows of 40, no padding
    G.eval()
    with torch.no_grad():
        save_grid((G(torch.randn(1000, NZ)) + 1) / 2, f"{o.out}/{name}_torch_1000.png", nrow=40, padding=0)
    print(f"wrote {o.out}/{name}_torch_1000.png", flush=True)


if __name__ == "__main__":
    train("gan", mlp_models, 30, 500)
