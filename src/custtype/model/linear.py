"""The trained linear layer and the softmax that turns its scores into probabilities."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


def single_precision(weights: np.ndarray) -> np.ndarray:
    """Weights rounded to float32, as a model file stores them (half the size of float64;
    scores move by < 1e-6), held as float64 for computing."""
    return np.asarray(weights, dtype=np.float32).astype(np.float64)


@dataclass(frozen=True, eq=False)  # (numpy arrays: compare the weights, not the objects)
class LinearModel:
    """One row of weights and an intercept per label, in label order."""

    coef_: np.ndarray
    intercept_: np.ndarray
    classes_: np.ndarray

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
