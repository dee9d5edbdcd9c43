"""The regex cache changes how fast a pattern is ready, never what it matches."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from custtype.text import regex_cache
from custtype.text.cues import _compiled
from custtype.text.regex_cache import compile_cached

TEXTS = [
    "I will sue you, this is the third time I call. Thank you!",
    "Позвоните мне срочно, я буду жаловаться в Роспотребнадзор",
    "Proszę o zwrot pieniędzy, złożę skargę do UOKiK",
    "",
    "x" * 500,
]
PATTERNS = [
    (r"(?<!\w)(?:sue|call\w*|thank(?:s| you)?)(?!\w)", 0),
    (r"(?P<word>[а-яё]+)\s+(?P=word)?", re.IGNORECASE),
    (r"^(\d+)-(?P<tail>\w*)$", re.MULTILINE),
]


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "regex"
    monkeypatch.setenv(regex_cache.ENV, str(folder))
    return folder


def _same(a: re.Pattern[str], b: re.Pattern[str]) -> None:
    assert (a.pattern, a.flags, a.groups, a.groupindex) == (
        b.pattern,
        b.flags,
        b.groups,
        b.groupindex,
    )
    for text in TEXTS:
        assert [m.span() + m.groups() for m in a.finditer(text)] == [
            m.span() + m.groups() for m in b.finditer(text)
        ]


@pytest.mark.parametrize(("pattern", "flags"), PATTERNS)
def test_first_and_cached_compile_match_like_re(cache: Path, pattern: str, flags: int) -> None:
    first = compile_cached(pattern, flags)
    assert len(list(cache.glob("*.sre"))) == 1
    _same(first, re.compile(pattern, flags))
    re.purge()
    _same(compile_cached(pattern, flags), re.compile(pattern, flags))


@pytest.mark.parametrize("lang", ["ru", "pl", "en"])
def test_a_cue_lexicon_is_read_back_from_the_cache(
    cache: Path, lang: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _compiled.cache_clear()
    built = _compiled(lang)
    _compiled.cache_clear()

    def no_compiling(*args: object) -> None:
        raise AssertionError("compiled again although the program was cached")

    monkeypatch.setattr(regex_cache, "_compile", no_compiling)
    try:
        read = _compiled(lang)
    finally:
        _compiled.cache_clear()
    _same(read.pattern, built.pattern)
    assert read.categories == built.categories


def test_a_damaged_program_is_compiled_again_and_rewritten(cache: Path) -> None:
    pattern, flags = PATTERNS[0]
    compile_cached(pattern, flags)
    (path,) = cache.glob("*.sre")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # cut short
    _same(compile_cached(pattern, flags), re.compile(pattern, flags))
    assert path.read_bytes() == data
    header, _, body = data.partition(b"\n")
    path.write_bytes(header + b"\n" + bytes(len(body)))  # same length, zeros
    _same(compile_cached(pattern, flags), re.compile(pattern, flags))
    assert path.read_bytes() == data


def test_a_program_that_fails_the_engines_check_falls_back(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pattern, flags = PATTERNS[1]
    compile_cached(pattern, flags)
    (path,) = cache.glob("*.sre")
    header, _, body = path.read_bytes().partition(b"\n")
    forged = b"\xff\xff\x00\x00" * (len(body) // 4)  # a checksum that fits, code that does not
    import hashlib
    import json

    fields = json.loads(header)
    fields["sha256"] = hashlib.sha256(forged).hexdigest()
    path.write_bytes(json.dumps(fields).encode() + b"\n" + forged)
    _same(compile_cached(pattern, flags), re.compile(pattern, flags))


def test_flags_and_patterns_get_their_own_programs(cache: Path) -> None:
    compile_cached("abc")
    compile_cached("abc", re.IGNORECASE)
    compile_cached("abd")
    assert len(list(cache.glob("*.sre"))) == 3
    assert compile_cached("abc", re.IGNORECASE).match("ABC")
    assert not compile_cached("abc").match("ABC")


def test_off_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(regex_cache.ENV, "off")
    monkeypatch.chdir(tmp_path)
    assert regex_cache.cache_dir() is None
    assert compile_cached("a+b").fullmatch("aab")
    assert list(tmp_path.iterdir()) == []


def test_an_unwritable_folder_still_compiles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(regex_cache.ENV, str(blocker / "regex"))
    assert compile_cached("a+b").fullmatch("aab")


def test_a_bad_pattern_is_still_re_error(cache: Path) -> None:
    with pytest.raises(re.error):
        compile_cached("(unclosed")
    assert not cache.exists() or list(cache.glob("*.sre")) == []


def test_only_the_newest_programs_are_kept(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(regex_cache, "_KEEP", 3)
    for i in range(5):
        compile_cached(f"word{i}")
    assert len(list(cache.glob("*.sre"))) == 3
    assert list(cache.glob("*.tmp")) == []


def test_without_setting_the_user_cache_folder_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(regex_cache.ENV, raising=False)
    folder = regex_cache.cache_dir()
    assert folder is not None and folder.name == "regex" and "custtype" in folder.parts
