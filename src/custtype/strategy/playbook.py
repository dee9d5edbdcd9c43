"""The service-strategy playbook: per type and language, what the agent should do.

The playbook is data (data/playbook.yaml), validated on load. A company can pass its own
override file that changes or adds fields per type and language; it is merged over the
shipped playbook and the result validated again, so a broken override is refused with a
message that names the file, the type and the field.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator

from custtype.errors import PlaybookError
from custtype.resources import override_key, parse_yaml, read_user_yaml, resource
from custtype.taxonomy import LANGS, TYPES, Lang, check_lang, check_type
from custtype.validation import describe

Priority = Literal["high", "normal", "low"]
ChannelPreference = Literal["written", "any", "phone"]
MAX_TEXT = 2000  # characters of one playbook text (an opener, an action, the notice)
MAX_ITEMS = 20  # items of one list


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


Text = Annotated[str, Field(min_length=1, max_length=MAX_TEXT), AfterValidator(_not_blank)]
Texts = Annotated[list[Text], Field(min_length=1, max_length=MAX_ITEMS)]


class Strategy(BaseModel):
    """What the agent should do for one type in one language.

    Extra fields (a company's own, e.g. `voucher_limit`) are allowed if they are text or a
    list of texts, so an override can add to the playbook without a code change.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    expects: Text
    actions: Texts
    preferred_channel: ChannelPreference
    channel_advice: Text
    priority: Priority
    # strict: YAML's `true` is not 1 minute
    target_response_minutes: int = Field(strict=True, gt=0, le=7 * 24 * 60)
    tone: Text
    boundaries: Text
    escalation: Text
    avoid: Texts
    openers: list[Text] = Field(min_length=2, max_length=5)

    def extra_fields(self) -> dict[str, Any]:
        """The company-specific fields an override added."""
        extra = self.model_extra or {}
        for name, value in extra.items():
            ok = (isinstance(value, str) and len(value) <= MAX_TEXT) or (
                isinstance(value, list)
                and len(value) <= MAX_ITEMS
                and all(isinstance(v, str) and len(v) <= MAX_TEXT for v in value)
            )
            if not ok:
                raise ValueError(
                    f"added field {name!r} must be text (at most {MAX_TEXT} characters) "
                    f"or a list of at most {MAX_ITEMS} such texts"
                )
        return dict(extra)


PerLang = dict[Lang, Strategy]


class ContextRules(BaseModel):
    """Texts the context rules attach to a strategy, per language."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    public_exposure: dict[Lang, Text]
    legal_appeal: dict[Lang, Text]
    repeat_contact: dict[Lang, Text]
    phone_to_written: dict[Lang, Text]
    written_channel: dict[Lang, Text]


class Playbook(BaseModel):
    """The whole playbook: a strategy per type and language, the fallback, the rules."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str = Field(min_length=1, max_length=64)
    # the responsible-use notice every output carries: a team may reword it, not blank it
    notice: dict[Lang, Annotated[str, Field(min_length=20, max_length=MAX_TEXT)]]
    general: PerLang
    types: dict[str, PerLang]
    context_rules: ContextRules
    source: str = "builtin"

    @field_validator("types")
    @classmethod
    def _all_types(cls, value: dict[str, PerLang]) -> dict[str, PerLang]:
        unknown = sorted(set(value) - set(TYPES))
        if unknown:
            raise ValueError(f"unknown type {unknown[0]!r}; known types: {', '.join(TYPES)}")
        missing = [t for t in TYPES if t not in value]
        if missing:
            raise ValueError(f"missing types: {', '.join(missing)}")
        for key, per_lang in value.items():
            absent = [lang for lang in LANGS if lang not in per_lang]
            if absent:
                raise ValueError(f"type {key!r} has no strategy in: {', '.join(absent)}")
        return value

    @field_validator("general", "notice")
    @classmethod
    def _all_langs(cls, value: dict[Lang, Any]) -> dict[Lang, Any]:
        absent = [lang for lang in LANGS if lang not in value]
        if absent:
            raise ValueError(f"missing languages: {', '.join(absent)}")
        for strategy in value.values():
            if isinstance(strategy, Strategy):
                strategy.extra_fields()
        return value

    def strategy(self, type_key: str | None, lang: str) -> Strategy:
        """The strategy for a type (None or 'none' gives the general standard)."""
        code = check_lang(lang)
        if type_key is None or type_key == "none":
            return self.general[code]
        return self.types[check_type(type_key)][code]


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Merge `override` into a copy of `base`; mappings merge, everything else replaces."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _where(loc: Sequence[str]) -> str:
    """A playbook location as a reader names it: type, language, field."""
    if len(loc) >= 3 and loc[0] == "types":
        return f"type {loc[1]!r}, language {loc[2]!r}, field {'.'.join(loc[3:]) or '?'}"
    return " → ".join(loc) if loc else "(top level)"


def _describe(err: ValidationError, origin: str) -> str:
    """Turn pydantic's errors into one paragraph naming the file, the type and the field."""
    return f"Invalid playbook {origin}: {describe(err, _where)}."


def _check_override_shape(raw: dict[str, Any], origin: str) -> None:
    allowed = {"version", "notice", "general", "types", "context_rules"}
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise PlaybookError(
            f"Invalid playbook {origin}: unknown top-level key {unknown[0]!r}; "
            f"allowed: {', '.join(sorted(allowed))}."
        )
    types = raw.get("types", {})
    if not isinstance(types, dict):
        raise PlaybookError(f"Invalid playbook {origin}: 'types' must be a mapping.")
    for key, per_lang in types.items():
        if key not in TYPES:
            raise PlaybookError(
                f"Invalid playbook {origin}: unknown type {key!r}. Known types: {', '.join(TYPES)}."
            )
        if not isinstance(per_lang, dict):
            raise PlaybookError(f"Invalid playbook {origin}: type {key!r} must map languages.")
        for lang in per_lang:
            if lang not in LANGS:
                raise PlaybookError(
                    f"Invalid playbook {origin}: type {key!r} has unknown language {lang!r}; "
                    f"supported: {', '.join(LANGS)}."
                )


@lru_cache(maxsize=1)
def _builtin_raw() -> dict[str, Any]:
    text = resource("playbook.yaml").read_text("utf-8")
    data: dict[str, Any] = parse_yaml(text)
    return data


def _validate(raw: dict[str, Any], origin: str, source: str) -> Playbook:
    try:
        book = Playbook.model_validate({**raw, "source": source})
        for per_lang in [book.general, *book.types.values()]:
            for strategy in per_lang.values():
                strategy.extra_fields()
    except ValidationError as err:
        raise PlaybookError(_describe(err, origin)) from None
    except ValueError as err:
        raise PlaybookError(f"Invalid playbook {origin}: {err}.") from None
    return book


@lru_cache(maxsize=16)
def _load_cached(path: str | None, mtime: float) -> Playbook:
    base = _builtin_raw()
    if path is None:
        return _validate(base, "(built-in)", "builtin")
    raw = read_user_yaml(
        Path(path),
        "Playbook override",
        "a playbook",
        " with keys such as 'types' or 'general'",
        PlaybookError,
    )
    origin = f"override {path!r}"
    _check_override_shape(raw, origin)
    return _validate(_deep_merge(base, raw), origin, path)


PLAYBOOK_ENV = "CUSTTYPE_PLAYBOOK"


def load_playbook(override: str | Path | None = None) -> Playbook:
    """Load the shipped playbook, merged with a company's override file: `override`, else
    the file named by $CUSTTYPE_PLAYBOOK (for the library, the CLI and the API alike).

    Example: ``load_playbook("acme.yaml").strategy("extortionist", "pl").openers``
    """
    return _load_cached(*override_key(override, PLAYBOOK_ENV))
