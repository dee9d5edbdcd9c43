"""Evidence: the phrases of the original message that pushed hardest toward the prediction.

Each feature's contribution (value × weight relative to the mean class) is shared out to the
tokens that produced it; adjacent positive tokens merge into phrases, and phrases are mapped
back to character spans of the original message.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .features import Analysis, MessageVectorizer
from .tokens import Token

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
    vec: MessageVectorizer, direction: np.ndarray, analysis: Analysis, row: sp.csr_matrix
) -> list[Evidence]:
    """Top phrases for one message; `direction` is the class weights minus their mean."""
    tokens = analysis.tokens
    if not tokens:
        return []
    # every (token, column) pair the message's features came from: unigram, both tokens of
    # a bigram, the token's character n-grams (repeats kept, as they were counted)
    lemmas = [t.lemma for t in tokens]
    unigrams, bigrams = vec.unigram_columns, vec.bigram_columns
    cols: list[int] = []
    owner: list[int] = []
    for i, lem in enumerate(lemmas):
        if (j := unigrams.get(lem, -1)) >= 0:
            cols.append(j)
            owner.append(i)
    for i in range(len(lemmas) - 1):
        if (j := bigrams.get((lemmas[i], lemmas[i + 1]), -1)) >= 0:
            cols += (j, j)
            owner += (i, i + 1)
    for i, t in enumerate(tokens):
        if t.is_word:
            found = vec.char_columns(t.lower)
            cols.extend(found)
            owner.extend([i] * len(found))
    scores = _shared_out(np.asarray(cols, dtype=np.int64), owner, row, direction, len(tokens))
    # cue features (dense block) are attributed to the tokens inside the cue's span
    dense_start = vec.n_lemma + vec.n_char
    dense = row.indices >= dense_start
    contrib = dict(
        zip(
            row.indices[dense].tolist(),
            (row.data[dense] * direction[row.indices[dense]]).tolist(),
            strict=True,
        )
    )
    cue_names = {f"cue:{c.category}" for c in analysis.cues}
    from .features import DENSE_NAMES

    for k, name in enumerate(DENSE_NAMES):
        if name in cue_names:
            share = contrib.get(dense_start + k, 0.0)
            spans = [c for c in analysis.cues if f"cue:{c.category}" == name]
            for cue in spans:
                inside = [
                    i for i, t in enumerate(tokens) if t.start < cue.end and t.end > cue.start
                ]
                for i in inside:
                    scores[i] += share / (len(spans) * len(inside))
    return _phrases(analysis, tokens, scores)


def _shared_out(
    cols: np.ndarray, owner: list[int], row: sp.csr_matrix, direction: np.ndarray, n: int
) -> list[float]:
    """Each feature's contribution (value × direction) shared evenly among the tokens that
    produced it, summed per token."""
    if not len(cols) or not row.nnz:
        return [0.0] * n
    unique, inverse, counts = np.unique(cols, return_inverse=True, return_counts=True)
    order = np.argsort(row.indices)
    indices, data = row.indices[order], row.data[order]
    pos = np.minimum(np.searchsorted(indices, unique), len(indices) - 1)
    value = np.where(indices[pos] == unique, data[pos], 0.0)
    share = value * direction[unique] / counts
    return list(np.bincount(owner, weights=share[inverse], minlength=n).tolist())


def _phrases(analysis: Analysis, tokens: list[Token], scores: list[float]) -> list[Evidence]:
    positive = [s for s in scores if s > 0]
    if not positive:
        return []
    floor = max(positive) * 0.25
    groups: list[tuple[int, int, float]] = []
    i = 0
    while i < len(tokens):
        if scores[i] > floor and tokens[i].is_word:
            j = i
            total = scores[i]
            while j + 1 < len(tokens) and scores[j + 1] > floor / 2 and j + 1 - i < 5:
                j += 1
                total += scores[j]
            groups.append((i, j, total))
            i = j + 1
        else:
            i += 1
    groups.sort(key=lambda g: -g[2])
    norm = analysis.normalized
    out: list[Evidence] = []
    shown: set[str] = set()
    for first, last, total in groups:
        if len(out) == MAX_PHRASES:
            break
        start, end = norm.span_in_original(tokens[first].start, tokens[last].end)
        key = norm.original[start:end].lower()
        if key in shown:  # the same phrase again adds nothing for the agent
            continue
        shown.add(key)
        a, b = tokens[first].start, tokens[last].end
        cues = tuple(sorted({c.category for c in analysis.cues if c.start < b and c.end > a}))
        out.append(Evidence(norm.original[start:end], start, end, total, cues))
    return out
