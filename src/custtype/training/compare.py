"""`custtype models compare OLD NEW`: both models on the test split, on real labelled messages
and on the feedback hold-out; NEW is promotable only if it regresses on none of them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from custtype.model.classifier import Classifier
from custtype.taxonomy import LANGS, NONE
from custtype.training.dataset import Located, load_split
from custtype.training.evaluation import real_figures_of
from custtype.training.metrics import model_metrics
from custtype.training.real import RealItem

# how much worse NEW may be on a figure before it counts as a regression (noise of the sets)
TOLERANCE = {"test": 0.01, "real_found": 0.02, "real_ordinary_typed": 0.02, "feedback": 0.02}


@dataclass
class Comparison:
    """Figures of both models and the regressions of NEW against OLD."""

    old: dict[str, Any]
    new: dict[str, Any]
    regressions: list[str] = field(default_factory=list)

    @property
    def promotable(self) -> bool:
        return not self.regressions


def _test(clf: Classifier, rows: Sequence[Located]) -> dict[str, float]:
    m = model_metrics(clf, rows)
    return {
        "macro_f1": m["macro_f1"],
        **{lang: v for lang, v in m["macro_f1_per_language"].items()},
    }


def _real(clf: Classifier, items: Sequence[RealItem]) -> dict[str, dict[str, float]]:
    figures, _ = real_figures_of(clf, items)
    return {
        lang: {k: figures[lang][k] for k in ("typed_found", "ordinary_typed")}
        for lang in LANGS
        if figures[lang]["typed"] or figures[lang]["ordinary"]
    }


def _feedback(clf: Classifier, rows: Sequence[Located]) -> dict[str, float]:
    predictions = clf.predict([r.message.text for r in rows], explain_evidence=False)
    right = sum(
        (p.type if p.outcome == "type" else NONE) == r.message.label
        for p, r in zip(predictions, rows, strict=True)
    )
    return {"n": len(rows), "accuracy": right / len(rows) if rows else 0.0}


def figures(
    clf: Classifier,
    test_rows: Sequence[Located],
    real: Sequence[RealItem],
    holdout: Sequence[Located],
) -> dict[str, Any]:
    """One model's figures on each set that is given."""
    out: dict[str, Any] = {"version": clf.version, "test": _test(clf, test_rows)}
    if real:
        out["real"] = _real(clf, real)
    if holdout:
        out["feedback"] = _feedback(clf, holdout)
    return out


def regressions(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Each figure on which NEW is worse than OLD by more than its tolerance."""
    found = []
    for key, value in old["test"].items():
        if new["test"][key] < value - TOLERANCE["test"]:
            found.append(f"test macro-F1 {key}: {value:.3f} -> {new['test'][key]:.3f}")
    for lang, f in old.get("real", {}).items():
        g = new["real"][lang]
        if g["typed_found"] < f["typed_found"] - TOLERANCE["real_found"]:
            found.append(
                f"real {lang} typed found: {f['typed_found']:.1%} -> {g['typed_found']:.1%}"
            )
        if g["ordinary_typed"] > f["ordinary_typed"] + TOLERANCE["real_ordinary_typed"]:
            found.append(
                f"real {lang} ordinary typed: {f['ordinary_typed']:.1%} -> "
                f"{g['ordinary_typed']:.1%}"
            )
    if "feedback" in old:
        a, b = old["feedback"]["accuracy"], new["feedback"]["accuracy"]
        if b < a - TOLERANCE["feedback"]:
            found.append(f"feedback hold-out accuracy: {a:.1%} -> {b:.1%}")
    return found


def compare(
    old: Path,
    new: Path,
    data_root: Path,
    real: Sequence[RealItem] = (),
    holdout: Sequence[Located] = (),
) -> Comparison:
    """Score both models on the same sets; NEW is promotable when nothing regressed."""
    test_rows = load_split(data_root, "test")
    a = figures(Classifier.load(old), test_rows, real, holdout)
    b = figures(Classifier.load(new), test_rows, real, holdout)
    return Comparison(a, b, regressions(a, b))
