"""Features: analysis, the cached vectoriser and its invariants."""

from __future__ import annotations

import itertools
import math
from collections import Counter

import numpy as np
import pytest

from custtype import Classifier
from custtype.model.vectorizer import MessageVectorizer, _char_grams
from custtype.text.analysis import analyze

DOCS = [
    ("Где мой заказ? Жду неделю!", "ru"),
    ("Когда итоги розыгрыша?", "ru"),
    ("Gdzie jest moja paczka?", "pl"),
    ("Kiedy wyniki konkursu?", "pl"),
    ("Where is my parcel?", "en"),
    ("When is the giveaway draw?", "en"),
]


@pytest.fixture(scope="module")
def fitted() -> tuple[MessageVectorizer, list]:
    analyses = [analyze(t, lang) for t, lang in DOCS] * 2  # min_df 2
    return MessageVectorizer().fit(analyses), analyses


def _fresh(vec: MessageVectorizer) -> MessageVectorizer:
    """The same vectoriser through what a model file stores: fresh, empty caches."""
    config, arrays = vec.to_state()
    return MessageVectorizer.from_state(config, arrays)


def test_analysis_lemmatises_per_language() -> None:
    ru = analyze("Заказы не доставили", "ru")
    assert [t.lemma for t in ru.chunks.items()][:1] == ["заказ"]
    pl = analyze("Paczki nie dotarły", "pl")
    assert pl.chunks.items()[0].lemma == "paczka"
    assert analyze("Wo ist mein Paket?").chunks.items() == []  # unsupported: no tokens


def test_blocks_are_normalised(fitted: tuple[MessageVectorizer, list]) -> None:
    vec, analyses = fitted
    x = vec.transform(analyses[:6]).toarray()
    assert x.shape == (6, vec.n_features)
    lemma = x[:, : vec.n_lemma]
    chars = x[:, vec.n_lemma : vec.n_lemma + vec.n_char]
    assert np.allclose(np.linalg.norm(lemma, axis=1), 1.0)
    assert np.allclose(np.linalg.norm(chars, axis=1), 1.0)
    assert x.shape[1] == vec.n_lemma + vec.n_char


def test_unknown_words_add_nothing(fitted: tuple[MessageVectorizer, list]) -> None:
    vec, _ = fitted
    x = vec.transform([analyze("zzzqqq", "en")])
    assert x[:, : vec.n_lemma].nnz == 0


def test_state_round_trip_gives_same_features(fitted: tuple[MessageVectorizer, list]) -> None:
    vec, analyses = fitted
    clone = _fresh(vec)
    assert (clone.transform(analyses) != vec.transform(analyses)).nnz == 0


NEW_WORDS = [
    ("Перевыпущенной карте так и не пришло оповещение, а менеджер обещал перезвонить", "ru"),
    ("Kurier zostawił paczkę u sąsiada, który wyjechał na urlop, a infolinia milczy", "pl"),
    ("The refund was promised thrice; meanwhile the overdraft fees keep piling up", "en"),
    ("", "en"),
    ("Ok", "en"),
    ("не пришел заказ, не пришел ответ, деньги не вернули", "ru"),
]


def _by_definition(vec: MessageVectorizer, a: object) -> dict[int, float]:
    """One message's features computed from the definition, term by term: sublinear tf
    times idf over lemma 1-2-grams and per-word char n-grams, each block L2-normalised."""
    lemmas = a.chunks.lemmas()  # type: ignore[attr-defined]
    terms = [f"w:{x}" for x in lemmas] + [f"b:{x} {y}" for x, y in itertools.pairwise(lemmas)]
    lemma = Counter(vec.lemma_vocab_[t] for t in terms if t in vec.lemma_vocab_)
    lo, hi = vec.char_range
    grams = [g for w in a.chunks.words() for g in _char_grams(w, lo, hi)]  # type: ignore[attr-defined]
    chars = Counter(vec.n_lemma + vec.char_vocab_[g] for g in grams if g in vec.char_vocab_)
    out: dict[int, float] = {}
    idf = np.concatenate([vec.lemma_idf_, vec.char_idf_])
    for block in (lemma, chars):
        values = {c: (1 + math.log(n)) * idf[c] for c, n in block.items()}
        norm = math.sqrt(sum(v * v for v in values.values())) or 1.0
        out.update({c: v / norm for c, v in values.items()})
    return out


@pytest.mark.parametrize("trace", [False, True])
def test_features_are_those_of_the_definition(classifier: Classifier, trace: bool) -> None:
    analyses = [analyze(t, lang) for t, lang in NEW_WORDS + DOCS]
    vec = _fresh(classifier.vectorizer)  # empty caches: every word is new
    for x in (vec.transform_traced(analyses, trace)[0], vec.transform(analyses)):  # then cached
        for r, a in enumerate(analyses):
            row = x.getrow(r)
            got = dict(zip(row.indices.tolist(), row.data.tolist(), strict=True))
            want = _by_definition(vec, a)
            assert got.keys() == want.keys()
            assert all(abs(got[c] - want[c]) < 1e-12 for c in want)


def test_the_word_cache_stays_bounded(
    fitted: tuple[MessageVectorizer, list], monkeypatch: pytest.MonkeyPatch
) -> None:
    from custtype.model import vectorizer as module

    vec, analyses = fitted
    monkeypatch.setattr(module, "_CACHE_LIMIT", 5)
    fresh = _fresh(vec)
    before = fresh.transform(analyses)
    assert len(fresh._char_cache) <= 5
    assert (fresh.transform(analyses) != before).nnz == 0  # evicted words come back the same
