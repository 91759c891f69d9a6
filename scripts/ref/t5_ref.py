#!/usr/bin/python3
"""Independent plain-PyTorch reference for nlpc's T5 (HF T5ForConditionalGeneration semantics).

transformers is not available here, so this re-implements modeling_t5.py (relative position buckets,
RMS norm with fp32 variance, unscaled attention, relu / gated-gelu FFN, tied-embedding rescale) and
transformers' generation (greedy search, BeamSearchScorer + BeamHypotheses as in transformers 4.33,
MinLength / NoRepeatNGram logits processors, temperature / top-k / top-p warpers) from their
documented behaviour, with a tiny safetensors reader/writer.

Usage (Debian's interpreter, which has python3-torch):
  /usr/bin/python3 scripts/ref/t5_ref.py fixtures tests/fixtures/t5    # writes the golden fixtures
  /usr/bin/python3 scripts/ref/t5_ref.py bench ...                      # see scripts/bench/t5_generate.sh
"""
import json
import math
import os
import struct
import sys
import time

import torch

# ----------------------------------------------------------------------------- safetensors

_DT = {torch.float32: "F32", torch.int64: "I64"}
_DT_BACK = {"F32": torch.float32, "I64": torch.int64}


def save_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        raw = t.numpy().tobytes()
        header[name] = {"dtype": _DT[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def load_safetensors(path):
    import numpy as np
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        dt = _DT_BACK[info["dtype"]]
        np_dt = np.float32 if dt == torch.float32 else np.int64
        arr = np.frombuffer(data[8 + n + b:8 + n + e], dtype=np_dt).reshape(info["shape"])
        out[name] = torch.from_numpy(arr.copy())
    return out

# ----------------------------------------------------------------------------- model


def config_defaults(cfg):
    c = dict(vocab_size=32128, d_model=512, d_kv=64, d_ff=2048, num_layers=6, num_decoder_layers=None,
             num_heads=8, relative_attention_num_buckets=32, relative_attention_max_distance=128,
             dropout_rate=0.1, layer_norm_epsilon=1e-6, initializer_factor=1.0, feed_forward_proj="relu",
             tie_word_embeddings=True, pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)
    c.update(cfg)
    if c["num_decoder_layers"] is None:
        c["num_decoder_layers"] = c["num_layers"]
    parts = c["feed_forward_proj"].split("-")
    c["gated"] = parts[0] == "gated"
    c["act"] = "gelu_new" if c["feed_forward_proj"] == "gated-gelu" else parts[-1]
    return c


def act_fn(name, x):
    if name == "relu":
        return torch.relu(x)
    if name == "gelu":
        return torch.nn.functional.gelu(x)
    if name == "gelu_new":
        return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))
    if name in ("silu", "swish"):
        return torch.nn.functional.silu(x)
    raise ValueError(name)


def bucket(rel, bidirectional, num_buckets, max_distance):
    out = torch.zeros_like(rel)
    if bidirectional:
        num_buckets //= 2
        out += (rel > 0).long() * num_buckets
        rel = torch.abs(rel)
    else:
        rel = -torch.min(rel, torch.zeros_like(rel))
    max_exact = num_buckets // 2
    small = rel < max_exact
    large = max_exact + (torch.log(rel.float() / max_exact) / math.log(max_distance / max_exact)
                         * (num_buckets - max_exact)).long()
    large = torch.min(large, torch.full_like(large, num_buckets - 1))
    return out + torch.where(small, rel, large)


def rms(w, x, eps):
    var = x.float().pow(2).mean(-1, keepdim=True)
    return w * (x * torch.rsqrt(var + eps))


NEG = torch.finfo(torch.float32).min


