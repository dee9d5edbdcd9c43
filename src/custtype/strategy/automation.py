"""Graded automation per type: which action custtype may take on a prediction (off, suggest,
preselect, auto_tag), read from a validated YAML policy a team can override.

Only tagging and routing exist as actions, so no policy can make a type answer, refuse or
close anything; the judgement types are held at `suggest` unless a file says otherwise.
"""

from __future__ import annotations

import hashlib
import json
from contextlib import suppress
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from custtype.errors import PlaybookError
from custtype.resources import override_key, parse_yaml, read_user_yaml, resource
from custtype.taxonomy import JUDGEMENT_TYPES, TYPES
from custtype.validation import describe

Level = Literal["off", "suggest", "preselect", "auto_tag"]
LEVELS: tuple[Level, ...] = ("off", "suggest", "preselect", "auto_tag")
AUTOMATED: frozenset[str] = frozenset({"preselect", "auto_tag"})
"""Actions taken without an agent's click: each one is written to the audit log."""
AUTOMATION_ENV = "CUSTTYPE_AUTOMATION"
_MAX_BYTES = 200_000


class TypeRule(BaseModel):
    """What custtype may do with one type."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    level: Level
    min_confidence: float = Field(ge=0.0, le=1.0, strict=True)
    queue: str | None = Field(default=None, min_length=1, max_length=100)
    allow_beyond_suggest: bool = Field(default=False, strict=True)


class AutomationPolicy(BaseModel):
    """The whole policy: one rule per type, every type present."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = Field(strict=True, ge=1)
    types: dict[str, TypeRule]
    source: str = "builtin"
    digest: str = ""

    @model_validator(mode="after")
    def _complete_and_safe(self) -> AutomationPolicy:
        unknown = sorted(set(self.types) - set(TYPES))
        if unknown:
            raise ValueError(f"unknown types {unknown}; known types: {', '.join(TYPES)}")
        missing = [t for t in TYPES if t not in self.types]
        if missing:
            raise ValueError(f"types missing: {', '.join(missing)} (every type needs a level)")
        for key in JUDGEMENT_TYPES:
            rule = self.types[key]
            if rule.level in AUTOMATED and not rule.allow_beyond_suggest:
                raise ValueError(
                    f"type {key!r} sounds like a judgement of a person and may not go beyond "
                    f"'suggest' (got {rule.level!r}) unless its entry says "
                    "allow_beyond_suggest: true"
                )
        return self

    @property
    def label(self) -> str:
        """Version and content digest, as the audit log records it: ``"1:3f2a9c1b"``."""
        return f"{self.version}:{self.digest}"

    def action_for(self, type_key: str | None, confidence: float) -> Action:
        """The action allowed for a prediction (no type: nothing to act on)."""
        if type_key is None:
            return Action("off", None)
        rule = self.types[type_key]
        level = rule.level
        if level in AUTOMATED and confidence < rule.min_confidence:
            level = "suggest"
        return Action(level, rule.queue if level == "auto_tag" else None)


@dataclass(frozen=True)
class Action:
    """What the policy allows for one prediction; `queue` only when it auto-tags."""

    level: Level
    queue: str | None

    @property
    def automated(self) -> bool:
        return self.level in AUTOMATED


def _validate(raw: dict[str, Any], origin: str, source: str) -> AutomationPolicy:
    canonical = json.dumps(raw, sort_keys=True, ensure_ascii=False, default=str)
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:8]
    try:
        return AutomationPolicy.model_validate({**raw, "source": source, "digest": digest})
    except ValidationError as err:
        raise PlaybookError(f"Invalid automation policy {origin}: {describe(err)}") from None


@lru_cache(maxsize=8)
def _load_cached(path: str | None, mtime: float) -> AutomationPolicy:
    if path is None:
        raw = parse_yaml(resource("automation.yaml").read_text("utf-8"))
        return _validate(raw, "(built-in)", "builtin")
    file = Path(path)
    with suppress(OSError):  # a missing or unreadable file: read_user_yaml says which
        if file.stat().st_size > _MAX_BYTES:
            raise PlaybookError(f"Automation policy {path!r} is larger than {_MAX_BYTES:,} bytes.")
    shape = " with 'version' and 'types'"
    raw = read_user_yaml(file, "Automation policy", "an automation policy", shape, PlaybookError)
    return _validate(raw, repr(path), path)


def load_automation(path: str | Path | None = None) -> AutomationPolicy:
    """The shipped policy, or a team's whole file: `path`, else $CUSTTYPE_AUTOMATION.

    Example: ``load_automation().action_for("tester", 0.93).level == "preselect"``
    """
    return _load_cached(*override_key(path, AUTOMATION_ENV))
