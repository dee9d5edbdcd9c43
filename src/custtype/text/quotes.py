"""Leave out what a customer did not write now: quoted earlier messages, forwarded headers
and signatures, so they cannot change the type (a quoted support reply changed 27 of 100
answers in an experiment).

The left-out characters become spaces (line breaks stay), so the text keeps its length and
every offset in it is an offset in the original message: evidence still points into what
the agent sees. Markers are data (resources/quote_markers.yaml); a line is matched on its
own, never across the text, so the cost is linear in the length.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from pydantic import BaseModel, ConfigDict

from custtype.resources import parse_yaml, resource

_MAX_LINE = 400  # a longer line is prose, not a header or a signature
_CONFIRM_WITHIN = 4  # lines after "From:" that may hold "Sent:" / "Subject:"


class _Markers(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int
    starts_quote: list[str]
    starts_signature: list[str]
    header_confirm: list[str]


@dataclass(frozen=True)
class _Compiled:
    quote: re.Pattern[str]
    signature: re.Pattern[str]
    confirm: re.Pattern[str]


@lru_cache(maxsize=1)
def _compiled() -> _Compiled:
    raw = _Markers.model_validate(parse_yaml(resource("quote_markers.yaml").read_text("utf-8")))

    def join(patterns: list[str]) -> re.Pattern[str]:
        return re.compile("|".join(f"(?:{p})" for p in patterns))

    return _Compiled(join(raw.starts_quote), join(raw.starts_signature), join(raw.header_confirm))


@dataclass(frozen=True)
class Stripped:
    """The message with left-out parts blanked (same length), and where they were."""

    text: str
    removed: tuple[tuple[int, int], ...]  # [start, end) spans of the original

    @property
    def changed(self) -> bool:
        return bool(self.removed)


def _lines(text: str) -> list[tuple[int, str]]:
    """(offset, line) of every line, without its line break."""
    out, at = [], 0
    for line in text.split("\n"):
        out.append((at, line))
        at += len(line) + 1
    return out


def _cut_at(lines: list[tuple[int, str]]) -> int | None:
    """Offset of the first line that starts a quote, a forwarded header or a signature."""
    m = _compiled()
    for i, (at, raw) in enumerate(lines):
        line = raw.strip().lower()
        if not line or len(line) > _MAX_LINE:
            continue
        if m.signature.match(line):
            return at
        found = m.quote.match(line)
        if found is None and i + 1 < len(lines):  # "On …, X <x@y>" / "wrote:" on two lines
            nxt = lines[i + 1][1].strip().lower()
            if len(nxt) <= _MAX_LINE and nxt and m.quote.match(f"{line} {nxt}"):
                found = m.quote.match(f"{line} {nxt}")
        if found is None:
            continue
        if line.startswith(("from:", "od:", "от:", "от кого:")):
            later = lines[i + 1 : i + 1 + _CONFIRM_WITHIN]
            if not any(m.confirm.match(x.strip().lower()) for _, x in later):
                continue
        return at
    return None


_NOT_NEWLINE = re.compile(r"[^\n]")


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    """`text` with the ordered, disjoint spans made spaces, line breaks kept."""
    out: list[str] = []
    last = 0
    for start, end in spans:
        out += (text[last:start], _NOT_NEWLINE.sub(" ", text[start:end]))
        last = end
    out.append(text[last:])
    return "".join(out)


def strip_quoted(text: str) -> Stripped:
    """The customer's own new text: quoted lines ("> …"), forwarded or quoted messages and
    signatures blanked. If nothing of the customer's own would remain, the text is kept.

    Example: ``strip_quoted("Thanks!\\n\\nOn Mon, Ann wrote:\\n> Hi").text.strip() == "Thanks!"``
    """
    if "\n" not in text:  # every marker is a line of its own
        return Stripped(text, ())
    lines = _lines(text)
    removed: list[tuple[int, int]] = []
    cut = _cut_at(lines)
    for at, line in lines:
        if cut is not None and at >= cut:
            break
        if line.lstrip().startswith(">"):
            removed.append((at, at + len(line)))
    if cut is not None:
        removed.append((cut, len(text)))
    if not removed:
        return Stripped(text, ())
    out = _blank(text, removed)
    if sum(ch.isalpha() for ch in out) < 2:
        return Stripped(text, ())
    return Stripped(out, tuple(removed))
