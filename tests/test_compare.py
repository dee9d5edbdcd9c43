"""Promotion rules of `custtype models compare`, and the feedback store as a training source."""

from __future__ import annotations

from pathlib import Path

import pytest

from custtype.store.records import Shown, Store
from custtype.store.settings import StoreSettings
from custtype.training.compare import regressions
from custtype.training.from_feedback import load_feedback


def _figures(f1: float = 0.95, found: float = 0.6, typed: float = 0.08, fb: float = 0.8) -> dict:
    return {
        "test": {"macro_f1": f1, "ru": f1, "pl": f1, "en": f1},
        "real": {"pl": {"typed_found": found, "ordinary_typed": typed}},
        "feedback": {"n": 50, "accuracy": fb},
    }


@pytest.mark.parametrize(
    ("new", "expected"),
    [
        (_figures(), []),
        (_figures(f1=0.945, found=0.59, typed=0.09, fb=0.79), []),  # within tolerances
        (_figures(f1=0.93), ["test macro-F1 macro_f1", "test macro-F1 ru"]),
        (_figures(found=0.5), ["real pl typed found"]),
        (_figures(typed=0.12), ["real pl ordinary typed"]),
        (_figures(fb=0.7), ["feedback hold-out accuracy"]),
    ],
)
def test_a_candidate_is_promotable_only_without_regressions(new: dict, expected: list[str]) -> None:
    found = regressions(_figures(), new)
    assert [f.split(":")[0] for f in found][: len(expected)] == expected
    assert bool(found) == bool(expected)


def test_labelled_messages_with_text_become_training_rows(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    store = Store.open(StoreSettings(url=url, keep_text=True))
    texts = [f"Gdzie jest moja paczka numer {i}? Czekam od tygodnia." for i in range(60)]
    for i, text in enumerate(texts):
        pid = store.add_prediction(
            Shown(text, "pl", "want_it_now", 0.9, "suggest", False, "m", "1:x", "api")
        )
        if i % 3 == 0:
            store.add_feedback(pid, "correct", "none", f"agent-{i % 2}")
        elif i % 3 == 1:
            store.add_feedback(pid, "confirm", None, "agent-9")
        else:
            store.add_feedback(pid, "unsure", None, "agent-9")  # no label: not used
    store.add_prediction(
        Shown("Hola, dónde está mi pedido?", "es", "none", 0.9, "off", False, "m", "1:x", "api")
    )
    data = load_feedback(url)
    rows = data.train + data.holdout
    assert len(rows) == 40 and 0 < len(data.holdout) < 20
    assert {r.message.label for r in rows} == {"none", "want_it_now"}
    assert all(r.message.source.startswith("feedback:agent-") for r in rows)
    again = load_feedback(url)  # the hold-out is the same on every run
    assert [r.message.id for r in again.holdout] == [r.message.id for r in data.holdout]
