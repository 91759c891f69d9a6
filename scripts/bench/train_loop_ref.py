#!/usr/bin/python3
"""Python PyTorch eager reference for bench/train_loop.cpp: the same bert-mini-sized encoder
(4 layers, hidden 256, 4 heads, FFN 1024, dropout 0.1), AdamW, clipping, same batch and length.
Usage: /usr/bin/python3 scripts/bench/train_loop_ref.py BATCH SEQ STEPS THREADS"""
import sys
import time

import torch

batch, seq, steps, threads = (int(a) for a in sys.argv[1:5])
if threads > 0:
    torch.set_num_threads(threads)


class MiniEncoder(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embeddings = torch.nn.Embedding(8000, 256)
        layer = torch.nn.TransformerEncoderLayer(256, 4, dim_feedforward=1024, dropout=0.1)
        self.encoder = torch.nn.TransformerEncoder(layer, 4, enable_nested_tensor=False)
        self.classifier = torch.nn.Linear(256, 2)

    def forward(self, ids):
        x = self.embeddings(ids).transpose(0, 1)  # [seq, batch, 256]
        return self.classifier(self.encoder(x).mean(0))  # [batch, 2]


torch.manual_seed(0)
ids = torch.randint(5, 8000, (batch * steps, seq))


def run():
    torch.manual_seed(1)
    model = MiniEncoder().train()
    opt = torch.optim.AdamW(model.parameters(), lr=5e-5, weight_decay=0.01)
    t0 = time.perf_counter()
    for s in range(steps):
        x = ids[s * batch:(s + 1) * batch]
        y = torch.arange(s * batch, (s + 1) * batch) % 2
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        loss.item()
    return batch * steps / (time.perf_counter() - t0)


print("python eager         %8.1f samples/s" % max(run(), run()))
