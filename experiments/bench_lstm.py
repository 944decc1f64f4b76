"""bench_lstm.py -- the PyTorch twin of experiments/bench_lstm.lua: one training step
(zero_grad + forward + backward + Adam) of LSTM(128 -> 256, 1 layer) over 20 steps,
batch 64, then Linear(256, 10) on the last output and cross-entropy.

    OMP_NUM_THREADS=N /usr/bin/python3 experiments/bench_lstm.py [--threads N] [--steps S] [--warmup W]

--threads calls torch.set_num_threads(N). Prints the median and the best step time of S
timed steps after W warm-up steps, as one line in the format of bench_lstm.lua:

    BENCH impl=torch cfg=T<threads> sec=lstm case=T20xB64x128->256 var=train_step \
          unit=ms t_best=<s> t_med=<s> reps=<S> cpu_med=<s>

cpu_med is the median CPU time of a step (time.process_time, summed over threads).
"""
import argparse
import statistics
import time

import torch
import torch.nn.functional as F

T, B, IN, H, C = 20, 64, 128, 256, 10


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    lstm, fc = torch.nn.LSTM(IN, H), torch.nn.Linear(H, C)
    opt = torch.optim.Adam(list(lstm.parameters()) + list(fc.parameters()), lr=1e-3)
    x = torch.randn(T, B, IN)
    y = torch.randint(0, C, (B,))

    def step():
        c0, t0 = time.process_time(), time.perf_counter()
        opt.zero_grad()
        out, _ = lstm(x)
        loss = F.cross_entropy(fc(out[-1]), y)
        loss.backward()
        opt.step()
        return time.perf_counter() - t0, time.process_time() - c0

    for _ in range(a.warmup):
        step()
    ts, cpu = zip(*[step() for _ in range(a.steps)])
    print(f"BENCH impl=torch cfg=T{torch.get_num_threads()} sec=lstm case=T{T}xB{B}x{IN}->{H} "
          f"var=train_step unit=ms t_best={min(ts):.6e} t_med={statistics.median(ts):.6e} reps={a.steps} "
          f"cpu_med={statistics.median(cpu):.6e}",
          flush=True)


if __name__ == "__main__":
    main()
