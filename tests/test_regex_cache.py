"""The regex cache changes how fast a pattern is ready, never what it matches."""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

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
    assert a == b  # patterns compare by their compiled program
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


@pytest.fixture()
def compiles(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The patterns compiled (not read from the cache) from now on."""
    seen: list[str] = []
    real = regex_cache._compile
    assert regex_cache._engine() is not None  # (its probe compiled before counting)

    def counting(pattern: str, flags: int, engine: Any) -> Any:
        seen.append(pattern)
        return real(pattern, flags, engine)

    monkeypatch.setattr(regex_cache, "_compile", counting)
    return seen


@pytest.mark.parametrize(("pattern", "flags"), PATTERNS)
def test_first_and_cached_compile_match_like_re(
    cache: Path, pattern: str, flags: int, compiles: list[str]
) -> None:
    first = compile_cached(pattern, flags)
    assert len(list(cache.glob("*.sre"))) == 1
    _same(first, re.compile(pattern, flags))
    _same(compile_cached(pattern, flags), re.compile(pattern, flags))
    assert compiles == [pattern]  # the second one was read


@pytest.mark.parametrize("lang", ["ru", "pl", "en"])
def test_a_cue_lexicon_is_read_back_from_the_cache(
    cache: Path, lang: str, compiles: list[str]
) -> None:
    _compiled.cache_clear()
    try:
        built = _compiled(lang)
        _compiled.cache_clear()
        read = _compiled(lang)
    finally:
        _compiled.cache_clear()
    assert compiles == [built.pattern.pattern]  # once: the second was read
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


def _forge(path: Path, change: Callable[[dict[str, Any], bytes], tuple[Any, bytes]]) -> None:
    """Rewrite a cached program with `change` applied, its checksum made to fit."""
    line, _, body = path.read_bytes().partition(b"\n")
    header, body = change(json.loads(line), body)
    if isinstance(header, dict):
        header["sha256"] = regex_cache._checksum(header, body)
    path.write_bytes(json.dumps(header).encode() + b"\n" + body)


FORGERIES: dict[str, Callable[[dict[str, Any], bytes], tuple[Any, bytes]]] = {
    "code the engine refuses": lambda h, b: (h, b"\xff\xff\x00\x00" * (len(b) // 4)),
    "a header that is a list": lambda h, b: ([1, 2], b),
    "a header that is null": lambda h, b: (None, b),
    "an overflowing group count": lambda h, b: ({**h, "groups": 10**30}, b),
    "overflowing flags": lambda h, b: ({**h, "flags": 10**30}, b),
    "group count and names that differ": lambda h, b: ({**h, "groups": h["groups"] + 1}, b),
    "a group name pointing elsewhere": lambda h, b: ({**h, "groupindex": {"word": 2}}, b),
    "another pattern's key": lambda h, b: ({**h, "key": "0" * 32}, b),
    "no flags": lambda h, b: ({k: v for k, v in h.items() if k != "flags"}, b),
}


@pytest.mark.parametrize("forgery", FORGERIES)
def test_a_forged_program_that_does_not_fit_is_compiled_again(cache: Path, forgery: str) -> None:
    pattern, flags = PATTERNS[1]
    compile_cached(pattern, flags)
    (path,) = cache.glob("*.sre")
    good = path.read_bytes()
    _forge(path, FORGERIES[forgery])
    _same(compile_cached(pattern, flags), re.compile(pattern, flags))
    assert path.read_bytes() == good


def test_a_damaged_header_is_caught_by_the_checksum(cache: Path) -> None:
    pattern, flags = PATTERNS[0]
    compile_cached(pattern, flags)
    (path,) = cache.glob("*.sre")
    good = path.read_bytes()
    line, _, body = good.partition(b"\n")
    header = json.loads(line)
    header["flags"] = 0  # the checksum left as it was
    path.write_bytes(json.dumps(header).encode() + b"\n" + body)
    _same(compile_cached(pattern, flags), re.compile(pattern, flags))
    assert path.read_bytes() == good


def test_a_file_others_may_write_is_not_read(cache: Path, compiles: list[str]) -> None:
    pattern, flags = PATTERNS[0]
    compile_cached(pattern, flags)
    (path,) = cache.glob("*.sre")
    assert path.stat().st_mode & 0o777 == 0o644
    path.chmod(0o666)
    _same(compile_cached(pattern, flags), re.compile(pattern, flags))
    assert compiles == [pattern, pattern]  # not read: compiled again
    assert path.stat().st_mode & 0o777 == 0o644  # and written anew


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX owners")
@pytest.mark.parametrize(
    ("uid", "mode", "ok"),
    [
        ("me", 0o644, True),
        ("root", 0o644, True),
        ("other", 0o644, False),
        ("me", 0o664, False),
        ("me", 0o646, False),
        ("me", 0o600, True),
    ],
)
def test_only_files_of_this_user_or_root_that_others_cannot_write_are_trusted(
    uid: str, mode: int, ok: bool
) -> None:
    me = os.geteuid()
    owner = {"me": me, "root": 0, "other": me + 4242 if me else 4242}[uid]
    info = os.stat_result((stat.S_IFREG | mode, 0, 0, 1, owner, 0, 10, 0, 0, 0))
    assert regex_cache.trusted(info) is ok


def test_bytes_patterns_are_not_cached(cache: Path) -> None:
    assert compile_cached(b"abc").match(b"abc")  # type: ignore[arg-type]
    assert not compile_cached("b'abc'").match("abc")
    assert len(list(cache.glob("*.sre"))) == 1


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
    written = []
    for i in range(5):
        before = set(cache.glob("*.sre"))
        compile_cached(f"word{i}")
        (new,) = set(cache.glob("*.sre")) - before
        os.utime(new, (1_000_000 + i, 1_000_000 + i))  # written in this order
        written.append(new)
    assert set(cache.glob("*.sre")) == set(written[-3:])
    assert list(cache.glob("*.tmp")) == []


def test_an_abandoned_temporary_file_is_removed(cache: Path) -> None:
    compile_cached("first")
    stale, fresh = cache / "x.tmp", cache / "y.tmp"
    for tmp in (stale, fresh):
        tmp.write_bytes(b"half a program")
    os.utime(stale, (1_000_000, 1_000_000))
    compile_cached("second")
    assert not stale.exists() and fresh.exists()  # (a writer may still be busy with it)


@pytest.mark.parametrize("value", ["off", "OFF", " Off "])
def test_off_in_any_case_turns_it_off(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(regex_cache.ENV, value)
    assert regex_cache.cache_dir() is None


def test_another_python_whose_compiler_differs_falls_back(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(regex_cache, "_compile", lambda p, f, e: (re.compile("other"), {}))
    regex_cache._engine.cache_clear()
    try:
        assert regex_cache._engine() is None
        _same(compile_cached(*PATTERNS[0]), re.compile(*PATTERNS[0]))
        assert not cache.exists()
    finally:
        regex_cache._engine.cache_clear()


def test_without_setting_the_user_cache_folder_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(regex_cache.ENV, raising=False)
    folder = regex_cache.cache_dir()
    assert folder is not None and folder.name == "regex" and "custtype" in folder.parts
