#!/usr/bin/python3
"""Writes tests/fixtures/bin/: the PyTorch checkpoint fixtures of issue 15, with Debian's python3-torch.

Every folder holds weights that also exist as safetensors in tests/fixtures (tiny-bert,
tiny-distilbert, t5/relu, whisper/tiny-random), re-saved the ways Hugging Face uploads are found:
torch.save zip and legacy formats, fp16/bf16, sharded .bin, shared storages and views, TF-era key
names, position_ids buffers, base-model keys without the prefix, pre-training heads. The hostile/
folder holds small crafted files the reader must refuse (exit 2), never crash on, never execute.

Run from the repository root:  /usr/bin/python3 scripts/ref/make_bin_fixtures.py
"""
import collections
import json
import os
import pickle
import shutil
import struct
import subprocess
import sys
import zipfile

import torch

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
FIX = os.path.join(ROOT, "tests", "fixtures")
OUT = os.path.join(FIX, "bin")
MARKER = "/tmp/nlpc-pickle-marker-must-not-exist"

DT = {"F32": torch.float32, "F16": torch.float16, "I64": torch.int64}


def read_safetensors(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    header = json.loads(b[8:8 + n])
    header.pop("__metadata__", None)
    out = collections.OrderedDict()
    for k in sorted(header):
        v = header[k]
        lo, hi = v["data_offsets"]
        t = torch.frombuffer(bytearray(b[8 + n + lo:8 + n + hi]), dtype=DT[v["dtype"]])
        out[k] = t.reshape(v["shape"]).clone()
    return out


def folder(name, config, files=()):
    d = os.path.join(OUT, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    for src, dst in files:
        shutil.copy(src, os.path.join(d, dst))
    return d


def save(sd, path, legacy=False):
    torch.save(sd, path, _use_new_zipfile_serialization=not legacy)


def config_of(name):
    return json.load(open(os.path.join(FIX, name, "config.json")))


# A 99-token WordPiece vocabulary for the tiny BERT (vocab_size 99), so that it can be fine-tuned.
def tiny_vocab():
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    words = ["the", "a", "is", "good", "bad", "not", "great", "movie", "film", "plot", "i", "it", "was",
             "and", "but", "very", "terrible", "awful", "love", "hate", "fine", "ok", ".", ",", "!", "?",
             "'", "-", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]
    vocab = specials + letters + ["##" + c for c in letters]
    vocab += [w for w in words if w not in vocab]
    vocab += ["##s", "##ed", "##ing", "##ly", "un", "re", "this", "that", "of", "to", "in", "for"]
    assert len(vocab) >= 99
    return vocab[:99]


def bert_variants():
    sd = read_safetensors(os.path.join(FIX, "models/tiny-bert/model.safetensors"))
    cfg = config_of("models/tiny-bert")
    save(sd, os.path.join(folder("bert-zip", cfg), "pytorch_model.bin"))
    # legacy format with the names of TF-era / transformers 2.x uploads
    old = collections.OrderedDict()
    for k, v in sd.items():
        k = k.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta")
        old[k] = v
    old["bert.embeddings.position_ids"] = torch.arange(cfg["max_position_embeddings"]).unsqueeze(0)
    save(old, os.path.join(folder("bert-legacy-old-names", cfg), "pytorch_model.bin"), legacy=True)
    save(collections.OrderedDict((k, v.half()) for k, v in sd.items()),
         os.path.join(folder("bert-fp16", cfg), "pytorch_model.bin"))
    save(collections.OrderedDict((k, v.bfloat16()) for k, v in sd.items()),
         os.path.join(folder("bert-bf16-legacy", cfg), "pytorch_model.bin"), legacy=True)
    # sharded: pytorch_model.bin.index.json + two shards, as save_pretrained(max_shard_size=...) writes
    d = folder("bert-sharded", cfg)
    keys = list(sd)
    shards = {"pytorch_model-00001-of-00002.bin": keys[: len(keys) // 2],
              "pytorch_model-00002-of-00002.bin": keys[len(keys) // 2:]}
    weight_map = {}
    for shard, ks in shards.items():
        save(collections.OrderedDict((k, sd[k]) for k in ks), os.path.join(d, shard))
        weight_map.update({k: shard for k in ks})
    total = sum(v.numel() * v.element_size() for v in sd.values())
    with open(os.path.join(d, "pytorch_model.bin.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
    # shared storages: q/k/v of each layer are slices of one fused [3h, h] storage (storage offsets),
    # the intermediate weights are transposed views (strides (1, n)), saved once each
    views = collections.OrderedDict(sd)
    for layer in range(cfg["num_hidden_layers"]):
        p = "bert.encoder.layer.%d." % layer
        fused = torch.cat([sd[p + "attention.self.%s.weight" % n] for n in ("query", "key", "value")])
        h = cfg["hidden_size"]
        for i, n in enumerate(("query", "key", "value")):
            views[p + "attention.self.%s.weight" % n] = fused[i * h:(i + 1) * h]
        w = sd[p + "intermediate.dense.weight"]
        views[p + "intermediate.dense.weight"] = w.t().contiguous().t()
    save(views, os.path.join(folder("bert-views", cfg), "pytorch_model.bin"))
    return sd, cfg


def bert_pretraining(sd, cfg):
    """BertForPreTraining layout: the encoder plus the MLM and NSP heads, decoder tied to the
    word embeddings (one storage), for `model.init` of classification fine-tuning."""
    g = torch.Generator().manual_seed(15)
    h, v = cfg["hidden_size"], cfg["vocab_size"]
    pt = collections.OrderedDict((k, t) for k, t in sd.items() if k.startswith("bert."))
    pt["cls.predictions.bias"] = torch.zeros(v)
    pt["cls.predictions.transform.dense.weight"] = torch.randn(h, h, generator=g) * 0.02
    pt["cls.predictions.transform.dense.bias"] = torch.zeros(h)
    pt["cls.predictions.transform.LayerNorm.weight"] = torch.ones(h)
    pt["cls.predictions.transform.LayerNorm.bias"] = torch.zeros(h)
    pt["cls.predictions.decoder.weight"] = pt["bert.embeddings.word_embeddings.weight"]  # tied: saved once
    pt["cls.predictions.decoder.bias"] = pt["cls.predictions.bias"]
    pt["cls.seq_relationship.weight"] = torch.randn(2, h, generator=g) * 0.02
    pt["cls.seq_relationship.bias"] = torch.zeros(2)
    c = {k: x for k, x in cfg.items() if k not in ("id2label", "label2id", "problem_type")}
    c["architectures"] = ["BertForPreTraining"]
    d = folder("bert-pretraining", c)
    save(pt, os.path.join(d, "pytorch_model.bin"))
    with open(os.path.join(d, "vocab.txt"), "w") as f:
        f.write("\n".join(tiny_vocab()) + "\n")
    with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
        json.dump({"do_lower_case": True, "tokenizer_class": "BertTokenizer"}, f)
    # TinyBERT-style: a BertModel checkpoint (keys without "bert."), its fit_dense distillation head,
    # a config with neither model_type nor architectures and TinyBERT's extra keys
    base = collections.OrderedDict((k[len("bert."):], t) for k, t in pt.items() if k.startswith("bert."))
    base["fit_dense.weight"] = torch.randn(4 * h, h, generator=g) * 0.02
    base["fit_dense.bias"] = torch.zeros(4 * h)
    tb = {k: x for k, x in c.items() if k not in ("model_type", "architectures")}
    tb.update({"cell": {}, "emb_size": h, "pre_trained": "", "structure": [], "training": "", "fit_size": 4 * h})
    d = folder("tinybert-general", tb)
    save(base, os.path.join(d, "pytorch_model.bin"), legacy=True)
    shutil.copy(os.path.join(OUT, "bert-pretraining", "vocab.txt"), d)


def distilbert_mlm():
    sd = read_safetensors(os.path.join(FIX, "models/tiny-distilbert/model.safetensors"))
    cfg = config_of("models/tiny-distilbert")
    dim, v = cfg["dim"], cfg["vocab_size"]
    g = torch.Generator().manual_seed(16)
    mlm = collections.OrderedDict((k, t) for k, t in sd.items() if k.startswith("distilbert."))
    mlm["distilbert.embeddings.position_ids"] = torch.arange(cfg["max_position_embeddings"]).unsqueeze(0)
    mlm["vocab_transform.weight"] = torch.randn(dim, dim, generator=g) * 0.02
    mlm["vocab_transform.bias"] = torch.zeros(dim)
    mlm["vocab_layer_norm.weight"] = torch.ones(dim)
    mlm["vocab_layer_norm.bias"] = torch.zeros(dim)
    mlm["vocab_projector.weight"] = mlm["distilbert.embeddings.word_embeddings.weight"]
    mlm["vocab_projector.bias"] = torch.zeros(v)
    c = {k: x for k, x in cfg.items() if k not in ("model_type", "id2label", "label2id")}
    c["architectures"] = ["DistilBertForMaskedLM"]  # no model_type: inferred from architectures
    save(mlm, os.path.join(folder("distilbert-mlm", c), "pytorch_model.bin"))


def spm_pieces(path):
    """The piece strings of a SentencePiece ModelProto (field 1, each a SentencePiece with field 1)."""
    b, i, out = open(path, "rb").read(), 0, []

    def varint(i):
        v, shift = 0, 0
        while True:
            c = b[i]
            i += 1
            v |= (c & 0x7F) << shift
            shift += 7
            if c < 0x80:
                return v, i

    while i < len(b):
        key, i = varint(i)
        field, wire = key >> 3, key & 7
        if wire == 2:
            n, i = varint(i)
            if field == 1:
                sub = b[i:i + n]
                assert sub[0] == 0x0A
                out.append(sub[2:2 + sub[1]].decode("utf-8"))
            i += n
        elif wire == 0:
            _, i = varint(i)
        elif wire == 5:
            i += 4
        elif wire == 1:
            i += 8
    return out


def t5_v1_0():
    """A T5 v1.0 folder as the original t5-small upload: spiece.model only (transformers adds 100
    <extra_id_N>), architectures T5WithLMHeadModel, legacy .bin with the tied embeddings saved once."""
    spm = os.path.join(FIX, "text/spm-unigram/spm.model")
    sd = read_safetensors(os.path.join(FIX, "t5/relu/model.safetensors"))
    cfg = config_of("t5/relu")
    pieces = spm_pieces(spm)
    vocab = len(pieces) + 100
    g = torch.Generator().manual_seed(17)
    shared = torch.randn(vocab, cfg["d_model"], generator=g)
    sd2 = collections.OrderedDict()
    sd2["shared.weight"] = shared
    for k, t in sd.items():
        if k in ("shared.weight", "encoder.embed_tokens.weight", "decoder.embed_tokens.weight"):
            sd2[k] = shared  # one storage for the three tied names
        else:
            sd2[k] = t
    sd2["lm_head.weight"] = shared  # tie_word_embeddings: transformers saves the alias too
    pad = pieces.index("<pad>") if "<pad>" in pieces else 0
    c = dict(cfg, vocab_size=vocab, eos_token_id=pieces.index("</s>"), pad_token_id=pad, decoder_start_token_id=pad,
             architectures=["T5WithLMHeadModel"])
    c.pop("model_type")
    d = folder("t5-v1.0", c, [(spm, "spiece.model")])
    save(sd2, os.path.join(d, "pytorch_model.bin"), legacy=True)


def whisper_base_model():
    """A WhisperModel checkpoint (keys without "model.", no proj_out), zip format."""
    sd = read_safetensors(os.path.join(FIX, "whisper/tiny-random/model.safetensors"))
    cfg = config_of("whisper/tiny-random")
    base = collections.OrderedDict((k[len("model."):], t) for k, t in sd.items() if k.startswith("model."))
    cfg["architectures"] = ["WhisperModel"]
    save(base, os.path.join(folder("whisper-base", cfg), "pytorch_model.bin"))


# ---- hostile files -------------------------------------------------------------------------

class FakeStorage:
    def __init__(self, key, numel, typ=torch.FloatStorage):
        self.key, self.numel, self.typ = key, numel, typ


class FakeTensor:
    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, size, stride, False, collections.OrderedDict())

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2, self.args)


class Evil:
    def __init__(self, func, arg):
        self.func, self.arg = func, arg

    def __reduce__(self):
        return (self.func, (self.arg,))


def crafted_pickle(obj, protocol=2):
    import io
    buf = io.BytesIO()
    p = pickle.Pickler(buf, protocol=protocol)
    p.persistent_id = lambda o: ("storage", o.typ, o.key, "cpu", o.numel) if isinstance(o, FakeStorage) else None
    p.dump(obj)
    return buf.getvalue()


def write_zip(path, pkl, records, byteorder=None, compress=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compress) as z:
        z.writestr("archive/data.pkl", pkl)
        if byteorder:
            z.writestr("archive/byteorder", byteorder)
        for k, data in records.items():
            z.writestr("archive/data/" + k, data)
        z.writestr("archive/version", "3\n")


def hostile():
    d = os.path.join(OUT, "hostile")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    six = struct.pack("<6f", 1, 2, 3, 4, 5, 6)
    good = lambda **kw: crafted_pickle(collections.OrderedDict(w=FakeTensor(FakeStorage("0", 6), 0, (2, 3), (3, 1))))
    write_zip(os.path.join(d, "ok.bin"), good(), {"0": six})
    bad = open(os.path.join(d, "ok.bin"), "rb").read()
    open(os.path.join(d, "truncated-zip.bin"), "wb").write(bad[: len(bad) // 2])
    write_zip(os.path.join(d, "short-record.bin"), good(), {"0": six[:16]})
    write_zip(os.path.join(d, "offset-beyond-record.bin"),
              crafted_pickle({"w": FakeTensor(FakeStorage("0", 6), 1000, (2, 3), (3, 1))}), {"0": six})
    write_zip(os.path.join(d, "numel-overflow.bin"),
              crafted_pickle({"w": FakeTensor(FakeStorage("0", 6), 0, (2 ** 40, 2 ** 40), (0, 0))}), {"0": six})
    write_zip(os.path.join(d, "storage-numel-overflow.bin"),  # numel * 4 wraps around 2^64
              crafted_pickle({"w": FakeTensor(FakeStorage("0", 2 ** 62 + 1), 2 ** 61, (6,), (1,))}), {"0": six})
    write_zip(os.path.join(d, "memo-nothing.bin"), b"\x80\x02}q\x00h\x07.", {})
    write_zip(os.path.join(d, "big-endian.bin"), good(), {"0": struct.pack(">6f", 1, 2, 3, 4, 5, 6)}, byteorder="big")
    write_zip(os.path.join(d, "deflate.bin"), good(), {"0": six}, compress=zipfile.ZIP_DEFLATED)
    write_zip(os.path.join(d, "foreign-global.bin"),
              crafted_pickle({"w": Evil(os.system, "touch " + MARKER)}), {})
    write_zip(os.path.join(d, "builtins-eval.bin"),
              crafted_pickle({"w": Evil(eval, "__import__('os').system('touch %s')" % MARKER)}, protocol=4), {})
    # legacy format: a truncated file, and a foreign global inside the state dict pickle
    save(collections.OrderedDict(w=torch.arange(6.0).reshape(2, 3)), os.path.join(d, "legacy-ok.bin"), legacy=True)
    lb = open(os.path.join(d, "legacy-ok.bin"), "rb").read()
    open(os.path.join(d, "legacy-truncated.bin"), "wb").write(lb[:-10])
    with open(os.path.join(d, "legacy-foreign-global.bin"), "wb") as f:
        for obj in (0x1950a86a20f9469cfc6c, 1001, {"protocol_version": 1001, "little_endian": True}):
            pickle.dump(obj, f, protocol=2)
        pickle.dump({"w": Evil(os.system, "touch " + MARKER)}, f, protocol=2)
        pickle.dump([], f, protocol=2)
    # the foreign-global fixtures are real: Python's own unpickler runs them (in a child process)
    for name in ("foreign-global.bin",):
        if os.path.exists(MARKER):
            os.remove(MARKER)
        code = "import zipfile,pickle;pickle.loads(zipfile.ZipFile('%s').read('archive/data.pkl'))" % os.path.join(d, name)
        subprocess.run(["/usr/bin/python3", "-c", code], check=False, capture_output=True)
        assert os.path.exists(MARKER), "the fixture should run `touch` under pickle.loads"
        os.remove(MARKER)


def main():
    os.makedirs(OUT, exist_ok=True)
    sd, cfg = bert_variants()
    bert_pretraining(sd, cfg)
    distilbert_mlm()
    t5_v1_0()
    whisper_base_model()
    hostile()
    print("wrote", OUT)


if __name__ == "__main__":
    main()
