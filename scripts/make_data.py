#!/usr/bin/python3
"""Builds nlpc's shipped dataset data/debian-sections/{train,valid,test}.csv.

Columns: package,section,tags,summary,text (the same as the Debian package descriptions corpus).
Labels: `section` (topic classification), `tags` (debtags, `;`-separated, multi-label),
`summary` (one-line synopsis of `text`, for summarization).

Two sources, same output format:
  --from-corpus DIR  a folder with train/valid/test.csv of that corpus (e.g. ../shared/datasets/
                     debian-packages-en); the splits are kept as given.
  --from-apt         rebuilds the corpus from Debian's own archive indexes: runs `apt-get update`
                     into a private lists folder with English translations enabled, then joins
                     Packages (Section, Tag, summary) with Translation-en (long descriptions) by
                     Description-md5. Splits are by a hash of the package name (10 % test, 10 % valid).

Then a stratified sample (per section, proportional, at least --min-per-class rows where a class
has them) of --train/--valid/--test rows is written with a fixed seed. Standard library only.
"""
import argparse
import collections
import csv
import hashlib
import io
import os
import random
import subprocess
import sys
import tempfile

COLUMNS = ["package", "section", "tags", "summary", "text"]


def read_corpus(folder):
    splits = {}
    for name in ("train", "valid", "test"):
        with open(os.path.join(folder, name + ".csv"), newline="", encoding="utf-8") as f:
            splits[name] = [{k: row[k] for k in COLUMNS} for row in csv.DictReader(f)]
    return splits


def parse_deb822(text):
    """Yields dicts of the stanzas of a Debian control-style file (continuation lines kept)."""
    stanza, key = {}, None
    for line in text.splitlines():
        if not line.strip():
            if stanza:
                yield stanza
            stanza, key = {}, None
        elif line[0] in " \t" and key:
            stanza[key] += "\n" + line
        else:
            key, _, value = line.partition(":")
            stanza[key] = value.strip()
    if stanza:
        yield stanza


def long_description(desc_field):
    """Turns a Description field's continuation lines into plain text (Debian policy 5.6.13)."""
    lines = desc_field.split("\n")[1:]
    out = []
    for line in lines:
        line = line[1:] if line.startswith(" ") else line
        out.append("" if line.strip() == "." else line)
    return "\n".join(out).strip()


def read_apt():
    tmp = tempfile.mkdtemp(prefix="nlpc-apt-")
    lists = os.path.join(tmp, "lists")
    os.makedirs(os.path.join(lists, "partial"))
    subprocess.run(["apt-get", "update", "-qq", "-o", "Dir::State::Lists=" + lists,
                    "-o", "Acquire::Languages=en", "-o", "Acquire::IndexTargets::deb::Translations::KeepCompressed=false"],
                   check=True)
    files = os.listdir(lists)

    def cat(name):
        return subprocess.run(["/usr/lib/apt/apt-helper", "cat-file", os.path.join(lists, name)],
                              check=True, capture_output=True).stdout.decode("utf-8", "replace")

    packages = [f for f in files if f.endswith("_main_binary-amd64_Packages") or "_main_binary-amd64_Packages." in f]
    translations = [f for f in files if "_main_i18n_Translation-en" in f]
    if not packages or not translations:
        sys.exit("make_data: apt did not fetch Packages and Translation-en indexes (got: %s)" % files)
    long_by_md5 = {}
    for t in translations:
        for st in parse_deb822(cat(t)):
            if "Description-md5" in st and "Description-en" in st:
                long_by_md5[st["Description-md5"]] = long_description(st["Description-en"])
    rows = {}
    for p in packages:
        for st in parse_deb822(cat(p)):
            name, md5 = st.get("Package"), st.get("Description-md5")
            text = long_by_md5.get(md5, "")
            if not name or name in rows or not text:
                continue
            section = st.get("Section", "").split("/")[-1]
            tags = ";".join(t.strip() for t in st.get("Tag", "").replace("\n", " ").split(",") if t.strip())
            summary = st.get("Description", "").split("\n")[0].strip()
            rows[name] = {"package": name, "section": section, "tags": tags, "summary": summary, "text": text}
    splits = {"train": [], "valid": [], "test": []}
    for name in sorted(rows):
        h = int(hashlib.md5(name.encode()).hexdigest(), 16) % 10
        splits["test" if h == 0 else "valid" if h == 1 else "train"].append(rows[name])
    return splits


def stratified_sample(rows, n, min_per_class, rng):
    by_class = collections.defaultdict(list)
    for r in rows:
        by_class[r["section"]].append(r)
    total = len(rows)
    picked = []
    for label in sorted(by_class):
        members = by_class[label]
        k = max(min(min_per_class, len(members)), round(n * len(members) / total))
        picked.extend(rng.sample(members, min(k, len(members))))
    rng.shuffle(picked)
    return picked


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--from-corpus", metavar="DIR")
    src.add_argument("--from-apt", action="store_true")
    ap.add_argument("--out", default="data/debian-sections")
    ap.add_argument("--train", type=int, default=8000)
    ap.add_argument("--valid", type=int, default=1200)
    ap.add_argument("--test", type=int, default=1200)
    ap.add_argument("--min-per-class", type=int, default=3)
    ap.add_argument("--seed", type=int, default=20261122)
    args = ap.parse_args()

    splits = read_corpus(args.from_corpus) if args.from_corpus else read_apt()
    rng = random.Random(args.seed)
    os.makedirs(args.out, exist_ok=True)
    for name, n in (("train", args.train), ("valid", args.valid), ("test", args.test)):
        sample = stratified_sample(splits[name], n, args.min_per_class, rng)
        path = os.path.join(args.out, name + ".csv")
        with open(path + ".tmp", "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
            w.writeheader()
            w.writerows(sample)
        os.replace(path + ".tmp", path)
        print("%s: %d rows, %d sections" % (path, len(sample), len({r["section"] for r in sample})))


if __name__ == "__main__":
    main()
