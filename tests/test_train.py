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
    # a thresholds file that carries another model's precision figures: not inherited
    shipped = Classifier.load().policy
    thresholds = tmp_path / "thresholds.yaml"
    thresholds.write_text(json.dumps(shipped.model_dump()), encoding="utf-8")
    a = train(data, tmp_path / "a", version="t1", c_grid=(10.0,), thresholds_file=thresholds)
    assert shipped.precision is not None and a.card["policy"]["precision"] is None
    assert shipped.type_precision is not None and a.card["policy"]["type_precision"] is None
    b = train(data, tmp_path / "b", version="t1", c_grid=(10.0,))
    assert a.card["files"] == b.card["files"]  # same data and seed, same bytes
    card = a.card
    assert card["n_test"] > 0 and card["training_data_sha256"]
    assert 0.0 <= card["metrics_test"]["macro_f1"] <= 1.0
    clf = Classifier.load(a.path)
    pred = clf.predict(["Kiedy wyniki konkursu? Oznaczyłam trzy koleżanki!"])[0]
    assert pred.model_version == "t1" and pred.language == "pl"


@pytest.mark.slow
def test_retraining_from_corrections_and_comparing(repo_root: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from custtype.cli import app
    from custtype.store.records import Shown, Store
    from custtype.store.settings import StoreSettings
    from custtype.training.from_feedback import load_feedback

    data = tmp_path / "data"
    _slice(repo_root / "training_data", data, 5)
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = Store.open(StoreSettings(url=url, keep_text=True))
    # agents' corrections: messages of the slice's test split, labelled as their writers did
    rows = [
        json.loads(x)
        for f in sorted((data / "test").glob("*.jsonl"))
        for x in f.read_text("utf-8").splitlines()
    ][:80]
    for row in rows:
        pid = store.add_prediction(
            Shown(row["text"], row["lang"], "undetermined", 0.3, "off", False, "t1", "1:x", "api")
        )
        store.add_feedback(pid, "correct", row["label"], "agent-1")
    base = train(data, tmp_path / "m", version="base", c_grid=(10.0,))
    fb = load_feedback(url)
    taught = train(data, tmp_path / "m", c_grid=(10.0,), feedback=fb)
    assert taught.card["feedback"]["train"] == len(fb.train) > 0
    assert taught.card["n_train"] == base.card["n_train"] + len(fb.train)
    assert taught.path.name.endswith(f"-fb{len(fb.train)}")
    r = CliRunner().invoke(
        app,
        [
            "models",
            "compare",
            str(base.path),
            str(taught.path),
            "--data",
            str(data),
            "--feedback",
            url,
        ],
    )
    assert "test macro-F1 macro_f1" in r.output
    assert f"feedback hold-out accuracy (n={len(fb.holdout)})" in r.output
    assert ("promotable: yes" in r.output) == (r.exit_code == 0)
    assert ("promotable: no" in r.output) == (r.exit_code == 1)


def test_tuning_on_labelled_messages_sets_what_a_named_type_confidence_says(
    classifier: Classifier, repo_root: Path
) -> None:
    from custtype.training.dataset import load_split
    from custtype.training.real import RealItem
    from custtype.training.train import tune_on_real

    rows = load_split(repo_root / "training_data", "test")[::6]
    items = [
        RealItem(r.message.id, r.message.lang, r.message.label, True, r.message.text) for r in rows
    ]
    policy, report = tune_on_real(classifier, classifier.policy, items, "a slice of the test split")
    counts, shares = report["precision"]["counts"], report["precision"]["shares"]
    assert policy.precision == shares and set(shares) == {"ru", "pl", "en"}
    for lang, levels in counts.items():
        for level, c in levels.items():
            assert 0 <= c["right"] <= c["named"]
            assert 0.0 <= shares[lang][level] <= 1.0
    named = sum(c["named"] for levels in counts.values() for c in levels.values())
    typed = sum(it.label != "none" for it in items)
    assert named >= typed // 2  # written messages: most typed ones are named


def test_tuning_on_one_language_keeps_the_others_figures(classifier: Classifier) -> None:
    """A team's Polish-only labels set Polish figures; Russian and English keep the card's."""
    from custtype.training.real import RealItem
    from custtype.training.train import tune_on_real

    texts = ["Gdzie jest moja paczka?!", "Dziękuję, wszystko doszło.", "Kiedy wyniki konkursu?"]
    items = [RealItem(str(i), "pl", "none", True, t) for i, t in enumerate(texts * 10)]
    before = classifier.policy.precision
    assert before is not None
    policy, report = tune_on_real(classifier, classifier.policy, items, "pl only")
    assert policy.precision is not None
    assert policy.precision["ru"] == before["ru"] and policy.precision["en"] == before["en"]
    assert set(report["precision"]["shares"]) <= {"pl"}
    kept, was = policy.type_precision or {}, classifier.policy.type_precision or {}
    assert kept.get("ru") == was.get("ru") and kept.get("en") == was.get("en")
