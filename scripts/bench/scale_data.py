#!/usr/bin/env python3
"""Writes a training set N times the size of a given one, for scaling benchmarks (issue 19).

    scale_data.py IN_CSV OUT_CSV FACTOR [--seed S] [--columns summary,text] [--change 0.05]

Copy 0 is the input as it is. Every further copy changes each word of the text columns with
probability --change: it is dropped, repeated, or swapped with its right neighbour (one third
each), so the copies are near-duplicates with their own n-grams, not exact repeats. The other
columns are kept; a column named `package` gets a suffix `~j` so rows stay distinct. FACTOR may be
fractional (e.g. 0.3 writes the first 30 % of the rows). Deterministic for a seed.
"""
import argparse
import csv
import random
import sys


def perturb(text, rng, p):
    out = []
    words = text.split(" ")
    i = 0
    while i < len(words):
        w = words[i]
        if w and rng.random() < p:
            kind = rng.randrange(3)
            if kind == 0:
                i += 1
                continue
            if kind == 1:
                out.extend([w, w])
                i += 1
                continue
            if i + 1 < len(words):
                out.extend([words[i + 1], w])
                i += 2
                continue
        out.append(w)
        i += 1
    return " ".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("factor", type=float)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--columns", default="summary,text")
    ap.add_argument("--change", type=float, default=0.05)
    a = ap.parse_args()
    csv.field_size_limit(sys.maxsize)
    with open(a.input, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        fields = reader.fieldnames
        rows = list(reader)
    cols = [c for c in a.columns.split(",") if c in fields]
    rng = random.Random(a.seed)
    total = int(round(len(rows) * a.factor))
    with open(a.output, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        written = 0
        copy = 0
        while written < total:
            for r in rows:
                if written >= total:
                    break
                if copy > 0:
                    r = dict(r)
                    for c in cols:
                        r[c] = perturb(r[c], rng, a.change)
                    if "package" in r:
                        r["package"] = f"{r['package']}~{copy}"
                w.writerow(r)
                written += 1
            copy += 1
    print(f"{a.output}: {written} rows ({a.factor}x of {len(rows)})")


if __name__ == "__main__":
    main()
