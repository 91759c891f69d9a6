#!/usr/bin/python3
"""PyTorch eager counterpart of bench/whisper_rtf.cpp: same model (safetensors), same features, same
greedy loop with K/V caches (self-attention caches grow, cross-attention K/V computed once).
Usage: whisper_rtf.py MODEL_DIR FEATURES.npy TOKENS REPEATS THREADS
NLPC_BENCH_PRECISION=int8 (default fp32): int8 dynamic quantization, as scripts/ref/bert_ref.py's
apply_precision (engine onednn, per-channel qint8 weights), of the Linear layers of the encoder and
decoder layers (q/k/v/out_proj, fc1, fc2); convolutions, embeddings, layer norms and the tied
proj_out stay fp32."""
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

LIN = {}  # weight-name prefix -> int8 dynamic-quantized module used instead of F.linear (quantize_layers)


def linear(W, p, x):
    m = LIN.get(p)
    return m(x) if m is not None else F.linear(x, W[p + ".weight"], W.get(p + ".bias"))


def quantize_layers(W, c):
    """Wraps each layer Linear weight (and bias; k_proj has none) of the W dict in an nn.Linear under a
    holder module (its dotted name with '.' -> '/'), quantizes those with quantize_dynamic and routes
    them through linear() via LIN; their fp32 weights leave W, so a missed call site fails loudly."""
    engine = "onednn"
    if engine not in torch.backends.quantized.supported_engines:
        sys.exit(f"whisper_rtf: NLPC_BENCH_PRECISION=int8 needs the quantized engine {engine!r}; this torch "
                 f"{torch.__version__} supports {torch.backends.quantized.supported_engines}")
    torch.backends.quantized.engine = engine
    from torch.ao.nn.quantized.dynamic import Linear as DynamicQuantizedLinear
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic
    nn = torch.nn
    prefixes = [k[:-len(".weight")] for k in W if k.startswith(("model.encoder.layers.", "model.decoder.layers."))
                and k.endswith(("_proj.weight", ".fc1.weight", ".fc2.weight"))]
    holder = nn.Module()
    for p in prefixes:
        w, b = W[p + ".weight"], W.get(p + ".bias")
        lin = nn.Linear(w.shape[1], w.shape[0], bias=b is not None)
        lin.weight = nn.Parameter(w, requires_grad=False)
        if b is not None:
            lin.bias = nn.Parameter(b, requires_grad=False)
        holder.add_module(p.replace(".", "/"), lin)
    names = [n for n, m in holder.named_modules() if isinstance(m, nn.Linear)]
    q = quantize_dynamic(holder.eval(), qconfig_spec={n: per_channel_dynamic_qconfig for n in names}, dtype=torch.qint8)
    done = {n: m for n, m in q.named_modules() if isinstance(m, DynamicQuantizedLinear)}
    expect = 6 * c["encoder_layers"] + 10 * c["decoder_layers"]
    assert sorted(done) == sorted(names) and len(done) == expect, (sorted(done), expect)
    for n, m in done.items():
        p = n.replace("/", ".")
        LIN[p] = m
        W.pop(p + ".weight")
        W.pop(p + ".bias", None)
    print(f"whisper_rtf: int8 dynamic quantization (engine {engine}, per-channel qint8 weights) of {len(done)} "
          f"encoder/decoder layer Linear modules (convs, embeddings, norms, proj_out fp32)", file=sys.stderr)


def attn_cached(W, p, x, heads, cache, key, src=None):
    b, t, d = x.shape
    hd = d // heads
    split = lambda z: z.view(b, -1, heads, hd).transpose(1, 2)
    q = split(linear(W, p + "q_proj", x) * hd ** -0.5)
    if src is not None:
        if key not in cache:
            cache[key] = (split(linear(W, p + "k_proj", src)), split(linear(W, p + "v_proj", src)))
        k, v = cache[key]
    else:
        k, v = split(linear(W, p + "k_proj", x)), split(linear(W, p + "v_proj", x))
        if key in cache:
            k, v = torch.cat([cache[key][0], k], 2), torch.cat([cache[key][1], v], 2)
        cache[key] = (k, v)
    s = q @ k.transpose(-1, -2)
    if src is None and t > 1:
        s = s.masked_fill(torch.ones(t, k.shape[2], dtype=torch.bool).triu(k.shape[2] - t + 1), float("-inf"))
    o = (s.softmax(-1) @ v).transpose(1, 2).reshape(b, t, d)
    return linear(W, p + "out_proj", o)


