"""Evidence: the phrases of the original message that pushed hardest toward the prediction.

Each feature's contribution (value × weight relative to the mean class) is shared out to the
tokens that produced it; adjacent positive tokens merge into phrases, and phrases are mapped
back to character spans of the original message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from custtype.model.vectorizer import MessageVectorizer, Trace
from custtype.text.analysis import Analysis
from custtype.text.tokens import Locator

MAX_PHRASES = 5


@dataclass(frozen=True, slots=True)
class Evidence:
    """A phrase of the original message and how much it pushed toward the prediction."""

    text: str
    start: int
    end: int
    weight: float
    cues: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "weight": round(self.weight, 4),
            "cues": list(self.cues),
        }


def explain(
    vec: MessageVectorizer,
    directions: np.ndarray,
    analyses: Sequence[Analysis],
    x: sp.csr_matrix,
    trace: Trace,
    predicted: np.ndarray,
) -> list[list[Evidence]]:
    """Top phrases of each message toward its predicted class.

    `x` and `trace` come from `vec.transform_traced(analyses)`; `directions` are the class
    weights minus their mean; `predicted` holds each row's class index. Every feature's
    contribution (value × direction) is shared evenly among the tokens that produced it, for
    the whole batch in a few array operations.
    """
    scores = token_scores(x, trace, directions, predicted)
    start = trace.token_start
    out: list[list[Evidence]] = []
    for r, a in enumerate(analyses):
        if start[r] == start[r + 1]:
            out.append([])
            continue
        out.append(_phrases(a, a.chunks.locate(), scores[start[r] : start[r + 1]].tolist()))
    return out


def token_scores(
    x: sp.csr_matrix, trace: Trace, directions: np.ndarray, predicted: np.ndarray
) -> np.ndarray:
    """Per token of the batch (numbered as in `trace`), the sum of its shares of the sparse
    features' contributions toward its message's predicted class."""
    share = x.data[trace.at] * directions[predicted[trace.row], trace.col] / trace.sharers
    n = int(trace.token_start[-1])
    return np.bincount(trace.owner, weights=share[trace.slot_key], minlength=n)


def _phrases(analysis: Analysis, loc: Locator, scores: list[float]) -> list[Evidence]:
    top = max(scores, default=0.0)
    if top <= 0:
        return []
    floor = top * 0.25
    n = len(scores)
    groups: list[tuple[int, int, float]] = []
    free = 0  # the first token not yet in a group
    for i in [i for i, s in enumerate(scores) if s > floor]:
        if i < free or not loc.is_word(i):
            continue
        j = i
        total = scores[i]
        while j + 1 < n and scores[j + 1] > floor / 2 and j + 1 - i < 5:
            j += 1
            total += scores[j]
        groups.append((i, j, total))
        free = j + 1
    groups.sort(key=lambda g: -g[2])
    norm = analysis.normalized
    out: list[Evidence] = []
    shown: set[str] = set()
    for first, last, total in groups:
        if len(out) == MAX_PHRASES:
            break
        a, b = loc.start(first), loc.end(last)
        start, end = norm.span_in_original(a, b)
        key = norm.original[start:end].lower()
        if key in shown:  # the same phrase again adds nothing for the agent
            continue
        shown.add(key)
        cues = tuple(sorted({c.category for c in analysis.cues if c.start < b and c.end > a}))
        out.append(Evidence(norm.original[start:end], start, end, total, cues))
    return out
