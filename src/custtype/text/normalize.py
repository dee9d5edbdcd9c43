"""Text normalisation: NFKC, mixed-script repair, masking, and the style signals types show.

Every step keeps a map from normalised characters back to the original text, so evidence
phrases found on the normalised text can be highlighted in the message the agent sees.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from custtype.text import charclass

# Latin letters that look like Cyrillic ones, and back (seed 002 writes "Кaкой" with Latin a).
_LAT2CYR = str.maketrans("aAeEoOpPcCxXyKkMTHBi", "аАеЕоОрРсСхХуКкМТНВі")
_CYR2LAT = str.maketrans("аАеЕоОрРсСхХуКкМТНВ", "aAeEoOpPcCxXyKkMTHB")
_LOOKALIKE_LAT = set("aAeEoOpPcCxXyKkMTHB")
_LOOKALIKE_CYR = set("аАеЕоОрРсСхХуКкМТНВ")
_SINGLE_LETTER_WORDS = set("aAoOcCyYkK")  # Russian one-letter words typed in Latin: а о с у к

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")

MASKS = {
    "url": "xxurl",
    "email": "xxemail",
    "phone": "xxphone",
    "amount": "xxamount",
    "number": "xxnum",
}
_URL_RE = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_EMAIL_RE = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+\.[\w.-]+")
# amounts, phones and order numbers all start at a digit, a currency sign or a number mark;
# the lookahead makes the scan skip every other position at once. Repeats that another part
# must follow are bounded ({0,40}, {8,30}): unbounded, "1,"*10000 cost quadratic time.
_NUMBERS_RE = re.compile(
    r"(?=[\d$€£₽{#№+nN])(?:"
    r"(?P<amount>(?:[$€£₽]|\{\$)\s?\d[\d\s,.]*\d?\}?"
    r"|\d[\d\s,.]{0,40}\s?(?:руб\w*|р\.|₽|z[łl]ot\w*|zł|zl\b|pln\b|usd\b|dollars?\b|eur(?:o|os)?\b|€|\$|k\b))"
    r"|(?P<phone>\+?\d[\d\s()-]{8,30}\d)"
    r"|(?P<number>(?:#|№|(?<!\w)n[ro]\.?\s?)\d{3,}|(?<!\w)\d{4,}(?!\w))"
    r")",
    re.IGNORECASE,
)
_DIGIT = re.compile(r"\d")
_MULTI_PUNCT = re.compile(r"[!?]{2,}")


@dataclass(frozen=True, slots=True)
class Signals:
    """Surface signals that matter for types and vanish in lower-cased n-grams."""

    chars: int
    exclamations: int
    questions: int
    multi_punct: int
    caps_ratio: float
    emoji: int
    lines: int


@dataclass(frozen=True, slots=True)
class Normalized:
    """A normalised message: `text` plus, per character, its position in the original."""

    original: str
    text: str
    origin: Sequence[int] | None  # None when text is the original, character for character
    signals: Signals

    def span_in_original(self, start: int, end: int) -> tuple[int, int]:
        """Map a [start, end) span of `text` to the original message."""
        if self.origin is None:
            return start, end
        if not self.origin:
            return 0, 0
        first = self.origin[min(start, len(self.origin) - 1)]
        last = self.origin[min(max(end - 1, start), len(self.origin) - 1)]
        return first, min(last + 1, len(self.original))


_CYR = "\u0400-\u04ff"
_CYR_RE = re.compile(f"[{_CYR}]")
_LAT_RE = re.compile(r"[A-Za-z]")
# only words that mix scripts (or one-letter Latin words) need a look: found in one C-level
# scan. Both patterns first match the Latin letter, which most positions of a Cyrillic text
# fail at once, then look at its neighbours (as "[CYR][A-Z]|[A-Z][CYR]" and
# "(?<!letter)[aAoO…](?!letter)" do, at a quarter of the cost: ~22 -> ~6 µs a Cyrillic text)
_SCRIPT_BOUNDARY = re.compile(rf"[A-Za-z](?:(?<=[{_CYR}][A-Za-z])|(?=[{_CYR}]))")
_LONE_LATIN = re.compile(r"[aAoOcCyYkK](?<![^\W\d_][aAoOcCyYkK])(?![^\W\d_])")
_LETTER = re.compile(r"[^\W\d_]")
_LETTERS = re.compile(r"[^\W\d_]*")
MAX_REPAIR_WORD = 64  # longer letter runs are not words: left as they are (and cheap)


def _mixed_words(text: str) -> list[tuple[int, int]]:
    """Spans of the letter runs that mix Cyrillic and Latin, and of lone one-letter Latin
    words: found from the script boundaries, each run walked once (linear time)."""
    spans: list[tuple[int, int]] = []
    done = 0  # text before this offset belongs to runs already found
    for m in _SCRIPT_BOUNDARY.finditer(text):
        at = m.start()
        if at < done:
            continue
        start = at
        while start > done and _LETTER.match(text, start - 1):
            start -= 1
        run = _LETTERS.match(text, at)  # ("*": it always matches, maybe empty)
        end = run.end() if run else at
        done = end
        if end - start <= MAX_REPAIR_WORD:
            spans.append((start, end))
    spans.extend((m.start(), m.end()) for m in _LONE_LATIN.finditer(text))
    return sorted(spans)


def _repair_word(word: str, cyrillic_text: bool) -> str:
    cyr = len(_CYR_RE.findall(word))
    lat = len(_LAT_RE.findall(word))
    if cyr and lat:
        if cyr > lat or (cyr == lat and cyrillic_text):
            return word.translate(_LAT2CYR)
        if all(ch.isascii() or ch in _LOOKALIKE_CYR for ch in word):
            return word.translate(_CYR2LAT)
        return word
    if cyrillic_text and len(word) == 1 and word in _SINGLE_LETTER_WORDS:
        return word.translate(_LAT2CYR)
    return word


def repair_mixed_script(text: str) -> str:
    """Fix look-alike letters per word by its majority script (same length as the input)."""
    if not _CYR_RE.search(text):
        return text
    if not _SCRIPT_BOUNDARY.search(text) and not _LONE_LATIN.search(text):
        return text
    cyrillic_text = len(_CYR_RE.findall(text)) >= len(_LAT_RE.findall(text))
    out: list[str] = []
    last = 0
    for start, end in _mixed_words(text):
        out += (text[last:start], _repair_word(text[start:end], cyrillic_text))
        last = end
    out.append(text[last:])
    return "".join(out)


def _signals(text: str) -> Signals:
    found = charclass.counts(text)
    return Signals(
        chars=len(text),
        exclamations=text.count("!"),
        questions=text.count("?"),
        multi_punct=len(_MULTI_PUNCT.findall(text)) if "!!" in text or "?" in text else 0,
        caps_ratio=found.upper / found.alpha if found.alpha >= 8 else 0.0,
        emoji=found.emoji,
        lines=text.count("\n") + 1,
    )


@lru_cache(maxsize=1)
def _may_change() -> re.Pattern[str]:
    """Characters NFKC may change on their own: those of the BMP it does change (~3,000,
    as ranges: built once in ~10 ms) and any astral character (looked at one by one)."""
    ranges: list[list[int]] = []
    for cp in range(0x10000):
        if unicodedata.normalize("NFKC", chr(cp)) != chr(cp):
            if ranges and ranges[-1][1] == cp - 1:
                ranges[-1][1] = cp
            else:
                ranges.append([cp, cp])
    spans = "".join(f"{re.escape(chr(lo))}-{re.escape(chr(hi))}" for lo, hi in ranges)
    return re.compile(f"[{spans}\U00010000-\U0010ffff]")


def _nfkc(text: str) -> tuple[str, list[int] | None]:
    """NFKC character by character, with each output character's position in `text`. Only
    the characters it changes are visited (a text that needs it has one or two in ~1,200)."""
    if unicodedata.is_normalized("NFKC", text):
        return text, None
    pieces: list[str] = []
    origin: list[int] = []
    last = 0
    for match in _may_change().finditer(text):
        i = match.start()
        norm = unicodedata.normalize("NFKC", text[i])
        if norm != text[i]:
            pieces += (text[last:i], norm)
            origin += range(last, i)
            origin += [i] * len(norm)
            last = i + 1
    pieces.append(text[last:])
    origin += range(last, len(text))
    return "".join(pieces), origin


def _mask_matches(text: str) -> list[tuple[int, int, str]]:
    """Spans to mask, each kind scanned only when its trigger character is present."""
    found: list[tuple[int, int, str]] = []
    lowered = text.lower()
    if "http" in lowered or "www." in lowered:
        found.extend((m.start(), m.end(), "url") for m in _URL_RE.finditer(text))
    if "@" in text:
        found.extend((m.start(), m.end(), "email") for m in _EMAIL_RE.finditer(text))
    if _DIGIT.search(text):
        found.extend(
            (m.start(), m.end(), m.lastgroup or "number") for m in _NUMBERS_RE.finditer(text)
        )
    found.sort()
    kept: list[tuple[int, int, str]] = []
    for span in found:  # drop spans inside an earlier one (digits inside a URL, ...)
        if not kept or span[0] >= kept[-1][1]:
            kept.append(span)
    return kept


def _mask(text: str, origin: list[int] | None) -> tuple[str, list[int] | None]:
    spans = _mask_matches(text)
    if not spans:
        return text, origin
    base = origin if origin is not None else list(range(len(text)))
    pieces: list[str] = []
    new_origin: list[int] = []
    last = 0
    for start, end, kind in spans:
        pieces.append(text[last:start])
        new_origin.extend(base[last:start])
        pad = " " if start > 0 and text[start - 1].isalnum() else ""
        replacement = f"{pad}{MASKS[kind]} "
        pieces.append(replacement)
        # the mask's first character maps to the span's start, the rest to its end, so a
        # span over the mask maps back to the whole original amount/URL/number
        new_origin.append(base[start])
        new_origin.extend([base[end - 1]] * (len(replacement) - 1))
        last = end
    pieces.append(text[last:])
    new_origin.extend(base[last:])
    return "".join(pieces), new_origin


def normalize(text: str) -> Normalized:
    """Normalise one message for the model; see module docstring.

    Example: ``normalize("Кaкой ужас!!! https://x.io").text == "Какой ужас!!! xxurl "``
    """
    signals = _signals(text)
    cleaned, origin = _nfkc(text)
    cleaned = _CONTROL.sub(" ", cleaned)  # same length: the map stays valid
    # the one character whose lower case is longer (İ → i + dot): tokens and cues, found on
    # lower-cased text, keep the offsets of the text only if lower-casing keeps its length
    cleaned = cleaned.replace("\u0130", "I")
    cleaned = repair_mixed_script(cleaned)
    cleaned, origin = _mask(cleaned, origin)
    return Normalized(
        original=text,
        text=cleaned,
        origin=origin,
        signals=signals,
    )