class T5Ref:
    def __init__(self, cfg, W):
        self.c = config_defaults(cfg)
        self.W = W
        self.L = {}  # weight-name prefix -> module replacing `x @ W[prefix + ".weight"].t()` (int8 bench)

    def lin(self, p, x):
        m = self.L.get(p)
        return m(x) if m is not None else x @ self.W[p + ".weight"].t()

    def attn(self, p, x, kv, bias, cache=None, cross=False):
        c = self.c
        b, q_len = x.shape[:2]
        h, d = c["num_heads"], c["d_kv"]
        shape = lambda t: t.view(b, -1, h, d).transpose(1, 2)
        q = shape(self.lin(p + "q", x))
        if cross and cache is not None and "k" in cache:
            k, v = cache["k"], cache["v"]
        else:
            src = kv if cross else x
            k = shape(self.lin(p + "k", src))
            v = shape(self.lin(p + "v", src))
            if cache is not None and not cross and "k" in cache:
                k = torch.cat([cache["k"], k], 2)
                v = torch.cat([cache["v"], v], 2)
            if cache is not None:
                cache["k"], cache["v"] = k, v
        scores = q @ k.transpose(3, 2) + bias
        wts = torch.softmax(scores.float(), -1).type_as(scores)
        out = (wts @ v).transpose(1, 2).reshape(b, q_len, h * d)
        return self.lin(p + "o", out)

    def rel_bias(self, stack, q_len, k_len, past, bidirectional):
        c = self.c
        ctx = torch.arange(past, past + q_len)[:, None]
        mem = torch.arange(k_len)[None, :]
        bk = bucket(mem - ctx, bidirectional, c["relative_attention_num_buckets"], c["relative_attention_max_distance"])
        table = self.W[stack + ".block.0.layer.0.SelfAttention.relative_attention_bias.weight"]
        return table[bk].permute(2, 0, 1).unsqueeze(0)

    def ff(self, p, x):
        c = self.c
        if c["gated"]:
            hh = act_fn(c["act"], self.lin(p + "wi_0", x)) * self.lin(p + "wi_1", x)
        else:
            hh = act_fn(c["act"], self.lin(p + "wi", x))
        return self.lin(p + "wo", hh)

    def embed(self, ids):
        return self.W["shared.weight"][ids]

    def encode(self, ids, mask):
        c, W, eps = self.c, self.W, self.c["layer_norm_epsilon"]
        x = self.embed(ids)
        n = ids.shape[1]
        ext = (1.0 - mask[:, None, None, :].float()) * NEG
        bias = self.rel_bias("encoder", n, n, 0, True) + ext
        for i in range(c["num_layers"]):
            p = "encoder.block.%d.layer." % i
            x = x + self.attn(p + "0.SelfAttention.", rms(W[p + "0.layer_norm.weight"], x, eps), None, bias)
            x = x + self.ff(p + "1.DenseReluDense.", rms(W[p + "1.layer_norm.weight"], x, eps))
        return rms(W["encoder.final_layer_norm.weight"], x, eps)

    def decode(self, dec_ids, enc, enc_mask, cache=None):
        """dec_ids: all ids (cache None) or only the new ones (cache: dict with 'past' and per-layer dicts)."""
        c, W, eps = self.c, self.W, self.c["layer_norm_epsilon"]
        x = self.embed(dec_ids)
        b, t = dec_ids.shape
        past = cache["past"] if cache is not None else 0
        keep = (torch.arange(past + t)[None, :] <= torch.arange(past, past + t)[:, None]).float()
        ext = (1.0 - keep[None, None]) * NEG
        bias = self.rel_bias("decoder", t, past + t, past, False) + ext
        cross_bias = torch.zeros(1, c["num_heads"], t, enc.shape[1]) + (1.0 - enc_mask[:, None, None, :].float()) * NEG
        for i in range(c["num_decoder_layers"]):
            p = "decoder.block.%d.layer." % i
            lc = cache["layers"][i] if cache is not None else None
            x = x + self.attn(p + "0.SelfAttention.", rms(W[p + "0.layer_norm.weight"], x, eps), None, bias,
                              lc["self"] if lc else None)
            x = x + self.attn(p + "1.EncDecAttention.", rms(W[p + "1.layer_norm.weight"], x, eps), enc, cross_bias,
                              lc["cross"] if lc else None, cross=True)
            x = x + self.ff(p + "2.DenseReluDense.", rms(W[p + "2.layer_norm.weight"], x, eps))
        x = rms(W["decoder.final_layer_norm.weight"], x, eps)
        if cache is not None:
            cache["past"] += t
        if c["tie_word_embeddings"]:
            return (x * c["d_model"] ** -0.5) @ W["shared.weight"].t()
        return x @ W["lm_head.weight"].t()

    def new_cache(self):
        return {"past": 0, "layers": [{"self": {}, "cross": {}} for _ in range(self.c["num_decoder_layers"])]}

    def shift_right(self, labels):
        s = torch.zeros_like(labels)
        s[:, 1:] = labels[:, :-1]
        s[:, 0] = self.c["decoder_start_token_id"]
        return s.masked_fill(s == -100, self.c["pad_token_id"])

    def loss(self, logits, labels):
        return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1),
                                                 ignore_index=-100)

