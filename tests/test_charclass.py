"""Character classes counted through a table: equal to asking each character."""

from __future__ import annotations

import random
import re

import pytest

from custtype.text.charclass import Counts, counts

# the emoji normalisation has always counted, as its regex was written
EMOJI = re.compile(
    "[\U0001f300-\U0001faff\u2600-\u27bf\U0001f1e6-\U0001f1ff\u2b50\u2b55\u203c\u2049]"
)


def by_hand(text: str) -> Counts:
    def cyrillic(ch: str) -> bool:
        return ch.isalpha() and "\u0400" <= ch <= "\u04ff"

    def latin(ch: str) -> bool:
        return ch.isalpha() and ("A" <= ch <= "z" or "\u00c0" <= ch <= "\u024f")

    return Counts(
        alpha=sum(map(str.isalpha, text)),
        upper=sum(map(str.isupper, text)),
        emoji=len(EMOJI.findall(text)),
        cyrillic=sum(map(cyrillic, text)),
        latin=sum(map(latin, text)),
    )


def test_every_bmp_character_alone() -> None:
    for cp in range(0x10000):
        ch = chr(cp)
        assert counts(ch) == by_hand(ch), hex(cp)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Где мой ЗАКАЗ?! Жду уже неделю 😡😡",
        "Kurier NIE dostarczył paczki, żółć mnie zalewa!!!",
        "WHY is my refund still pending??? ✔ ⭐ ‼",
        "Кaкой ужaс (Latin a inside Cyrillic) ǅ ᾈ ﬁ",
        "𝐀𝐁𝐂 𝔞𝔟 🇵🇱 \U0001f9d0 astral letters, flags and emoji",
        "lone surrogate \ud83d here",
    ],
)
def test_messages(text: str) -> None:
    assert counts(text) == by_hand(text)


def test_random_mixed_texts() -> None:
    rng = random.Random(3)
    pool = [chr(cp) for cp in range(0x20, 0x3000, 3)] + list("😀🇵🇱𝐀ЁёŻż \n!?")
    for _ in range(300):
        text = "".join(rng.choices(pool, k=rng.randint(0, 400)))
        assert counts(text) == by_hand(text)
