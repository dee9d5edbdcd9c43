"""Cue lexicons: valid data, and the cues they exist for are found in each language."""

from __future__ import annotations

import pytest

from custtype.cues import CATEGORIES, _compiled, find_cues


@pytest.mark.parametrize("lang", ["ru", "pl", "en"])
def test_lexicon_loads_and_covers_every_category(lang: str) -> None:
    pattern = _compiled(lang)
    assert set(pattern.groupindex) == set(CATEGORIES)


@pytest.mark.parametrize(
    ("lang", "text", "category"),
    [
        ("en", "did i win the giveaway??", "contest"),
        ("ru", "когда итоги розыгрыша?", "contest"),
        ("pl", "kiedy wyniki konkursu?", "contest"),
        ("en", "I need this fixed right now", "urgency"),
        ("ru", "мне нужно срочно", "urgency"),
        ("pl", "potrzebuję tego natychmiast", "urgency"),
        ("en", "I expect a voucher for this", "compensation_demand"),
        ("ru", "жду компенсацию", "compensation_demand"),
        ("pl", "oczekuję rabatu", "compensation_demand"),
        ("en", "admit that you were wrong", "demand_admission"),
        ("ru", "признайте свою ошибку", "demand_admission"),
        ("pl", "oczekuję oficjalnych przeprosin", "demand_admission"),
    ],
)
def test_cues_are_found(lang: str, text: str, category: str) -> None:
    cues = find_cues(text, lang)
    assert category in {c.category for c in cues}
    for c in cues:
        assert 0 <= c.start < c.end <= len(text)


def test_unsupported_language_has_no_cues() -> None:
    assert find_cues("Gewinnspiel gewonnen?", "de") == []


@pytest.mark.parametrize("lang", ["ru", "pl", "en"])
def test_no_pattern_belongs_to_two_categories(lang: str) -> None:
    """One scan reports one category per position, so a shared pattern would hide a cue."""
    from importlib.resources import files

    import yaml

    cues = yaml.safe_load(
        files("custtype").joinpath(f"data/lexicons/{lang}.yaml").read_text("utf-8")
    )
    seen: dict[str, str] = {}
    for category, patterns in cues["cues"].items():
        for p in patterns:
            assert p not in seen, f"{p!r} is in both {seen[p]} and {category}"
            seen[p] = category
