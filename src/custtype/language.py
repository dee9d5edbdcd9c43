"""Language identification restricted to ru/pl/en (anything else is reported, not scored).

Cyrillic text is Russian unless it has Ukrainian or Belarusian letters; Latin text goes to
lingua (a maintained detector that is accurate on short text and on Polish typed without
diacritics). Long texts use lingua's faster low-accuracy mode on a prefix, which is as
reliable there and keeps detection off the hot path. Two or more letters that only
Polish uses among the candidates (ą ę ł ś ź ż) settle it without asking lingua. A supported
language whose confidence is close to the top one wins: a short English line must not be
lost as 'French'.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

SUPPORTED = ("ru", "pl", "en")
UNDETERMINED = "und"
_SHORT = 120
_PREFIX = 300
_PREFER_SUPPORTED = 0.5  # a supported language within this ratio of the top one wins
_NOISE = re.compile(r"[@#]\w+|\bxx(?:url|email|phone|amount|num)\b|https?://\S+")
_POLISH_ONLY = re.compile("[ąęłśźżĄĘŁŚŹŻ]")  # letters no other candidate language uses
_UK = set("іїєґІЇЄҐ")
_BE = set("ўЎ")


@lru_cache(maxsize=1)
def _detectors() -> tuple[Any, Any]:
    from lingua import Language, LanguageDetectorBuilder

    langs = [
        Language.ENGLISH,
        Language.POLISH,
        Language.GERMAN,
        Language.FRENCH,
        Language.SPANISH,
        Language.ITALIAN,
        Language.PORTUGUESE,
        Language.CZECH,
        Language.SLOVAK,
        Language.DUTCH,
    ]
    accurate = LanguageDetectorBuilder.from_languages(*langs).build()
    fast = LanguageDetectorBuilder.from_languages(*langs).with_low_accuracy_mode().build()
    return accurate, fast


def detect_language(text: str) -> str:
    """ISO 639-1 code of the message's language: 'ru', 'pl', 'en', another code, or 'und'.

    Example: ``detect_language("Gdzie jest moja paczka?") == "pl"``
    """
    cyr = lat = 0
    for ch in text:
        if ch.isalpha():
            if "\u0400" <= ch <= "\u04ff":
                cyr += 1
            elif ch.isascii() or "\u00c0" <= ch <= "\u024f":
                lat += 1
    if cyr + lat < 2:
        return UNDETERMINED
    if cyr >= lat:
        if any(ch in _UK for ch in text):
            return "uk"
        if any(ch in _BE for ch in text):
            return "be"
        return "ru"
    if len(_POLISH_ONLY.findall(text)) >= 2:
        return "pl"
    text = _NOISE.sub(" ", text)  # handles, hashtags and masks are not language
    accurate, fast = _detectors()
    detector = accurate if len(text) <= _SHORT else fast
    values = detector.compute_language_confidence_values(text[:_PREFIX])
    if not values or values[0].value <= 0:
        return UNDETERMINED
    top = values[0]
    # this product serves pl/en: when one of them is nearly as likely as the winner, take it
    for v in values[1:4]:
        code = str(v.language.iso_code_639_1.name).lower()
        if code in SUPPORTED and v.value >= _PREFER_SUPPORTED * top.value:
            return code
    return str(top.language.iso_code_639_1.name).lower()
