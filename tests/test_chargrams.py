"""Character n-gram columns looked up with numpy: the same columns, in the same order, as a
dict lookup per n-gram."""

from __future__ import annotations

import random

import numpy as np
import pytest

from custtype import Classifier
from custtype.model.chargrams import GramIndex
from custtype.model.vectorizer import _MAX_TOKEN_CHARS, _char_grams

OFFSET = 1000


def by_dict(vocab: dict[str, int], word: str, lo: int, hi: int) -> list[int]:
    """What the vectoriser's per-word path computes."""
    return [vocab[g] + OFFSET for g in _char_grams(word, lo, hi) if g in vocab]


def unpack(packed: bytes) -> list[int]:
    return np.frombuffer(packed, dtype=np.int32).tolist()


# "b><" and "><к" as if training tokens had been "ab><" and "ю><кот": n-grams that would
# also match across the boundary of two words padded side by side ("<ab>" "<кот>"), where
# they must not count
SMALL = {
    g: i
    for i, g in enumerate(["<ка", "каз", "зак", "аз", "<paczk", "acz", "ack", "b><", "><к", "b>"])
}

WORDS = {
    "ru": ["заказ", "заказы", "перевыпущенной", "кот.утверждает", "что-то", "ё"],
    "pl": ["paczka", "paczki", "zamówienie", "dotarly", "źdźbło", "x"],
    "en": ["parcel", "refund", "xxnum", "don't", "a", "antidisestablishmentarianism"],
}


@pytest.mark.parametrize("lang", sorted(WORDS))
def test_same_columns_as_a_dict_lookup_on_the_shipped_vocabulary(
    classifier: Classifier, lang: str
) -> None:
    vec = classifier.vectorizer
    lo, hi = vec.char_range
    vocab = vec.char_vocab_
    index = GramIndex(vocab, vec.char_range, _MAX_TOKEN_CHARS, OFFSET)
    words = WORDS[lang]
    got = [unpack(p) for p in index.columns(words)]
    assert got == [by_dict(vocab, w, lo, hi) for w in words]
    assert all(got[:2])  # common words do have known n-grams


def test_edge_words_on_a_small_vocabulary() -> None:
    # lengths 2-6 here; words shorter than a gram, longer than the cut, characters outside
    # the vocabulary's alphabet (also beyond the BMP), and repeated words
    words = ["", "к", "каз", "заказ" * 9, "ка😀з", "paczka", "paczka", "ЗАКАЗ", "a" * 30 + "каз"]
    words += ["ab", "кот", "ю><кот", "ка\ud83dз"]  # (a lone surrogate, as JSON may carry)
    index = GramIndex(SMALL, (2, 6), _MAX_TOKEN_CHARS, OFFSET)
    got = [unpack(p) for p in index.columns(words)]
    assert got == [by_dict(SMALL, w, 2, 6) for w in words]
    # "<каз>": the 2-gram "аз" first, then the 3-grams "<ка" and "каз"; "з>" is not known
    assert got[2] == [SMALL["аз"] + OFFSET, SMALL["<ка"] + OFFSET, SMALL["каз"] + OFFSET]
    assert index.columns([]) == []


def test_random_words_match_the_dict_lookup(classifier: Classifier) -> None:
    vec = classifier.vectorizer
    lo, hi = vec.char_range
    index = GramIndex(vec.char_vocab_, vec.char_range, _MAX_TOKEN_CHARS, OFFSET)
    rng = random.Random(7)
    letters = "заказпосылкаąęłśżźćńóabcdefxyz0123456789-.'😀"
    words = ["".join(rng.choices(letters, k=rng.randint(1, 30))) for _ in range(2000)]
    got = [unpack(p) for p in index.columns(words)]
    assert got == [by_dict(vec.char_vocab_, w, lo, hi) for w in words]


def test_a_vocabulary_too_large_for_int64_codes_is_not_indexed() -> None:
    # 5-grams over an alphabet of 5,000 characters need 5 x 13 bits
    vocab = {"".join(chr(0x4E00 + (i * 5 + k) % 5000) for k in range(5)): i for i in range(1000)}
    assert GramIndex.build(vocab, (5, 5), _MAX_TOKEN_CHARS, 0) is None
    assert GramIndex.build(SMALL, (3, 5), _MAX_TOKEN_CHARS, 0) is None  # has 2- and 6-grams
    assert GramIndex.build(SMALL, (2, 6), _MAX_TOKEN_CHARS, 0) is not None
    assert GramIndex.build({}, (3, 5), _MAX_TOKEN_CHARS, 0) is None
