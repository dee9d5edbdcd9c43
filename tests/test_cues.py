"""Cue lexicons: valid data, and the cues they exist for are found in each language."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from custtype.resources import resource
from custtype.text.cues import CATEGORIES, Cue, _compiled, _scanner, find_cues
from custtype.text.normalize import normalize

ROOT = Path(__file__).resolve().parent.parent


def _lexicon(lang: str) -> dict[str, list[str]]:
    text = resource(f"lexicons/{lang}.yaml").read_text("utf-8")
    return dict(yaml.safe_load(text)["cues"])


def _reference(cues: dict[str, list[str]], text: str) -> list[Cue]:
    """What the lexicon means: one alternation, a named group per category, in file order,
    each entry matching whole words; then, inside each match, those of other categories."""
    groups = [f"(?P<{name}>{'|'.join(ps)})" for name, ps in cues.items() if ps]
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(groups) + r")(?!\w)")
    lowered, out = text.lower(), []
    for m in pattern.finditer(lowered):
        out.append(Cue(m.lastgroup or "", m.start(), m.end()))
        inside = pattern.finditer(lowered, m.start() + 1, m.end())  # another category within
        out += [
            Cue(n.lastgroup or "", n.start(), n.end()) for n in inside if n.lastgroup != m.lastgroup
        ]
    return out


@pytest.mark.parametrize("lang", ["ru", "pl", "en"])
def test_lexicon_loads_and_covers_every_category(lang: str) -> None:
    assert set(_compiled(lang).categories.values()) == set(CATEGORIES)


@pytest.mark.parametrize("lang", ["ru", "pl", "en"])
def test_dispatched_scan_finds_what_the_plain_alternation_finds(lang: str) -> None:
    texts = [
        normalize(json.loads(line)["text"]).text
        for path in sorted((ROOT / "training_data" / "test").glob(f"{lang}_*.jsonl"))
        for line in path.open(encoding="utf-8")
    ]
    assert texts
    cues = _lexicon(lang)
    found = 0
    for text in texts:
        expected = _reference(cues, text)
        assert find_cues(text, lang) == expected, text[:80]
        found += len(expected)
    assert found > len(texts)  # the comparison covered real cues, not empty lists


def test_dispatch_keeps_lexicon_order_for_digits_groups_and_quantifiers() -> None:
    """Entries that start with a digit class, a group, a bar or a quantified letter, against
    later entries that could match at the same place: the earlier entry must still win."""
    cues = {
        "urgency": ["\\d+ days", "(third|fourth) time", "a+b", "x?yz", "q|r", "(?:foo|ba)r"],
        "contest": ["1 star", "1 days", "third", "ab", "yz", "fooo", "bar"],
        "gratitude": ["(go|come) (back|home)", "[0-9]+k", "\\w+!"],
    }
    scanner = _scanner(cues)
    texts = [
        "3 days; 1 star; 1 days; third time; third; aab; ab; b; xyz; yz; q r; foor, bar",
        "٣ days and 12k fans, go home! come back; gohome; fooo! third! 1!",
    ]
    seen = set()
    for text in texts:
        got = scanner.find(text)
        assert got == _reference(cues, text)
        seen |= {c.category for c in got}
    assert seen == set(cues)


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

    import yaml

    cues = yaml.safe_load(resource(f"lexicons/{lang}.yaml").read_text("utf-8"))
    seen: dict[str, str] = {}
    for category, patterns in cues["cues"].items():
        for p in patterns:
            assert p not in seen, f"{p!r} is in both {seen[p]} and {category}"
            seen[p] = category


def test_entries_that_cannot_be_dispatched_still_load_and_match() -> None:
    """A named group (copied into several branches it would clash) and a class whose first
    member is "]" and that holds a bar (not a place to split alternatives)."""
    cues = {"urgency": ["(?P<x>now|asap)!", "[]|]a"], "contest": ["draw", "\\d+ wins"]}
    scanner = _scanner(cues)
    text = "now! asap! ]a |a 3 wins draw"
    got = scanner.find(text)
    assert got == _reference(cues, text)
    assert [(c.category, text[c.start : c.end]) for c in got] == [
        ("urgency", "now!"),
        ("urgency", "asap!"),
        ("urgency", "]a"),
        ("urgency", "|a"),
        ("contest", "3 wins"),
        ("contest", "draw"),
    ]


@pytest.mark.parametrize(
    "pattern",
    ["abc", "(a)(b)", r"\(a\)", "[(]a", "(?:a)(b)", "(?P<x>a)(?P=x)", "((a)|b)", "a(?=b)"],
)
def test_groups_are_counted_as_the_regex_engine_counts_them(pattern: str) -> None:
    from custtype.text.cues import _groups

    assert _groups(pattern) == re.compile(pattern).groups


@pytest.mark.parametrize(
    ("lang", "cues", "message"),
    [
        # entries whose group names clash only fail once compiled together
        ("en", "{urgency: ['(?P<x>now)'], contest: ['(?P<x>win)']}", r"en\.yaml"),
        ("pl", "{urgency: ['pilne', 'natychmiast(']}", r"pl\.yaml.*urgency.*natychmiast\("),
    ],
)
def test_invalid_lexicon_is_refused_naming_file_and_entry(
    tmp_path: Path, lang: str, cues: str, message: str
) -> None:
    from custtype.errors import CusttypeError

    bad = tmp_path / f"{lang}.yaml"
    bad.write_text(f"version: 1\nlang: {lang}\ncues: {cues}\n", encoding="utf-8")
    with pytest.raises(CusttypeError, match=message):
        _compiled(lang, str(bad))
