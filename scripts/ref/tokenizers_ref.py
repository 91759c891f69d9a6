#!/usr/bin/python3
"""Independent reference tokenizers that produce the golden ids for tests/unit/test_text_*.cpp.

Written from the published algorithms (Hugging Face `tokenizers` BertNormalizer/BertPreTokenizer/
WordPiece, GPT-2 byte-level BPE, SentencePiece Unigram with the Precompiled charsmap), using only
Debian's python3 + python3-regex (+ python3-sentencepiece for .model files). No transformers.

    /usr/bin/python3 scripts/ref/tokenizers_ref.py tests/fixtures/text

writes tests/fixtures/text/golden_{wordpiece,bpe,unigram,spm_unigram,spm_bpe}.jsonl.
"""
import base64
import json
import os
import struct
import sys
import unicodedata

import regex

# ----------------------------------------------------------------------------------------------
# Shared: cases, truncation and templates

TEXTS = [
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    "I can't believe it's not butter; we'll see, they're sure.",
    "Ação, coração e informação: não é fácil!",
    "São Paulo é a maior cidade do Brasil.",
    "¿Dónde está la biblioteca? ¡Allí!",
    "El niño comió piña en Año Nuevo.",
    "Größere Straßen führen über die Brücke.",
    "Fußgänger müssen ÄÖÜ beachten.",
    "我爱自然语言处理。",
    "中文English混合text测试",
    "日本語のテキストです",
    "Emoji: 😀👍🏽 🇧🇷 ❤️ done",
    "👨‍👩‍👧‍👦 family",
    "control\x00chars\x07here\x1b[0m",
    "zero\u200bwidth\u200djoiner\ufeffbom",
    "tabs\tand\nnewlines\r\nmixed",
    "  leading and trailing spaces   ",
    "multiple     spaces   between",
    "supercalifragilisticexpialidocious",
    "a" * 120,
    "Pneumonoultramicroscopicsilicovolcanoconiosis is long",
    "!!!???...,,,;;;:::",
    "Wait... what?!?! (really) [yes] {no} <maybe>",
    "https://www.example.com/path?query=1&b=two#frag",
    "email me at someone@example.org or call +1-555-0100",
    "",
    "   ",
    "\t\n ",
    "12345 67.89 1,000,000 3rd 2nd",
    "Ünïcödé àccénts ÉÈÊ ñ ç",
    "İstanbul ǅemal ΣΊΣΥΦΟΣ ﬁnance ①②",
    "naïve café résumé façade",
    "Ελληνικά και Русский текст",
    "עברית ועربية",
    "x^2 + y_1 = $100 | a~b `code` @user #tag",
    "don't DON'T Don't o'clock rock'n'roll",
    "The year 2023 was great; 2024 will be better!",
    "Mr. Smith's café—open 24/7—serves crème brûlée…",
    "\u00a0non\u00a0breaking\u2003em space\u3000ideographic",
    "ﬀ ﬃ ＡＢＣ １２３ ｶﾀｶﾅ",
    "Line1\u2028Line2\u2029Para",
]

PAIRS = [
    ("How old are you?", "I am six years old."),
    ("Ação rápida.", "Resposta lenta, mas correta!"),
    ("", "only second"),
    ("中文句子", "English sentence"),
]

TRUNC = [
    ("The quick brown fox jumps over the lazy dog.", None, 8, "longest_first"),
    ("The quick brown fox jumps over the lazy dog.", "A second sentence that is long too.", 12, "longest_first"),
    ("short one", "A second sentence that is quite a lot longer than the first.", 12, "longest_first"),
    ("A first sentence that is quite a lot longer than the second.", "short one", 11, "longest_first"),
    ("A first sentence that is quite a lot longer than the second.", "short one", 12, "only_first"),
    ("short one", "A second sentence that is quite a lot longer than the first.", 12, "only_second"),
]


