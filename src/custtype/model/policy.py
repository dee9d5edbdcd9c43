"""The decision policy: prior of `none` in real traffic, abstention floor, confidence bands.

Shipped as resources/thresholds.yaml; a team passes its own file to change it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from custtype.errors import ModelError
from custtype.resources import resource
from custtype.taxonomy import NONE
from custtype.validation import describe


class Policy(BaseModel):
    """Prior of `none`, abstention floor and bands (resources/thresholds.yaml)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int
    none_prior: float = Field(gt=0.0, lt=1.0)
    abstain_min: float = Field(ge=0.0, lt=1.0)
    bands: dict[str, float]

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


def load_policy(path: str | Path | None = None) -> Policy:
    """The shipped decision policy, or a team's own YAML file (validated)."""
    source = Path(path) if path else resource("thresholds.yaml")
    try:
        return Policy.model_validate(yaml.safe_load(source.read_text("utf-8")))
    except (OSError, yaml.YAMLError, RecursionError) as exc:
        why = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise ModelError(f"Cannot read thresholds file {str(source)!r}: {why}.") from None
    except ValidationError as exc:
        raise ModelError(f"Invalid thresholds file {str(source)!r}: {describe(exc)}.") from None


@dataclass(frozen=True)
class Thresholds:
    """Abstention threshold and confidence bands applied to calibrated probabilities."""

    abstain: float
    medium: float
    high: float

    def level(self, confidence: float) -> str:
        """'high', 'medium' or 'low' for a calibrated confidence."""
        if confidence >= self.high:
            return "high"
        if confidence >= self.medium:
            return "medium"
        return "low"
