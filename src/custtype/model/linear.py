"""The trained linear layer and the softmax that turns its scores into probabilities."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True, eq=False)  # (numpy arrays: compare the weights, not the objects)
class LinearModel:
    """One row of weights and an intercept per label, in label order."""

    coef_: np.ndarray
    intercept_: np.ndarray
    classes_: np.ndarray

    @classmethod
    def of(cls, estimator: Any) -> LinearModel:
        """The weights of a fitted linear estimator (e.g. LogisticRegression)."""
        return cls(
            np.asarray(estimator.coef_, dtype=np.float64),
            np.asarray(estimator.intercept_, dtype=np.float64),
            np.asarray(estimator.classes_),
        )

    def decision_function(self, x: Any) -> np.ndarray:
        """Raw scores of feature rows `x`, as the estimator's own decision_function."""
        scores: np.ndarray = np.asarray(x @ self.coef_.T) + self.intercept_
        return scores


def softmax(scores: np.ndarray, temperature: float) -> np.ndarray:
    """Row-wise softmax of `scores / temperature`."""
    z = scores / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    out: np.ndarray = e / e.sum(axis=1, keepdims=True)
    return out
