"""The decision policy: when a probability becomes a named type, `none` or undetermined.

Shipped as resources/thresholds.yaml; a team passes its own file to change it. The floors a
type must reach are per language and are set from real labelled messages at training time
(`custtype train --real`), because a model trained on written text is surer of itself on
real text than it should be.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from custtype.errors import ModelError
from custtype.resources import parse_yaml, resource
from custtype.taxonomy import JUDGEMENT_TYPES, LANGS, NONE, TYPES, Lang
from custtype.validation import describe

Share = float
Floor = float


class Targets(BaseModel):
    """What `custtype train --real` sets the floors to meet on real labelled messages."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ordinary_typed: Share = Field(gt=0.0, lt=1.0)
    ordinary_typed_high: Share = Field(gt=0.0, lt=1.0)


NamedLevel = Literal["high", "medium"]


class Policy(BaseModel):
    """Prior of `none`, the floors a type must reach, confidence bands, and how often a type
    named at each level was right on real labelled messages."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = Field(ge=2)
    none_prior: float = Field(gt=0.0, lt=1.0)
    abstain_min: float = Field(ge=0.0, lt=1.0)
    type_floor: dict[Lang, Floor]
    high_floor: dict[Lang, Floor]
    judgement_margin: float = Field(ge=0.0, lt=1.0)
    decision_temperature: float = Field(gt=0.0, le=20.0)
    targets: Targets
    bands: dict[str, float]
    precision: dict[Lang, dict[NamedLevel, float]] | None = Field(
        default=None,
        description="Per language and level: the share of real labelled messages named a "
        "type at that level whose type was right (two-fold estimate; set by `custtype train "
        "--real` and `custtype tune`). A named type's confidence when set.",
    )

    type_precision: dict[Lang, dict[NamedLevel, dict[str, float]]] | None = Field(
        default=None,
        description="The same per type named, drawn toward its language and level's share; "
        "a named type's confidence when set for it.",
    )

    @field_validator("precision")
    @classmethod
    def _precision(
        cls, v: dict[Lang, dict[NamedLevel, float]] | None
    ) -> dict[Lang, dict[NamedLevel, float]] | None:
        if v is not None and not all(0.0 <= x <= 1.0 for lv in v.values() for x in lv.values()):
            raise ValueError("precision shares must be between 0 and 1")
        return v

    @field_validator("type_precision")
    @classmethod
    def _type_precision(
        cls, v: dict[Lang, dict[NamedLevel, dict[str, float]]] | None
    ) -> dict[Lang, dict[NamedLevel, dict[str, float]]] | None:
        for levels in (v or {}).values():
            for per_type in levels.values():
                unknown = sorted(set(per_type) - set(TYPES))
                if unknown:
                    raise ValueError(f"unknown type {unknown[0]!r} in type_precision")
                if not all(0.0 <= x <= 1.0 for x in per_type.values()):
                    raise ValueError("precision shares must be between 0 and 1")
        return v

    @field_validator("type_floor", "high_floor")
    @classmethod
    def _floors(cls, v: dict[Lang, Floor]) -> dict[Lang, Floor]:
        missing = [code for code in LANGS if code not in v]
        if missing:
            raise ValueError(f"missing languages: {', '.join(missing)}")
        if not all(0.0 < f < 1.0 for f in v.values()):
            raise ValueError("floors must be between 0 and 1")
        return v

    @field_validator("bands")
    @classmethod
    def _bands(cls, v: dict[str, float]) -> dict[str, float]:
        if set(v) != {"high", "medium"} or not 0 < v["medium"] <= v["high"] < 1:
            raise ValueError("bands must be {high, medium} with 0 < medium <= high < 1")
        return v

    def log_prior_ratio(self, labels: Sequence[str]) -> np.ndarray:
        """Logit correction from the balanced training prior to the deployment prior."""
        n = len(labels)
        types = n - 1
        prior = [
            self.none_prior if lab == NONE else (1 - self.none_prior) / types for lab in labels
        ]
        ratio: np.ndarray = np.log(np.asarray(prior) * n)
        return ratio

    def floor(self, type_key: str, lang: str) -> float:
        """The probability `type_key` must reach to be named in a message of `lang`."""
        base = self.type_floor.get(lang, max(self.type_floor.values()))  # type: ignore[call-overload]
        return float(base + (self.judgement_margin if type_key in JUDGEMENT_TYPES else 0.0))

    def scores(self, raw: np.ndarray) -> np.ndarray:
        """Decision scores of raw model scores (rows: messages): probabilities at the
        decision temperature, without the prior. Softer than the calibrated probabilities,
        they rank real messages better (chosen on real labelled messages)."""
        z = raw / self.decision_temperature
        e = np.exp(z - z.max(axis=1, keepdims=True))
        out: np.ndarray = e / e.sum(axis=1, keepdims=True)
        return out

    def decide(
        self, p: np.ndarray, labels: Sequence[str], lang: str, score: np.ndarray | None = None
    ) -> Decision:
        """The outcome for one message: `p` its calibrated probabilities, `score` its
        decision scores (default: `p`), both in `labels` order. A type is named when its
        score reaches the language's floor. Its confidence is how often a type named at its
        level was right on real messages (`precision`), with that share's band as its level;
        else its calibrated probability and its decision-score level. On real text the
        probability is far from the truth: types named at p < 0.1 were right a third of the
        time on real_dev, at p >= 0.9 three quarters."""
        s = p if score is None else score
        none_at = list(labels).index(NONE)
        types = [i for i in range(len(labels)) if i != none_at]
        best = max(types, key=lambda i: s[i])
        if s[best] >= self.floor(labels[best], lang):
            high = self.high_floor.get(lang, 1.0)  # type: ignore[call-overload]
            level: NamedLevel = "high" if s[best] >= high else "medium"
            share = self.named_share(labels[best], lang, level)
            if share is None:
                return Decision("type", labels[best], float(p[best]), level)
            return Decision("type", labels[best], float(share), self.band(share), level)
        p_none = float(p[none_at])
        if p_none >= self.abstain_min:
            return Decision("none", NONE, p_none, self.band(p_none))
        return Decision("undetermined", None, float(max(p)), "low")

    def named_share(self, type_key: str, lang: str, level: NamedLevel) -> float | None:
        """How often `type_key` named at `level` in `lang` was right on real messages: its
        own figure, else its language and level's, else None (not measured)."""
        per_type = (self.type_precision or {}).get(lang, {}).get(level, {})  # type: ignore[call-overload]
        if type_key in per_type:
            return float(per_type[type_key])
        share = (self.precision or {}).get(lang, {}).get(level)  # type: ignore[call-overload]
        return None if share is None else float(share)

    def band(self, confidence: float) -> str:
        if confidence >= self.bands["high"]:
            return "high"
        if confidence >= self.bands["medium"]:
            return "medium"
        return "low"


