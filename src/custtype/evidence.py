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
    x = dict(zip(row.indices.tolist(), row.data.tolist(), strict=True))
    contrib = {j: v * float(direction[j]) for j, v in x.items()}

    lemma_cols = vec.lemma_vocab_
    n_lemma = vec.n_lemma
    # occurrences, so a feature produced by several tokens is shared out evenly
    occurrences: dict[int, int] = {}
    per_token: list[list[int]] = []
    for i, t in enumerate(tokens):
        cols = []
        j = lemma_cols.get(f"w:{t.lemma}", -1)
        if j >= 0:
            cols.append(j)
        if i + 1 < len(tokens):
            jb = lemma_cols.get(f"b:{t.lemma} {tokens[i + 1].lemma}", -1)
            if jb >= 0:
                cols.append(jb)
        if i > 0:
            jb = lemma_cols.get(f"b:{tokens[i - 1].lemma} {t.lemma}", -1)
            if jb >= 0:
                cols.append(jb)
        if t.is_word:
            cols.extend(vec.char_columns(t.lower))
        per_token.append(cols)
        for c in cols:
            occurrences[c] = occurrences.get(c, 0) + 1
    scores = [sum(contrib.get(c, 0.0) / occurrences[c] for c in cols) for cols in per_token]
    # cue features (dense block) are attributed to the tokens inside the cue's span
    dense_start = n_lemma + vec.n_char
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
    return _phrases(analysis, scores)


def _phrases(analysis: Analysis, scores: list[float]) -> list[Evidence]:
    tokens = analysis.tokens
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