def truncate(a, b, target, strategy):
    """Hugging Face tokenizers truncate_encodings; target excludes template special tokens."""
    total = len(a) + (len(b) if b is not None else 0)
    if total <= target:
        return a, b
    to_remove = total - target
    if strategy == "longest_first":
        if b is None:
            return a[:target], b
        n1, n2 = len(a), len(b)
        swap = n1 > n2
        if swap:
            n1, n2 = n2, n1
        n2 = n1 if n1 > target else max(n1, target - n1)
        if n1 + n2 > target:
            n1 = target // 2
            n2 = n1 + target % 2
        if swap:
            n1, n2 = n2, n1
        return a[:n1], b[:n2]
    if strategy == "only_first":
        assert len(a) > to_remove
        return a[: len(a) - to_remove], b
    assert b is not None and len(b) > to_remove
    return a, b[: len(b) - to_remove]


def apply_template(tpl, a, b):
    """tpl: (single, pair) lists of ('S', id, type) / ('A'|'B', type). Returns ids, type_ids."""
    items = tpl[1] if b is not None else tpl[0]
    ids, types = [], []
    for it in items:
        if it[0] == "S":
            ids.append(it[1])
            types.append(it[2])
        else:
            seq = a if it[0] == "A" else b
            ids += seq
            types += [it[1]] * len(seq)
    return ids, types


def template_from_json(tj, vocab_lookup):
    pp = tj["post_processor"]
    out = []
    for key in ("single", "pair"):
        items = []
        for it in pp[key]:
            if "Sequence" in it:
                items.append((it["Sequence"]["id"], it["Sequence"]["type_id"]))
            else:
                name = it["SpecialToken"]["id"]
                items.append(("S", pp["special_tokens"][name]["ids"][0], it["SpecialToken"]["type_id"]))
        out.append(items)
    return out


def split_added(text, added):
    """Leftmost-longest matching of added tokens in the raw text: [(is_added, str_or_id), ...]."""
    if not added:
        return [(False, text)] if text else []
    keys = sorted(added, key=len, reverse=True)
    pat = regex.compile("|".join(regex.escape(k) for k in keys))
    out, pos = [], 0
    for m in pat.finditer(text):
        if m.start() > pos:
            out.append((False, text[pos : m.start()]))
        out.append((True, added[m.group(0)]))
        pos = m.end()
    if pos < len(text):
        out.append((False, text[pos:]))
    return out


def run_cases(encode_pieces, tpl, id_to_token, extra_cases=()):
    """encode_pieces(text) -> ids (no template). Yields golden records."""
    recs = []
    for t in TEXTS:
        a = encode_pieces(t)
        ids, types = apply_template(tpl, a, None)
        recs.append({"text": t, "ids": ids, "type_ids": types, "tokens": [id_to_token[i] for i in ids]})
        recs.append({"text": t, "add_special_tokens": False, "ids": a})
    for t1, t2 in PAIRS:
        a, b = encode_pieces(t1), encode_pieces(t2)
        ids, types = apply_template(tpl, a, b)
        recs.append({"text": t1, "pair": t2, "ids": ids, "type_ids": types})
    n_single = len([x for x in tpl[0] if x[0] == "S"])
    n_pair = len([x for x in tpl[1] if x[0] == "S"])
    for t1, t2, ml, strat in TRUNC:
        a = encode_pieces(t1)
        b = encode_pieces(t2) if t2 is not None else None
        added = n_pair if b is not None else n_single
        a2, b2 = truncate(a, b, ml - added, strat)
        ids, types = apply_template(tpl, a2, b2)
        rec = {"text": t1, "max_length": ml, "truncation": strat, "ids": ids, "type_ids": types}
        if t2 is not None:
            rec["pair"] = t2
        recs.append(rec)
    recs.extend(extra_cases)
    return recs


# ----------------------------------------------------------------------------------------------
# WordPiece (BertNormalizer + BertPreTokenizer + WordPiece)

RUST_WS = set([0x9, 0xA, 0xB, 0xC, 0xD, 0x20, 0x85, 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000]
              + list(range(0x2000, 0x200B)))


