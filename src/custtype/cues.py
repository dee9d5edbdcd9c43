"""Cue lexicons per language (data/lexicons/*.yaml): find urgency, legal appeals, contests...

The lexicons are data so a team can extend them; they are validated on load and compiled
once. Cues feed the model as features and drive the deterministic context rules.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import NamedTuple

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from .errors import CusttypeError
from .taxonomy import LANGS

CATEGORIES = (
    "urgency",
    "compensation_demand",
    "status_claim",
    "public_exposure",
    "legal_appeal",
    "hostility",
    "demand_admission",
    "repeat_contact",
    "offer_refusal",
    "contest",
    "expertise_claim",
    "bug_report",
    "advice_seeking",
    "personal_story",
    "gratitude",
)


class _Lexicon(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int
    lang: str
    cues: dict[str, list[str]]

    @field_validator("cues")
    @classmethod
    def _known(cls, cues: dict[str, list[str]]) -> dict[str, list[str]]:
        unknown = sorted(set(cues) - set(CATEGORIES))
        if unknown:
            raise ValueError(f"unknown cue category {unknown[0]!r}; known: {', '.join(CATEGORIES)}")
        for name, patterns in cues.items():
            for p in patterns:
                try:
                    re.compile(p)
                except re.error as exc:
                    raise ValueError(f"category {name!r}: bad pattern {p!r}: {exc}") from None
        return cues


class Cue(NamedTuple):
    """One cue found in a text: its category and span in the normalised text."""

    category: str
    start: int
    end: int


@lru_cache(maxsize=8)
def _compiled(lang: str, path: str | None = None) -> re.Pattern[str]:
    """One alternation with a named group per category: a single scan finds every cue."""
    source = Path(path) if path else files(__package__).joinpath(f"data/lexicons/{lang}.yaml")
    try:
        lex = _Lexicon.model_validate(yaml.safe_load(source.read_text("utf-8")))
    except (ValidationError, yaml.YAMLError, OSError) as exc:
        raise CusttypeError(f"Invalid cue lexicon {str(source)!r}: {exc}") from None
    groups = [f"(?P<{name}>{'|'.join(ps)})" for name, ps in lex.cues.items() if ps]
    return re.compile(r"(?<!\w)(?:" + "|".join(groups) + ")")  # text is lower-cased


def find_cues(text: str, lang: str) -> list[Cue]:
    """All cues of the language's lexicon in `text` (empty for unsupported languages).

    Cues do not overlap: at a given position the first category that matches wins.
    """
    if lang not in LANGS:
        return []
    return [
        Cue(m.lastgroup or "", m.start(), m.end()) for m in _compiled(lang).finditer(text.lower())
    ]


def cue_categories(cues: list[Cue]) -> frozenset[str]:
    """The categories present among `cues`."""
    return frozenset(c.category for c in cues)
