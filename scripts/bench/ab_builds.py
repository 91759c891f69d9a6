#!/usr/bin/python3
"""Speed of two nlpc builds side by side (e.g. before and after a refactoring), measured
alternately in one run on the same inputs: the encoder forward (bench_encoder, bert-mini and
BERT-base shapes), T5 greedy generation (bench_t5_generate), Whisper encoder + decoder
(bench_whisper_rtf) and the training loop (bench_train_loop).

  scripts/bench/ab_builds.py OLD_DIR NEW_DIR [--rounds 3] [--threads 2]

OLD_DIR and NEW_DIR hold the bench_* programs of each build (a build folder, or a copy of its
bench_* files). Each round runs every benchmark with OLD then NEW, or NEW then OLD (alternating),
and the table reports the median of the rounds and NEW / OLD (> 1 = NEW is faster). Needs
/usr/bin/python3 with torch and numpy (Debian's python3-torch) for the inputs.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATASET = os.environ.get("DATASET", os.path.join(ROOT, "..", "shared", "datasets", "debian-packages-en", "test.csv"))
BERT_BASE = {"model_type": "bert", "vocab_size": 30522, "hidden_size": 768, "num_hidden_layers": 12,
             "num_attention_heads": 12, "intermediate_size": 3072, "hidden_act": "gelu",
             "max_position_embeddings": 512, "type_vocab_size": 2, "layer_norm_eps": 1e-12, "pad_token_id": 0}


def run(cmd, env=None):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env, cwd=ROOT)
    return out.stdout


def prepare(tmp, threads):
    cases = os.path.join(tmp, "cases")
    run(["/usr/bin/python3", "scripts/bench/encoder_util.py", "prepare", cases, DATASET])
    base_cfg = os.path.join(tmp, "bert-base.json")
    with open(base_cfg, "w") as f:
        json.dump(BERT_BASE, f)
    whisper = os.path.join(tmp, "whisper-tiny")
    run(["/usr/bin/python3", "scripts/ref/whisper_ref.py", "tiny", whisper])
    feats = os.path.join(whisper, "features.npy")
    run(["/usr/bin/python3", "-c",
         "import numpy as np; m=np.load('tests/fixtures/audio/jfk_mel.npy'); z=np.zeros((80,3000),np.float32); "
         f"z[:,:m.shape[1]]=m; np.save('{feats}', z)"])
    real = sorted(f for f in os.listdir(cases) if f.startswith("real"))[:1]
    return {"cases": [os.path.join(cases, "fixed.safetensors")] + [os.path.join(cases, r) for r in real],
            "bert_base": base_cfg, "whisper": whisper, "feats": feats}


def benchmarks(inp, threads):
    """name -> (args relative to the build folder, parser returning {metric: value}, higher_is_better)."""
    t = str(threads)

    def encoder(cfg, warm, iters):
        def parse(out):
            cases = json.loads(out)["cases"]
            return {os.path.basename(k): v for k, v in cases.items()}
        return (["bench_encoder", "--config", cfg, "--threads", t, "--warmup", str(warm), "--iters", str(iters)]
                + inp["cases"], parse, False)

    def t5(batch):
        return (["bench_t5_generate", str(batch), "32", "64", "1", "3", t],
                lambda out: {"tokens/s": json.loads(out.strip().splitlines()[-1])["tokens_per_s"]}, True)

    def whisper(out):
        m = re.search(r"encoder ([0-9.]+) ms/window, decoder ([0-9.]+) tokens/s", out)
        return {"encoder windows/s": 1000.0 / float(m.group(1)), "decoder tokens/s": float(m.group(2))}

    def train_loop(out):
        return {"Trainer samples/s": float(re.search(r"nlpc Trainer\s+([0-9.]+)", out).group(1)),
                "BERT + Trainer samples/s": float(re.search(r"nlpc BERT \+ Trainer\s+([0-9.]+)", out).group(1))}

    return {
        "encoder bert-mini (s/forward)": encoder(os.path.join(ROOT, "configs/models/bert-mini.json"), 2, 7),
        "encoder BERT-base (s/forward)": encoder(inp["bert_base"], 1, 2),
        "t5-small greedy, batch 1": t5(1),
        "t5-small greedy, batch 16": t5(16),
        "whisper-tiny": (["bench_whisper_rtf", inp["whisper"], inp["feats"], "100", "3", t], whisper, True),
        "train loop bert-mini 32x128": (["bench_train_loop", "32", "128", "20", t], train_loop, True),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", default="", help="comma-separated substrings of benchmark names to run")
    ap.add_argument("--skip", default="", help="comma-separated substrings of benchmark names to leave out")
    a = ap.parse_args()
    # Both builds under the OpenMP wait policy nlpc itself sets (src/cli/module.cpp): passive.
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(a.threads), OMP_NUM_THREADS=str(a.threads),
               OMP_WAIT_POLICY=os.environ.get("OMP_WAIT_POLICY", "PASSIVE"))

    def select(benches):
        if a.only:
            keys = a.only.split(",")
            benches = {k: v for k, v in benches.items() if any(s in k for s in keys)}
        if a.skip:
            keys = a.skip.split(",")
            benches = {k: v for k, v in benches.items() if not any(s in k for s in keys)}
        return benches

    with tempfile.TemporaryDirectory() as tmp:
        # the inputs (made with Python PyTorch) only when a selected benchmark reads them (the
        # encoder cases and the Whisper folder; T5 and the training loop make their own)
        dry = select(benchmarks({"cases": [], "bert_base": "", "whisper": "", "feats": ""}, a.threads))
        needs_inputs = any(name.startswith(("encoder", "whisper")) for name in dry)
        inp = prepare(tmp, a.threads) if needs_inputs else {"cases": [], "bert_base": "", "whisper": "", "feats": ""}
        benches = select(benchmarks(inp, a.threads))
        results = {name: {"old": {}, "new": {}} for name in benches}
        for r in range(a.rounds):
            for name, (args, parse, _) in benches.items():
                order = ["old", "new"] if r % 2 == 0 else ["new", "old"]
                for side in order:
                    prog = os.path.join(getattr(a, side), args[0])
                    vals = parse(run([prog] + args[1:], env))
                    for k, v in vals.items():
                        results[name][side].setdefault(k, []).append(v)
                    print(f"round {r + 1}/{a.rounds}: {name} {side} {vals}", file=sys.stderr, flush=True)
    print(f"| benchmark | metric | old (median of {a.rounds}) | new | new/old speed |")
    print("|---|---|---|---|---|")
    for name, (_, _, higher) in benches.items():
        for k in results[name]["old"]:
            o = statistics.median(results[name]["old"][k])
            n = statistics.median(results[name]["new"][k])
            speed = n / o if higher else o / n
            print(f"| {name} | {k} | {o:.4g} | {n:.4g} | {speed:.3f}x |")


if __name__ == "__main__":
    main()
