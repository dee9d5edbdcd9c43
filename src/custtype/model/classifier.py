"""The trained classifier: predict a message's customer type, how sure, and why.

It knows nothing of strategies: `custtype.advice` joins a prediction with the playbook.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from custtype.errors import InputError
from custtype.model import artifact
from custtype.model.evidence import Evidence, explain
from custtype.model.linear import softmax
from custtype.model.policy import Decision, Policy, load_policy
from custtype.model.vectorizer import MessageVectorizer
from custtype.taxonomy import LANGS, NONE
from custtype.text.analysis import Analysis, analyze
from custtype.text.cues import cue_categories
from custtype.text.tokens import use_lemma_tables

MAX_CHARS = 20_000
# texts scored together at most: a batch's feature arrays grow with it (~1,200 entries a
# message) and past a few thousand messages they outgrow the CPU caches; 6,000 at once
# cost ~40% more per message than 1,000 (a Dask partition holds 10,000)
_MAX_BATCH = 1000


@dataclass(frozen=True)
class Prediction:
    """One message's result: the type (None when none/undetermined), how sure, and why."""

    type: str | None
    label: str | None
    outcome: str  # "type" | "none" | "undetermined"
    confidence: float
    confidence_level: str
    probabilities: dict[str, float]
    language: str
    evidence: list[Evidence]
    model_version: str
    reason: str | None = None
    cues: frozenset[str] = frozenset()  # cue categories found (for the context rules)
    score_level: str = ""  # a named type's decision-score level (what the floors' targets count)
    internal_only: bool = field(default=True)

    def to_dict(self) -> dict[str, Any]:
        """The prediction part of the JSON contract (see README)."""
        return {
            "type": self.type,
            "label": self.label,
            "outcome": self.outcome,
            "confidence": round(self.confidence, 4),
            "confidence_level": self.confidence_level,
            "probabilities": {k: round(v, 4) for k, v in self.probabilities.items()},
            "language": self.language,
            "evidence": [e.to_dict() for e in self.evidence],
            "model_version": self.model_version,
            "reason": self.reason,
            "internal_only": True,
        }


def check_text(text: object, where: str = "text") -> str:
    """Return `text` if it can be scored, else raise InputError saying what is wrong."""
    if not isinstance(text, str):
        raise InputError(f"{where} must be a string, got {type(text).__name__}.")
    if not text.strip():
        raise InputError(f"{where} is empty.")
    if len(text) > MAX_CHARS:
        raise InputError(f"{where} has {len(text)} characters; the limit is {MAX_CHARS}.")
    return text


