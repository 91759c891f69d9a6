#!/usr/bin/python3
"""Helpers for scripts/bench/encoder.sh: input cases and the report table."""
import csv
import json
import os
import re
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "ref"))
import bert_ref  # noqa: E402


NREAL = 4


def prepare(out, dataset, vocab=30522):
    os.makedirs(out, exist_ok=True)
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(1000, vocab, (32, 128), generator=g)
    bert_ref.st_save(os.path.join(out, "fixed.safetensors"),
                     {"input_ids": ids, "attention_mask": torch.ones(32, 128, dtype=torch.int64)})
    # Real texts: the first 256 descriptions of the test split, 8 batches of 32 in file order, each
    # padded to its longest member (dynamic padding). Word pieces are approximated by splitting on
    # words/punctuation and hashing into the vocabulary ([CLS] ... [SEP], at most 128 tokens), which
    # gives the length distribution a WordPiece tokenizer produces within a few percent.
    with open(dataset, newline="") as f:
        rows = [r["summary"] + ". " + r["text"] for r in csv.DictReader(f)][:32 * NREAL]
    for b in range(NREAL):
        seqs = []
        for text in rows[b * 32:(b + 1) * 32]:
            toks = re.findall(r"\w+|[^\w\s]", text.lower())
            seqs.append([101] + [1000 + hash(t) % (vocab - 1000) for t in toks][:126] + [102])
        s = max(len(x) for x in seqs)
        ids = torch.zeros(len(seqs), s, dtype=torch.int64)
        mask = torch.zeros(len(seqs), s, dtype=torch.int64)
        for i, x in enumerate(seqs):
            ids[i, :len(x)] = torch.tensor(x)
            mask[i, :len(x)] = 1
        bert_ref.st_save(os.path.join(out, f"real{b}.safetensors"), {"input_ids": ids, "attention_mask": mask})


def flops(cfg, shape):
    b, s = shape
    h, i, layers = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"]
    return layers * (b * s * (8 * h * h + 4 * h * i) + 4 * b * s * s * h)


def report(cfg_path, name, nlpc_runs, py_runs, case_dir):
    cfg = json.load(open(cfg_path))
    nl = [json.loads(x) for x in nlpc_runs]
    py = [json.loads(x) for x in py_runs]
    peak = max(r["sgemm_gflops"] for r in nl)
    rows = []
    real = sorted(os.path.basename(p)[:-12] for p in nl[0]["cases"] if os.path.basename(p).startswith("real"))
    groups = {"batch 32 x seq 128": ["fixed"], f"real texts, {len(real)} batches of 32 (dynamic padding)": real}
    for label, keys in groups.items():
        paths = [os.path.join(case_dir, k + ".safetensors") for k in keys]
        t_nl = sum(min(r["cases"][p] for r in nl) for p in paths)
        t_py = sum(min(r[p] for r in py) for p in paths)
        fl, n = 0, 0
        for p in paths:
            t = bert_ref.st_load(p)["input_ids"]
            fl += flops(cfg, tuple(t.shape))
            n += t.shape[0]
        rows.append(f"| {name} | {label} | {n / t_nl:.1f} | {n / t_py:.1f} | {t_py / t_nl:.2f}x | "
                    f"{fl / t_nl / 1e9:.1f} ({100 * fl / t_nl / 1e9 / peak:.0f}%) | "
                    f"{fl / t_py / 1e9:.1f} ({100 * fl / t_py / 1e9 / peak:.0f}%) |")
    print(f"<!-- {name}: 1024^2 SGEMM peak {peak:.1f} GFLOP/s, threads {nl[0]['threads']} -->")
    print("\n".join(rows))


if __name__ == "__main__":
    if sys.argv[1] == "prepare":
        prepare(sys.argv[2], sys.argv[3])
    else:
        cfg, name, case_dir = sys.argv[2], sys.argv[3], sys.argv[4]
        lines = open(sys.argv[5]).read().split("\n")
        nl = [x[5:] for x in lines if x.startswith("NLPC ")]
        py = [x[3:] for x in lines if x.startswith("PY ")]
        report(cfg, name, nl, py, case_dir)
