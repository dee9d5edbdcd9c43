"""One way to say what pydantic found wrong: field, problem and (shortened) value."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from custtype.errors import InputError

_MAX_SHOWN = 80  # characters of a bad value echoed back (a 5 MB value must not be)
_MAX_PROBLEMS = 5


def short(value: object, limit: int = _MAX_SHOWN) -> str:
    """repr of a value, cut to `limit` characters with a note of the full length."""
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text):,} characters)"


def default_where(loc: Sequence[str]) -> str:
    return f"field {'.'.join(loc)}" if loc else "(top level)"


def describe(
    err: ValidationError,
    where: Callable[[Sequence[str]], str] = default_where,
    limit: int = _MAX_PROBLEMS,
) -> str:
    """The first `limit` problems as one line: "field: problem (got value); …"."""
    errors = err.errors()
    parts = []
    for e in errors[:limit]:
        got: Any = e.get("input")
        shown = "" if isinstance(got, dict | list) or got is None else f" (got {short(got)})"
        msg = str(e["msg"]).removeprefix("Value error, ")
        parts.append(f"{where([str(p) for p in e['loc']])}: {msg}{shown}")
    more = f" (and {len(errors) - limit} more problems)" if len(errors) > limit else ""
    return "; ".join(parts) + more


class Options(BaseModel):
    """A job's settings, checked when made: a bad one is an InputError naming the option."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise InputError(f"Invalid option: {describe(exc, '.'.join)}.") from None
