"""Features: analysis, the cached vectoriser and its invariants."""

from __future__ import annotations

import numpy as np
import pytest

from custtype import Classifier
from custtype.model.vectorizer import DENSE_NAMES, MessageVectorizer, _count_keys
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
    assert x.shape[1] - vec.n_lemma - vec.n_char == len(DENSE_NAMES)


def test_unknown_words_add_nothing(fitted: tuple[MessageVectorizer, list]) -> None:
    vec, _ = fitted
    x = vec.transform([analyze("zzzqqq", "en")])
    assert x[:, : vec.n_lemma].nnz == 0


def test_state_round_trip_gives_same_features(fitted: tuple[MessageVectorizer, list]) -> None:
    vec, analyses = fitted
    clone = _fresh(vec)
    assert (clone.transform(analyses) != vec.transform(analyses)).nnz == 0


@pytest.mark.parametrize(
    "values",
    [
        [],
        [7],
        [3, 1, 3, 3, 0, 1, 9],
        list(range(50, 0, -1)) * 3,
        [2**60, 5, 2**60, 0],  # too wide to pack with its position: the argsort path
    ],
)
@pytest.mark.parametrize("inverse", [False, True])
def test_count_keys_matches_numpy_unique(values: list[int], inverse: bool) -> None:
    flat = np.asarray(values, dtype=np.int64)
    keys, counts, where = _count_keys(flat, inverse)
    ref_keys, ref_inverse, ref_counts = np.unique(flat, return_inverse=True, return_counts=True)
    assert keys.tolist() == ref_keys.tolist()
    assert counts.tolist() == ref_counts.tolist()
    if inverse:
        assert where.tolist() == ref_inverse.tolist()


def test_count_keys_on_a_large_random_batch() -> None:
    flat = np.random.default_rng(0).integers(0, 40_000_000, 200_000)
    keys, counts, where = _count_keys(flat, inverse=True)
    ref_keys, ref_inverse, ref_counts = np.unique(flat, return_inverse=True, return_counts=True)
    assert np.array_equal(keys, ref_keys)
    assert np.array_equal(counts, ref_counts)
    assert np.array_equal(where, ref_inverse)


NEW_WORDS = [
    ("Перевыпущенной карте так и не пришло оповещение, а менеджер обещал перезвонить", "ru"),
    ("Kurier zostawił paczkę u sąsiada, który wyjechał na urlop, a infolinia milczy", "pl"),
    ("The refund was promised thrice; meanwhile the overdraft fees keep piling up", "en"),
]


@pytest.mark.parametrize("trace", [False, True])
def test_new_words_learnt_at_once_give_the_same_features(
    classifier: Classifier, trace: bool
) -> None:
    """A batch's new words get their character n-grams with numpy at once (GramIndex); the
    matrix and the evidence trace must be those of looking each word up on its own."""
    analyses = [analyze(t, lang) for t, lang in NEW_WORDS + DOCS]
    at_once = _fresh(classifier.vectorizer)  # fresh, empty caches
    one_by_one = _fresh(classifier.vectorizer)
    one_by_one._gram_index = None
    x1, t1 = at_once.transform_traced(analyses, trace=trace)
    assert at_once._gram_index  # the batch did take the numpy path
    x2, t2 = one_by_one.transform_traced(analyses, trace=trace)
    assert x1.nnz > 0
    for a, b in ((x1.data, x2.data), (x1.indices, x2.indices), (x1.indptr, x2.indptr)):
        assert a.tobytes() == b.tobytes()
    if trace:
        assert t1 is not None and t2 is not None
        for a, b in zip(t1, t2, strict=True):
            assert a.tobytes() == b.tobytes()


def test_bigrams_from_unigram_columns_match_the_pair_dict(classifier: Classifier) -> None:
    """Bigram columns are found from the tokens' unigram columns with numpy; the matrix and
    trace must be those of the per-pair dict, also with empty and one-token messages at the
    start, middle and end of a batch."""
    texts = [("", "en"), ("Ok", "en"), *NEW_WORDS, ("", "pl"), *DOCS, ("Жду", "ru"), ("", "ru")]
    texts += [("не пришел заказ, не пришел ответ, деньги не вернули", "ru")] * 2
    analyses = [analyze(t, lang) for t, lang in texts]
    by_keys = classifier.vectorizer
    by_dict = _fresh(by_keys)
    assert by_keys._pair_keys is not None  # the shipped model takes the numpy path
    by_dict._pair_keys = None
    x1, t1 = by_keys.transform_traced(analyses)
    x2, t2 = by_dict.transform_traced(analyses)
    bigram_cols = np.flatnonzero(by_keys._bigram_col[:-1])
    assert np.isin(x1.indices, bigram_cols).sum() >= 3  # some bigrams were found
    for a, b in ((x1.data, x2.data), (x1.indices, x2.indices), (x1.indptr, x2.indptr)):
        assert a.tobytes() == b.tobytes()
    assert t1 is not None and t2 is not None
    for a, b in zip(t1, t2, strict=True):
        assert a.tobytes() == b.tobytes()
    empty = [analyze("", "en"), analyze("", "ru")]  # a batch without a single token
    assert (by_keys.transform(empty) != by_dict.transform(empty)).nnz == 0  # and no crash


def test_a_bigram_of_lemmas_with_a_space_keeps_the_pair_dict(
    fitted: tuple[MessageVectorizer, list],
) -> None:
    vec, _ = fitted
    assert vec._pair_keys is not None
    clone = _fresh(vec)
    clone.lemma_vocab_ = {**clone.lemma_vocab_, "b:и т.д. ждать": len(clone.lemma_vocab_)}
    clone.lemma_idf_ = np.append(clone.lemma_idf_, 1.0)
    clone._reset_caches()
    assert clone._pair_keys is None
