"""The product's vocabularies: the seven types (names in ru/pl/en, from resources/taxonomy.yaml),
the supported languages and the contact channels. One source for each."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict

from custtype.errors import UnknownLanguageError, UnknownTypeError
from custtype.resources import parse_yaml, resource

Lang = Literal["ru", "pl", "en"]
LANGS: tuple[Lang, ...] = ("ru", "pl", "en")
NONE = "none"

RESPONSIBLE_USE = (
    "The customer type is an internal aid for support agents: never show or mention it to "
    "the customer, and never use it as the sole reason to refuse service or take any "
    "adverse action."
)
"""The notice every output carries, in English (the playbook words it per language)."""

Channel = Literal[
    "phone",
    "call_transcript",
    "chat",
    "messenger",
    "email",
    "contact_form",
    "letter",
    "social",
    "review",
    "other",
]
CHANNELS: tuple[str, ...] = Channel.__args__  # type: ignore[attr-defined]


class _Names(BaseModel):
    model_config = ConfigDict(extra="forbid")
    names: dict[Lang, str]


class _Taxonomy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int
    types: dict[str, _Names]
    none: _Names
    undetermined: _Names
    channel_aliases: dict[Channel, list[str]] = {}


@lru_cache(maxsize=1)
def _taxonomy() -> _Taxonomy:
    raw = parse_yaml(resource("taxonomy.yaml").read_text("utf-8"))
    return _Taxonomy.model_validate(raw)


TYPES: tuple[str, ...] = tuple(_taxonomy().types)
"""The seven type keys, in the order of shared/TYPES.md."""

LABELS: tuple[str, ...] = (*TYPES, NONE)
"""Training labels: the seven types plus `none`."""

JUDGEMENT_TYPES: tuple[str, ...] = ("serial_complainer", "extortionist", "know_it_all")
"""Types that sound like judgements of a person: named only on unmistakable behaviour, and
never automated beyond a suggestion unless a team's automation file says so explicitly."""


def check_type(key: str) -> str:
    """Return `key` if it is a type key, else raise naming the valid ones."""
    if key not in TYPES:
        raise UnknownTypeError(f"Unknown type {key!r}. Known types: {', '.join(TYPES)}")
    return key


def check_lang(lang: str) -> Lang:
    """Return `lang` as a supported language code, else raise naming the valid ones."""
    if lang not in LANGS:
        raise UnknownLanguageError(f"Unsupported language {lang!r}. Supported: {', '.join(LANGS)}")
    return lang


def type_name(key: str | None, lang: str = "en") -> str:
    """Human name of a type (or of `none` / undetermined when key is None or 'none')."""
    tax = _taxonomy()
    code = check_lang(lang)
    if key is None:
        return tax.undetermined.names[code]
    if key == NONE:
        return tax.none.names[code]
    return tax.types[check_type(key)].names[code]


@lru_cache(maxsize=1)
def _channel_names() -> dict[str, str]:
    names = {c: c for c in CHANNELS}
    for channel, aliases in _taxonomy().channel_aliases.items():
        names.update({a.strip().lower(): channel for a in aliases})
    return names


def channel_of(value: str) -> str | None:
    """The channel a cell names, by key or by what exports call it ('telefon', 'чат'), in
    any case and spacing; None if it names none."""
    return _channel_names().get(" ".join(value.split()).lower())