def bert_is_ws(c):
    return ord(c) in RUST_WS


def bert_is_control(c):
    if c in "\t\n\r":
        return False
    return unicodedata.category(c).startswith("C")


def bert_is_punct(c):
    o = ord(c)
    if 33 <= o <= 47 or 58 <= o <= 64 or 91 <= o <= 96 or 123 <= o <= 126:
        return True
    return unicodedata.category(c).startswith("P")


def is_cjk(c):
    o = ord(c)
    return (0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0x20000 <= o <= 0x2A6DF
            or 0x2A700 <= o <= 0x2B73F or 0x2B740 <= o <= 0x2B81F or 0x2B920 <= o <= 0x2CEAF
            or 0xF900 <= o <= 0xFAFF or 0x2F800 <= o <= 0x2FA1F)


class WordPieceRef:
    def __init__(self, folder):
        tj = json.load(open(os.path.join(folder, "tokenizer.json"), encoding="utf-8"))
        self.vocab = tj["model"]["vocab"]
        self.id_to_token = {v: k for k, v in self.vocab.items()}
        self.unk = self.vocab[tj["model"]["unk_token"]]
        n = tj["normalizer"]
        self.lower = n["lowercase"]
        self.strip = n["strip_accents"] if n["strip_accents"] is not None else self.lower
        self.added = {a["content"]: a["id"] for a in tj["added_tokens"]}
        self.tpl = template_from_json(tj, self.vocab)

    def normalize(self, text):
        out = []
        for c in text:
            if ord(c) == 0 or ord(c) == 0xFFFD or bert_is_control(c):
                continue
            if bert_is_ws(c):
                c = " "
            if is_cjk(c):
                out.append(" " + c + " ")
            else:
                out.append(c)
        s = "".join(out)
        if self.strip:
            s = "".join(c for c in unicodedata.normalize("NFD", s) if unicodedata.category(c) != "Mn")
        if self.lower:
            s = "".join(c.lower() for c in s)  # per character, like Rust char::to_lowercase
        return s

    def words(self, s):
        words, cur = [], ""
        for c in s:
            if bert_is_ws(c):
                if cur:
                    words.append(cur)
                cur = ""
            elif bert_is_punct(c):
                if cur:
                    words.append(cur)
                words.append(c)
                cur = ""
            else:
                cur += c
        if cur:
            words.append(cur)
        return words

    def wordpiece(self, w):
        if len(w) > 100:
            return [self.unk]
        out, start = [], 0
        while start < len(w):
            end, found = len(w), None
            while start < end:
                sub = w[start:end]
                if start > 0:
                    sub = "##" + sub
                if sub in self.vocab:
                    found = self.vocab[sub]
                    break
                end -= 1
            if found is None:
                return [self.unk]
            out.append(found)
            start = end
        return out

    def encode(self, text):
        ids = []
        for is_added, x in split_added(text, self.added):
            if is_added:
                ids.append(x)
                continue
            for w in self.words(self.normalize(x)):
                ids += self.wordpiece(w)
        return ids


# ----------------------------------------------------------------------------------------------
# Byte-level BPE (GPT-2)

GPT2_PAT = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


