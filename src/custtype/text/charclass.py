"""How many characters of a text are letters, capitals, emoji, Cyrillic or Latin letters: one
table lookup per character in numpy instead of a Python-level call per character.

Normalisation (style signals) and language identification both count classes of characters
in every message; `str.isalpha`/`str.isupper` per character cost ~20 µs on a message of real
length, the table ~5 µs. The table is built from those same methods, so counts are equal.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

import numpy as np

_BMP = 0x10000  # the table covers the Basic Multilingual Plane; the rest is counted apart
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
_EMOJI = (  # as normalisation has always counted them
    (0x1F300, 0x1FAFF),
    (0x2600, 0x27BF),
    (0x1F1E6, 0x1F1FF),
    (0x2B50, 0x2B50),
    (0x2B55, 0x2B55),
    (0x203C, 0x203C),
    (0x2049, 0x2049),
)
_CYRILLIC = ((0x0400, 0x04FF),)
_LATIN = ((0x0041, 0x007A), (0x00C0, 0x024F))


class Counts(NamedTuple):
    """How many characters of a text are in each class."""

    alpha: int  # str.isalpha
    upper: int  # str.isupper
    emoji: int  # in the emoji ranges above
    cyrillic: int  # letters in U+0400-U+04FF
    latin: int  # letters in Basic Latin, Latin-1 Supplement, Latin Extended-A/B


def _within(cp: int, ranges: tuple[tuple[int, int], ...]) -> bool:
    return any(lo <= cp <= hi for lo, hi in ranges)


def _flags(cp: int) -> int:
    """The classes of one character as bits, in the order of `Counts`."""
    ch = chr(cp)
    alpha = ch.isalpha()
    return (
        alpha
        | ch.isupper() << 1
        | _within(cp, _EMOJI) << 2
        | (alpha and _within(cp, _CYRILLIC)) << 3
        | (alpha and _within(cp, _LATIN)) << 4
    )


@lru_cache(maxsize=1)
def _tables() -> tuple[np.ndarray, np.ndarray]:
    """The flags of every BMP character (built once, ~10 ms, as `_flags` would give them)
    and, per flag combination, its bits."""
    chars = "".join(map(chr, range(_BMP)))

    def within(ranges: tuple[tuple[int, int], ...]) -> np.ndarray:
        found = np.zeros(_BMP, dtype=bool)
        for lo, hi in ranges:
            found[lo : hi + 1] = True
        return found

    alpha = np.fromiter(map(str.isalpha, chars), dtype=bool, count=_BMP)
    upper = np.fromiter(map(str.isupper, chars), dtype=bool, count=_BMP)
    table = np.empty(_BMP, dtype=np.uint8)
    table[:] = (
        alpha
        | upper << 1
        | within(_EMOJI) << 2
        | (alpha & within(_CYRILLIC)) << 3
        | (alpha & within(_LATIN)) << 4
    )
    bits = (np.arange(32)[:, None] >> np.arange(len(Counts._fields))) & 1
    return table, bits


def counts(text: str) -> Counts:
    """How many characters of `text` are letters, capitals, emoji, Cyrillic, Latin letters."""
    table, bits = _tables()
    # UTF-16 units index the table directly; an astral character is two surrogate units,
    # which have no flags (nor does a lone surrogate, one unit, as str.isalpha says)
    units = np.frombuffer(text.encode("utf-16-le", "surrogatepass"), dtype=np.uint16)
    per_flags = np.bincount(table.take(units), minlength=32)
    if len(units) != len(text):  # astral characters (emoji and the like): few
        for ch in _ASTRAL.findall(text):
            per_flags[0] -= 2
            per_flags[_flags(ord(ch))] += 1
    return Counts(*(per_flags @ bits).tolist())
