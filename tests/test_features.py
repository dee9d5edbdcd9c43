"""Features: analysis, the cached vectoriser and its invariants."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from custtype.features import DENSE_NAMES, MessageVectorizer, analyze

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
    assert x.shape[1] - vec.n_lemma - vec.n_char == len(DENSE_NAMES)


def test_unknown_words_add_nothing(fitted: tuple[MessageVectorizer, list]) -> None:
    vec, _ = fitted
    x = vec.transform([analyze("zzzqqq", "en")])
    assert x[:, : vec.n_lemma].nnz == 0


def test_pickle_round_trip_gives_same_features(fitted: tuple[MessageVectorizer, list]) -> None:
    vec, analyses = fitted
    clone = pickle.loads(pickle.dumps(vec))
    assert (clone.transform(analyses) != vec.transform(analyses)).nnz == 0
