"""The decision policy: floors per language, the stricter judgement types, bands, tuning."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from custtype import LABELS, ModelError
from custtype.model.policy import choose_floor, load_policy
from custtype.taxonomy import JUDGEMENT_TYPES
from custtype.training.real import (
    RealItem,
    best_types,
    named_precision,
    real_figures,
    tune_policy,
)

POLICY = load_policy().model_copy(
    update={
        "type_floor": {"ru": 0.4, "pl": 0.5, "en": 0.6},
        "high_floor": {"ru": 0.8, "pl": 0.8, "en": 0.8},
    }
)


def _probs(**given: float) -> np.ndarray:
    p = np.zeros(len(LABELS))
    for label, value in given.items():
        p[LABELS.index(label)] = value
    rest = 1.0 - p.sum()
    p[LABELS.index("none")] += rest
    return p


@pytest.mark.parametrize(
    ("lang", "outcome"), [("ru", "type"), ("pl", "type"), ("en", "undetermined")]
)
def test_each_language_has_its_floor(lang: str, outcome: str) -> None:
    d = POLICY.decide(_probs(tester=0.55, none=0.45), LABELS, lang)
    assert d.outcome == outcome


@pytest.mark.parametrize("key", JUDGEMENT_TYPES)
def test_judgement_types_need_the_margin_more(key: str) -> None:
    just_over = POLICY.type_floor["pl"] + 0.01
    assert POLICY.decide(_probs(tester=just_over), LABELS, "pl").outcome == "type"
    judged = POLICY.decide(_probs(**{key: just_over}), LABELS, "pl")
    assert judged.outcome != "type"
    over_margin = POLICY.type_floor["pl"] + POLICY.judgement_margin + 0.01
    assert POLICY.decide(_probs(**{key: over_margin}), LABELS, "pl").label == key


def test_levels_none_and_undetermined() -> None:
    high = POLICY.decide(_probs(prize_hunter=0.85), LABELS, "ru")
    assert (high.outcome, high.level) == ("type", "high")
    medium = POLICY.decide(_probs(prize_hunter=0.45), LABELS, "ru")
    assert (medium.outcome, medium.level) == ("type", "medium")
    none = POLICY.decide(_probs(prize_hunter=0.05), LABELS, "ru")
    assert (none.outcome, none.label, none.level) == ("none", "none", "high")
    # no type at its floor and `none` below abstain_min: undetermined
    spread = _probs(tester=0.3, want_it_now=0.3, none=0.3)
    undecided = POLICY.decide(spread / spread.sum(), LABELS, "en")
    assert undecided.outcome == "undetermined" and undecided.label is None


def test_with_precision_a_named_type_says_how_often_its_level_was_right() -> None:
    policy = POLICY.model_validate(
        {**POLICY.model_dump(), "precision": {"ru": {"high": 0.95, "medium": 0.4}}}
    )
    high = policy.decide(_probs(prize_hunter=0.85), LABELS, "ru")
    assert (high.confidence, high.level, high.score_level) == (0.95, "high", "high")
    medium = policy.decide(_probs(prize_hunter=0.45), LABELS, "ru")
    assert (medium.confidence, medium.level, medium.score_level) == (0.4, "low", "medium")
    # a language without a figure keeps the calibrated probability and the score's level
    pl = policy.decide(_probs(prize_hunter=0.85), LABELS, "pl")
    assert (pl.confidence, pl.level) == (pytest.approx(0.85), "high")
    # `none` is untouched
    none = policy.decide(_probs(prize_hunter=0.05), LABELS, "ru")
    assert none.confidence == pytest.approx(0.95) and none.score_level == none.level == "high"
    # a type's own figure, where there is one, before its language and level's
    typed = policy.model_validate(
        {**policy.model_dump(), "type_precision": {"ru": {"high": {"tester": 0.5}}}}
    )
    assert typed.decide(_probs(tester=0.85), LABELS, "ru").confidence == 0.5
    assert typed.decide(_probs(prize_hunter=0.85), LABELS, "ru").confidence == 0.95
    with pytest.raises(ValueError, match="unknown type 'nobody'"):
        POLICY.model_validate(
            {**POLICY.model_dump(), "type_precision": {"ru": {"high": {"nobody": 0.5}}}}
        )


def test_precision_shares_outside_0_1_are_refused() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        POLICY.model_validate({**POLICY.model_dump(), "precision": {"ru": {"high": 1.5}}})


def test_named_precision_draws_a_language_toward_all_languages() -> None:
    def item(i: int, lang: str, label: str) -> RealItem:
        return RealItem(str(i), lang, label, True, "")

    # ru: 4 named high, 3 right; pl: 1 named high, 0 right; en: none named
    items = [item(0, "ru", "tester"), item(1, "ru", "tester"), item(2, "ru", "tester")]
    items += [item(3, "ru", "none"), item(4, "pl", "none"), item(5, "en", "tester")]
    types = ["tester", "tester", "tester", "tester", "tester", None]
    levels = ["high"] * 5 + ["low"]
    got = named_precision(items, types, levels)
    pooled = 3 / 5
    assert {k: got["counts"]["ru"]["high"][k] for k in ("named", "right")} == {
        "named": 4,
        "right": 3,
    }
    assert got["shares"]["ru"]["high"] == round((3 + 10 * pooled) / (4 + 10), 3)
    assert got["shares"]["pl"]["high"] == round((0 + 10 * pooled) / (1 + 10), 3)
    assert "en" not in got["shares"]  # nothing of its own: no figure (the policy keeps its)
    assert "medium" not in got["shares"]["ru"]  # no medium named anywhere: no figure
    # per type, drawn toward its language and level: ru named tester 4 times, 3 right
    ru_high = (3 + 10 * pooled) / (4 + 10)
    assert got["type_shares"]["ru"]["high"]["tester"] == round((3 + 10 * ru_high) / 14, 3)
    assert got["counts"]["ru"]["high"]["types"] == {"tester": {"named": 4, "right": 3}}


def test_choose_floor_meets_the_share() -> None:
    scores = np.linspace(0, 1, 101)  # 0.00 … 1.00
    floor = choose_floor(scores, 0.10)
    assert (scores >= floor).mean() <= 0.10
    assert (scores >= floor - 0.01).mean() > 0.10  # the lowest such floor


def test_tuned_floors_meet_the_targets_on_the_messages_they_came_from() -> None:
    rng = np.random.default_rng(5)
    items, rows = [], []
    for lang in ("ru", "pl", "en"):
        for i in range(200):
            label = "none" if i < 160 else "tester"
            score = rng.uniform(0.0, 0.7) if label == "none" else rng.uniform(0.4, 1.0)
            rows.append(_probs(tester=score))
            items.append(RealItem(f"{lang}-{i}", lang, label, True, "x"))
    probs = np.asarray(rows)
    tuned = tune_policy(load_policy(), probs, items, LABELS)
    decisions = [tuned.decide(p, LABELS, it.lang) for p, it in zip(probs, items, strict=True)]
    figures = real_figures(
        items,
        [d.label if d.outcome == "type" else None for d in decisions],
        [d.level for d in decisions],
    )
    for lang in ("ru", "pl", "en"):
        assert figures[lang]["ordinary_typed"] <= tuned.targets.ordinary_typed
        assert figures[lang]["ordinary_typed_high"] <= tuned.targets.ordinary_typed_high
        assert figures[lang]["typed_found"] > 0.3


def test_no_language_gets_a_high_floor_below_the_pooled_one() -> None:
    """A language whose ordinary messages happen to score low in the sample must not get a
    lax high floor: the floor all languages' ordinary messages give together bounds it."""
    rng = np.random.default_rng(7)
    items, rows, ordinary_best = [], [], []
    for lang, top in (("ru", 0.3), ("pl", 0.9), ("en", 0.9)):
        for i in range(150):
            score = rng.uniform(0.0, top)
            rows.append(_probs(tester=score))
            ordinary_best.append(score)
            items.append(RealItem(f"{lang}-{i}", lang, "none", True, "x"))
    probs = np.asarray(rows)
    policy = load_policy()
    tuned = tune_policy(policy, probs, items, LABELS)
    _, best = best_types(probs, LABELS)
    pooled = choose_floor(best, policy.targets.ordinary_typed_high)
    alone = choose_floor(best[:150], policy.targets.ordinary_typed_high)
    assert alone < pooled  # the sample would have given Russian a lax floor
    assert tuned.high_floor["ru"] >= pooled and tuned.high_floor["pl"] >= pooled


def test_a_v1_or_broken_thresholds_file_is_refused(tmp_path: Path) -> None:
    old = tmp_path / "old.yaml"
    old.write_text(
        "version: 1\nnone_prior: 0.4\nabstain_min: 0.5\nbands: {high: 0.9, medium: 0.7}\n"
    )
    with pytest.raises(
        ModelError, match="field version: Input should be greater than or equal to 2"
    ):
        load_policy(old)
    text = (Path(__file__).parent.parent / "src/custtype/resources/thresholds.yaml").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("type_floor: {ru: 0.5, pl: 0.5, en: 0.5}", "type_floor: {ru: 0.5}"))
    with pytest.raises(ModelError, match=r"field type_floor: .*missing languages: pl, en"):
        load_policy(bad)
