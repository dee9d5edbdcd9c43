"""Training end to end on a small slice of the data: deterministic, loadable, honest card."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from custtype import Classifier
from custtype.training.train import train

PER_LABEL = 12


def _slice(src: Path, dst: Path, per_label: int) -> None:
    for split in ("train", "test"):
        for f in sorted((src / split).glob("*.jsonl")):
            seen: dict[str, int] = defaultdict(int)
            keep = []
            for line in f.read_text(encoding="utf-8").splitlines():
                row = json.loads(line)
                if seen[row["label"]] < per_label:
                    seen[row["label"]] += 1
                    keep.append(line)
            (dst / split).mkdir(parents=True, exist_ok=True)
            (dst / split / f.name).write_text("\n".join(keep) + "\n", encoding="utf-8")


@pytest.mark.slow
def test_training_is_deterministic_and_loadable(repo_root: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    _slice(repo_root / "training_data", data, PER_LABEL)
    a = train(data, tmp_path / "a", version="t1", c_grid=(10.0,))
    b = train(data, tmp_path / "b", version="t1", c_grid=(10.0,))
    assert a.card["files"] == b.card["files"]  # same data and seed, same bytes
    card = a.card
    assert card["n_test"] > 0 and card["training_data_sha256"]
    assert 0.0 <= card["metrics_test"]["macro_f1"] <= 1.0
    clf = Classifier.load(a.path)
    pred = clf.predict(["Kiedy wyniki konkursu? Oznaczyłam trzy koleżanki!"])[0]
    assert pred.model_version == "t1" and pred.language == "pl"