# ----------------------------------------------------------------------------- generation


class Stepper:
    """Gives next-token logits for all rows of `ids`, with or without a key/value cache."""

    def __init__(self, model, enc, enc_mask, use_cache):
        self.m, self.enc, self.mask, self.use_cache = model, enc, enc_mask, use_cache
        self.cache = model.new_cache() if use_cache else None

    def logits(self, ids):
        if self.use_cache:
            return self.m.decode(ids[:, -1:], self.enc, self.mask, self.cache)[:, -1, :]
        return self.m.decode(ids, self.enc, self.mask)[:, -1, :]

    def reorder(self, idx):
        if self.cache is not None:
            for lc in self.cache["layers"]:
                lc["self"]["k"] = lc["self"]["k"].index_select(0, idx)
                lc["self"]["v"] = lc["self"]["v"].index_select(0, idx)


def process_logits(ids, scores, o, eos):
    """HF logits processors: NoRepeatNGram then MinLength (both only set -inf)."""
    n = o.get("no_repeat_ngram_size", 0)
    cur_len = ids.shape[1]
    if n > 0 and cur_len + 1 >= n:
        for r in range(ids.shape[0]):
            toks = ids[r].tolist()
            seen = {}
            for s in range(len(toks) - n + 1):
                seen.setdefault(tuple(toks[s:s + n - 1]), []).append(toks[s + n - 1])
            banned = seen.get(tuple(toks[cur_len + 1 - n:cur_len]), [])
            scores[r, banned] = -float("inf")
    if o.get("min_length", 0) > 0 and cur_len < o["min_length"]:
        scores[:, eos] = -float("inf")
    return scores


def warp(scores, o, min_keep=1):
    t = o.get("temperature", 1.0)
    if t != 1.0:
        scores = scores / t
    k = o.get("top_k", 50)
    if k and k != 0:
        k = min(max(k, min_keep), scores.shape[-1])
        kth = torch.topk(scores, k)[0][..., -1, None]
        scores = scores.masked_fill(scores < kth, -float("inf"))
    p = o.get("top_p", 1.0)
    if p < 1.0:
        sorted_logits, sorted_idx = torch.sort(scores, descending=False)
        cum = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
        remove = cum <= (1 - p)
        remove[..., -min_keep:] = 0
        remove = remove.scatter(1, sorted_idx, remove)
        scores = scores.masked_fill(remove, -float("inf"))
    return scores


def max_len(o):
    return o["max_new_tokens"] + 1 if o.get("max_new_tokens") is not None else o.get("max_length", 20)


def greedy_or_sample(model, ids_in, mask, o, use_cache):
    c = model.c
    eos, pad = c["eos_token_id"], c["pad_token_id"]
    enc = model.encode(ids_in, mask)
    step = Stepper(model, enc, mask, use_cache)
    b = ids_in.shape[0]
    ids = torch.full((b, 1), c["decoder_start_token_id"], dtype=torch.long)
    unfinished = torch.ones(b, dtype=torch.long)
    gen = torch.Generator().manual_seed(o.get("seed", 0)) if o.get("do_sample") else None
    limit = max_len(o)
    while True:
        scores = process_logits(ids, step.logits(ids), o, eos)
        if o.get("do_sample"):
            probs = torch.softmax(warp(scores, o), dim=-1)
            nxt = torch.multinomial(probs, 1, generator=gen).squeeze(1)
        else:
            nxt = torch.argmax(scores, dim=-1)
        nxt = nxt * unfinished + pad * (1 - unfinished)
        ids = torch.cat([ids, nxt[:, None]], dim=-1)
        unfinished = unfinished * (nxt != eos).long()
        if unfinished.max() == 0 or ids.shape[1] >= limit:
            return ids


