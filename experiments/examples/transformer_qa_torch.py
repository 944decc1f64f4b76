"""PyTorch twin of examples/transformer_qa.lua: the same small Transformer encoder-decoder
(one embedding scaled by sqrt(d_model), sinusoidal positions with dropout, post-norm
encoder and decoder layers, a causal mask, padding masks on the question), the same
optimiser and schedule, trained on the same corpus files with the loop of
qa_seq2seq_torch.py; prints the loss, greedy exact match on the test pairs and seconds per
epoch.

    /usr/bin/python3 experiments/examples/transformer_qa_torch.py [--epochs 30] [--data examples/qa/data]
                     [--threads 1] [--no-cosine]

Write the corpus first if needed: ./lunet examples/qa/make_corpus.lua
"""
import math

import torch
import torch.nn as nn

from qa_seq2seq_torch import BOS, PAD, parser, run


class PositionalEncoding(nn.Module):
    """x + sin/cos positions (batch first), then dropout, as lunet's nn.PositionalEncoding."""

    def __init__(self, d, dropout, max_len=512):
        super().__init__()
        pos = torch.arange(max_len).unsqueeze(1)
        div = torch.exp(torch.arange(0, d, 2) * (-math.log(10000.0) / d))
        pe = torch.zeros(max_len, d)
        pe[:, 0::2] = torch.sin(pos * div)
        pe[:, 1::2] = torch.cos(pos * div)
        self.register_buffer("pe", pe)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        return self.dropout(x + self.pe[: x.size(1)])


class TransformerQA(nn.Module):
    def __init__(self, vocab_size, d, heads, layers, ff, dropout):
        super().__init__()
        self.scale = math.sqrt(d)
        self.embedding = nn.Embedding(vocab_size, d, padding_idx=PAD)
        self.position = PositionalEncoding(d, dropout)
        self.encoder = nn.TransformerEncoder(
            nn.TransformerEncoderLayer(d, heads, ff, dropout, batch_first=True), layers)
        self.decoder = nn.TransformerDecoder(
            nn.TransformerDecoderLayer(d, heads, ff, dropout, batch_first=True), layers)
        self.out = nn.Linear(d, vocab_size)

    def embed(self, ids):
        return self.position(self.embedding(ids) * self.scale)

    def decode(self, tgt_in, memory, src_pad):
        causal = nn.Transformer.generate_square_subsequent_mask(tgt_in.size(1))
        return self.out(self.decoder(self.embed(tgt_in), memory, tgt_mask=causal,
                                     memory_key_padding_mask=src_pad))

    def forward(self, src, tgt_in):
        src_pad = src == PAD
        return self.decode(tgt_in, self.encoder(self.embed(src), src_key_padding_mask=src_pad), src_pad)

    @torch.no_grad()
    def greedy(self, src, max_len):
        """The decoder runs over the whole prefix at each step, as in lunet's example."""
        src_pad = src == PAD
        memory = self.encoder(self.embed(src), src_key_padding_mask=src_pad)
        prefix = torch.full((src.size(0), 1), BOS, dtype=torch.long)
        for _ in range(max_len):
            nxt = self.decode(prefix, memory, src_pad)[:, -1].argmax(1, keepdim=True)
            prefix = torch.cat([prefix, nxt], 1)
        return prefix[:, 1:]


def main():
    p = parser(epochs=30, lr=1e-3)
    p.add_argument("--d-model", type=int, default=128)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--ff", type=int, default=256)
    p.add_argument("--dropout", type=float, default=0.1)
    a = p.parse_args()
    run("transformer_qa_torch", a,
        lambda vocab_size: TransformerQA(vocab_size, a.d_model, a.heads, a.layers, a.ff, a.dropout))


if __name__ == "__main__":
    main()
