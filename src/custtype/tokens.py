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


_lemma_cache: dict[tuple[str, str], str] = {}
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


def lemma(word: str, lang: str) -> str:
    """Lemma of a lower-cased word in ru/pl/en (cached)."""
    key = (lang, word)
    found = _lemma_cache.get(key)
    if found is None:
        found = _lemmatize_uncached(word, lang)
        with _lock:
            if len(_lemma_cache) >= _CACHE_LIMIT:
                _lemma_cache.clear()
            _lemma_cache[key] = found
    return found


def tokenize(text: str, lang: str) -> list[Token]:
    """Tokens of a normalised text with lemmas; `lang` must be ru, pl or en."""
    doc = _tokenizer(lang)(text)
    out: list[Token] = []
    for tok in doc:
        if tok.is_space:
            continue
        lower = tok.lower_
        is_word = any(ch.isalnum() for ch in lower)
        start = tok.idx
        out.append(
            Token(lower, lemma(lower, lang) if is_word else lower, start, start + len(lower), is_word)
        )
    return out
