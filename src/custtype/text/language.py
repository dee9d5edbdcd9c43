"""Language identification restricted to ru/pl/en (anything else is reported, not scored).

Cyrillic text is Russian unless it has Ukrainian or Belarusian letters; Latin text goes to
lingua (a maintained detector that is accurate on short text and on Polish typed without
diacritics). Two or more letters that only Polish uses among the candidates (ą ę ł ś ź ż)
settle it without asking lingua, and so do, in a long text, function words only Polish or
only English uses (data/language_markers.yaml); other long texts use lingua's faster
low-accuracy mode on a prefix, which is as reliable there. A supported
language whose confidence is close to the top one wins: a short English line must not be
lost as 'French'.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from custtype.resources import parse_yaml, resource
from custtype.taxonomy import LANGS
from custtype.text import charclass

SUPPORTED = LANGS
UNDETERMINED = "und"
_SHORT = 120
_PREFIX = 300
_PREFER_SUPPORTED = 0.5  # a supported language within this ratio of the top one wins
# handles, hashtags, masks, URLs; the lookahead lets a scan skip every other position at once
# (the alternation alone is tried at each of them: ~7.5 -> ~3 µs a Latin-script text)
_NOISE = re.compile(r"(?=[@#xh])(?:[@#]\w+|\bxx(?:url|email|phone|amount|num)\b|https?://\S+)")
_POLISH_ONLY = re.compile("[ąęłśźżĄĘŁŚŹŻ]")  # letters no other candidate language uses
_UK = re.compile("[іїєґІЇЄҐ]")
_BE = re.compile("[ўЎ]")


_WORD = re.compile(r"[a-ząćęłńóśźż]+")


class _Markers(BaseModel):
    """Schema of resources/language_markers.yaml."""

    model_config = ConfigDict(extra="forbid")
    version: int
    min_hits: int = Field(ge=1)
    ratio: float = Field(ge=1)
    markers: dict[Literal["pl", "en"], list[str]]


@lru_cache(maxsize=1)
def _markers() -> tuple[frozenset[str], frozenset[str], int, float]:

    raw = parse_yaml(resource("language_markers.yaml").read_text())
    m = _Markers.model_validate(raw)
    return frozenset(m.markers["pl"]), frozenset(m.markers["en"]), m.min_hits, m.ratio


def by_function_words(text: str) -> str | None:
    """'pl' or 'en' when a text's function words leave no doubt, else None (ask lingua)."""
    polish, english, min_hits, ratio = _markers()
    pl = en = 0
    for word in _WORD.findall(text.lower()):
        if word in polish:
            pl += 1
        elif word in english:
            en += 1
    if pl >= min_hits and en * ratio <= pl:
        return "pl"
    if en >= min_hits and pl * ratio <= en:
        return "en"
    return None


_OTHERS = ("GERMAN", "FRENCH", "SPANISH", "ITALIAN", "PORTUGUESE", "CZECH", "SLOVAK", "DUTCH")


@lru_cache(maxsize=1)
def _detectors() -> tuple[Any, Any]:
    """lingua's detectors: fast (trigrams) for all ten candidates, accurate for English and
    Polish. A detector loads its models on its first text (~0.15 s, or ~0.5 s when short)."""
    from lingua import Language, LanguageDetectorBuilder

    pair = [Language.ENGLISH, Language.POLISH]
    ten = [*pair, *(getattr(Language, name) for name in _OTHERS)]
    return (
        LanguageDetectorBuilder.from_languages(*ten).with_low_accuracy_mode().build(),
        LanguageDetectorBuilder.from_languages(*pair).build(),
    )


@lru_cache(maxsize=len(_OTHERS))
def _accurate_with(other: Any) -> Any:
    """lingua's accurate detector for English, Polish and `other`, the language the fast mode
    placed a short text in. lingua shares loaded models between detectors, so this loads only
    `other`'s (~0.25-0.35 s, ~27 MB) the first time it is met, where an accurate detector for
    all ten loaded eight languages at once (2.5-3 s, ~195 MB). The cost: a short text in
    another language that the fast mode misnames is more often taken for English or Polish
    (5 of 80 short phrases in eight languages, against 2); weighing its top two or three
    named languages did not lower that and loaded nearly all ten on the corpus."""
    from lingua import Language, LanguageDetectorBuilder

    return LanguageDetectorBuilder.from_languages(Language.ENGLISH, Language.POLISH, other).build()


def _choose(values: list[Any]) -> str:
    """The code of the top language, or of a supported one nearly as likely (this product
    serves pl/en: a short English line must not be lost as 'French')."""
    if not values or values[0].value <= 0:
        return UNDETERMINED
    top = values[0]
    for v in values[1:4]:
        code = str(v.language.iso_code_639_1.name).lower()
        if code in SUPPORTED and v.value >= _PREFER_SUPPORTED * top.value:
            return code
    return str(top.language.iso_code_639_1.name).lower()


def detect_language(text: str) -> str:
    """ISO 639-1 code of the message's language: 'ru', 'pl', 'en', another code, or 'und'.

    Example: ``detect_language("Gdzie jest moja paczka?") == "pl"``
    """
    found = charclass.counts(text)
    cyr, lat = found.cyrillic, found.latin
    if cyr + lat < 2:
        return UNDETERMINED
    if cyr >= lat:
        if _UK.search(text):
            return "uk"
        if _BE.search(text):
            return "be"
        return "ru"
    if len(_POLISH_ONLY.findall(text)) >= 2:
        return "pl"
    text = _NOISE.sub(" ", text)  # handles, hashtags and masks are not language
    short = len(text) <= _SHORT
    if not short and (code := by_function_words(text[:_PREFIX])):  # what lingua would read
        return code
    fast, pair = _detectors()
    values = fast.compute_language_confidence_values(text[:_PREFIX])
    code = _choose(values)
    if not short:  # long texts: the fast mode is as reliable there
        return code
    # short texts need the accurate mode: between English and Polish when the fast mode saw
    # one of them (or none), else between them and the language it saw
    accurate = (
        pair if code in SUPPORTED or code == UNDETERMINED else _accurate_with(values[0].language)
    )
    return _choose(accurate.compute_language_confidence_values(text[:_PREFIX]))
