"""Evidence: the batch computation must equal a plain per-token reading of the definition,
and a message's evidence must not depend on the batch it is scored in."""

from __future__ import annotations

import numpy as np
import pytest

from custtype import Classifier
from custtype.model.evidence import explain, token_scores
from custtype.model.vectorizer import _char_grams
from custtype.text.analysis import analyze

MESSAGES = [
    "Где мой заказ?! Жду уже неделю, сколько можно!!! Верните деньги, иначе пойду в суд.",
    "Кaкой ужас, заказ №123456 опять не пришёл :( (снова)",
    "Wrzucę to na Instagram, jeśli nie oddacie pieniędzy. Reklamacja nr 98765!!!",
    "Dzien dobry, jak moge zmienic adres dostawy? Dziekuje.",
    "I tagged 3 friends and shared the post twice! When is the next draw??",
    "As a software engineer I can tell you the API returns 500 on every retry. Steps: 1) log in 2) pay",
    "!!!",
    "ok",
]


def _reference_scores(clf: Classifier, text: str) -> list[float]:
    """Per token: each sparse feature's value × direction, split evenly over the (token,
    feature) slots that produced it (a bigram gives a slot to each of its two tokens)."""
    vec = clf.vectorizer
    a = analyze(text)
    x = vec.transform([a]).toarray()[0]
    k = int(np.argmax(clf.probabilities([a])[0]))
    direction = clf._directions[k]
    tokens = a.chunks.items()
    lo, hi = vec.char_range
    slots: list[tuple[int, int]] = []  # (token, column)
    for i, t in enumerate(tokens):
        if (c := vec.lemma_vocab_.get(f"w:{t.lemma}")) is not None:
            slots.append((i, c))
    for i in range(len(tokens) - 1):
        term = f"b:{tokens[i].lemma} {tokens[i + 1].lemma}"
        if (c := vec.lemma_vocab_.get(term)) is not None:
            slots += [(i, c), (i + 1, c)]
    for i, t in enumerate(tokens):
        if t.is_word:
            for g in _char_grams(t.lower, lo, hi):
                if (c := vec.char_vocab_.get(g)) is not None:
                    slots.append((i, vec.n_lemma + c))
    per_column: dict[int, int] = {}
    for _, c in slots:
        per_column[c] = per_column.get(c, 0) + 1
    scores = [0.0] * len(tokens)
    for i, c in slots:
        scores[i] += x[c] * direction[c] / per_column[c]
    return scores


@pytest.mark.parametrize("text", [m for m in MESSAGES if m != "!!!"])
def test_token_scores_match_the_definition(classifier: Classifier, text: str) -> None:
    vec = classifier.vectorizer
    a = analyze(text)
    if not a.supported:
        pytest.skip("not scored")
    x, trace = vec.transform_traced([a])
    assert trace is not None
    predicted = np.argmax(
        classifier.calibrated(np.asarray(x @ classifier._weights) + classifier._intercept), axis=1
    )
    got = token_scores(x, trace, classifier._directions, predicted)
    assert got.tolist() == pytest.approx(_reference_scores(classifier, text), abs=1e-12)


def test_evidence_does_not_depend_on_the_batch(classifier: Classifier) -> None:
    vec = classifier.vectorizer
    analyses = [a for a in map(analyze, MESSAGES) if a.supported]

    def evidence(batch: list) -> list:  # type: ignore[type-arg]
        x, trace = vec.transform_traced(batch)
        predicted = np.argmax(
            classifier.calibrated(np.asarray(x @ classifier._weights) + classifier._intercept),
            axis=1,
        )
        return explain(vec, classifier._directions, batch, x, trace, predicted)  # type: ignore[arg-type]

    together = evidence(analyses)
    alone = [evidence([a])[0] for a in analyses]
    assert together == alone
    assert sum(map(len, together)) >= 5  # most messages have phrases: the test is not vacuous
    for a, phrases in zip(analyses, together, strict=True):
        for e in phrases:
            assert a.normalized.original[e.start : e.end] == e.text
