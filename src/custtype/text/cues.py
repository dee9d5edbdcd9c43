"""Cue lexicons per language (data/lexicons/*.yaml): find urgency, legal appeals, contests...

The lexicons are data so a team can extend them; they are validated on load and compiled
once. Cues drive the deterministic context rules and name what the evidence shows.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from custtype.errors import CusttypeError
from custtype.resources import parse_yaml, resource
from custtype.taxonomy import LANGS
from custtype.text.regex_cache import compile_cached

CATEGORIES = (
    "urgency",
    "compensation_demand",
    "status_claim",
    "public_exposure",
    "legal_appeal",
    "hostility",
    "demand_admission",
    "repeat_contact",
    "offer_refusal",
    "contest",
    "expertise_claim",
    "bug_report",
    "advice_seeking",
    "personal_story",
    "gratitude",
)


class _Lexicon(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int
    lang: str
    cues: dict[str, list[str]]

    @field_validator("cues")
    @classmethod
    def _known(cls, cues: dict[str, list[str]]) -> dict[str, list[str]]:
        unknown = sorted(set(cues) - set(CATEGORIES))
        if unknown:
            raise ValueError(f"unknown cue category {unknown[0]!r}; known: {', '.join(CATEGORIES)}")
        return cues  # patterns are compiled once, together (see _culprit for errors)


class Cue(NamedTuple):
    """One cue found in a text: its category and span in the normalised text."""

    category: str
    start: int
    end: int


class _Scanner(NamedTuple):
    """A lexicon compiled for one scan: the pattern and, per marker group, its category."""

    pattern: re.Pattern[str]
    categories: dict[int, str]

    def find(self, lowered: str) -> list[Cue]:
        """The cues of a lower-cased text, in order of their start. A cue of another category
        that starts inside a longer one is found too ("в суд" inside "пойду в суд и напишу в
        сми"): the context rules need every category a message shows."""
        found = []
        for m in self.pattern.finditer(lowered):
            outer = Cue(self.categories[m.lastindex or 0], m.start(), m.end())
            found.append(outer)
            for n in self.pattern.finditer(lowered, outer.start + 1, outer.end):
                category = self.categories[n.lastindex or 0]
                if category != outer.category:
                    found.append(Cue(category, n.start(), n.end()))
        return found


_SPECIAL = frozenset("\\.^$*+?{}[]|()")
_QUANTIFIERS = ("?", "*", "+", "{")
_BACKREF = re.compile(r"\\[1-9]|\(\?P=|\(\?\(")  # references to groups by number or name


def _structure(p: str) -> Iterator[tuple[int, str, int]]:
    """(index, character, group depth) of each character of regex p that is neither escaped
    nor inside a [class]: where its groups open and close and its bars separate."""
    depth, in_class, escaped, first = 0, False, False, -1
    for i, ch in enumerate(p):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif in_class:
            if ch == "^" and i == first:
                first += 1  # "[^]…]": the "]" is still the class's first member
            elif ch == "]" and i != first:  # a "]" first in a class is a member
                in_class = False
        elif ch == "[":
            in_class, first = True, i + 1
        else:
            depth -= ch == ")"
            yield i, ch, depth
            depth += ch == "("


def _close(p: str) -> int | None:
    """Index of the parenthesis closing the group that opens p (None if unbalanced)."""
    return next((i for i, ch, depth in _structure(p) if ch == ")" and depth == 0), None)


def _top_alternatives(p: str) -> list[str]:
    """p split at the bars outside any group or class."""
    bars = [i for i, ch, depth in _structure(p) if ch == "|" and depth == 0]
    return [p[a + 1 : b] for a, b in itertools.pairwise([-1, *bars, len(p)])]


def _alternatives(p: str) -> list[str]:
    """The entry as a list of alternatives tried in the same order, a leading group spelt
    out so each starts with a letter: "(third|thirteenth|fourth) time" is
    "t(?:hird|hirteenth) time", "fourth time". Alternatives of one entry that start with
    different letters never match at the same place, so grouping by letter keeps the
    entry's meaning; the rest is written once per letter (a copy per alternative made the
    English lexicon 170 k characters, ~0.5 s to compile at every start)."""
    parts = _top_alternatives(p)
    if len(parts) > 1:
        return [q for part in parts for q in _alternatives(part)]
    if not p.startswith("(") or p.startswith("(?") or _BACKREF.search(p):
        return [p]
    end = _close(p)
    if end is None or p[end + 1 : end + 2] in _QUANTIFIERS:
        return [p]
    rest = p[end + 1 :]
    heads = [q for inner in _top_alternatives(p[1:end]) for q in _alternatives(inner)]
    by_letter: dict[str, list[str]] = {}
    for q in heads:
        by_letter.setdefault(_first_char(q), []).append(q)
    if not all(len(c) == 1 for c in by_letter):  # a digit class or an unknown start
        return [q for inner in _top_alternatives(p[1:end]) for q in _alternatives(inner + rest)]
    return [
        qs[0] + rest if len(qs) == 1 else f"{c}(?:{'|'.join(q[1:] for q in qs)}){rest}"
        for c, qs in by_letter.items()
    ]


def _first_char(p: str) -> str:
    """The literal character every match of p starts with, "\\d" for a digit, or "" if
    unknown."""
    if p and p[0] not in _SPECIAL and p[1:2] not in _QUANTIFIERS:
        return p[0]
    if p.startswith("\\d") and p[2:3] not in ("?", "*", "{"):
        return "\\d"
    return ""


def _groups(p: str) -> int:
    """Capturing groups in pattern p: "(" outside classes and not escaped, plain or named
    ("(?P<"). Counted, not compiled: a lexicon spells out to a thousand alternatives, and
    compiling each took seconds at start."""
    return sum(
        1
        for i, ch, _ in _structure(p)
        if ch == "(" and (p[i + 1 : i + 2] != "?" or p[i + 1 : i + 4] == "?P<")
    )


class _Marked:
    """Alternatives that end with an empty marker group, and each marker's category."""

    def __init__(self) -> None:
        self.categories: dict[int, str] = {}
        self.groups = 0

    def __call__(self, src: str, cat: str) -> str:
        self.groups += _groups(src) + 1  # the entry's groups close before its marker
        self.categories[self.groups] = cat
        return f"(?:{src})()" if src else "()"

    def scanner(self, alternatives: list[str]) -> _Scanner:
        pattern = r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)"
        return _Scanner(compile_cached(pattern), self.categories)


