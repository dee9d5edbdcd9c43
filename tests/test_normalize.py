"""Normalisation: mixed-script repair, masking, signals, offsets back to the original."""

from __future__ import annotations

import importlib
import random
import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custtype.text.normalize import normalize

norm_mod = importlib.import_module("custtype.text.normalize")
_nfkc = norm_mod._nfkc
_SCRIPT_BOUNDARY = norm_mod._SCRIPT_BOUNDARY
_LONE_LATIN = norm_mod._LONE_LATIN


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Кaкой уровень сервисa", "Какой уровень сервиса"),  # Latin a inside Cyrillic words
        ("пoчему нет Wi-Fi", "почему нет Wi-Fi"),  # Latin brand name stays Latin
        ("Рython developer", "Python developer"),  # Cyrillic Р inside a Latin word
        ("a я жду ответа", "а я жду ответа"),  # one-letter Russian word typed in Latin
        ("plain English text", "plain English text"),
    ],
)
def test_mixed_script_words_are_repaired_by_majority(raw: str, expected: str) -> None:
    out = norm_mod.repair_mixed_script(raw)
    assert out == expected
    assert len(out) == len(raw)


@pytest.mark.parametrize(
    ("raw", "masked", "kept"),
    [
        ("see https://shop.example/o?id=5 now", "xxurl", "now"),
        ("write to jan.kowalski@example.pl", "xxemail", "write"),
        ("call +48 601 234 567 today", "xxphone", "today"),
        ("order #123456 late", "xxnum", "late"),
        ("Заказ №1234567", "xxnum", "Заказ"),
        ("paid $120.50 twice", "xxamount", "twice"),
        ("zapłaciłem 150 zł", "xxamount", "zapłaciłem"),
        ("списали 5 000 руб.", "xxamount", "списали"),
    ],
)
def test_personal_and_order_data_is_masked(raw: str, masked: str, kept: str) -> None:
    text = normalize(raw).text
    assert masked in text and kept in text


def test_short_numbers_are_not_masked() -> None:
    assert "12" in normalize("waited 12 days").text


def test_signals_keep_what_lower_casing_loses() -> None:
    s = normalize("WHY IS IT STILL NOT DONE?!?! 😡😡").signals
    assert s.caps_ratio > 0.9
    assert s.multi_punct == 1 and s.emoji == 2 and s.questions == 2


def test_nfkc_and_control_characters() -> None:
    n = normalize("ﬁx\x00 this")  # ligature and a null byte
    assert n.text.startswith("fix ")
    start, end = n.span_in_original(0, 3)
    assert n.original[start:end] == "ﬁx"


def test_offsets_map_back_through_masking() -> None:
    raw = "Order https://x.example/abc is late, I am FURIOUS"
    n = normalize(raw)
    i = n.text.index("FURIOUS")
    start, end = n.span_in_original(i, i + len("FURIOUS"))
    assert raw[start:end] == "FURIOUS"


def test_a_masked_span_maps_back_whole() -> None:
    raw = "zapłaciłam 612 złotych za gaz"
    n = normalize(raw)
    i = n.text.index("xxamount")
    start, end = n.span_in_original(i, i + len("xxamount"))
    assert raw[start:end] == "612 złotych"


def test_dotted_capital_i_keeps_offsets_of_lower_cased_scans() -> None:
    """ "İ".lower() is two characters; cues and tokens found on lower-cased text must still
    point at the right characters of the message."""
    from custtype.text.cues import find_cues
    from custtype.text.tokens import tokenize

    raw = "İİ İstanbul: did I win the giveaway?"
    norm = normalize(raw)
    assert len(norm.text.lower()) == len(norm.text)
    spans = [norm.span_in_original(c.start, c.end) for c in find_cues(norm.text, "en")]
    assert "giveaway" in [raw[a:b] for a, b in spans]
    for t in tokenize(norm.text, "en"):
        a, b = norm.span_in_original(t.start, t.end)
        assert raw[a:b].lower().replace("i\u0307", "i") == t.lower


