#!/usr/bin/python3
"""Golden values for nlpc's metrics (src/eval) from scikit-learn (Debian python3-sklearn 1.2).

Run with Debian's interpreter:  /usr/bin/python3 scripts/ref/metrics_ref.py tests/fixtures/eval/metrics_ref.json
Inputs are generated from a fixed seed and written into the fixture next to the expected values, as
float32 probabilities (the C++ side reads them as float and scikit-learn sees the same values).
"""
import json
import sys

import numpy as np
import sklearn
from sklearn import metrics as skm


def f32(a):
    return np.asarray(a, dtype=np.float32)


def multiclass_case(name, rng, n, k, absent_true=(), absent_all=(), round_to=None):
    y = rng.integers(0, k, size=n)
    for c in list(absent_true) + list(absent_all):
        y[y == c] = 0
    logits = rng.normal(size=(n, k)) + 2.0 * np.eye(k)[y] * rng.random((n, 1))
    for c in absent_all:
        logits[:, c] = -30.0
    p = np.exp(logits)
    p /= p.sum(axis=1, keepdims=True)
    if round_to is not None:  # creates ties
        p = np.round(p, round_to)
        p /= p.sum(axis=1, keepdims=True)
    p = f32(p)
    pd = p.astype(np.float64)
    pred = pd.argmax(axis=1)
    out = {"name": name, "k": k, "y_true": y.tolist(), "proba": [[float(v) for v in r] for r in p]}
    exp = {"accuracy": skm.accuracy_score(y, pred)}
    for avg in ("macro", "micro", "weighted"):
        pr, rc, f1, _ = skm.precision_recall_fscore_support(y, pred, average=avg, zero_division=0)
        exp["precision_" + avg], exp["recall_" + avg], exp["f1_" + avg] = pr, rc, f1
    pr, rc, f1, sup = skm.precision_recall_fscore_support(y, pred, labels=list(range(k)), average=None,
                                                          zero_division=0)
    for c in range(k):
        exp["precision/%d" % c], exp["recall/%d" % c], exp["f1/%d" % c] = pr[c], rc[c], f1[c]
        exp["support/%d" % c] = int(sup[c])
    present = [c for c in range(k) if 0 < (y == c).sum() < n]
    aucs = [skm.roc_auc_score((y == c).astype(int), pd[:, c]) for c in present]
    exp["roc_auc_ovr_macro"] = float(np.mean(aucs))
    exp["roc_auc_ovr_macro/classes"] = len(present)  # a count: a detail of the macro AUC
    if len(present) == k and k > 2:  # the same through scikit-learn's multi-class API
        assert abs(skm.roc_auc_score(y, pd, multi_class="ovr", average="macro") - np.mean(aucs)) < 1e-12
    if k == 2:
        assert abs(skm.roc_auc_score(y, pd[:, 1]) - np.mean(aucs)) < 1e-12
    exp["log_loss"] = skm.log_loss(y, pd, labels=list(range(k)))
    out["expected"] = {key: float(v) for key, v in exp.items()}
    out["confusion_matrix"] = skm.confusion_matrix(y, pred, labels=list(range(k))).tolist()
    return out


def precision_at_k(Y, p, k):
    order = np.argsort(-p, axis=1, kind="stable")[:, :k]
    hits = np.take_along_axis(Y, order, axis=1).sum(axis=1)
    return float((hits / k).mean())


def multilabel_case(name, rng, n, L, thresholds):
    Y = (rng.random((n, L)) < np.linspace(0.5, 0.05, L)).astype(int)
    Y[:, L - 1] = 0  # a label never true
    Y[: n // 10] = 0  # rows without labels
    score = Y * rng.random((n, L)) * 1.5 + rng.random((n, L)) * 0.6
    p = f32(np.clip(score, 0, 1))
    p[:, L - 1] = f32(np.minimum(p[:, L - 1], 0.3))  # ... and never predicted at 0.5
    pd = p.astype(np.float64)
    thr = np.asarray(thresholds if len(thresholds) == L else thresholds * L, dtype=np.float32)
    P = (p >= thr[None, :]).astype(int)
    exp = {}
    for avg in ("micro", "macro"):
        pr, rc, f1, _ = skm.precision_recall_fscore_support(Y, P, average=avg, zero_division=0)
        exp["f1_" + avg], exp["precision_" + avg], exp["recall_" + avg] = f1, pr, rc
    exp["subset_accuracy"] = skm.accuracy_score(Y, P)
    exp["hamming_loss"] = skm.hamming_loss(Y, P)
    for k in (1, 3, 5):
        exp["precision_at_%d" % k] = precision_at_k(Y, pd, k)
    best = []
    for l in range(L):
        if Y[:, l].sum() == 0:
            best.append(None)
            continue
        pr, rc, _ = skm.precision_recall_curve(Y[:, l], pd[:, l])
        with np.errstate(invalid="ignore", divide="ignore"):
            f = np.where(pr + rc > 0, 2 * pr * rc / (pr + rc), 0.0)
        best.append(float(f.max()))
    return {"name": name, "labels": L, "y_true": [np.nonzero(r)[0].tolist() for r in Y],
            "proba": [[float(v) for v in r] for r in p], "thresholds": [float(t) for t in thresholds],
            "expected": {key: float(v) for key, v in exp.items()}, "best_f1_per_label": best}


def main():
    rng = np.random.default_rng(20261122)
    cases = [
        multiclass_case("multiclass_absent", rng, 240, 6, absent_true=(4,), absent_all=(5,)),
        multiclass_case("multiclass_ties", rng, 150, 4, round_to=1),
        multiclass_case("binary", rng, 120, 2),
    ]
    ml = [
        multilabel_case("multilabel_05", rng, 160, 7, [0.5]),
        multilabel_case("multilabel_per_label", rng, 120, 6, [0.3, 0.4, 0.5, 0.6, 0.7, 0.5]),
    ]
    vals = rng.random(37)
    pct = {"values": vals.tolist(), "q": [0, 2.5, 50, 97.5, 100],
           "expected": [float(np.percentile(vals, q)) for q in (0, 2.5, 50, 97.5, 100)]}
    doc = {"sklearn_version": sklearn.__version__, "multiclass": cases, "multilabel": ml, "percentile": pct}
    with open(sys.argv[1], "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