class Hyps:
    def __init__(self, num_beams, lp, early, max_length):
        self.n, self.lp, self.early, self.max_length = num_beams, lp, early, max_length
        self.beams, self.worst = [], 1e9

    def add(self, hyp, sum_logprobs):
        score = sum_logprobs / (hyp.shape[-1] ** self.lp)
        if len(self.beams) < self.n or score > self.worst:
            self.beams.append((score, hyp))
            if len(self.beams) > self.n:
                ranked = sorted([(s, i) for i, (s, _) in enumerate(self.beams)])
                del self.beams[ranked[0][1]]
                self.worst = ranked[1][0]
            else:
                self.worst = min(score, self.worst)

    def is_done(self, best_sum, cur_len):
        if len(self.beams) < self.n:
            return False
        if self.early is True:
            return True
        if self.early is False or self.lp <= 0.0:
            return self.worst >= best_sum / cur_len ** self.lp
        return self.worst >= best_sum / self.max_length ** self.lp


def beam_search(model, ids_in, mask, o, use_cache):
    c = model.c
    eos, pad = c["eos_token_id"], c["pad_token_id"]
    nb = o["num_beams"]
    b = ids_in.shape[0]
    limit = max_len(o)
    enc = model.encode(ids_in, mask).repeat_interleave(nb, dim=0)
    emask = mask.repeat_interleave(nb, dim=0)
    step = Stepper(model, enc, emask, use_cache)
    ids = torch.full((b * nb, 1), c["decoder_start_token_id"], dtype=torch.long)
    hyps = [Hyps(nb, o.get("length_penalty", 1.0), o.get("early_stopping", False), limit) for _ in range(b)]
    done = [False] * b
    beam_scores = torch.zeros(b, nb)
    beam_scores[:, 1:] = -1e9
    beam_scores = beam_scores.view(-1)
    while True:
        cur_len = ids.shape[1]
        scores = torch.log_softmax(step.logits(ids), dim=-1)
        scores = process_logits(ids, scores, o, eos)
        scores = scores + beam_scores[:, None]
        v = scores.shape[-1]
        top_s, top_t = torch.topk(scores.view(b, nb * v), 2 * nb, dim=1, largest=True, sorted=True)
        top_i = torch.div(top_t, v, rounding_mode="floor")
        top_t = top_t % v
        nbs = torch.zeros(b, nb)
        nbt = torch.zeros(b, nb, dtype=torch.long)
        nbi = torch.zeros(b, nb, dtype=torch.long)
        for bi in range(b):
            if done[bi]:
                nbt[bi, :] = pad
                continue
            k = 0
            for rank, (tok, sc, src) in enumerate(zip(top_t[bi], top_s[bi], top_i[bi])):
                row = bi * nb + src
                if tok.item() == eos:
                    if rank >= nb:
                        continue
                    hyps[bi].add(ids[row].clone(), sc.item())
                else:
                    nbs[bi, k], nbt[bi, k], nbi[bi, k] = sc, tok, row
                    k += 1
                if k == nb:
                    break
            done[bi] = done[bi] or hyps[bi].is_done(top_s[bi].max().item(), cur_len)
        beam_scores = nbs.view(-1)
        idx = nbi.view(-1)
        ids = torch.cat([ids[idx, :], nbt.view(-1, 1)], dim=-1)
        step.reorder(idx)
        if all(done) or ids.shape[1] >= limit:
            break
    for bi in range(b):
        if done[bi]:
            continue
        for j in range(nb):
            hyps[bi].add(ids[bi * nb + j], beam_scores[bi * nb + j].item())
    best = [sorted(h.beams, key=lambda x: x[0])[-1][1] for h in hyps]
    lens = [len(x) for x in best]
    width = min(max(lens) + 1, limit)
    out = torch.full((b, width), pad, dtype=torch.long)
    for i, hyp in enumerate(best):
        out[i, :lens[i]] = hyp
        if lens[i] < width:
            out[i, lens[i]] = eos
    return out