class BpeRef:
    def __init__(self, folder):
        tj = json.load(open(os.path.join(folder, "tokenizer.json"), encoding="utf-8"))
        self.vocab = tj["model"]["vocab"]
        merges = tj["model"]["merges"]
        merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in merges]
        self.ranks = {m: i for i, m in enumerate(merges)}
        self.b2u = bytes_to_unicode()
        self.u2b = {v: k for k, v in self.b2u.items()}
        self.added = {a["content"]: a["id"] for a in tj["added_tokens"]}
        self.id_to_token = {v: k for k, v in self.vocab.items()}
        for k, v in self.added.items():
            self.id_to_token[v] = k
        self.tpl = template_from_json(tj, self.vocab)

    def bpe(self, token):
        word = list(token)
        while len(word) > 1:
            pairs = [(self.ranks.get((word[i], word[i + 1]), 1 << 60), i) for i in range(len(word) - 1)]
            rank, i = min(pairs)
            if rank == 1 << 60:
                break
            # GPT-2 merges every occurrence of the best pair, left to right
            first, second = word[i], word[i + 1]
            new, j = [], 0
            while j < len(word):
                if j < len(word) - 1 and word[j] == first and word[j + 1] == second:
                    new.append(first + second)
                    j += 2
                else:
                    new.append(word[j])
                    j += 1
            word = new
        return word

    def encode(self, text):
        ids = []
        for is_added, x in split_added(text, self.added):
            if is_added:
                ids.append(x)
                continue
            for m in GPT2_PAT.findall(x):
                mapped = "".join(self.b2u[b] for b in m.encode("utf-8"))
                ids += [self.vocab[t] for t in self.bpe(mapped)]
        return ids

    def decode(self, ids):
        out = bytearray()
        for i in ids:
            t = self.id_to_token[i]
            if all(c in self.u2b for c in t):
                out += bytes(self.u2b[c] for c in t)
            else:
                out += t.encode("utf-8")
        return out.decode("utf-8", errors="replace")


# ----------------------------------------------------------------------------------------------
# Unigram with the Precompiled charsmap (Hugging Face tokenizer.json semantics)


