"""The shipped model matches the shipped data, and its card reports what it must."""

from __future__ import annotations

from pathlib import Path

from custtype.data import data_hash
from custtype.model import default_model_dir, read_card


def test_shipped_model_is_not_stale(repo_root: Path) -> None:
    card = read_card(default_model_dir())
    assert card["training_data_sha256"] == data_hash(repo_root / "training_data"), (
        "training_data/ changed since the shipped model was trained: run `custtype train`"
    )


def test_card_reports_test_metrics_and_versions() -> None:
    card = read_card(default_model_dir())
    m = card["metrics_test"]
    assert set(m["macro_f1_per_language"]) == {"ru", "pl", "en"}
    assert {"precision", "recall", "f1"} <= set(m["per_class"]["tester"])
    assert 0 <= m["ece"] <= 1
    assert m["coverage_vs_accuracy"][0]["coverage"] == 1.0
    assert {"scikit-learn", "numpy", "scipy"} <= set(card["library_versions"])
    assert card["thresholds"]["abstain"] >= card["policy"]["abstain_min"]
    assert "never" in card["intended_use"]