def generate(model, ids, mask, o, use_cache=True):
    with torch.no_grad():
        if o.get("num_beams", 1) > 1:
            return beam_search(model, ids, mask, o, use_cache)
        return greedy_or_sample(model, ids, mask, o, use_cache)

# ----------------------------------------------------------------------------- fixtures


def init_weights(cfg, seed):
    """HF T5PreTrainedModel._init_weights with initializer_factor 1.0."""
    c = config_defaults(cfg)
    g = torch.Generator().manual_seed(seed)
    dm, dff, h, dkv, V = c["d_model"], c["d_ff"], c["num_heads"], c["d_kv"], c["vocab_size"]
    W = {}
    nrm = lambda shape, std: torch.randn(*shape, generator=g) * std
    W["shared.weight"] = nrm((V, dm), 1.0)
    if not c["tie_word_embeddings"]:
        W["lm_head.weight"] = nrm((V, dm), 1.0)
    for stack, n in (("encoder", c["num_layers"]), ("decoder", c["num_decoder_layers"])):
        for i in range(n):
            layers = ["SelfAttention"] + (["EncDecAttention"] if stack == "decoder" else [])
            for j, name in enumerate(layers):
                p = "%s.block.%d.layer.%d." % (stack, i, j)
                W[p + name + ".q.weight"] = nrm((h * dkv, dm), (dm * dkv) ** -0.5)
                W[p + name + ".k.weight"] = nrm((h * dkv, dm), dm ** -0.5)
                W[p + name + ".v.weight"] = nrm((h * dkv, dm), dm ** -0.5)
                W[p + name + ".o.weight"] = nrm((dm, h * dkv), (h * dkv) ** -0.5)
                if i == 0 and name == "SelfAttention":
                    W[p + name + ".relative_attention_bias.weight"] = nrm((c["relative_attention_num_buckets"], h),
                                                                          dm ** -0.5)
                # layer norms are 1.0 at init; perturb them so that a wrong norm cannot pass the tests
                W[p + "layer_norm.weight"] = 1.0 + nrm((dm,), 0.1)
            p = "%s.block.%d.layer.%d." % (stack, i, len(layers))
            for wi in (["wi_0", "wi_1"] if c["gated"] else ["wi"]):
                W[p + "DenseReluDense.%s.weight" % wi] = nrm((dff, dm), dm ** -0.5)
            W[p + "DenseReluDense.wo.weight"] = nrm((dm, dff), dff ** -0.5)
            W[p + "layer_norm.weight"] = 1.0 + nrm((dm,), 0.1)
        W[stack + ".final_layer_norm.weight"] = 1.0 + nrm((dm,), 0.1)
    return W


TINY = dict(vocab_size=48, d_model=32, d_kv=8, d_ff=64, num_layers=2, num_decoder_layers=3, num_heads=4,
            relative_attention_num_buckets=8, relative_attention_max_distance=20, dropout_rate=0.1,
            layer_norm_epsilon=1e-6, pad_token_id=0, eos_token_id=1, decoder_start_token_id=0,
            model_type="t5", architectures=["T5ForConditionalGeneration"], is_encoder_decoder=True)

GEN_CASES = [
    {"name": "greedy", "max_new_tokens": 12},
    {"name": "greedy_min_len_no_repeat", "max_new_tokens": 14, "min_length": 9, "no_repeat_ngram_size": 2},
    {"name": "greedy_default_max_length"},
    {"name": "beam4", "num_beams": 4, "max_new_tokens": 12},
    {"name": "beam3_lp2_early", "num_beams": 3, "length_penalty": 2.0, "early_stopping": True,
     "max_new_tokens": 15, "no_repeat_ngram_size": 3, "min_length": 5},
    {"name": "beam4_never_lp0.5", "num_beams": 4, "length_penalty": 0.5, "early_stopping": "never",
     "max_new_tokens": 10},
    {"name": "beam2_lp-1", "num_beams": 2, "length_penalty": -1.0, "max_new_tokens": 9},
    {"name": "sample", "do_sample": True, "temperature": 0.8, "top_k": 10, "top_p": 0.9, "seed": 1234,
     "max_new_tokens": 12},
]


