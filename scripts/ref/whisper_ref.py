#!/usr/bin/python3
"""Independent reference for nlpc's Whisper model (tests/unit/test_whisper_model.cpp).

Reimplements the forward pass of transformers' WhisperForConditionalGeneration (modeling_whisper.py)
with plain torch functions over a name -> tensor dict (HF checkpoint keys), without K/V caches:
  encoder: gelu(conv1(x)), gelu(conv2 stride 2), + embed_positions (sinusoids), pre-LN layers
           (self_attn: q/v/out_proj with bias, k_proj without, q scaled by head_dim**-0.5; fc1-gelu-fc2),
           layer_norm
  decoder: embed_tokens + embed_positions[:T], pre-LN layers (causal self_attn, encoder_attn, ffn),
           layer_norm, logits = h @ embed_tokens.weight.T (proj_out tied)
Weights are random (seeded); biases and layer-norm parameters are random too, so that a mistake in
any of them shows. Greedy decoding recomputes the whole sequence at every step (no cache), so it
also checks nlpc's incremental K/V caches.

  /usr/bin/python3 scripts/ref/whisper_ref.py fixture       # -> tests/fixtures/whisper/tiny-random/
  /usr/bin/python3 scripts/ref/whisper_ref.py tiny OUT_DIR  # whisper-tiny dimensions (~150 MB, not committed)
"""
import json
import math
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

TINY = dict(vocab_size=51865, num_mel_bins=80, d_model=384, encoder_layers=4, encoder_attention_heads=6,
            encoder_ffn_dim=1536, decoder_layers=4, decoder_attention_heads=6, decoder_ffn_dim=1536,
            max_source_positions=1500, max_target_positions=448)
FIXTURE = dict(vocab_size=256, num_mel_bins=80, d_model=64, encoder_layers=2, encoder_attention_heads=4,
               encoder_ffn_dim=128, decoder_layers=2, decoder_attention_heads=4, decoder_ffn_dim=128,
               max_source_positions=50, max_target_positions=32)


