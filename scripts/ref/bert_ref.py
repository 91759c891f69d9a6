#!/usr/bin/python3
"""Independent reference for nlpc's BERT-family encoders and classification heads.

Plain PyTorch (Debian's python3-torch 1.13), no transformers: the forward semantics of
transformers' modeling_bert.py (BertForSequenceClassification, eager attention) and
modeling_distilbert.py (DistilBertForSequenceClassification) re-implemented, with the same
parameter names, plus nlpc's documented MLP head. safetensors files are read and written by the
tiny reader/writer below (no safetensors package).

Commands
  make-fixtures OUT       random tiny BERT + DistilBERT classifier folders, and golden outputs
                          (padded batch + each input alone) in OUT/<name>/golden.safetensors
  check-nlpc DIR          DIR holds a folder saved by nlpc plus nlpc_outputs.safetensors (its inputs
                          and logits); writes DIR/python_logits.safetensors and prints the max diff
  bench ...               eager timing of the same architecture (used by scripts/bench/encoder.sh)

check-nlpc and bench take --precision fp32|int8 (default fp32). int8 is PyTorch's eager dynamic
quantization as a user applies it: engine 'onednn', quantize_dynamic with per_channel_dynamic_qconfig
(qint8 per-output-channel symmetric weights, activations quantized per tensor at run time) on the
nn.Linear modules of the encoder layer stack only; embeddings, LayerNorms, pooler and heads stay fp32.
"""
import argparse
import json
import math
import os
import struct
import sys
import time

import torch
from torch import nn
import torch.nn.functional as F

# ----------------------------------------------------------------------------------------- safetensors
_DT = {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
       "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8,
       "BOOL": torch.bool}
_DT_NAME = {v: k for k, v in _DT.items()}


def st_load(path):
    with open(path, "rb") as f:
        blob = f.read()
    n = struct.unpack("<Q", blob[:8])[0]
    header = json.loads(blob[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        dtype = _DT[info["dtype"]]
        raw = bytearray(blob[base + b:base + e])
        t = torch.frombuffer(raw, dtype=dtype) if e > b else torch.empty(0, dtype=dtype)
        out[name] = t.reshape(info["shape"]).clone()
    return out


def st_save(path, tensors):
    header, chunks, off = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        data = t.numpy().tobytes() if t.dtype != torch.bfloat16 else t.view(torch.int16).numpy().tobytes()
        header[name] = {"dtype": _DT_NAME[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(data)]}
        chunks.append(data)
        off += len(data)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(chunks))


# ----------------------------------------------------------------------------------------- activations
def act_fn(name):
    k = math.sqrt(2.0 / math.pi)
    table = {
        "gelu": F.gelu,
        "gelu_python": lambda x: x * 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0))),
        "gelu_new": lambda x: 0.5 * x * (1.0 + torch.tanh(k * (x + 0.044715 * torch.pow(x, 3.0)))),
        "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh"),
        "relu": F.relu, "silu": F.silu, "swish": F.silu, "tanh": torch.tanh, "sigmoid": torch.sigmoid,
        "quick_gelu": lambda x: x * torch.sigmoid(1.702 * x), "mish": F.mish, "linear": lambda x: x,
    }
    return table[name]


