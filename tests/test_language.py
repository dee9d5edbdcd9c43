"""Language identification: ru/pl/en on short texts, Polish without diacritics, others."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from custtype import detect_language
from custtype.text.language import by_function_words

ROOT = Path(__file__).resolve().parent.parent


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
        # short lines lingua's fast mode places outside English/Polish (de, nl, …)
        ("Why can’t I order online?", "en"),
        ("Go for it Trevor", "en"),
        ("It’s on the mobile app", "en"),
        # no letter trigram the fast mode knows: English or Polish is the likelier reading
        ("P O L E C A M !!!!", "pl"),
        ("Okay, danke für die Info", "de"),
        ("Bonjour, où est mon colis?", "fr"),
        ("Hola, dónde está mi pedido?", "es"),
        ("Привіт, де моя посилка?", "uk"),
        ("😀😀👍", "und"),
        ("", "und"),
    ],
)
def test_detects_language(text: str, lang: str) -> None:
    assert detect_language(text) == lang


# Long messages (over the short-text limit) in the other languages lingua tells apart: the
# function-word shortcut must leave every one of them to lingua.
_OTHER_LONG = {
    "de": "Ich habe vor drei Wochen eine Waschmaschine bestellt und bis heute ist nichts "
    "angekommen. Der Kundendienst antwortet nicht auf meine E-Mails und am Telefon wird "
    "man nur weiterverbunden. So etwas habe ich noch nie erlebt.",
    "fr": "Bonjour, j'ai commandé un canapé il y a un mois et la livraison a été reportée "
    "trois fois sans explication. Je voudrais savoir quand il arrivera enfin, sinon je "
    "demanderai le remboursement complet de ma commande.",
    "es": "Hola, hice un pedido hace dos semanas y todavía no ha llegado. Nadie contesta "
    "en el teléfono de atención al cliente y el seguimiento no se actualiza desde el "
    "lunes. ¿Me pueden decir qué pasa con mi paquete?",
    "it": "Buongiorno, ho ordinato delle scarpe il mese scorso ma il pacco risulta ancora "
    "in consegna. Ho scritto due volte al servizio clienti senza ricevere risposta. Vorrei "
    "sapere se devo aspettare ancora o chiedere il rimborso.",
    "pt": "Boa tarde, comprei um telemóvel na vossa loja e depois de uma semana deixou de "
    "carregar. Levei à assistência e disseram que demora um mês. Preciso do telefone para "
    "trabalhar, não posso esperar tanto tempo assim.",
    "cs": "Dobrý den, objednal jsem si lednici před dvěma týdny a pořád nedorazila. Na "
    "zákaznické lince mi nikdo nebere telefon a na e-maily nikdo neodpovídá. Chtěl bych "
    "vědět, kdy to přijde, nebo ať mi vrátíte peníze.",
    "sk": "Dobrý deň, objednávku som zaplatila pred desiatimi dňami a stále nie je "
    "odoslaná. Na infolinke mi povedali, že to nevedia, a na maily nikto neodpovedá. "
    "Prosím o informáciu, kedy mi tovar príde, inak chcem peniaze späť.",
    "nl": "Goedemiddag, ik heb twee weken geleden een fiets besteld en die is nog steeds "
    "niet geleverd. De klantenservice reageert niet op mijn berichten en de track and "
    "trace zegt al dagen hetzelfde. Wat is er aan de hand met mijn bestelling?",
}


@pytest.mark.parametrize("code", sorted(_OTHER_LONG))
def test_function_words_leave_other_languages_to_lingua(code: str) -> None:
    text = _OTHER_LONG[code]
    assert by_function_words(text) is None
    assert detect_language(text) == code


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        (
            "Dzien dobry, zamowilem lodowke trzy tygodnie temu i do dzisiaj nie dotarla. "
            "Na infolinii nikt nie odbiera, a na maile dostaje tylko automatyczne odpowiedzi. "
            "Prosze o informacje, czy w ogole zostala wyslana, bo jest mi potrzebna.",
            "pl",
        ),
        (
            "Hi, I ordered a fridge three weeks ago and it still has not arrived. Nobody "
            "answers the phone and the emails I get are automatic replies. Could you tell "
            "me whether it was shipped at all, because I really need it this week.",
            "en",
        ),
    ],
)
def test_function_words_settle_long_polish_and_english(text: str, lang: str) -> None:
    assert by_function_words(text) == lang
    assert detect_language(text) == lang


def test_function_words_agree_with_lingua_on_test_split(monkeypatch: pytest.MonkeyPatch) -> None:
    """Wherever the shortcut decides, the detector without it (lingua and its rule that
    prefers a supported runner-up) gives the same language."""
    from custtype.text import language
    from custtype.text.normalize import normalize
    from custtype.training.dataset import load_split

    texts = [normalize(r.message.text).text for r in load_split(ROOT / "training_data", "test")]
    decided = {
        i: code
        for i, t in enumerate(texts)
        if len(language._NOISE.sub(" ", t)) > language._SHORT
        and not language._POLISH_ONLY.search(t)
        and (code := by_function_words(language._NOISE.sub(" ", t)[: language._PREFIX]))
    }
    monkeypatch.setattr(language, "by_function_words", lambda text: None)
    assert len(decided) > 100
    for i, code in decided.items():
        assert detect_language(texts[i]) == code, texts[i][:80]


def test_noise_pattern_removes_what_the_plain_alternation_does() -> None:
    """The noise pattern has a lookahead for speed; it must remove exactly what the plain
    alternation removes."""
    from custtype.text import language

    plain = re.compile(r"[@#]\w+|\bxx(?:url|email|phone|amount|num)\b|https?://\S+")
    rng = random.Random(11)
    pieces = [
        "@",
        "#",
        "x",
        "xx",
        "xxnum",
        "xxurl ",
        "http",
        "https://",
        "h",
        "a",
        "ż",
        " ",
        "1",
        ".",
    ]
    for _ in range(20_000):
        text = "".join(rng.choices(pieces, k=rng.randint(0, 10)))
        assert language._NOISE.sub(" ", text) == plain.sub(" ", text), text
