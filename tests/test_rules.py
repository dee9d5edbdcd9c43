"""Context rules: table-tested in all three languages; deterministic; never adverse."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from custtype import LANGS, TYPES, MessageContext, recommend
from custtype.text.cues import cue_categories, find_cues
from custtype.text.normalize import normalize

EXPOSURE = {
    "en": "Fix this or I will post about it on Instagram for my followers.",
    "ru": "Если не решите, напишу пост в инстаграм, пусть все знают.",
    "pl": "Jeśli tego nie załatwicie, opiszę wszystko na Facebooku.",
}
LEGAL = {
    "en": "I will contact my attorney and the CFPB about this.",
    "ru": "Я обращусь в суд и в Роспотребнадзор.",
    "pl": "Sprawę zgłaszam do UOKiK i do sądu.",
}
REPEAT = {
    "en": "As I already wrote twice, the order is wrong.",
    "ru": "Пишу уже в который раз по этому заказу.",
    "pl": "Piszę po raz kolejny w tej samej sprawie.",
}
PLAIN = {
    "en": "Could you tell me when my parcel will arrive?",
    "ru": "Подскажите, когда придёт моя посылка?",
    "pl": "Kiedy dotrze moja paczka?",
}


@pytest.mark.parametrize("lang", LANGS)
def test_public_exposure_raises_risk_and_escalates(lang: str) -> None:
    rec = recommend("tester", lang, MessageContext(text=EXPOSURE[lang]))
    assert rec.flags.reputational_risk and rec.escalate
    assert rec.priority == "high" and rec.target_response_minutes <= 60
    assert "public_exposure" in rec.rules_applied


@pytest.mark.parametrize("lang", LANGS)
def test_legal_appeal_attaches_written_rule(lang: str) -> None:
    rec = recommend("want_it_now", lang, MessageContext(text=LEGAL[lang]))
    assert rec.flags.legal and rec.reply_channel == "written"
    assert "legal_appeal" in rec.rules_applied


@pytest.mark.parametrize("lang", LANGS)
def test_repeat_contact_applies_the_type_boundary_rule(lang: str) -> None:
    rec = recommend("know_it_all", lang, MessageContext(text=REPEAT[lang]))
    assert rec.flags.repeat_contact
    assert rec.strategy["boundaries"] in rec.added_actions
    counted = recommend("know_it_all", lang, MessageContext(repeat_contacts=3))
    assert counted.flags.repeat_contact


@pytest.mark.parametrize("lang", LANGS)
def test_phone_contact_for_written_types_moves_to_writing(lang: str) -> None:
    rec = recommend("serial_complainer", lang, MessageContext(channel="phone"))
    assert rec.rules_applied == ["phone_to_written"]
    written = recommend("serial_complainer", lang, MessageContext(channel="email"))
    assert written.rules_applied == ["written_channel"]
    # a type that prefers any channel gets no channel rule
    assert recommend("undecided", lang, MessageContext(channel="phone")).rules_applied == []


@pytest.mark.parametrize("lang", LANGS)
def test_plain_message_triggers_no_rule(lang: str) -> None:
    rec = recommend(None, lang, MessageContext(text=PLAIN[lang]))
    assert rec.rules_applied == [] and not rec.escalate
    assert rec.type is None and rec.priority == "normal"


def test_explicit_flags_override_detection() -> None:
    rec = recommend("tester", "en", MessageContext(text=EXPOSURE["en"], public_exposure=False))
    assert not rec.flags.reputational_risk
    rec = recommend("tester", "en", MessageContext(text=PLAIN["en"], legal_appeal=True))
    assert rec.flags.legal


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("type_key", [*TYPES, None])
def test_every_output_is_internal_and_never_adverse(type_key: str | None, lang: str) -> None:
    ctx = MessageContext(
        text=EXPOSURE[lang] + " " + LEGAL[lang], channel="phone", repeat_contacts=5
    )
    rec = recommend(type_key, lang, ctx)
    assert rec.internal_only is True and rec.notice
    words = " ".join([*rec.added_actions, *rec.strategy["actions"]]).lower()
    for adverse in (
        "refuse service",
        "block the customer",
        "ban ",
        "blacklist",
        "отказать в обслуживании",
        "odmów obsługi",
    ):
        assert adverse not in words
    assert recommend(type_key, lang, ctx) == rec  # deterministic


@pytest.mark.parametrize("lang", LANGS)
def test_escalation_names_only_the_rule_that_escalates(lang: str) -> None:
    """With public exposure, legal appeal and a phone call together, all three rules apply
    but only public exposure is a reason to escalate (what the agent page and CLI show)."""
    ctx = MessageContext(public_exposure=True, legal_appeal=True, channel="phone")
    rec = recommend("extortionist", lang, ctx)
    assert {"public_exposure", "legal_appeal", "phone_to_written"} <= set(rec.rules_applied)
    assert rec.escalate and rec.escalation_reasons == ["public_exposure"]
    calm = recommend("extortionist", lang, MessageContext(legal_appeal=True, channel="phone"))
    assert not calm.escalate and calm.escalation_reasons == []


# -- the rules fire on behaviour, not on ordinary words (#18) ------------------------------

RULES = ("public_exposure", "legal_appeal", "repeat_contact")
CASES = Path(__file__).parent / "data" / "rule_cases"  # written by hand, per language


def _rule_cases(kind: str) -> list[tuple[str, str, str]]:
    out = []
    for lang in ("ru", "pl", "en"):
        cases = json.loads((CASES / f"{lang}.json").read_text("utf-8"))
        if kind == "fire":
            out += [(lang, cat, text) for cat, texts in cases["fire"].items() for text in texts]
        else:
            out += [(lang, "", text) for text in cases["silent"]]
    return out


@pytest.mark.parametrize(("lang", "category", "text"), _rule_cases("fire"))
def test_a_threat_appeal_or_repeat_fires_its_rule(lang: str, category: str, text: str) -> None:
    found = cue_categories(find_cues(normalize(text).text, lang))
    assert category in found


@pytest.mark.parametrize(("lang", "category", "text"), _rule_cases("silent"))
def test_ordinary_words_fire_no_rule(lang: str, category: str, text: str) -> None:
    found = cue_categories(find_cues(normalize(text).text, lang))
    assert not found & set(RULES)
    rec = recommend("tester", lang, MessageContext(text=text))
    assert not rec.escalate and not rec.flags.legal and not rec.rules_applied


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("pl", "postanowiłem zmienić taryfę"),
        ("pl", "jak ustawić powiadomienia w aplikacji?"),
        ("en", "I saw your post about the new opening hours"),
        ("en", "please review my order before shipping"),
        ("ru", "где найти пост с правилами акции?"),
    ],
)
def test_the_words_users_reported_no_longer_escalate(lang: str, text: str) -> None:
    rec = recommend(None, lang, MessageContext(text=text))
    assert not rec.escalate and not rec.flags.legal and not rec.flags.reputational_risk
