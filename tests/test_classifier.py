"""The shipped classifier: contract, obvious cases per language, evidence, refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from custtype import TYPES, Classifier, InputError, ModelError

# Hand-written here (not from any training or test file): clear cases a support lead would
# label without hesitation.
OBVIOUS = [
    (
        "en",
        "prize_hunter",
        "Did I win the Christmas giveaway?? I tagged 3 friends and shared the post twice! When is the next draw?",
    ),
    (
        "ru",
        "prize_hunter",
        "Я участвовала в розыгрыше, отметила трёх подруг и сделала репост. Когда итоги? И будет ли следующий конкурс?",
    ),
    (
        "pl",
        "prize_hunter",
        "Brałam udział w konkursie, oznaczyłam znajome i udostępniłam post. Kiedy wyniki losowania? Będzie kolejne rozdanie?",
    ),
    (
        "en",
        "none",
        "Hi, could you tell me how to change the delivery address on order 55123? Thanks.",
    ),
    ("ru", "none", "Здравствуйте, подскажите, пожалуйста, как поменять адрес доставки в заказе?"),
    ("pl", "none", "Dzień dobry, jak mogę zmienić adres dostawy w zamówieniu? Dziękuję."),
]


def test_contract_fields(classifier: Classifier) -> None:
    out = classifier.predict(["Где мой заказ?! Жду уже неделю, сколько можно!!!"])[0].to_dict()
    for key in (
        "type",
        "confidence",
        "confidence_level",
        "probabilities",
        "language",
        "evidence",
        "model_version",
    ):
        assert key in out
    assert "strategy" not in out  # the classifier knows nothing of playbooks
    assert out["language"] == "ru"
    assert out["confidence_level"] in {"high", "medium", "low"}
    assert abs(sum(out["probabilities"].values()) - 1.0) < 1e-6
    assert set(out["probabilities"]) == {*TYPES, "none"}
    assert out["internal_only"] is True
    json.dumps(out)  # serialisable


@pytest.mark.parametrize(("lang", "label", "text"), OBVIOUS)
def test_obvious_cases(classifier: Classifier, lang: str, label: str, text: str) -> None:
    p = classifier.predict([text])[0]
    assert p.language == lang
    assert (p.type or "none") == label


def test_decision_follows_thresholds(classifier: Classifier) -> None:
    th = classifier.thresholds
    for p in classifier.predict([t for _, _, t in OBVIOUS] + ["ok", "Kiedy?", "WHY"]):
        assert (p.outcome == "undetermined") == (p.confidence < th.abstain)
        assert p.confidence_level == th.level(p.confidence)
        if p.outcome == "type":
            assert p.type == max(p.probabilities, key=p.probabilities.__getitem__)


def test_evidence_spans_point_into_the_original_text(classifier: Classifier) -> None:
    text = "Кaкой УЖАС!!! https://shop.example/x Я требую компенсацию и скидку, иначе напишу отзыв в инстаграм"
    p = classifier.predict([text])[0]
    assert p.evidence
    for e in p.evidence:
        assert text[e.start : e.end] == e.text


def test_mixed_script_reads_like_clean_text(classifier: Classifier) -> None:
    clean = "Какой ужас, почему заказ до сих пор не доставлен, мне нужно сегодня"
    mixed = "Кaкой ужaс, пoчему зaкaз дo сих пор не доставлен, мне нужно сегодня"
    a, b = classifier.predict([clean, mixed])
    assert a.type == b.type
    assert abs(a.confidence - b.confidence) < 1e-9


def test_forced_language_and_unsupported_language(classifier: Classifier) -> None:
    de = classifier.predict(["Wo ist mein Paket? Ich warte seit zwei Wochen darauf."])[0]
    assert de.type is None and de.outcome == "undetermined"
    assert de.language == "de" and "not supported" in (de.reason or "")
    forced = classifier.predict(["Kiedy paczka?"], lang="pl")[0]
    assert forced.language == "pl"


@pytest.mark.parametrize(
    ("texts", "message"),
    [
        ([""], "text #0 is empty"),
        (["ok", "   \n"], "text #1 is empty"),
        (["x" * 20_001], "limit is 20000"),
        ([None], "must be a string"),
    ],
)
def test_bad_input_is_refused_clearly(classifier: Classifier, texts: list, message: str) -> None:
    with pytest.raises(InputError, match=message):
        classifier.predict(texts)


def test_single_string_is_refused(classifier: Classifier) -> None:
    with pytest.raises(InputError, match="list of texts"):
        classifier.predict("hello")  # type: ignore[arg-type]


def test_thresholds_override(tmp_path: Path) -> None:
    strict = tmp_path / "strict.yaml"
    strict.write_text(
        "version: 1\nnone_prior: 0.9\nabstain_min: 0.95\nbands: {high: 0.99, medium: 0.97}\n"
    )
    clf = Classifier.load(thresholds=strict)
    assert clf.thresholds.abstain >= 0.95
    text = "Я участвовала в розыгрыше, когда итоги?"
    assert (
        clf.predict([text])[0].probabilities["none"]
        > Classifier.load().predict([text])[0].probabilities["none"]
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nnone_prior: 2\nabstain_min: 0.5\nbands: {high: 0.9, medium: 0.7}\n")
    with pytest.raises(ModelError, match="field none_prior"):
        Classifier.load(thresholds=bad)


def test_evidence_phrases_are_distinct(classifier: Classifier) -> None:
    text = "Did I win? I entered the sweepstakes, then the sweepstakes again, one more sweepstakes entry!"
    phrases = [e.text.lower() for e in classifier.predict([text])[0].evidence]
    assert phrases and len(phrases) == len(set(phrases))


def test_fast_scores_equal_the_linear_model(classifier: Classifier) -> None:
    import numpy as np

    from custtype.model import artifact
    from custtype.model.linear import softmax
    from custtype.text.analysis import analyze

    texts = ["Где мой заказ?!", "Kiedy wyniki konkursu?", "I want a refund and a free upgrade."]
    analyses = [analyze(t) for t in texts]
    x = classifier.vectorizer.transform(analyses)
    linear = artifact.load().linear
    expected = softmax(linear.decision_function(x) / classifier.temperature + classifier._bias, 1.0)
    assert np.allclose(classifier.probabilities(analyses), expected, atol=1e-12)


def test_linear_model_scores_as_the_estimator_it_came_from() -> None:
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    from custtype.model.linear import LinearModel

    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(60, 5)), np.repeat(["a", "b", "c"], 20)
    fitted = LogisticRegression(max_iter=500).fit(x, y)
    linear = LinearModel.of(fitted)
    assert np.allclose(linear.decision_function(x), fitted.decision_function(x), atol=1e-12)
    assert list(linear.classes_) == ["a", "b", "c"]


def test_loading_the_model_does_not_import_scikit_learn() -> None:
    """The shipped model holds numpy arrays and custtype classes only (fast start-up)."""
    import subprocess
    import sys

    code = (
        "import sys; from custtype import Classifier; c = Classifier.load(); "
        "c.predict(['Где мой заказ?', 'Gdzie paczka?', 'Where is it?']); "
        "print(sorted(m for m in ('sklearn', 'pandas') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_a_large_input_is_scored_in_batches_with_the_same_results(
    classifier: Classifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    """predict() scores at most _MAX_BATCH texts together (feature arrays of thousands of
    messages outgrow the CPU caches); splitting must not change any prediction, and the
    per-text languages must stay with their texts."""
    from custtype.model import classifier as model

    texts = [
        "Где мой заказ? Жду уже неделю!",
        "Jeśli nie oddacie pieniędzy, idę do UOKiK i do mediów.",
        "Hi, could you tell me when the store opens on Sunday?",
        "Что это за сервис, опять ничего не работает!!!",
        "Dzień dobry, czy mogę zmienić adres dostawy?",
    ]
    langs: list[str | None] = ["ru", None, "en", None, "pl"]
    whole = classifier.predict(texts, lang=langs)
    monkeypatch.setattr(model, "_MAX_BATCH", 2)
    calls: list[int] = []
    real = model.Classifier._predict_batch
    monkeypatch.setattr(
        model.Classifier,
        "_predict_batch",
        lambda self, t, *rest: calls.append(len(t)) or real(self, t, *rest),
    )
    split = classifier.predict(texts, lang=langs)
    assert calls == [2, 2, 1]
    assert [p.to_dict() for p in split] == [p.to_dict() for p in whole]