def sinusoids(length, channels, max_timescale=10000):
    inc = math.log(max_timescale) / (channels // 2 - 1)
    inv = torch.exp(-inc * torch.arange(channels // 2))
    t = torch.arange(length).view(-1, 1) * inv.view(1, -1)
    return torch.cat([t.sin(), t.cos()], dim=1)


def random_weights(c, seed, std):
    g = torch.Generator().manual_seed(seed)
    d, W = c["d_model"], {}

    def rn(*shape, s=std):
        return torch.randn(*shape, generator=g) * s

    def linear(name, i, o, bias=True):
        W[name + ".weight"] = rn(o, i)
        if bias:
            W[name + ".bias"] = rn(o, s=0.05)

    def ln(name):
        W[name + ".weight"] = 1 + rn(d, s=0.1)
        W[name + ".bias"] = rn(d, s=0.05)

    def attn(name):
        linear(name + ".k_proj", d, d, bias=False)
        linear(name + ".v_proj", d, d)
        linear(name + ".q_proj", d, d)
        linear(name + ".out_proj", d, d)

    e = "model.encoder."
    W[e + "conv1.weight"] = rn(d, c["num_mel_bins"], 3)
    W[e + "conv1.bias"] = rn(d, s=0.05)
    W[e + "conv2.weight"] = rn(d, d, 3)
    W[e + "conv2.bias"] = rn(d, s=0.05)
    W[e + "embed_positions.weight"] = sinusoids(c["max_source_positions"], d)
    for i in range(c["encoder_layers"]):
        p = f"{e}layers.{i}."
        attn(p + "self_attn")
        ln(p + "self_attn_layer_norm")
        linear(p + "fc1", d, c["encoder_ffn_dim"])
        linear(p + "fc2", c["encoder_ffn_dim"], d)
        ln(p + "final_layer_norm")
    ln(e + "layer_norm")
    dd = "model.decoder."
    W[dd + "embed_tokens.weight"] = rn(c["vocab_size"], d, s=std / 4)
    W[dd + "embed_positions.weight"] = rn(c["max_target_positions"], d, s=1.0)  # position-dependent greedy output
    for i in range(c["decoder_layers"]):
        p = f"{dd}layers.{i}."
        attn(p + "self_attn")
        ln(p + "self_attn_layer_norm")
        attn(p + "encoder_attn")
        ln(p + "encoder_attn_layer_norm")
        linear(p + "fc1", d, c["decoder_ffn_dim"])
        linear(p + "fc2", c["decoder_ffn_dim"], d)
        ln(p + "final_layer_norm")
    ln(dd + "layer_norm")
    return W


def attention(W, p, x, src, heads, causal):
    b, t, d = x.shape
    hd = d // heads
    q = F.linear(x, W[p + "q_proj.weight"], W[p + "q_proj.bias"]) * hd ** -0.5
    k = F.linear(src, W[p + "k_proj.weight"])
    v = F.linear(src, W[p + "v_proj.weight"], W[p + "v_proj.bias"])
    split = lambda z: z.view(b, -1, heads, hd).transpose(1, 2)
    q, k, v = split(q), split(k), split(v)
    s = q @ k.transpose(-1, -2)
    if causal:
        s = s.masked_fill(torch.ones(t, t, dtype=torch.bool).triu(1), float("-inf"))
    o = (s.softmax(-1) @ v).transpose(1, 2).reshape(b, t, d)
    return F.linear(o, W[p + "out_proj.weight"], W[p + "out_proj.bias"])


def layer_norm(W, p, x):
    return F.layer_norm(x, (x.shape[-1],), W[p + ".weight"], W[p + ".bias"], 1e-5)


def ffn(W, p, x):
    return F.linear(F.gelu(F.linear(x, W[p + "fc1.weight"], W[p + "fc1.bias"])), W[p + "fc2.weight"], W[p + "fc2.bias"])


def encoder_input(W, feats):
    """The encoder's two GELU convolutions and sinusoidal positions: [batch, mels, frames] -> [batch, frames / 2, d]."""
    e = "model.encoder."
    x = F.gelu(F.conv1d(feats, W[e + "conv1.weight"], W[e + "conv1.bias"], padding=1))
    x = F.gelu(F.conv1d(x, W[e + "conv2.weight"], W[e + "conv2.bias"], stride=2, padding=1))
    return x.permute(0, 2, 1) + W[e + "embed_positions.weight"]


def encode(W, c, feats):
    e = "model.encoder."
    x = encoder_input(W, feats)
    for i in range(c["encoder_layers"]):
        p = f"{e}layers.{i}."
        x = x + attention(W, p + "self_attn.", layer_norm(W, p + "self_attn_layer_norm", x), layer_norm(W, p + "self_attn_layer_norm", x), c["encoder_attention_heads"], False)
        x = x + ffn(W, p, layer_norm(W, p + "final_layer_norm", x))
    return layer_norm(W, e + "layer_norm", x)


def decode(W, c, tokens, enc):
    dd = "model.decoder."
    t = tokens.shape[1]
    x = F.embedding(tokens, W[dd + "embed_tokens.weight"]) + W[dd + "embed_positions.weight"][:t]
    for i in range(c["decoder_layers"]):
        p = f"{dd}layers.{i}."
        h = layer_norm(W, p + "self_attn_layer_norm", x)
        x = x + attention(W, p + "self_attn.", h, h, c["decoder_attention_heads"], True)
        x = x + attention(W, p + "encoder_attn.", layer_norm(W, p + "encoder_attn_layer_norm", x), enc, c["decoder_attention_heads"], False)
        x = x + ffn(W, p, layer_norm(W, p + "final_layer_norm", x))
    x = layer_norm(W, dd + "layer_norm", x)
    return x @ W[dd + "embed_tokens.weight"].T


def greedy(W, c, enc, prefix, steps):
    toks = list(prefix)
    for _ in range(steps):
        logits = decode(W, c, torch.tensor([toks]), enc)
        toks.append(int(logits[0, -1].argmax()))
    return toks[len(prefix):]


def write_safetensors(path, W):
    header, offset, blobs = {}, 0, []
    for name in sorted(W):
        a = W[name].contiguous().numpy().astype("<f4")
        b = a.tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def config_json(c):
    j = dict(model_type="whisper", architectures=["WhisperForConditionalGeneration"], activation_function="gelu",
             scale_embedding=False, pad_token_id=c["vocab_size"] - 1, bos_token_id=c["vocab_size"] - 1,
             eos_token_id=c["vocab_size"] - 1, decoder_start_token_id=c["vocab_size"] - 2, is_encoder_decoder=True)
    if c["vocab_size"] == 51865:
        j.update(pad_token_id=50257, bos_token_id=50257, eos_token_id=50257, decoder_start_token_id=50258)
    j.update(c)
    return j


def main():
    torch.set_num_threads(2)
    mode = sys.argv[1] if len(sys.argv) > 1 else "fixture"
    if mode == "fixture":
        c, out, std, seed = FIXTURE, os.path.join(ROOT, "tests", "fixtures", "whisper", "tiny-random"), 0.15, 1234
    else:
        c, out, std, seed = TINY, sys.argv[2], 0.05, 4321
    os.makedirs(out, exist_ok=True)
    W = random_weights(c, seed, std)
    mel = np.load(os.path.join(ROOT, "tests", "fixtures", "audio", "jfk_mel.npy"))  # [80, 1100]
    frames = 2 * c["max_source_positions"]
    feats = np.zeros((1, 80, frames), np.float32)
    n = min(frames, mel.shape[1])
    feats[0, :, :n] = mel[:, :n]
    feats_t = torch.from_numpy(feats)
    with torch.no_grad():
        t0 = time.perf_counter()
        enc = encode(W, c, feats_t)
        t_enc = time.perf_counter() - t0
        v = c["vocab_size"]
        prefix = [50258, 50259, 50359, 50363] if v == 51865 else [v - 2, 5, 6, 7]
        teacher = prefix + [(37 * i + 11) % (v - 3) for i in range(6)]
        logits = decode(W, c, torch.tensor([teacher]), enc)
        steps = 20 if v == 51865 else 12
        t0 = time.perf_counter()
        toks = greedy(W, c, enc, prefix, steps)
        t_dec = time.perf_counter() - t0
    write_safetensors(os.path.join(out, "model.safetensors"), W)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config_json(c), f, indent=2)
    np.save(os.path.join(out, "features.npy"), feats)
    np.save(os.path.join(out, "encoder_out.npy"), enc.numpy().astype(np.float32))
    np.save(os.path.join(out, "logits.npy"), logits.numpy().astype(np.float32))
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump({"teacher_tokens": teacher, "prefix": prefix, "greedy_tokens": toks,
                   "python_encoder_s": t_enc, "python_greedy_s_no_cache": t_dec}, f, indent=1)
    print(f"{out}: encoder {tuple(enc.shape)} in {t_enc:.3f}s, logits {tuple(logits.shape)}, greedy {toks} in {t_dec:.3f}s")


if __name__ == "__main__":
    main()
