"""Metrics and plots: per-class P/R/F1, macro-F1 per language, ECE, coverage vs accuracy."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from custtype.model.classifier import Classifier
from custtype.model.policy import Policy
from custtype.taxonomy import LABELS, NONE
from custtype.training.dataset import Located

ECE_BINS = 10


def decide(
    probs: np.ndarray,
    labels: Sequence[str],
    langs: Sequence[str],
    policy: Policy | None,
    scores: np.ndarray | None = None,
) -> list[str]:
    """The label each row ends up with under `policy` (None: the most probable label);
    `scores` are the decision scores (default: `probs`).

    An undetermined answer shows no type, like `none`, so it is scored as `none`.
    """
    if policy is None:
        return [labels[i] for i in probs.argmax(axis=1)]
    rows = probs if scores is None else scores
    out = []
    for p, s, lang in zip(probs, rows, langs, strict=True):
        d = policy.decide(p, labels, lang, s)
        out.append(d.label if d.label is not None else NONE)
    return out


def expected_calibration_error(
    probs: np.ndarray, y_true: Sequence[str], labels: Sequence[str]
) -> float:
    """ECE of the top-label confidence, equal-width bins."""
    if len(y_true) == 0:
        return 0.0
    conf = probs.max(axis=1)
    pred = np.asarray(labels)[probs.argmax(axis=1)]
    correct = pred == np.asarray(y_true)
    edges = np.linspace(0, 1, ECE_BINS + 1)
    ece = 0.0
    for lo, hi in itertools.pairwise(edges):
        mask = (conf > lo) & (conf <= hi)
        if mask.any():
            ece += mask.mean() * abs(correct[mask].mean() - conf[mask].mean())
    return float(ece)


def coverage_curve(
    probs: np.ndarray, y_true: Sequence[str], labels: Sequence[str]
) -> list[dict[str, float]]:
    """Accuracy on the messages kept at each confidence threshold, and the share kept."""
    conf = probs.max(axis=1)
    pred = np.asarray(labels)[probs.argmax(axis=1)]
    correct = pred == np.asarray(y_true)
    rows = []
    for t in np.round(np.arange(0.0, 1.0, 0.1), 2):
        kept = conf >= t
        rows.append(
            {
                "threshold": float(t),
                "coverage": float(kept.mean()) if len(conf) else 0.0,
                "accuracy": float(correct[kept].mean()) if kept.any() else 0.0,
            }
        )
    return rows


def metrics(
    probs: np.ndarray,
    y_true: Sequence[str],
    langs: Sequence[str],
    labels: Sequence[str],
    policy: Policy | None,
    scores: np.ndarray | None = None,
) -> dict[str, Any]:
    """All figures of the model card for one labelled set, decided by `policy` (None: the
    most probable label) on decision `scores` (default: `probs`)."""
    from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support

    y_pred = decide(probs, labels, langs, policy, scores)
    labels = list(labels)
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    per_lang = {}
    for lang in sorted(set(langs)):
        mask = [i for i, code in enumerate(langs) if code == lang]
        per_lang[lang] = float(
            f1_score(
                [y_true[i] for i in mask],
                [y_pred[i] for i in mask],
                labels=labels,
                average="macro",
                zero_division=0,
            )
        )
    return {
        "n": len(y_true),
        "macro_f1": float(
            f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)
        ),
        "macro_f1_per_language": per_lang,
        "accuracy": float(np.mean(np.asarray(y_pred) == np.asarray(y_true))),
        "per_class": {
            lab: {
                "precision": float(p[i]),
                "recall": float(r[i]),
                "f1": float(f[i]),
                "support": int(s[i]),
            }
            for i, lab in enumerate(labels)
        },
        "ece": expected_calibration_error(probs, y_true, labels),
        "coverage_vs_accuracy": coverage_curve(probs, y_true, labels),
        "confusion_matrix": {
            "labels": labels,
            "matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        },
    }


def plot_confusion(m: dict[str, Any], path: Path, title: str) -> Path:
    """Write the confusion matrix of `metrics()` as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = m["confusion_matrix"]["labels"]
    matrix = np.asarray(m["confusion_matrix"]["matrix"])
    fig, ax = plt.subplots(figsize=(7.5, 6.5))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(
                j,
                i,
                str(matrix[i, j]),
                ha="center",
                va="center",
                color="white" if matrix[i, j] > matrix.max() / 2 else "black",
                fontsize=8,
            )
    ax.set_xlabel("predicted (undetermined counted as none)")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_reliability(
    probs: np.ndarray, y_true: Sequence[str], labels: Sequence[str], path: Path
) -> Path:
    """Write a reliability diagram (confidence vs accuracy per bin) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    conf = probs.max(axis=1)
    correct = np.asarray(labels)[probs.argmax(axis=1)] == np.asarray(y_true)
    edges = np.linspace(0, 1, ECE_BINS + 1)
    centers, accs, counts = [], [], []
    for lo, hi in itertools.pairwise(edges):
        mask = (conf > lo) & (conf <= hi)
        if mask.any():
            centers.append(conf[mask].mean())
            accs.append(correct[mask].mean())
            counts.append(int(mask.sum()))
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.plot([0, 1], [0, 1], "--", color="grey", label="perfect calibration")
    ax.plot(centers, accs, "o-", label="model")
    for x, y, c in zip(centers, accs, counts, strict=True):
        ax.annotate(str(c), (x, y), textcoords="offset points", xytext=(4, -10), fontsize=7)
    ece = expected_calibration_error(probs, y_true, labels)
    ax.set_title(f"Reliability on the test set (ECE {ece:.3f})")
    ax.set_xlabel("confidence")
    ax.set_ylabel("accuracy")
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def model_metrics(
    model: Classifier, rows: Sequence[Located], raw: np.ndarray | None = None
) -> dict[str, Any]:
    """`metrics` of a model under its own policy on labelled rows (language detected, as in
    use): the test split's figures in `train`, `evaluate` and `models compare`. `raw`: the
    model's raw scores of the rows when the caller already has them."""
    if raw is None:
        raw = model.raw_scores([model.analyze(r.message.text) for r in rows])
    return metrics(
        model.calibrated(raw),
        [r.message.label for r in rows],
        [r.message.lang for r in rows],
        LABELS,
        model.policy,
        model.policy.scores(raw),
    )