class Charsmap:
    def __init__(self, blob):
        (size,) = struct.unpack("<I", blob[:4])
        self.trie = struct.unpack("<%dI" % (size // 4), blob[4 : 4 + size])
        self.norm = blob[4 + size :]

    def prefixes(self, key):
        """darts-clone common prefix search: list of (length, value), shortest first."""
        t = self.trie
        res = []
        node = (t[0] >> 10) << ((t[0] & (1 << 9)) >> 6)
        for i, c in enumerate(key):
            if c == 0:
                break
            node ^= c
            if node >= len(t):
                break
            unit = t[node]
            if (unit & ((1 << 31) | 0xFF)) != c:
                break
            node ^= (unit >> 10) << ((unit & (1 << 9)) >> 6)
            if (unit >> 8) & 1:
                res.append((i + 1, t[node] & ((1 << 31) - 1)))
        return res

    def replacement(self, v):
        end = self.norm.index(b"\0", v)
        return self.norm[v:end].decode("utf-8")

    def transform(self, chunk):
        r = self.prefixes(chunk.encode("utf-8"))
        return self.replacement(r[0][1]) if r else None

    def normalize_hf(self, text):
        out = []
        for g in regex.findall(r"\X", text):
            if len(g.encode("utf-8")) < 6:
                n = self.transform(g)
                if n is not None:
                    out.append(n)
                    continue
            for c in g:
                n = self.transform(c)
                out.append(n if n is not None else c)
        return "".join(out)


class UnigramRef:
    def __init__(self, folder):
        tj = json.load(open(os.path.join(folder, "tokenizer.json"), encoding="utf-8"))
        m = tj["model"]
        self.pieces = [p for p, _ in m["vocab"]]
        self.scores = [s for _, s in m["vocab"]]
        self.index = {p: i for i, p in enumerate(self.pieces)}
        self.unk = m["unk_id"]
        self.unk_score = min(self.scores) - 10.0
        self.maxlen = max(len(p) for p in self.pieces)
        self.charsmap = Charsmap(base64.b64decode(tj["normalizer"]["precompiled_charsmap"]))
        self.added = {a["content"]: a["id"] for a in tj["added_tokens"]}
        self.id_to_token = dict(enumerate(self.pieces))
        self.tpl = template_from_json(tj, self.index)

    def viterbi(self, w):
        n = len(w)
        best = [float("-inf")] * (n + 1)
        back = [None] * (n + 1)
        best[0] = 0.0
        for s in range(n):
            if best[s] == float("-inf"):
                continue
            single = False
            for e in range(s + 1, min(n, s + self.maxlen) + 1):
                i = self.index.get(w[s:e])
                if i is None:
                    continue
                if e == s + 1:
                    single = True
                sc = best[s] + self.scores[i]
                if sc > best[e]:
                    best[e], back[e] = sc, (s, i)
            if not single:
                sc = best[s] + self.unk_score
                if sc > best[s + 1]:
                    best[s + 1], back[s + 1] = sc, (s, self.unk)
        out, e = [], n
        while e > 0:
            s, i = back[e]
            out.append(i)
            e = s
        out.reverse()
        fused = []
        for i in out:  # fuse_unk
            if i == self.unk and fused and fused[-1] == self.unk:
                continue
            fused.append(i)
        return fused

    def encode(self, text):
        ids = []
        for is_added, x in split_added(text, self.added):
            if is_added:
                ids.append(x)
                continue
            norm = self.charsmap.normalize_hf(x)
            words, cur = [], ""
            for c in norm:  # WhitespaceSplit on Rust's char::is_whitespace
                if bert_is_ws(c):
                    if cur:
                        words.append(cur)
                    cur = ""
                else:
                    cur += c
            if cur:
                words.append(cur)
            for word in words:
                if not word.startswith("\u2581"):
                    word = "\u2581" + word
                parts = regex.split(r"(?=\u2581)", word)  # Metaspace split, merged with next
                for p in parts:
                    if p:
                        ids += self.viterbi(p)
        return ids


# ----------------------------------------------------------------------------------------------
# SentencePiece .model files through python3-sentencepiece


def spm_records(model_path):
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=model_path)
    eos = sp.eos_id()
    tpl = ([("A", 0), ("S", eos, 0)], [("A", 0), ("S", eos, 0), ("B", 0), ("S", eos, 0)])
    id_to_token = {i: sp.id_to_piece(i) for i in range(sp.get_piece_size())}
    recs = run_cases(lambda t: sp.encode(t), tpl, id_to_token)
    for r in recs:  # decode expectations
        if r.get("add_special_tokens") is False:
            r["decoded"] = sp.decode(r["ids"])
    return recs


def write(path, recs):
    with open(path, "w", encoding="utf-8") as f:
        for r in recs:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print("wrote %s (%d cases)" % (path, len(recs)))


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/text"
    wp = WordPieceRef(os.path.join(root, "bert-base-uncased"))
    write(os.path.join(root, "golden_wordpiece.jsonl"), run_cases(wp.encode, wp.tpl, wp.id_to_token))
    bpe = BpeRef(os.path.join(root, "whisper-tiny"))
    recs = run_cases(bpe.encode, bpe.tpl, bpe.id_to_token)
    for t in ["<|startoftranscript|><|en|><|transcribe|><|0.00|> Hello world.<|2.50|><|endoftext|>",
              "text with <|endoftext|> inside and <|fr|> tokens", "<|30.00|><|29.98|>"]:
        recs.append({"text": t, "add_special_tokens": False, "ids": bpe.encode(t)})
    for r in recs:
        if r.get("add_special_tokens") is False:
            r["decoded"] = bpe.decode(r["ids"])
    write(os.path.join(root, "golden_bpe.jsonl"), recs)
    uni = UnigramRef(os.path.join(root, "t5-small"))
    recs = run_cases(uni.encode, uni.tpl, uni.id_to_token)
    recs.append({"text": "Translate: <extra_id_0> the <extra_id_1>.", "add_special_tokens": False,
                 "ids": uni.encode("Translate: <extra_id_0> the <extra_id_1>.")})
    write(os.path.join(root, "golden_unigram.jsonl"), recs)
    for kind in ("unigram", "bpe"):
        model = os.path.join(root, "spm-%s" % kind, "spm.model")
        if os.path.exists(model):
            write(os.path.join(root, "golden_spm_%s.jsonl" % kind), spm_records(model))


if __name__ == "__main__":
    main()