class Classifier:
    """Customer-type classifier. ``Classifier.load().predict(["..."])[0].type``"""

    def __init__(
        self,
        vectorizer: MessageVectorizer,
        coef: np.ndarray,
        intercept: np.ndarray,
        labels: Sequence[str],
        temperature: float,
        version: str,
        card: dict[str, Any] | None = None,
        policy: Policy | None = None,
        lemma_tables: dict[str, dict[str, str]] | None = None,
    ) -> None:
        self.vectorizer = vectorizer
        self.lemma_tables = lemma_tables or {}
        self.labels = list(labels)
        self.temperature = temperature
        self.policy = policy or load_policy()
        self._bias = self.policy.log_prior_ratio(self.labels)
        self.version = version
        self.card = card or {}
        self._directions = coef - coef.mean(axis=0, keepdims=True)
        # scores as X @ W + b on a contiguous copy made once
        self._weights = np.ascontiguousarray(coef.T)
        self._intercept = intercept

    @classmethod
    def load(
        cls, path: str | Path | None = None, thresholds: str | Path | None = None
    ) -> Classifier:
        """Load a model directory (default: the shipped model), checking it first.

        `thresholds` is a team's own decision-policy file (its floors replace the model's);
        by default the policy the model was trained with, recorded in its card, is used.
        """
        model = artifact.load(path)
        card = model.card
        policy = load_policy(thresholds) if thresholds else Policy.model_validate(card["policy"])
        return cls(
            vectorizer=model.vectorizer,
            coef=model.linear.coef_,
            intercept=model.linear.intercept_,
            labels=model.labels,
            temperature=model.temperature,
            version=model.version,
            card=card,
            policy=policy,
            lemma_tables=model.lemma_tables,
        )

    # -- scoring ----------------------------------------------------------------------
    def analyze(self, text: str, lang: str | None = None) -> Analysis:
        """`text.analysis.analyze` with this model's lemma tables."""
        use_lemma_tables(self.lemma_tables)
        return analyze(text, lang)

    def raw_scores(self, analyses: Sequence[Analysis]) -> np.ndarray:
        """The linear model's scores (rows: messages, columns: labels); a message in an
        unsupported language gets zeros (a uniform row: the model abstains)."""
        out = np.zeros((len(analyses), len(self.labels)))
        ok = [i for i, a in enumerate(analyses) if a.supported]
        if ok:
            x = self.vectorizer.transform([analyses[i] for i in ok])
            out[ok] = np.asarray(x @ self._weights) + self._intercept
        return out

    def calibrated(self, raw: np.ndarray) -> np.ndarray:
        """Calibrated, prior-corrected probabilities of raw scores."""
        return softmax(raw / self.temperature + self._bias, 1.0)

    def probabilities(self, analyses: Sequence[Analysis]) -> np.ndarray:
        """Calibrated, prior-corrected probabilities (rows: messages, columns: labels)."""
        return self.calibrated(self.raw_scores(analyses))

    def predict(
        self,
        texts: Sequence[str],
        lang: str | Sequence[str | None] | None = None,
        explain_evidence: bool = True,
    ) -> list[Prediction]:
        """Predict the type of each text.

        `lang` forces the language: one code for all texts, or one per text (None: detect).

        Example: ``Classifier.load().predict(["Где мой заказ?!"])[0].to_dict()``
        """
        if isinstance(texts, str):
            raise InputError("predict() takes a list of texts, not a single string.")
        for i, t in enumerate(texts):
            check_text(t, "the text" if len(texts) == 1 else f"text #{i}")
        langs = [lang] * len(texts) if lang is None or isinstance(lang, str) else list(lang)
        if len(langs) != len(texts):
            raise InputError(f"got {len(langs)} languages for {len(texts)} texts.")
        for i, code in enumerate(langs):
            if code is not None and code not in LANGS:
                raise InputError(
                    f"lang of text #{i} must be one of {', '.join(LANGS)}, got {code!r}."
                )
        out: list[Prediction] = []
        for at in range(0, len(texts), _MAX_BATCH):
            part = slice(at, at + _MAX_BATCH)
            out += self._predict_batch(texts[part], langs[part], explain_evidence)
        return out

    def _predict_batch(
        self, texts: Sequence[str], langs: list[str | None], explain_evidence: bool
    ) -> list[Prediction]:
        """`predict` on at most `_MAX_BATCH` checked texts."""
        use_lemma_tables(self.lemma_tables)  # (a no-op unless another model's were in use)
        analyses = [analyze(t, code) for t, code in zip(texts, langs, strict=True)]
        ok = [i for i, a in enumerate(analyses) if a.supported]
        scored = [analyses[i] for i in ok]
        x, trace = self.vectorizer.transform_traced(scored, trace=explain_evidence)
        raw = np.asarray(x @ self._weights) + self._intercept
        probs, scores = self.calibrated(raw), self.policy.scores(raw)
        decisions = [
            self.policy.decide(probs[r], self.labels, a.lang, scores[r])
            for r, a in enumerate(scored)
        ]
        # evidence for what was decided: the named type, or `none`, or (undetermined) the
        # type that came closest
        target = np.asarray(
            [
                self.labels.index(d.label) if d.label else _best_type(scores[r], self.labels)
                for r, d in enumerate(decisions)
            ],
            dtype=int,
        )
        evidence = (
            explain(self.vectorizer, self._directions, scored, x, trace, target)
            if trace is not None
            else [[] for _ in ok]
        )
        row_of = {i: r for r, i in enumerate(ok)}
        out: list[Prediction] = []
        for i, a in enumerate(analyses):
            r = row_of.get(i)
            if r is None:
                out.append(self._unsupported(a))
            else:
                out.append(self._one(a, probs[r], decisions[r], evidence[r]))
        return out

    def _unsupported(self, a: Analysis) -> Prediction:
        return Prediction(
            type=None,
            label=None,
            outcome="undetermined",
            confidence=0.0,
            confidence_level="low",
            probabilities={},
            language=a.lang,
            evidence=[],
            model_version=self.version,
            reason=f"language {a.lang!r} is not supported ({', '.join(LANGS)})",
        )

    def _one(self, a: Analysis, p: np.ndarray, d: Decision, evidence: list[Evidence]) -> Prediction:
        reason = "no type reached its threshold" if d.outcome == "undetermined" else None
        return Prediction(
            type=d.label if d.outcome == "type" else None,
            label=d.label,
            outcome=d.outcome,
            confidence=d.confidence,
            confidence_level=d.level,
            probabilities={lab: float(v) for lab, v in zip(self.labels, p, strict=True)},
            language=a.lang,
            evidence=evidence,
            model_version=self.version,
            reason=reason,
            cues=cue_categories(a.cues),
            score_level=d.score_level,
        )


def _best_type(scores: np.ndarray, labels: Sequence[str]) -> int:
    """The column of the highest-scoring type (never `none`)."""
    return max((i for i, lab in enumerate(labels) if lab != NONE), key=lambda i: scores[i])
