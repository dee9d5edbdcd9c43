"""The playbook: schema for every type × language, override merging and refusal."""

from __future__ import annotations

from pathlib import Path

import pytest

from custtype import LANGS, TYPES, PlaybookError, UnknownTypeError, load_playbook


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("type_key", [*TYPES, None])
def test_every_type_and_language_has_a_complete_strategy(type_key: str | None, lang: str) -> None:
    s = load_playbook().strategy(type_key, lang)
    assert s.expects.strip() and s.tone.strip() and s.boundaries.strip()
    assert len(s.actions) >= 3
    assert 2 <= len(s.openers) <= 5
    assert s.preferred_channel in {"written", "any", "phone"}
    assert s.target_response_minutes <= 24 * 60  # seed 003: answer within 24 h at the latest


@pytest.mark.parametrize("lang", LANGS)
def test_translations_differ_and_are_in_the_right_script(lang: str) -> None:
    book = load_playbook()
    text = " ".join(book.strategy(t, lang).expects for t in TYPES)
    cyrillic = sum("\u0400" <= ch <= "\u04ff" for ch in text)
    assert (cyrillic > len(text) / 3) == (lang == "ru")
    if lang == "pl":
        assert any(ch in text for ch in "ąęłńśźż")


@pytest.mark.parametrize("lang", LANGS)
def test_written_channel_for_complainers_and_experts(lang: str) -> None:
    book = load_playbook()
    assert book.strategy("serial_complainer", lang).preferred_channel == "written"
    assert book.strategy("know_it_all", lang).preferred_channel == "written"
    assert book.strategy("want_it_now", lang).priority == "high"


def test_notice_in_every_language_says_internal() -> None:
    notice = load_playbook().notice
    assert "customer" in notice["en"].lower()
    assert "клиент" in notice["ru"].lower()
    assert "klient" in notice["pl"].lower()


def test_unknown_type_lists_the_valid_ones() -> None:
    with pytest.raises(UnknownTypeError, match="Known types: want_it_now"):
        load_playbook().strategy("extortionst", "en")


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "acme.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_override_changes_and_adds_fields(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "types:\n  extortionist:\n    pl:\n      priority: normal\n"
        "      voucher_limit: 'do 50 zł bez zgody kierownika'\n",
    )
    book = load_playbook(path)
    s = book.strategy("extortionist", "pl")
    assert s.priority == "normal"
    assert s.extra_fields() == {"voucher_limit": "do 50 zł bez zgody kierownika"}
    # untouched fields and other languages keep the shipped values
    assert s.openers == load_playbook().strategy("extortionist", "pl").openers
    assert book.strategy("extortionist", "en").priority == "high"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "types:\n  extortionist:\n    pl:\n      priority: urgent\n",
            "type 'extortionist', language 'pl', field priority",
        ),
        ("types:\n  extortionst:\n    pl:\n      priority: low\n", "unknown type 'extortionst'"),
        ("types:\n  tester:\n    de:\n      tone: x\n", "unknown language 'de'"),
        ("types:\n  tester:\n    en:\n      openers: []\n", "field openers"),
        ("types: [1, 2\n", "not valid YAML at line"),
        ("- just a list\n", "must be a mapping"),
        ("colour: blue\n", "unknown top-level key 'colour'"),
        ("types:\n  tester:\n    en:\n      budget: {a: 1}\n", "must be text ("),
        # the responsible-use notice can be reworded, never blanked
        ("notice: {ru: '', pl: '', en: ''}\n", "notice"),
        ("notice:\n  en: '   '\n", "notice"),
        # YAML's `true` is not one minute
        (
            "types:\n  tester:\n    en:\n      target_response_minutes: true\n",
            "field target_response_minutes: Input should be a valid integer",
        ),
        # a 5 MB opener is refused, and not echoed back whole
        (
            "types:\n  tester:\n    en:\n      openers: ['" + "x" * 5_000_000 + "', 'b']\n",
            "field openers.0: String should have at most 2000 characters",
        ),
        ("types:\n  tester:\n    en:\n      tone: '  '\n", "field tone: must not be blank"),
        (
            "a: " + "[" * 20_000 + "]" * 20_000 + "\n",
            "nest",
        ),  # libyaml: "maximum nesting depth"; pure Python: "nested too deeply"
    ],
)
def test_invalid_override_is_refused_naming_file_and_field(
    tmp_path: Path, content: str, message: str
) -> None:
    path = _write(tmp_path, content)
    with pytest.raises(PlaybookError, match=r"acme\.yaml") as err:
        load_playbook(path)
    assert message in str(err.value)
    assert "\n" not in str(err.value)  # one paragraph
    assert len(str(err.value)) < 1000  # a huge value is not echoed whole


def test_missing_override_file(tmp_path: Path) -> None:
    with pytest.raises(PlaybookError, match="does not exist"):
        load_playbook(tmp_path / "nope.yaml")