@dataclass(frozen=True)
class Decision:
    """What the policy made of one message's probabilities."""

    outcome: str  # "type" | "none" | "undetermined"
    label: str | None  # a type key, "none", or None when undetermined
    confidence: float
    level: str  # "high" | "medium" | "low": the confidence's band once precision is known
    score_level: str = ""  # a named type's decision-score level (the floors' targets)

    def __post_init__(self) -> None:
        if not self.score_level:
            object.__setattr__(self, "score_level", self.level)


def load_policy(path: str | Path | None = None) -> Policy:
    """The shipped decision policy, or a team's own YAML file (validated)."""
    source = Path(path) if path else resource("thresholds.yaml")
    try:
        return Policy.model_validate(parse_yaml(source.read_text("utf-8")))
    except (OSError, yaml.YAMLError, RecursionError) as exc:
        why = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise ModelError(f"Cannot read thresholds file {str(source)!r}: {why}.") from None
    except ValidationError as exc:
        raise ModelError(f"Invalid thresholds file {str(source)!r}: {describe(exc)}.") from None


def choose_floor(scores: np.ndarray, share: float, grid_step: float = 0.005) -> float:
    """The lowest floor at which at most `share` of `scores` (ordinary messages' best type
    probabilities, judgement margin included) reach it."""
    for floor in np.arange(grid_step, 1.0, grid_step):
        if float((scores >= floor).mean()) <= share:
            return round(float(floor), 4)
    return round(1.0 - grid_step, 4)