def ffn(W, p, x):
    return linear(W, p + "fc2", F.gelu(linear(W, p + "fc1", x)))


def encode(W, c, feats):
    """whisper_ref.encode, with the layers' Linear calls through linear() (self-attention = attn_cached
    with src = its own input and a throw-away cache: no mask, same operations)."""
    e = "model.encoder."
    x = ref.encoder_input(W, feats)
    for i in range(c["encoder_layers"]):
        p = f"{e}layers.{i}."
        h = ref.layer_norm(W, p + "self_attn_layer_norm", x)
        x = x + attn_cached(W, p + "self_attn.", h, c["encoder_attention_heads"], {}, "enc", src=h)
        x = x + ffn(W, p, ref.layer_norm(W, p + "final_layer_norm", x))
    return ref.layer_norm(W, e + "layer_norm", x)


def decode_cached(W, c, tokens, enc, cache):
    dd = "model.decoder."
    past = cache.get("len", 0)
    t = tokens.shape[1]
    x = F.embedding(tokens, W[dd + "embed_tokens.weight"]) + W[dd + "embed_positions.weight"][past:past + t]
    for i in range(c["decoder_layers"]):
        p = f"{dd}layers.{i}."
        x = x + attn_cached(W, p + "self_attn.", ref.layer_norm(W, p + "self_attn_layer_norm", x), c["decoder_attention_heads"], cache, ("s", i))
        x = x + attn_cached(W, p + "encoder_attn.", ref.layer_norm(W, p + "encoder_attn_layer_norm", x), c["decoder_attention_heads"], cache, ("c", i), src=enc)
        x = x + ffn(W, p, ref.layer_norm(W, p + "final_layer_norm", x))
    cache["len"] = past + t
    return ref.layer_norm(W, dd + "layer_norm", x) @ W[dd + "embed_tokens.weight"].T


def main():
    model_dir, feats, tokens, repeats, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    precision = os.environ.get("NLPC_BENCH_PRECISION", "fp32")
    if precision not in ("fp32", "int8"):
        sys.exit(f"whisper_rtf: unknown NLPC_BENCH_PRECISION {precision!r} (fp32 or int8)")
    torch.set_num_threads(threads)
    c = json.load(open(os.path.join(model_dir, "config.json")))
    W = load_safetensors(os.path.join(model_dir, "model.safetensors"))
    if precision == "int8":
        quantize_layers(W, c)
    x = torch.from_numpy(np.load(feats))[:, :2 * c["max_source_positions"]].unsqueeze(0)
    with torch.no_grad():
        enc = encode(W, c, x)
        enc_best = dec_best = 1e9
        for _ in range(repeats):
            t0 = time.perf_counter()
            enc = encode(W, c, x)
            enc_best = min(enc_best, time.perf_counter() - t0)
            cache = {}
            t0 = time.perf_counter()
            logits = decode_cached(W, c, torch.tensor([[c["decoder_start_token_id"], 50259, 50359, 50363]]), enc, cache)
            for _ in range(tokens):
                nxt = int(logits[0, -1].argmax())
                logits = decode_cached(W, c, torch.tensor([[nxt]]), enc, cache)
            dec_best = min(dec_best, time.perf_counter() - t0)
    print(f"python {precision} threads {threads}: encoder {enc_best * 1000:.1f} ms/window, decoder {tokens / dec_best:.1f} tokens/s "
          f"({tokens} tokens, best of {repeats}; torch {torch.__version__})")


if __name__ == "__main__":
    main()