def nfkc_per_character(text: str) -> tuple[str, list[int]]:
    """NFKC of each character on its own, with each output character's source position."""
    out, origin = [], []
    for i, ch in enumerate(text):
        norm = unicodedata.normalize("NFKC", ch)
        out.append(norm)
        origin += [i] * len(norm)
    return "".join(out), origin


@pytest.mark.parametrize(
    "text",
    [
        "Заказ №123… ﬁnally ready",  # № → No, … → ..., ﬁ → fi
        "ＦＵＬＬ width and ½ and ™ at the end™",
        "e\u0301 combining acute stays two characters",
        "𝐁𝐨𝐥𝐝 math letters 😡 and 🇵🇱",
        "lone \ud83d surrogate and \u2024 one-dot leader",
        "™",
    ],
)
def test_nfkc_visits_only_changed_characters_with_the_same_result(text: str) -> None:
    assert not unicodedata.is_normalized("NFKC", text)
    assert _nfkc(text) == nfkc_per_character(text)


def test_nfkc_on_random_texts() -> None:
    rng = random.Random(5)
    pool = [chr(cp) for cp in range(0x20, 0x3400, 7)] + list("№…ﬁ½™ＡａⅫ😀𝐀\u0301")
    for _ in range(500):
        text = "".join(rng.choices(pool, k=rng.randint(1, 60)))
        if not unicodedata.is_normalized("NFKC", text):
            assert _nfkc(text) == nfkc_per_character(text), text


# the script-repair gates as first written: one pair scan and a letter-bounded one-letter word
BOUNDARY = re.compile("[\u0400-\u04ff][A-Za-z]|[A-Za-z][\u0400-\u04ff]")
LONE = re.compile(r"(?<![^\W\d_])[aAoOcCyYkK](?![^\W\d_])")


def test_script_gates_find_what_the_plain_patterns_find() -> None:
    rng = random.Random(9)
    pool = [*"aAoOcCyYkKxbXа о с у кжЖёЁ,.!1_\n", "é", "ß", "ǅ"]
    for _ in range(30_000):
        text = "".join(rng.choices(pool, k=rng.randint(0, 12)))
        assert bool(_SCRIPT_BOUNDARY.search(text)) == bool(BOUNDARY.search(text)), text
        assert [m.start() for m in _LONE_LATIN.finditer(text)] == [
            m.start() for m in LONE.finditer(text)
        ], text


# -- linear-time patterns (#16): the rewrite finds the same words as the old pattern did ---
_OLD_MIXED_WORD = re.compile(
    r"[^\W\d_]*(?:[\u0400-\u04ff][^\W\d_]*[A-Za-z]|[A-Za-z][^\W\d_]*[\u0400-\u04ff])[^\W\d_]*"
    r"|(?<![^\W\d_])[aAoOcCyYkK](?![^\W\d_])"
)


def _old_repair(text: str) -> str:
    """repair_mixed_script as it was with the cubic pattern (fine on short texts)."""
    if not norm_mod._CYR_RE.search(text):
        return text
    if not _SCRIPT_BOUNDARY.search(text) and not _LONE_LATIN.search(text):
        return text
    cyrillic_text = len(norm_mod._CYR_RE.findall(text)) >= len(norm_mod._LAT_RE.findall(text))
    return _OLD_MIXED_WORD.sub(lambda m: norm_mod._repair_word(m.group(), cyrillic_text), text)


@given(st.text(alphabet="aAoOcCyYkKpPxXeEмжзаоросуАОРСкКТН17 .,!-\n", max_size=60))
@settings(max_examples=400, deadline=None)
def test_mixed_script_repair_matches_the_old_pattern(text: str) -> None:
    assert norm_mod.repair_mixed_script(text) == _old_repair(text)


def test_an_overlong_letter_run_is_left_as_it_is() -> None:
    word = "ж" * 40 + "a" + "ж" * 40  # 81 letters: not a word anyone typed
    assert norm_mod.repair_mixed_script(f"{word} и a") == f"{word} и а"


@pytest.mark.parametrize(
    "text",
    ["1,000 руб", "$12.50", "+48 601 234 567", "1 2 3 4 5 6 7 8 9 0 1 2", "№123456"],
)
def test_bounded_number_patterns_still_mask_real_numbers(text: str) -> None:
    assert "xx" in normalize(text).text