def make_fixture(out_dir, name, ffp, tied, seed, eos):
    # eos is a token these random models emit mid-sequence, so that greedy and beam search finish
    # hypotheses both early and at the length limit; embeddings are scaled down (x0.3) so that the
    # output is not dominated by the tied input embedding (which makes a random T5 repeat itself).
    cfg = dict(TINY, feed_forward_proj=ffp, tie_word_embeddings=tied, eos_token_id=eos)
    W = init_weights(cfg, seed)
    W["shared.weight"] *= 0.3
    if "lm_head.weight" in W:
        W["lm_head.weight"] *= 0.3
    m = T5Ref(cfg, W)
    d = os.path.join(out_dir, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    stored = dict(W)
    if tied:  # as older HF checkpoints do: the aliases of the shared matrix are stored too
        stored["encoder.embed_tokens.weight"] = W["shared.weight"]
        stored["decoder.embed_tokens.weight"] = W["shared.weight"]
    save_safetensors(os.path.join(d, "model.safetensors"), stored)

    g = torch.Generator().manual_seed(seed + 1)
    lens = [9, 6, 3, 8, 5]
    ids = torch.zeros(len(lens), 9, dtype=torch.long)
    mask = torch.zeros(len(lens), 9, dtype=torch.long)
    for r, n in enumerate(lens):
        ids[r, :n - 1] = torch.randint(2, cfg["vocab_size"], (n - 1,), generator=g)
        ids[r, n - 1] = eos  # as the tokenizer appends it
        mask[r, :n] = 1
    labels = torch.full((len(lens), 7), -100, dtype=torch.long)
    for r, n in enumerate([7, 4, 2, 7, 5]):
        labels[r, :n - 1] = torch.randint(2, cfg["vocab_size"], (n - 1,), generator=g)
        labels[r, n - 1] = eos
    with torch.no_grad():
        enc = m.encode(ids, mask)
        logits = m.decode(m.shift_right(labels), enc, mask)
        loss = m.loss(logits, labels)
    golden = {"input_ids": ids.tolist(), "attention_mask": mask.tolist(), "labels": labels.tolist(),
              "decoder_input_ids": m.shift_right(labels).tolist(),
              "encoder_hidden": [float(x) for x in enc.flatten()], "encoder_shape": list(enc.shape),
              "logits": [float(x) for x in logits.flatten()], "logits_shape": list(logits.shape),
              "loss": float(loss), "generate": []}
    for case in GEN_CASES:
        o = {k: v for k, v in case.items() if k != "name"}
        out = generate(m, ids, mask, o, use_cache=False)
        out_cached = generate(m, ids, mask, o, use_cache=True)
        assert torch.equal(out, out_cached), (name, case, out, out_cached)
        golden["generate"].append({"name": case["name"], "options": o, "sequences": out.tolist()})
        print(name, case["name"], out.tolist())
    with open(os.path.join(d, "golden.json"), "w") as f:
        json.dump(golden, f)


def main():
    torch.set_num_threads(1)
    if len(sys.argv) >= 3 and sys.argv[1] == "fixtures":
        make_fixture(sys.argv[2], "relu", "relu", True, 7, 26)
        make_fixture(sys.argv[2], "gated-gelu", "gated-gelu", False, 11, 8)
    elif len(sys.argv) >= 2 and sys.argv[1] == "bench":
        bench(sys.argv[2:])
    else:
        print(__doc__)
        sys.exit(2)


def quantize_blocks(m):
    """int8 dynamic quantization (as bert_ref.py's apply_precision: engine onednn, per-channel qint8
    weights) of the Linear layers inside the encoder / decoder blocks (q, k, v, o, wi / wi_0 / wi_1, wo).
    The reference keeps weights in a dict, so each one is wrapped in a bias-free nn.Linear (under a
    holder module, its dotted name with '.' -> '/'), quantized, and routed through T5Ref.lin; the
    embedding, the relative-attention bias, the RMS norms and the (tied) LM head stay fp32."""
    import torch.nn as nn
    engine = "onednn"
    if engine not in torch.backends.quantized.supported_engines:
        sys.exit(f"t5_ref: NLPC_BENCH_PRECISION=int8 needs the quantized engine {engine!r}; this torch "
                 f"{torch.__version__} supports {torch.backends.quantized.supported_engines}")
    torch.backends.quantized.engine = engine
    from torch.ao.nn.quantized.dynamic import Linear as DynamicQuantizedLinear
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic
    prefixes = [k[:-len(".weight")] for k in m.W if k.startswith(("encoder.block.", "decoder.block."))
                and k.rsplit(".", 2)[-2] in ("q", "k", "v", "o", "wi", "wi_0", "wi_1", "wo")]
    holder = nn.Module()
    for p in prefixes:
        w = m.W[p + ".weight"]
        lin = nn.Linear(w.shape[1], w.shape[0], bias=False)
        lin.weight = nn.Parameter(w, requires_grad=False)
        holder.add_module(p.replace(".", "/"), lin)
    names = [n for n, mod in holder.named_modules() if isinstance(mod, nn.Linear)]
    q = quantize_dynamic(holder.eval(), qconfig_spec={n: per_channel_dynamic_qconfig for n in names},
                         dtype=torch.qint8)
    done = {n: mod for n, mod in q.named_modules() if isinstance(mod, DynamicQuantizedLinear)}
    c = m.c
    per_block = 2 if c["gated"] else 1
    expect = c["num_layers"] * (4 + 1 + per_block) + c["num_decoder_layers"] * (8 + 1 + per_block)
    assert sorted(done) == sorted(names) and len(done) == expect, (sorted(done), expect)
    for n, mod in done.items():
        p = n.replace("/", ".")
        m.L[p] = mod
        del m.W[p + ".weight"]  # a path that missed T5Ref.lin would fail instead of running fp32
    print(f"t5_ref: int8 dynamic quantization (engine {engine}, per-channel qint8 weights) of "
          f"{len(done)} encoder/decoder block Linear modules (embeddings, norms, LM head fp32)", file=sys.stderr)


def bench(args):
    """bench BATCH NEW_TOKENS SRC_LEN CACHE(0/1) REPEATS [THREADS]: t5-small shape, random init, greedy
    without eos. NLPC_BENCH_PRECISION=int8 (default fp32) quantizes the block Linear layers (quantize_blocks)."""
    precision = os.environ.get("NLPC_BENCH_PRECISION", "fp32")
    if precision not in ("fp32", "int8"):
        sys.exit(f"t5_ref: unknown NLPC_BENCH_PRECISION {precision!r} (fp32 or int8)")
    batch, new, src, use_cache, reps = [int(a) for a in args[:5]]
    threads = int(args[5]) if len(args) > 5 else torch.get_num_threads()
    torch.set_num_threads(threads)
    cfg = dict(vocab_size=32128, d_model=512, d_kv=64, d_ff=2048, num_layers=6, num_heads=8,
               feed_forward_proj="relu", tie_word_embeddings=True)
    torch.manual_seed(0)
    W = init_weights(cfg, 0)
    m = T5Ref(cfg, W)
    if precision == "int8":
        quantize_blocks(m)
    m.c["eos_token_id"] = -1  # never stop early: every run generates exactly NEW tokens
    ids = torch.randint(2, 32000, (batch, src))
    mask = torch.ones(batch, src, dtype=torch.long)
    o = {"max_new_tokens": new}
    generate(m, ids, mask, {"max_new_tokens": 2}, bool(use_cache))  # warm-up
    best = best_cpu = float("inf")
    for _ in range(reps):
        t0, c0 = time.perf_counter(), time.process_time()
        out = generate(m, ids, mask, o, bool(use_cache))
        best_cpu = min(best_cpu, time.process_time() - c0)
        best = min(best, time.perf_counter() - t0)
    assert out.shape[1] == new + 1
    print(json.dumps({"impl": "python", "precision": precision, "batch": batch, "new_tokens": new, "cache": bool(use_cache),
                      "seconds": best, "tokens_per_s": batch * new / best, "cpu_seconds": best_cpu,
                      "tokens_per_cpu_s": batch * new / best_cpu}))


if __name__ == "__main__":
    main()
