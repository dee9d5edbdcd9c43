"""Language identification: ru/pl/en on short texts, Polish without diacritics, others."""

from __future__ import annotations

import pytest

from custtype import detect_language


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Где мой заказ?", "ru"),
        ("Кaкой ужас, верните деньги", "ru"),
        ("Gdzie jest moja paczka?", "pl"),
        ("gdzie jest moja paczka, czekam juz tydzien", "pl"),
        ("prosze o zwrot pieniedzy za zamowienie", "pl"),
        ("Dzieki, super", "pl"),
        ("Where is my parcel?", "en"),
        ("In and out in 20 minutes for my flu jab. Efficient.", "en"),
        ("ok thx", "en"),
        ("Wo ist mein Paket? Ich warte seit Tagen.", "de"),
        ("Привіт, де моя посилка?", "uk"),
        ("😀😀👍", "und"),
        ("", "und"),
    ],
)
def test_detects_language(text: str, lang: str) -> None:
    assert detect_language(text) == lang
