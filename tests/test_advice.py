"""The advice layer: one prediction joined with the (possibly overridden) playbook."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from custtype import Assistant, Classifier, InputError, MessageContext, load_playbook


def test_advice_is_the_prediction_plus_the_strategy(assistant: Assistant) -> None:
    text = "Где мой заказ?! Жду уже неделю, сколько можно!!!"
    advice = assistant.advise([text])[0]
    out = advice.to_dict()
    alone = assistant.classifier.predict([text])[0].to_dict()
    assert {k: v for k, v in out.items() if k not in ("strategy", "action")} == alone
    keys = list(out)
    assert keys.index("strategy") == keys.index("evidence") + 1  # the JSON contract's order
    assert out["action"] == assistant.automation.action_for(advice.type, advice.confidence).level
    assert out["strategy"]["internal_only"] is True and out["strategy"]["notice"]
    json.dumps(out)


def test_agent_language_switches_the_strategy(assistant: Assistant) -> None:
    one = assistant.advise(["Where is my order?"], agent_lang="pl")[0]
    assert one.strategy.lang == "pl"
    per_text = assistant.advise(["Where is my order?", "Gdzie paczka?"], agent_lang=["ru", None])
    assert [a.strategy.lang for a in per_text] == ["ru", "pl"]


def test_contexts_stay_with_their_texts(assistant: Assistant) -> None:
    texts = ["I want to complain about my order.", "I want to complain about my order."]
    out = assistant.advise(texts, contexts=[None, MessageContext(repeat_contacts=3)])
    assert not out[0].strategy.flags.repeat_contact
    assert out[1].strategy.flags.repeat_contact
    with pytest.raises(InputError, match="1 contexts for 2 texts"):
        assistant.advise(texts, contexts=[None])


def test_a_playbook_override_reaches_the_advice(classifier: Classifier, tmp_path: Path) -> None:
    override = tmp_path / "acme.yaml"
    override.write_text(
        "types:\n  prize_hunter:\n    en: {priority: high, tone: 'ACME tone'}\n", "utf-8"
    )
    acme = Assistant(classifier, load_playbook(override))
    text = "Did I win the Christmas giveaway?? I tagged 3 friends! When is the next draw?"
    advice = acme.advise([text])[0]
    assert advice.type == "prize_hunter"
    assert advice.strategy.strategy["tone"] == "ACME tone"
    assert advice.strategy.priority == "high"


def test_advise_each_isolates_a_failing_text(assistant: Assistant) -> None:
    out = assistant.advise_each(["Where is my order?", "", "Gdzie paczka?"], [None, None, None])
    assert not isinstance(out[0], Exception) and not isinstance(out[2], Exception)
    assert isinstance(out[1], InputError) and "the text is empty" in str(out[1])


@pytest.mark.parametrize(
    ("text", "customer"),
    [
        ("Brałam udział w konkursie i oznaczyłam trzy koleżanki! Kiedy wyniki losowania?", "pl"),
        ("Где мой заказ? Подскажите, пожалуйста, как поменять адрес доставки?", "ru"),
    ],
)
def test_openers_are_in_the_customers_language(
    assistant: Assistant, text: str, customer: str
) -> None:
    """Openers are pasted to the customer; the rest follows the agent's interface."""
    advice = assistant.advise([text], agent_lang="en")[0]
    key = advice.type
    assert advice.language == customer
    assert advice.strategy.lang == "en" and advice.strategy.openers_lang == customer
    assert advice.strategy.strategy["openers"] == assistant.playbook.strategy(key, customer).openers
    assert advice.strategy.strategy["tone"] == assistant.playbook.strategy(key, "en").tone


def test_the_playbook_variable_works_for_library_and_cli(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from custtype.cli import app

    override = tmp_path / "acme.yaml"
    override.write_text("types:\n  prize_hunter:\n    en: {tone: 'ACME house tone'}\n", "utf-8")
    monkeypatch.setenv("CUSTTYPE_PLAYBOOK", str(override))
    assert load_playbook().strategy("prize_hunter", "en").tone == "ACME house tone"
    r = CliRunner().invoke(app, ["strategy", "prize_hunter", "--lang", "en", "--format", "json"])
    assert r.exit_code == 0 and json.loads(r.output)["strategy"]["tone"] == "ACME house tone"
    monkeypatch.setenv("CUSTTYPE_PLAYBOOK", str(tmp_path / "missing.yaml"))
    r = CliRunner().invoke(app, ["strategy", "prize_hunter"])
    assert r.exit_code == 2 and "does not exist" in r.output
