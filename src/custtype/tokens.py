"""Tokens and lemmas: spaCy blank tokenizers, pymorphy3 (ru) and simplemma (pl, en).

Lemmas are cached per (language, word), so lemmatisation costs one dict lookup once a word
has been seen; the cache is bounded so memory stays flat on endless streams.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any, NamedTuple

_CACHE_LIMIT = 400_000


class Token(NamedTuple):
    """One token of the normalised text: lower-cased form, lemma and character span."""

    lower: str
    lemma: str
    start: int
    end: int
    is_word: bool


@lru_cache(maxsize=8)
def _tokenizer(lang: str) -> Any:
    import spacy

    return spacy.blank(lang).tokenizer


@lru_cache(maxsize=1)
def _morph() -> Any:
    import pymorphy3

    return pymorphy3.MorphAnalyzer(lang="ru")


_info_cache: dict[str, dict[str, tuple[str, bool]]] = {}
_lock = threading.Lock()


def _lemmatize_uncached(word: str, lang: str) -> str:
    if not any(ch.isalpha() for ch in word):
        return word
    if lang == "ru":
        if any("\u0400" <= ch <= "\u04ff" for ch in word):
            return str(_morph().parse(word)[0].normal_form).replace("ё", "е")
        return word
    import simplemma

    return str(simplemma.lemmatize(word, lang=lang)).lower()


def _info(word: str, lang: str) -> tuple[str, bool]:
    """(lemma, is_word) of a lower-cased token, computed once per language and word."""
    cache = _info_cache.get(lang)
    if cache is None:
        cache = _info_cache.setdefault(lang, {})
    found = cache.get(word)
    if found is None:
        is_word = any(ch.isalnum() for ch in word)
        found = (_lemmatize_uncached(word, lang) if is_word else word, is_word)
        with _lock:
            if len(cache) >= _CACHE_LIMIT:
                cache.clear()
            cache[word] = found
    return found


def lemma(word: str, lang: str) -> str:
    """Lemma of a lower-cased word in ru/pl/en (cached)."""
    return _info(word, lang)[0]


def tokenize(text: str, lang: str) -> list[Token]:
    """Tokens of a normalised text with lemmas; `lang` must be ru, pl or en."""
    cache = _info_cache.get(lang) or _info_cache.setdefault(lang, {})
    out: list[Token] = []
    append = out.append
    for tok in _tokenizer(lang)(text):
        if tok.is_space:
            continue
        lower = tok.lower_
        info = cache.get(lower) or _info(lower, lang)
        start = tok.idx
        append(Token(lower, info[0], start, start + len(lower), info[1]))
    return out
