"""PyTorch twin of examples/qa_seq2seq.lua: the same character-level LSTM encoder-decoder
with Luong "general" attention, the same sizes and optimiser, trained on the same corpus
files; prints the loss, greedy exact match on the test pairs and seconds per epoch.

    /usr/bin/python3 experiments/examples/qa_seq2seq_torch.py [--epochs 100] [--data examples/qa/data] [--threads 1] [--no-cosine]

Write the corpus first if needed: ./lunet examples/qa/make_corpus.lua
"""
import argparse
import time
from collections import Counter

import torch
import torch.nn as nn
import torch.nn.functional as F

PAD, UNK, BOS, EOS = 0, 1, 2, 3


def read_pairs(path):
    pairs = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\r\n")
            if line and not line.startswith("#"):
                q, a = line.split("\t")
                pairs.append((q, a))
    return pairs


def build_vocab(pairs):
    """Characters by falling frequency, ties in first-seen order (as lunet's Vocab.build)."""
    counts, order = Counter(), {}
    for q, a in pairs:
        for ch in q + a:
            counts[ch] += 1
            order.setdefault(ch, len(order))
    chars = sorted(counts, key=lambda c: (-counts[c], order[c]))
    return {c: i + 4 for i, c in enumerate(chars)}


def encode(pairs, vocab):
    src_len = max(len(q) for q, _ in pairs)
    tgt_len = max(len(a) for _, a in pairs) + 1
    n = len(pairs)
    src = torch.full((n, src_len), PAD, dtype=torch.long)
    tgt_in = torch.full((n, tgt_len), PAD, dtype=torch.long)
    tgt_out = torch.full((n, tgt_len), PAD, dtype=torch.long)
    for i, (q, a) in enumerate(pairs):
        qi = [vocab.get(c, UNK) for c in q]
        ai = [vocab.get(c, UNK) for c in a]
        src[i, :len(qi)] = torch.tensor(qi)
        tgt_in[i, :len(ai) + 1] = torch.tensor([BOS] + ai)
        tgt_out[i, :len(ai) + 1] = torch.tensor(ai + [EOS])
    return src, tgt_in, tgt_out


class Seq2Seq(nn.Module):
    def __init__(self, vocab_size, emb, hidden):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, emb, padding_idx=PAD)
        self.encoder = nn.LSTM(emb, hidden, batch_first=True)
        self.decoder = nn.LSTM(emb, hidden, batch_first=True)
        self.attn_w = nn.Linear(hidden, hidden, bias=False)
        self.combine = nn.Linear(2 * hidden, hidden)
        self.out = nn.Linear(hidden, vocab_size)

    def attend(self, dec, enc, src_pad):
        scores = self.attn_w(dec).bmm(enc.transpose(1, 2))
        weights = scores.masked_fill(src_pad.unsqueeze(1), float("-inf")).softmax(2)
        context = weights.bmm(enc)
        return self.out(torch.tanh(self.combine(torch.cat([context, dec], 2))))

    def encode(self, src):
        """Encoder outputs, and the decoder's first state: h from the last real token, c zeros."""
        enc, _ = self.encoder(self.embedding(src))
        last = (src != PAD).sum(1) - 1
        h = enc[torch.arange(src.size(0)), last].unsqueeze(0)
        return enc, (h.contiguous(), torch.zeros_like(h))

    def forward(self, src, tgt_in):
        enc, state = self.encode(src)
        dec, _ = self.decoder(self.embedding(tgt_in), state)
        return self.attend(dec, enc, src == PAD)

    @torch.no_grad()
    def greedy(self, src, max_len):
        enc, state = self.encode(src)
        tokens = torch.full((src.size(0), 1), BOS, dtype=torch.long)
        outs = []
        for _ in range(max_len):
            dec, state = self.decoder(self.embedding(tokens), state)
            tokens = self.attend(dec, enc, src == PAD).argmax(2)
            outs.append(tokens)
        return torch.cat(outs, 1)


def exact_match(model, src, answers, vocab, max_len):
    model.eval()
    itos = {i: c for c, i in vocab.items()}
    hits = 0
    for first in range(0, src.size(0), 256):
        out = model.greedy(src[first:first + 256], max_len)
        for row, answer in zip(out.tolist(), answers[first:first + 256]):
            text = []
            for i in row:
                if i == EOS:
                    break
                if i >= 4:
                    text.append(itos[i])
            hits += "".join(text) == answer
    model.train()
    return hits / src.size(0)


def parser(epochs, lr):
    """The options both QA twins take (the Transformer's twin adds its sizes)."""
    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=int, default=epochs)
    p.add_argument("--data", default="examples/qa/data")
    p.add_argument("--lr", type=float, default=lr)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--clip", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--no-cosine", dest="cosine", action="store_false")
    return p


def run(name, a, build):
    """Trains build(vocab_size) with teacher forcing as lunet's examples/qa/common.lua does,
    printing each epoch's loss, greedy exact match on the test pairs and training seconds."""
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    train, test = read_pairs(a.data + "/train.tsv"), read_pairs(a.data + "/test.tsv")
    vocab = build_vocab(train)
    src, tgt_in, tgt_out = encode(train, vocab)
    test_src, _, test_out = encode(test, vocab)
    model = build(len(vocab) + 4)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    # as lunet's --cosine (the default): the rate falls along a half cosine to 0 at the last epoch
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=a.epochs) if a.cosine else None
    n = src.size(0)
    print(f"{name}: {n} training and {len(test)} test pairs, {len(vocab) + 4} characters, "
          f"{sum(p.numel() for p in model.parameters())} parameters")
    for epoch in range(1, a.epochs + 1):
        t0 = time.perf_counter()
        perm = torch.randperm(n)
        total, steps = 0.0, 0
        for first in range(0, n, a.batch):
            idx = perm[first:first + a.batch]
            logits = model(src[idx], tgt_in[idx])
            loss = F.cross_entropy(logits.reshape(-1, logits.size(2)), tgt_out[idx].reshape(-1), ignore_index=PAD)
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), a.clip)
            opt.step()
            total, steps = total + loss.item(), steps + 1
        seconds = time.perf_counter() - t0
        if schedule:
            schedule.step()
        em = exact_match(model, test_src, [ans for _, ans in test], vocab, test_out.size(1) + 4)
        print(f"epoch {epoch}/{a.epochs}  loss {total / steps:.4f}  exact match {em:.4f}  ({seconds:.2f} s)",
              flush=True)


def main():
    p = parser(epochs=100, lr=2e-3)
    p.add_argument("--emb", type=int, default=64)
    p.add_argument("--hidden", type=int, default=128)
    a = p.parse_args()
    run("qa_seq2seq_torch", a, lambda vocab_size: Seq2Seq(vocab_size, a.emb, a.hidden))


if __name__ == "__main__":
    main()