def _scanner(cues: dict[str, list[str]]) -> _Scanner:
    """One pattern that finds, at each word start, the first entry (in lexicon order) that
    matches whole words (a stem says `\\w*` to match inflected forms), as one alternation
    of every entry would, but dispatched on the first character: 77 instead of 210 µs a
    corpus message (measured on 8,464), so the dispatch earns its lines.

    Python's regex engine skips an alternative that starts with a literal character in one
    comparison; a group per category would be entered at every word start. So the entries
    are grouped by first character (an entry of unknown start joins every group, in its
    place) and each alternative ends with an empty marker group naming its category. A
    lexicon whose entries cannot be spelt out or copied (named groups, conditionals) gets
    the plain alternation.
    """
    try:
        return _dispatched(cues)
    except re.error:
        marked = _Marked()
        return marked.scanner([marked(p, cat) for cat, ps in cues.items() for p in ps])


def _dispatched(cues: dict[str, list[str]]) -> _Scanner:
    alts = [
        (_first_char(q), q, cat) for cat, ps in cues.items() for p in ps for q in _alternatives(p)
    ]
    marked = _Marked()
    branches = []
    for c in dict.fromkeys(kind for kind, _, _ in alts if len(kind) == 1):
        members = [
            (kind, q, cat)
            for kind, q, cat in alts
            if kind == c or not kind or (kind == "\\d" and c.isdecimal())
        ]
        if all(kind == c for kind, _, _ in members):  # consume c, then dispatch again
            inner = [marked(q[1:], cat) for _, q, cat in members]
            branches.append(re.escape(c) + "(?:" + "|".join(inner) + ")")
        else:  # an entry of another start must be tried in its place: do not consume c
            inner = [marked(q, cat) for _, q, cat in members]
            branches.append(f"(?={re.escape(c)})(?:" + "|".join(inner) + ")")
    digit = [marked(q, cat) for kind, q, cat in alts if kind in ("\\d", "")]
    if digit:
        branches.append(r"(?=\d)(?:" + "|".join(digit) + ")")
    anything = [marked(q, cat) for kind, q, cat in alts if not kind]
    if anything:
        branches.append("(?:" + "|".join(anything) + ")")
    return marked.scanner(branches)


@lru_cache(maxsize=8)
def _compiled(lang: str, path: str | None = None) -> _Scanner:
    """The language's lexicon, validated and compiled for one scan per text."""
    source = Path(path) if path else resource(f"lexicons/{lang}.yaml")
    try:
        lex = _Lexicon.model_validate(parse_yaml(source.read_text("utf-8")))
    except (ValidationError, yaml.YAMLError, OSError, RecursionError) as exc:
        raise CusttypeError(f"Invalid cue lexicon {str(source)!r}: {exc}") from None
    try:
        return _scanner(lex.cues)
    except (re.error, RecursionError) as exc:
        problem = _culprit(lex.cues) or str(exc)
        raise CusttypeError(f"Invalid cue lexicon {str(source)!r}: {problem}") from None


def _culprit(cues: dict[str, list[str]]) -> str | None:
    """The first entry that does not compile on its own, named: sought only once the whole
    lexicon failed, as compiling each entry up front cost ~0.1 s of every start-up."""
    for name, patterns in cues.items():
        for p in patterns:
            try:
                re.compile(p)
            except re.error as exc:
                return f"category {name!r}: bad pattern {p!r}: {exc}"
    return None


def find_cues(text: str, lang: str) -> list[Cue]:
    """All cues of the language's lexicon in `text` (empty for unsupported languages).

    At a given position the first category that matches wins; a cue of another category
    may start inside it.
    """
    if lang not in LANGS:
        return []
    return _compiled(lang).find(text.lower())


def cue_categories(cues: list[Cue]) -> frozenset[str]:
    """The categories present among `cues`."""
    return frozenset(c.category for c in cues)
