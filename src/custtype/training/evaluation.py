"""`custtype evaluate`: score the test split with a model and write the plots."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from custtype.errors import DataError
from custtype.model.classifier import Classifier
from custtype.taxonomy import LABELS
from custtype.training.dataset import load_split
from custtype.training.metrics import model_metrics, plot_confusion, plot_reliability
from custtype.training.real import (
    RealItem,
    best_types,
    decide_all,
    load_real,
    plot_real_curve,
    real_curve,
    real_figures,
)


def evaluate_model(
    model: Path | None,
    data_root: Path,
    out: Path,
    corpus: Path | None = None,
    real: Path | None = None,
) -> dict[str, Any]:
    """Metrics of a model on DATA/test plus a confusion matrix and a reliability diagram;
    with `corpus`, also the real-traffic check on its unlabelled messages; with `real` (a
    labels file in real_dev's format, texts from `corpus`), figures on real labelled
    messages and a plot of typed messages found against ordinary ones typed."""
    clf = Classifier.load(model)
    rows = load_split(data_root, "test")
    raw = clf.raw_scores([clf.analyze(r.message.text) for r in rows])
    m = model_metrics(clf, rows, raw)
    probs = clf.calibrated(raw)
    y = [r.message.label for r in rows]
    out.mkdir(parents=True, exist_ok=True)
    cm = plot_confusion(m, out / "confusion_matrix.png", f"Test set, model {clf.version}")
    rel = plot_reliability(probs, y, LABELS, out / "reliability.png")
    result: dict[str, Any] = {
        "model_version": clf.version,
        "metrics": m,
        "confusion_png": str(cm),
        "reliability_png": str(rel),
    }
    if real is not None:
        if corpus is None:
            raise DataError(
                "--real needs --corpus: the folder the labelled messages' texts are in."
            )
        result["real"] = real_check(clf, real, corpus, out)
    if corpus is not None:
        result["real_traffic"] = real_traffic_check(clf, corpus)
    return result


def real_figures_of(
    clf: Classifier, items: Sequence[RealItem]
) -> tuple[dict[str, Any], np.ndarray]:
    """A model's figures under its own policy on real labelled messages (`real_figures`),
    and its decision scores of them."""
    raw = clf.raw_scores([clf.analyze(it.text) for it in items])
    scores = clf.policy.scores(raw)
    types, levels = decide_all(clf.policy, clf.calibrated(raw), scores, items, clf.labels)
    return real_figures(items, types, levels), scores


def real_check(clf: Classifier, labels: Path, corpus: Path, out: Path) -> dict[str, Any]:
    """Figures on real labelled messages with the model's policy, and the curve PNG."""
    items = load_real(labels, corpus)
    figures, scores = real_figures_of(clf, items)
    best, score = best_types(scores, clf.labels)
    guesses = [clf.labels[b] for b in best]
    curve = real_curve(items, score, guesses)
    marks = {
        lang: (figures[lang]["ordinary_typed"], figures[lang]["typed_found"])
        for lang in curve
        if lang in figures
    }
    png = plot_real_curve(
        curve, out / "real_curve.png", f"Real messages ({labels.name}), model {clf.version}", marks
    )
    return {"source": str(labels), "n": len(items), "figures": figures, "curve_png": str(png)}


def real_traffic_check(clf: Classifier, corpus: Path, sample: int = 5) -> dict[str, Any]:
    """Share of unlabelled real messages given a type, per language and confidence level.

    Reads every `*.jsonl` in `corpus` (a `text` field per line). Real traffic is mostly
    ordinary, so these shares should be low; a few typed messages per language are
    returned for a person to read.
    """
    import json
    from collections import Counter

    texts: list[str] = []
    for f in sorted(corpus.glob("*.jsonl")):
        for line in f.read_text(encoding="utf-8").splitlines():
            text = json.loads(line).get("text")
            if isinstance(text, str) and text.strip():
                texts.append(text[:20_000])
    by_lang: dict[str, Counter[str]] = {}
    examples: dict[str, list[dict[str, Any]]] = {}
    for i in range(0, len(texts), 512):
        chunk = texts[i : i + 512]
        for text, p in zip(chunk, clf.predict(chunk, explain_evidence=False), strict=True):
            c = by_lang.setdefault(p.language, Counter())
            c["messages"] += 1
            if p.outcome == "type":
                c["typed"] += 1
                c[f"typed_{p.score_level}"] += 1  # the floors' level, as on real_dev
                c[f"type:{p.type}"] += 1
                shown = examples.setdefault(p.language, [])
                if len(shown) < sample:
                    shown.append(
                        {"type": p.type, "confidence": round(p.confidence, 3), "text": text[:300]}
                    )
            else:
                c[p.outcome] += 1
    summary = {
        lang: {
            "messages": c["messages"],
            "typed_share": c["typed"] / c["messages"],
            "high_share": c["typed_high"] / c["messages"],
            "medium_share": c["typed_medium"] / c["messages"],
            "undetermined_share": c["undetermined"] / c["messages"],
            "types": {k[5:]: v for k, v in sorted(c.items()) if k.startswith("type:")},
        }
        for lang, c in sorted(by_lang.items())
        if c["messages"] >= 20
    }
    return {"model_version": clf.version, "languages": summary, "examples": examples}
