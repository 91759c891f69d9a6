#!/usr/bin/python3
"""References for scripts/bench/baseline.sh (Debian python3-sklearn; run with /usr/bin/python3).

  baseline_ref.py fasttext-data DATA_DIR COLS OUT_DIR     writes OUT_DIR/{train,test}.ft (fastText format)
  baseline_ref.py fasttext-score DATA_DIR PRED_FILE       accuracy / macro-F1 of `fasttext predict` output
  baseline_ref.py sklearn-section DATA_DIR COLS THREADS   TF-IDF(1-2, sublinear, min_df 2) + LinearSVC(C=0.5)
  baseline_ref.py sklearn-tags DATA_DIR COLS THREADS      same features, one-vs-rest LinearSVC on `tags`

COLS: text column(s), comma-separated (joined with a newline), e.g. `text` or `summary,text`.
train_s is wall-clock, cpu_s is CPU time (this process and its worker processes).

Prints one JSON object per command. `tags`: rows without tags (about half of the data, unannotated
packages) are left out of training and evaluation; the label set is every tag seen in train (test
tags never seen in train cannot be predicted by any system and are dropped, as MultiLabelBinarizer does).
"""
import csv
import json
import re
import resource
import sys
import time

import numpy as np


def load(data_dir, split):
    with open(f"{data_dir}/{split}.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def cpu_seconds():
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def text_of(r, cols):
    return "\n".join(r[c] for c in cols.split(","))


def ft_line(label_part, text):
    return label_part + " " + re.sub(r"\s+", " ", text.lower()).strip() + "\n"


def fasttext_data(data_dir, cols, out_dir):
    for split in ("train", "test"):
        with open(f"{out_dir}/{split}.ft", "w", encoding="utf-8") as f:
            for r in load(data_dir, split):
                f.write(ft_line("__label__" + r["section"], text_of(r, cols)))
    print(json.dumps({"ok": True}))


def fasttext_score(data_dir, pred_file):
    from sklearn.metrics import accuracy_score, f1_score
    y = [r["section"] for r in load(data_dir, "test")]
    with open(pred_file, encoding="utf-8") as f:
        pred = [line.strip().replace("__label__", "", 1) for line in f]
    print(json.dumps({"accuracy": accuracy_score(y, pred), "f1_macro": f1_score(y, pred, average="macro")}))


def vectorizer():
    from sklearn.feature_extraction.text import TfidfVectorizer
    return TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)


def sklearn_section(data_dir, cols, threads):
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.svm import LinearSVC
    train, test = load(data_dir, "train"), load(data_dir, "test")
    t0, c0 = time.time(), cpu_seconds()
    vec = vectorizer()
    X = vec.fit_transform([text_of(r, cols) for r in train])
    clf = LinearSVC(C=0.5).fit(X, [r["section"] for r in train])
    train_s, cpu_s = time.time() - t0, cpu_seconds() - c0
    pred = clf.predict(vec.transform([text_of(r, cols) for r in test]))
    y = [r["section"] for r in test]
    print(json.dumps({"accuracy": accuracy_score(y, pred), "f1_macro": f1_score(y, pred, average="macro"),
                      "train_s": train_s, "cpu_s": cpu_s}))


def sklearn_tags(data_dir, cols, threads):
    import warnings
    from sklearn.metrics import f1_score
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.preprocessing import MultiLabelBinarizer
    from sklearn.svm import LinearSVC
    tagged = lambda rows: [r for r in rows if r["tags"].strip()]
    train, test = tagged(load(data_dir, "train")), tagged(load(data_dir, "test"))
    split = lambda r: [t for t in r["tags"].split(";") if t]
    t0, c0 = time.time(), cpu_seconds()
    vec = vectorizer()
    X = vec.fit_transform([text_of(r, cols) for r in train])
    mlb = MultiLabelBinarizer()
    Y = mlb.fit_transform([split(r) for r in train])
    clf = OneVsRestClassifier(LinearSVC(C=0.5), n_jobs=threads).fit(X, Y)
    train_s, cpu_s = time.time() - t0, cpu_seconds() - c0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        Yt = mlb.transform([split(r) for r in test])
    P = clf.predict(vec.transform([text_of(r, cols) for r in test]))
    print(json.dumps({"f1_micro": f1_score(Yt, P, average="micro", zero_division=0),
                      "f1_macro": f1_score(Yt, P, average="macro", zero_division=0),
                      "train_rows": len(train), "test_rows": len(test), "labels": len(mlb.classes_),
                      "train_s": train_s, "cpu_s": cpu_s}))


if __name__ == "__main__":
    cmd, data = sys.argv[1], sys.argv[2]
    if cmd == "fasttext-data":
        fasttext_data(data, sys.argv[3], sys.argv[4])
    elif cmd == "fasttext-score":
        fasttext_score(data, sys.argv[3])
    elif cmd == "sklearn-section":
        sklearn_section(data, sys.argv[3], int(sys.argv[4]))
    elif cmd == "sklearn-tags":
        sklearn_tags(data, sys.argv[3], int(sys.argv[4]))
    else:
        sys.exit("unknown command " + cmd)
