#!/usr/bin/python3
"""Python PyTorch eager reference for bench/train_loop.cpp: the same bert-mini-sized encoder
(4 layers, hidden 256, 4 heads, FFN 1024, dropout 0.1), AdamW, clipping, same batch and length.
Also trains scripts/ref/bert_ref.py's BERT (transformers' BertForSequenceClassification semantics)
from a config file, like bench_train_loop's "nlpc BERT + Trainer" loop.
Usage: /usr/bin/python3 scripts/bench/train_loop_ref.py BATCH SEQ STEPS THREADS [BERT_CONFIG]"""
import json
import os
import sys
import time

import torch

batch, seq, steps, threads = (int(a) for a in sys.argv[1:5])
bert_config = sys.argv[5] if len(sys.argv) > 5 else "configs/models/bert-mini.json"
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "ref"))
from bert_ref import ClassifierRef  # noqa: E402
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


def run(make=lambda: MiniEncoder(), call=lambda m, x: m(x)):
    torch.manual_seed(1)
    model = make().train()
    opt = torch.optim.AdamW(model.parameters(), lr=5e-5, weight_decay=0.01)
    t0 = time.perf_counter()
    for s in range(steps):
        x = ids[s * batch:(s + 1) * batch]
        y = torch.arange(s * batch, (s + 1) * batch) % 2
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(call(model, x), y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        loss.item()
    return batch * steps / (time.perf_counter() - t0)


print("python eager         %8.1f samples/s" % max(run(), run()))
with open(bert_config) as f:
    cfg = json.load(f)
cfg["id2label"] = {"0": "a", "1": "b"}
ones = torch.ones(batch, seq, dtype=torch.long)
bert = (lambda: ClassifierRef(cfg), lambda m, x: m(x, ones, torch.zeros_like(x))[0])
print("python eager BERT    %8.1f samples/s  (%s)" % (max(run(*bert), run(*bert)), bert_config))
