#!/usr/bin/python3
"""PyTorch eager counterpart of bench/whisper_rtf.cpp: same model (safetensors), same features, same
greedy loop with K/V caches (self-attention caches grow, cross-attention K/V computed once).
Usage: whisper_rtf.py MODEL_DIR FEATURES.npy TOKENS REPEATS THREADS"""
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "ref"))
import whisper_ref as ref  # noqa: E402
from whisper_decode_ref import load_safetensors  # noqa: E402


def attn_cached(W, p, x, heads, cache, key, src=None):
    b, t, d = x.shape
    hd = d // heads
    split = lambda z: z.view(b, -1, heads, hd).transpose(1, 2)
    q = split(F.linear(x, W[p + "q_proj.weight"], W[p + "q_proj.bias"]) * hd ** -0.5)
    if src is not None:
        if key not in cache:
            cache[key] = (split(F.linear(src, W[p + "k_proj.weight"])), split(F.linear(src, W[p + "v_proj.weight"], W[p + "v_proj.bias"])))
        k, v = cache[key]
    else:
        k, v = split(F.linear(x, W[p + "k_proj.weight"])), split(F.linear(x, W[p + "v_proj.weight"], W[p + "v_proj.bias"]))
        if key in cache:
            k, v = torch.cat([cache[key][0], k], 2), torch.cat([cache[key][1], v], 2)
        cache[key] = (k, v)
    s = q @ k.transpose(-1, -2)
    if src is None and t > 1:
        s = s.masked_fill(torch.ones(t, k.shape[2], dtype=torch.bool).triu(k.shape[2] - t + 1), float("-inf"))
    o = (s.softmax(-1) @ v).transpose(1, 2).reshape(b, t, d)
    return F.linear(o, W[p + "out_proj.weight"], W[p + "out_proj.bias"])


def decode_cached(W, c, tokens, enc, cache):
    dd = "model.decoder."
    past = cache.get("len", 0)
    t = tokens.shape[1]
    x = F.embedding(tokens, W[dd + "embed_tokens.weight"]) + W[dd + "embed_positions.weight"][past:past + t]
    for i in range(c["decoder_layers"]):
        p = f"{dd}layers.{i}."
        x = x + attn_cached(W, p + "self_attn.", ref.layer_norm(W, p + "self_attn_layer_norm", x), c["decoder_attention_heads"], cache, ("s", i))
        x = x + attn_cached(W, p + "encoder_attn.", ref.layer_norm(W, p + "encoder_attn_layer_norm", x), c["decoder_attention_heads"], cache, ("c", i), src=enc)
        x = x + ref.ffn(W, p, ref.layer_norm(W, p + "final_layer_norm", x))
    cache["len"] = past + t
    return ref.layer_norm(W, dd + "layer_norm", x) @ W[dd + "embed_tokens.weight"].T


def main():
    model_dir, feats, tokens, repeats, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    torch.set_num_threads(threads)
    c = json.load(open(os.path.join(model_dir, "config.json")))
    W = load_safetensors(os.path.join(model_dir, "model.safetensors"))
    x = torch.from_numpy(np.load(feats))[:, :2 * c["max_source_positions"]].unsqueeze(0)
    with torch.no_grad():
        enc = ref.encode(W, c, x)
        enc_best = dec_best = 1e9
        for _ in range(repeats):
            t0 = time.perf_counter()
            enc = ref.encode(W, c, x)
            enc_best = min(enc_best, time.perf_counter() - t0)
            cache = {}
            t0 = time.perf_counter()
            logits = decode_cached(W, c, torch.tensor([[c["decoder_start_token_id"], 50259, 50359, 50363]]), enc, cache)
            for _ in range(tokens):
                nxt = int(logits[0, -1].argmax())
                logits = decode_cached(W, c, torch.tensor([[nxt]]), enc, cache)
            dec_best = min(dec_best, time.perf_counter() - t0)
    print(f"python threads {threads}: encoder {enc_best * 1000:.1f} ms/window, decoder {tokens / dec_best:.1f} tokens/s "
          f"({tokens} tokens, best of {repeats}; torch {torch.__version__})")


if __name__ == "__main__":
    main()
