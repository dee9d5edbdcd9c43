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


def test_decision_follows_the_policy(classifier: Classifier) -> None:
    """A type is named exactly when its decision score reaches its language's floor; its
    confidence is how often its level was right on real messages (the shipped model's
    policy has those figures), and its level that share's band."""
    from custtype.text.analysis import analyze

    texts = [t for _, _, t in OBVIOUS] + ["ok", "Kiedy?", "WHY"]
    policy = classifier.policy
    raw = classifier.raw_scores([analyze(t) for t in texts])
    scores = policy.scores(raw)
    for p, row in zip(classifier.predict(texts), scores, strict=True):
        best = max(
            (k for k in classifier.labels if k != "none"),
            key=lambda k: row[classifier.labels.index(k)],
        )
        named = row[classifier.labels.index(best)] >= policy.floor(best, p.language)
        assert (p.outcome == "type") == named
        if named:
            assert policy.precision is not None
            high = row[classifier.labels.index(best)] >= policy.high_floor[p.language]
            share = policy.named_share(best, p.language, "high" if high else "medium")
            assert share is not None
            assert p.type == best and p.confidence == pytest.approx(share)
            assert p.confidence_level == policy.band(share)


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
        ([""], "the text is empty"),
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
    from custtype.resources import resource

    text = resource("thresholds.yaml").read_text("utf-8")
    strict = tmp_path / "strict.yaml"
    strict.write_text(
        text.replace(
            "type_floor: {ru: 0.5, pl: 0.5, en: 0.5}", "type_floor: {ru: 0.99, pl: 0.99, en: 0.99}"
        )
    )
    clf = Classifier.load(thresholds=strict)
    assert clf.policy.type_floor == {"ru": 0.99, "pl": 0.99, "en": 0.99}
    texts = [t for _, label, t in OBVIOUS if label != "none"]
    assert all(p.outcome != "type" for p in clf.predict(texts))
    assert any(p.outcome == "type" for p in Classifier.load().predict(texts))
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("none_prior: 0.4", "none_prior: 2"))
    with pytest.raises(ModelError, match="field none_prior"):
        Classifier.load(thresholds=bad)