def extended_mask(mask, dtype):
    # transformers' get_extended_attention_mask: [b, s] -> [b, 1, 1, s], (1 - m) * finfo.min
    return (1.0 - mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min


# ----------------------------------------------------------------------------------------------- BERT
class Holder(nn.Module):
    pass


class BertLayerRef(nn.Module):
    def __init__(self, c):
        super().__init__()
        h = c["hidden_size"]
        self.nh = c["num_attention_heads"]
        self.attention = Holder()
        self.attention.self = Holder()
        self.attention.self.query = nn.Linear(h, h)
        self.attention.self.key = nn.Linear(h, h)
        self.attention.self.value = nn.Linear(h, h)
        self.attention.output = Holder()
        self.attention.output.dense = nn.Linear(h, h)
        self.attention.output.LayerNorm = nn.LayerNorm(h, eps=c["layer_norm_eps"])
        self.intermediate = Holder()
        self.intermediate.dense = nn.Linear(h, c["intermediate_size"])
        self.output = Holder()
        self.output.dense = nn.Linear(c["intermediate_size"], h)
        self.output.LayerNorm = nn.LayerNorm(h, eps=c["layer_norm_eps"])
        self.act = act_fn(c["hidden_act"])
        # dropout as transformers applies it in training (identity in eval mode, which the golden
        # outputs and the inference benchmarks use)
        self.p_hidden = c.get("hidden_dropout_prob", 0.1)
        self.p_attn = c.get("attention_probs_dropout_prob", 0.1)

    def split(self, x):
        b, s, h = x.shape
        return x.view(b, s, self.nh, h // self.nh).permute(0, 2, 1, 3)

    def forward(self, x, ext):
        sa = self.attention.self
        q, k, v = self.split(sa.query(x)), self.split(sa.key(x)), self.split(sa.value(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
        if ext is not None:
            scores = scores + ext
        probs = F.dropout(torch.softmax(scores, dim=-1), self.p_attn, self.training)
        ctx = torch.matmul(probs, v).permute(0, 2, 1, 3).contiguous().view(x.shape)
        a = self.attention.output.LayerNorm(F.dropout(self.attention.output.dense(ctx), self.p_hidden, self.training) + x)
        i = self.act(self.intermediate.dense(a))
        return self.output.LayerNorm(F.dropout(self.output.dense(i), self.p_hidden, self.training) + a)


class BertModelRef(nn.Module):
    def __init__(self, c):
        super().__init__()
        h = c["hidden_size"]
        self.embeddings = Holder()
        self.embeddings.word_embeddings = nn.Embedding(c["vocab_size"], h, padding_idx=c.get("pad_token_id", 0))
        self.embeddings.position_embeddings = nn.Embedding(c["max_position_embeddings"], h)
        self.embeddings.token_type_embeddings = nn.Embedding(c["type_vocab_size"], h)
        self.embeddings.LayerNorm = nn.LayerNorm(h, eps=c["layer_norm_eps"])
        self.encoder = Holder()
        self.encoder.layer = nn.ModuleList([BertLayerRef(c) for _ in range(c["num_hidden_layers"])])
        self.pooler = Holder()
        self.pooler.dense = nn.Linear(h, h)
        self.p_hidden = c.get("hidden_dropout_prob", 0.1)

    def forward(self, ids, mask, tt):
        e = self.embeddings
        s = ids.shape[1]
        if tt is None:
            tt = torch.zeros_like(ids)
        x = e.word_embeddings(ids) + e.token_type_embeddings(tt)
        x = x + e.position_embeddings(torch.arange(s)[None, :])
        x = F.dropout(e.LayerNorm(x), self.p_hidden, self.training)
        ext = extended_mask(mask, x.dtype) if mask is not None else None
        hidden = [x]
        for layer in self.encoder.layer:
            x = layer(x, ext)
            hidden.append(x)
        pooled = torch.tanh(self.pooler.dense(x[:, 0]))
        return x, pooled, hidden


# ------------------------------------------------------------------------------------------ DistilBERT
class DistilLayerRef(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c["dim"]
        self.nh = c["n_heads"]
        self.attention = Holder()
        for n in ("q_lin", "k_lin", "v_lin", "out_lin"):
            setattr(self.attention, n, nn.Linear(d, d))
        self.sa_layer_norm = nn.LayerNorm(d, eps=1e-12)
        self.ffn = Holder()
        self.ffn.lin1 = nn.Linear(d, c["hidden_dim"])
        self.ffn.lin2 = nn.Linear(c["hidden_dim"], d)
        self.output_layer_norm = nn.LayerNorm(d, eps=1e-12)
        self.act = act_fn(c["activation"])

    def forward(self, x, mask):
        b, s, d = x.shape
        dh = d // self.nh
        at = self.attention
        shape = lambda t: t.view(b, -1, self.nh, dh).transpose(1, 2)
        q, k, v = shape(at.q_lin(x)), shape(at.k_lin(x)), shape(at.v_lin(x))
        q = q / math.sqrt(dh)
        scores = torch.matmul(q, k.transpose(2, 3))
        if mask is not None:
            m = (mask == 0).view(b, 1, 1, s).expand_as(scores)
            scores = scores.masked_fill(m, torch.tensor(torch.finfo(scores.dtype).min))
        w = F.softmax(scores, dim=-1)
        ctx = torch.matmul(w, v).transpose(1, 2).contiguous().view(b, -1, d)
        sa = self.sa_layer_norm(at.out_lin(ctx) + x)
        f = self.ffn.lin2(self.act(self.ffn.lin1(sa)))
        return self.output_layer_norm(f + sa)


class DistilBertModelRef(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c["dim"]
        self.embeddings = Holder()
        self.embeddings.word_embeddings = nn.Embedding(c["vocab_size"], d, padding_idx=c.get("pad_token_id", 0))
        self.embeddings.position_embeddings = nn.Embedding(c["max_position_embeddings"], d)
        self.embeddings.LayerNorm = nn.LayerNorm(d, eps=1e-12)
        self.transformer = Holder()
        self.transformer.layer = nn.ModuleList([DistilLayerRef(c) for _ in range(c["n_layers"])])

    def forward(self, ids, mask, tt=None):
        e = self.embeddings
        x = e.word_embeddings(ids) + e.position_embeddings(torch.arange(ids.shape[1])[None, :])
        x = e.LayerNorm(x)
        hidden = [x]
        for layer in self.transformer.layer:
            x = layer(x, mask)
            hidden.append(x)
        return x, None, hidden


# ---------------------------------------------------------------------------------------------- heads
class ClassifierRef(nn.Module):
    """HF heads (BertForSequenceClassification / DistilBertForSequenceClassification) or nlpc's MLP."""

    def __init__(self, c):
        super().__init__()
        self.c = c
        n = len(c["id2label"])
        self.kind = "mlp" if "nlpc_head" in c else "hf"
        if c["model_type"] == "bert":
            self.bert = BertModelRef(c)
            h = c["hidden_size"]
        else:
            self.distilbert = DistilBertModelRef(c)
            h = c["dim"]
        if self.kind == "hf":
            if c["model_type"] == "distilbert":
                self.pre_classifier = nn.Linear(h, h)
            self.classifier = nn.Linear(h, n)
        else:
            hd = c["nlpc_head"]
            self.nlpc_head = Holder()
            sizes = [h] + list(hd.get("hidden_sizes", []))
            self.nlpc_head.hidden = nn.ModuleList([nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])])
            self.nlpc_head.output = nn.Linear(sizes[-1], n)
            self.head_act = act_fn(hd.get("activation", "relu"))
            self.pooling = hd.get("pooling", "cls")

    def encoder(self):
        return self.bert if self.c["model_type"] == "bert" else self.distilbert

    def forward(self, ids, mask, tt=None):
        last, pooled, hidden = self.encoder()(ids, mask, tt)
        if self.kind == "hf":
            if self.c["model_type"] == "distilbert":
                x = F.relu(self.pre_classifier(last[:, 0]))
                p = self.c.get("seq_classif_dropout", 0.2)
            else:
                x = pooled
                p = self.c.get("classifier_dropout") or self.c.get("hidden_dropout_prob", 0.1)
            return self.classifier(F.dropout(x, p, self.training)), hidden
        if self.pooling == "cls":
            x = last[:, 0]
        else:
            m = mask.to(last.dtype).unsqueeze(-1)
            x = (last * m).sum(1) / m.sum(1).clamp_min(1e-9)
        for lin in self.nlpc_head.hidden:
            x = self.head_act(lin(x))
        return self.nlpc_head.output(x), hidden


def load_folder(d):
    with open(os.path.join(d, "config.json")) as f:
        c = json.load(f)
    m = ClassifierRef(c)
    w = st_load(os.path.join(d, "model.safetensors"))
    m.load_state_dict(w, strict=True)
    return m.eval(), c


PRECISIONS = ("fp32", "int8")


def apply_precision(model, precision):
    """Returns model (fp32) or a dynamically quantized copy (int8); see the module docstring."""
    if precision == "fp32":
        return model
    if precision != "int8":
        raise ValueError(f"unknown precision {precision!r}")
    engine = "onednn"
    if engine not in torch.backends.quantized.supported_engines:
        sys.exit(f"bert_ref: --precision int8 needs the quantized engine {engine!r}; this torch "
                 f"{torch.__version__} supports {torch.backends.quantized.supported_engines}")
    torch.backends.quantized.engine = engine
    from torch.ao.nn.quantized.dynamic import Linear as DynamicQuantizedLinear
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic
    stack = "bert.encoder.layer." if model.c["model_type"] == "bert" else "distilbert.transformer.layer."
    names = [n for n, m in model.named_modules() if isinstance(m, nn.Linear) and n.startswith(stack)]
    q = quantize_dynamic(model, qconfig_spec={n: per_channel_dynamic_qconfig for n in names}, dtype=torch.qint8)
    done = [n for n, m in q.named_modules() if isinstance(m, DynamicQuantizedLinear)]
    layers = len(q.encoder().encoder.layer if model.c["model_type"] == "bert" else q.encoder().transformer.layer)
    assert sorted(done) == sorted(names) and len(done) == 6 * layers, (done, names)
    print(f"bert_ref: int8 dynamic quantization (engine {engine}, per-channel qint8 weights) of "
          f"{len(done)} encoder Linear modules", file=sys.stderr)
    return q.eval()


# ------------------------------------------------------------------------------------------- fixtures
def golden_inputs(vocab, type_vocab, lengths, seed):
    g = torch.Generator().manual_seed(seed)
    s = max(lengths)
    ids = torch.zeros(len(lengths), s, dtype=torch.int64)
    mask = torch.zeros(len(lengths), s, dtype=torch.int64)
    tt = torch.zeros(len(lengths), s, dtype=torch.int64)
    for i, n in enumerate(lengths):
        ids[i, :n] = torch.randint(1, vocab, (n,), generator=g)
        mask[i, :n] = 1
        tt[i, n // 2:n] = 1 if type_vocab > 1 else 0
    return ids, mask, tt


def run_golden(model, ids, mask, tt):
    out = {"input_ids": ids, "attention_mask": mask, "token_type_ids": tt}
    with torch.no_grad():
        logits, hidden = model(ids, mask, tt)
        out["logits"] = logits
        for i, h in enumerate(hidden):
            out[f"hidden_states.{i}"] = h
        for j in range(ids.shape[0]):
            n = int(mask[j].sum())
            lg, hs = model(ids[j:j + 1, :n], mask[j:j + 1, :n], tt[j:j + 1, :n])
            out[f"single.{j}.logits"] = lg
            out[f"single.{j}.hidden_states.{len(hs) - 1}"] = hs[-1]
    return out


def randomize(model, seed):
    # Not HF's init (std 0.02 would make every logit ~0): larger weights, random LayerNorm affine
    # and non-zero biases so that a wrong parameter mapping cannot go unnoticed.
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LayerNorm" in name or "layer_norm" in name:
                p.copy_((1.0 if name.endswith("weight") else 0.0) + 0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.2 * torch.randn(p.shape, generator=g))


def make_fixtures(out):
    bert_cfg = {"model_type": "bert", "architectures": ["BertForSequenceClassification"], "vocab_size": 99,
                "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 37,
                "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
                "max_position_embeddings": 40, "type_vocab_size": 2, "initializer_range": 0.02,
                "layer_norm_eps": 1e-12, "pad_token_id": 0, "position_embedding_type": "absolute",
                "id2label": {"0": "neg", "1": "neu", "2": "pos"}, "label2id": {"neg": 0, "neu": 1, "pos": 2},
                "problem_type": "single_label_classification"}
    distil_cfg = {"model_type": "distilbert", "architectures": ["DistilBertForSequenceClassification"],
                  "vocab_size": 77, "dim": 24, "n_layers": 2, "n_heads": 3, "hidden_dim": 50,
                  "activation": "gelu", "max_position_embeddings": 40, "sinusoidal_pos_embds": False,
                  "dropout": 0.1, "attention_dropout": 0.1, "seq_classif_dropout": 0.2, "pad_token_id": 0,
                  "id2label": {"0": "a", "1": "b"}, "label2id": {"a": 0, "b": 1}}
    for name, cfg, seed in (("tiny-bert", bert_cfg, 1), ("tiny-distilbert", distil_cfg, 2)):
        d = os.path.join(out, name)
        os.makedirs(d, exist_ok=True)
        torch.manual_seed(seed)
        model = ClassifierRef(cfg).eval()
        randomize(model, seed)
        st_save(os.path.join(d, "model.safetensors"), model.state_dict())
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(cfg, f, indent=2)
        vocab = cfg["vocab_size"]
        ids, mask, tt = golden_inputs(vocab, cfg.get("type_vocab_size", 1), [7, 12, 4, 1], seed)
        st_save(os.path.join(d, "golden.safetensors"), run_golden(model, ids, mask, tt))
        print("wrote", d)


def check_nlpc(d, precision="fp32"):
    model, _ = load_folder(d)
    model = apply_precision(model, precision)
    ref = st_load(os.path.join(d, "nlpc_outputs.safetensors"))
    with torch.no_grad():
        logits, _ = model(ref["input_ids"], ref["attention_mask"], ref.get("token_type_ids"))
    st_save(os.path.join(d, "python_logits.safetensors"), {"logits": logits})
    diff = (logits - ref["logits"]).abs().max().item()
    print(f"{d}: max |python - nlpc| logits = {diff:.3g}")
    return diff


# ---------------------------------------------------------------------------------------------- bench
def bench(args):
    torch.set_num_threads(args.threads)
    cfg = json.loads(args.config)
    cfg.setdefault("id2label", {"0": "a", "1": "b"})
    model = apply_precision(ClassifierRef(cfg).eval(), args.precision)
    enc = model.encoder()
    results = {}
    for case in args.cases:
        t = st_load(case)
        ids, mask = t["input_ids"], t["attention_mask"]
        with torch.inference_mode():
            for _ in range(args.warmup):
                enc(ids, mask, None)
            times = []
            for _ in range(args.iters):
                t0 = time.perf_counter()
                enc(ids, mask, None)
                times.append(time.perf_counter() - t0)
        times.sort()
        results[case] = times[len(times) // 2]
    print(json.dumps(results))


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("make-fixtures")
    a.add_argument("out")
    b = sub.add_parser("check-nlpc")
    b.add_argument("--precision", choices=PRECISIONS, default="fp32")
    b.add_argument("--tol", type=float, default=1e-4, help="max |python - nlpc| logits to pass")
    b.add_argument("dirs", nargs="+")
    c = sub.add_parser("bench")
    c.add_argument("--config", required=True)
    c.add_argument("--threads", type=int, default=1)
    c.add_argument("--warmup", type=int, default=2)
    c.add_argument("--iters", type=int, default=5)
    c.add_argument("--precision", choices=PRECISIONS, default="fp32")
    c.add_argument("cases", nargs="+")
    args = p.parse_args()
    if args.cmd == "make-fixtures":
        make_fixtures(args.out)
    elif args.cmd == "check-nlpc":
        worst = max(check_nlpc(d, args.precision) for d in args.dirs)
        sys.exit(0 if worst < args.tol else 1)
    else:
        bench(args)


if __name__ == "__main__":
    main()
