#!/usr/bin/python3
"""Reference word/character edit counts from NIST SCTK's sclite (Debian package `sctk`).

Writes the reference/hypothesis pairs below as trn files, runs
  sctk sclite -r ref.trn trn -h hyp.trn trn -i spu_id -s -e utf-8 -o pra stdout
(case-sensitive, UTF-8) and parses the per-utterance "Scores: (#C #S #D #I)" lines. Character
counts come from the same run on the texts rewritten as one token per code point (a space becomes
the token "|"). The pairs are compared raw: nlpc's normaliser is tested separately.

Output (JSON, default tests/fixtures/eval/wer_sclite.json): {"pairs": [{"ref", "hyp", "words":
[C, S, D, I], "chars": [C, S, D, I]}, ...], "totals": {...}}; tests/unit/test_wer.cpp checks that
nlpc::eval counts every pair identically.

  apt-get install -y sctk; /usr/bin/python3 scripts/ref/wer_sclite.py [OUT.json]
"""
import json
import os
import re
import subprocess
import sys
import tempfile

PAIRS = [
    ("the cat sat on the mat", "the cat sat on mat"),
    ("the cat sat on the mat", "the cat sat on the mat"),
    ("hello world", "hello big world"),
    ("and so my fellow americans ask not what your country can do for you",
     "and so my fellow american ask not what your country can do for you"),
    ("ask what you can do for your country", "ask what you can do for you country"),
    ("three one four one five nine", "three one for one five nine two"),
    ("seven eight", "seven seven eight eight"),
    ("two zero zero six", "two thousand six"),
    ("nine nine nine", ""),
    ("", "uh"),
    ("", ""),
    ("turn the lights off in the kitchen", "turn lights of in kitchen please"),
    ("set a timer for ten minutes", "set the timer four ten minute"),
    ("what's the weather like tomorrow", "whats the whether like to morrow"),
    ("Der schnelle braune Fuchs", "der schnelle braune fuchs"),
    ("café crème à la carte", "cafe crème a la carte"),
    ("один два три", "один три"),
    ("a b c d e f", "f e d c b a"),
    ("speech recognition is hard", "speech wreck a nice beach is hard"),
    ("I scream you scream", "ice cream you scream"),
    ("one", "one two three four five"),
    ("please call stella ask her to bring these things with her from the store",
     "please call stella ask her to bring these things with her from the store"),
    ("six spoons of fresh snow peas", "six spoon of fresh snow peace five"),
    ("the quick brown fox jumps over the lazy dog", "quick brown fox jumped over a lazy dog"),
]


def run_sclite(refs, hyps, workdir, tag):
    ref_path = os.path.join(workdir, tag + "_ref.trn")
    hyp_path = os.path.join(workdir, tag + "_hyp.trn")
    with open(ref_path, "w", encoding="utf-8") as r, open(hyp_path, "w", encoding="utf-8") as h:
        for k, (ref, hyp) in enumerate(zip(refs, hyps)):
            uid = "spk_%03d" % k
            r.write("%s (%s)\n" % (ref, uid))
            h.write("%s (%s)\n" % (hyp, uid))
    out = subprocess.run(["sctk", "sclite", "-r", ref_path, "trn", "-h", hyp_path, "trn", "-i", "spu_id",
                          "-s", "-e", "utf-8", "-o", "pra", "stdout"],
                         check=True, capture_output=True, text=True).stdout
    scores = {}
    current = None
    for line in out.splitlines():
        m = re.match(r"id: \((spk_\d+)\)", line)
        if m:
            current = int(m.group(1)[4:])
        m = re.match(r"Scores: \(#C #S #D #I\) (\d+) (\d+) (\d+) (\d+)", line)
        if m and current is not None:
            scores[current] = [int(x) for x in m.groups()]
    if len(scores) != len(refs):
        sys.exit("sclite reported %d of %d utterances:\n%s" % (len(scores), len(refs), out))
    return [scores[k] for k in range(len(refs))]


def as_chars(text):
    return " ".join("|" if c == " " else c for c in text)


def main():
    out_path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(__file__), "..", "..", "tests", "fixtures", "eval", "wer_sclite.json")
    refs = [p[0] for p in PAIRS]
    hyps = [p[1] for p in PAIRS]
    with tempfile.TemporaryDirectory() as tmp:
        words = run_sclite(refs, hyps, tmp, "words")
        chars = run_sclite([as_chars(r) for r in refs], [as_chars(h) for h in hyps], tmp, "chars")
    pairs = [{"ref": r, "hyp": h, "words": w, "chars": c} for r, h, w, c in zip(refs, hyps, words, chars)]
    totals = {k: [sum(p[k][i] for p in pairs) for i in range(4)] for k in ("words", "chars")}
    for k in ("words", "chars"):
        c, s, d, i = totals[k]
        print("%s: C=%d S=%d D=%d I=%d  error rate %.4f" % (k, c, s, d, i, (s + d + i) / (c + s + d)))
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump({"tool": "sctk sclite -i spu_id -s -e utf-8 -o pra", "pairs": pairs, "totals": totals},
                  f, ensure_ascii=False, indent=1)
        f.write("\n")
    print("wrote", out_path)


if __name__ == "__main__":
    main()
