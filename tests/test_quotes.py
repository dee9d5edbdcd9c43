"""Quoted replies, forwarded headers and signatures are left out, offsets kept."""

from __future__ import annotations

import pytest

from custtype import Classifier
from custtype.text.quotes import strip_quoted

CASES = [
    (
        "en",
        "Still no refund?!\n\nOn Mon, 3 Mar 2025 at 10:12, Acme Support <help@acme.com> wrote:\n"
        "> We are sorry for the inconvenience.\n> Your case number is 5512.",
        "Still no refund?!",
    ),
    (
        "en",
        "Where is my card\n\nSent from my iPhone",
        "Where is my card",
    ),
    (
        "en",
        "Please call me.\n\n-----Original Message-----\nFrom: Acme <help@acme.com>\n"
        "Sent: Monday, March 3, 2025 10:12 AM\nSubject: RE: case 5512\n\nDear customer, ...",
        "Please call me.",
    ),
    (
        "pl",
        "Nadal czekam na zwrot.\n\nW dniu 3.03.2025 o 10:00, Obsługa Klienta <bok@sklep.pl> "
        "napisał:\n> Dzień dobry, zwrot zlecono.",
        "Nadal czekam na zwrot.",
    ),
    (
        "pl",
        "Prosze o kontakt.\n\nOd: Sklep <bok@sklep.pl>\nWysłano: poniedziałek, 3 marca 2025\n"
        "Temat: Reklamacja\n\nUprzejmie informujemy...",
        "Prosze o kontakt.",
    ),
    (
        "pl",
        "Gdzie jest paczka?\n--\nJan Kowalski\ntel. 601 234 567",
        "Gdzie jest paczka?",
    ),
    (
        "ru",
        "Когда вернёте деньги?\n\nОт: Поддержка <help@bank.ru>\nОтправлено: 3 марта 2025 г.\n"
        "Тема: Ваше обращение\nМы рассмотрим ваше обращение в течение 30 дней.",
        "Когда вернёте деньги?",
    ),
    (
        "ru",
        "Жду ответа.\n\n3 марта 2025 г., в 10:00, Поддержка <help@bank.ru> написал:\n> Здравствуйте!",
        "Жду ответа.",
    ),
    (
        "ru",
        "Где заказ?\n\nОтправлено с iPhone",
        "Где заказ?",
    ),
]


@pytest.mark.parametrize(("lang", "text", "own"), CASES)
def test_quotes_and_signatures_are_left_out(lang: str, text: str, own: str) -> None:
    out = strip_quoted(text)
    assert out.text.strip() == own
    assert len(out.text) == len(text)  # offsets unchanged
    assert out.text.count("\n") == text.count("\n")


@pytest.mark.parametrize(
    "text",
    [
        "From: my experience, your app is slow.\nIt crashes daily.",  # "From:" not a header
        "Od: poniedziałku czekam na kuriera.\nGdzie on jest?",
        "От: меня вам спасибо.\nВсё пришло вовремя.",
        "I wrote: please fix it.\nStill broken.",
        "Sent from the store yesterday: a broken TV.\nPlease replace it.",  # not a client
        "Wysłane z magazynu w Poznaniu, ale nie dotarło.\nGdzie jest?",
        "Отправлено с опозданием на неделю!\nВерните деньги.",
        "> only a quote\n> nothing else",  # nothing of the customer's own: kept
        "one line, no break",
    ],
)
def test_ordinary_text_is_kept(text: str) -> None:
    assert strip_quoted(text).text == text


def test_quoted_text_cannot_change_the_prediction(classifier: Classifier) -> None:
    own = "Hello, could you tell me how to change the delivery address on order 55123?"
    quote = (
        "\n\nOn Mon, 3 Mar 2025, Acme <help@acme.com> wrote:\n"
        "> Did you win our Christmas giveaway? Tag 3 friends to enter the next draw!"
    )
    alone, quoted = classifier.predict([own, own + quote])
    assert quoted.probabilities == pytest.approx(alone.probabilities)
    for e in quoted.evidence:  # evidence points into the customer's own part
        assert e.end <= len(own)
