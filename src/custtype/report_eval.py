"""`custtype evaluate`: score the test split with a model and write the plots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .data import load_split
from .evaluate import metrics, plot_confusion, plot_reliability
from .features import analyze
from .model import Classifier
from .taxonomy import LABELS


def evaluate_model(model: Path | None, data_root: Path, out: Path) -> dict[str, Any]:
    """Metrics of a model on DATA/test plus a confusion matrix and a reliability diagram."""
    clf = Classifier.load(model)
    rows = load_split(data_root, "test")
    probs = clf.probabilities([analyze(r.message.text) for r in rows])
    y = [r.message.label for r in rows]
    langs = [r.message.lang for r in rows]
    m = metrics(probs, y, langs, LABELS, clf.thresholds.abstain)
    out.mkdir(parents=True, exist_ok=True)
    cm = plot_confusion(m, out / "confusion_matrix.png", f"Test set, model {clf.version}")
    rel = plot_reliability(probs, y, LABELS, out / "reliability.png")
    return {
        "model_version": clf.version,
        "metrics": m,
        "confusion_png": str(cm),
        "reliability_png": str(rel),
    }
