"""The trained classifier: load a model directory safely, predict types with evidence.

A model is a directory with `model.joblib` and `model_card.json`. Loading reads the card
first and refuses a file whose sha256 or library versions do not match, before anything is
unpickled (pickles execute code: never load a model from an untrusted source).
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .cues import cue_categories
from .errors import InputError, ModelError
from .evidence import Evidence, explain
from .features import Analysis, MessageVectorizer, analyze
from .playbook import Playbook, load_playbook
from .recommend import MessageContext, Recommendation, recommend
from .taxonomy import LANGS, NONE

if TYPE_CHECKING:
    import pandas as pd

MODEL_FILE = "model.joblib"
CARD_FILE = "model_card.json"
MAX_CHARS = 20_000
_DEFAULT_AGENT_LANG = "en"
# texts scored together at most: a batch's feature arrays grow with it (~1,200 entries a
# message) and past a few thousand messages they outgrow the CPU caches; 6,000 at once
# cost ~40% more per message than 1,000 (a Dask partition holds 10,000)
_MAX_BATCH = 1000


class Policy(BaseModel):
    """The decision policy (data/thresholds.yaml): prior of `none`, abstention floor, bands."""

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
    import yaml

    source = Path(path) if path else files(__package__).joinpath("data/thresholds.yaml")
    try:
        return Policy.model_validate(yaml.safe_load(source.read_text("utf-8")))
    except (OSError, yaml.YAMLError) as exc:
        raise ModelError(f"Cannot read thresholds file {str(source)!r}: {exc}") from None
    except ValidationError as exc:
        e = exc.errors()[0]
        field = ".".join(str(p) for p in e["loc"]) or "(top level)"
        raise ModelError(
            f"Invalid thresholds file {str(source)!r}: field {field}: {e['msg']}."
        ) from None


def freeze_memory(young_objects: int = 10_000) -> None:
    """For a long-running process, once its model is loaded: collect, move every live object
    out of the cyclic collector's reach, and collect less often.

    The model is millions of long-lived objects; every full collection re-scans them, which
    costs about a fifth of scoring time. Frozen objects are still freed by refcounting, only
    reference cycles among them are never collected: call it once per process (the API,
    batch and Dask workers do), not after every load. Scoring a batch allocates many
    short-lived objects and few cycles, so the youngest generation is collected after
    `young_objects` allocations instead of 700 and full collections are rarer (measured:
    ~250 ms of collection per 3,000 messages down to ~70 ms).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(young_objects, 50, 1000)


@dataclass(frozen=True)
class Thresholds:
    """Abstention threshold and confidence bands applied to calibrated probabilities."""

    abstain: float
    medium: float
    high: float

    def level(self, confidence: float) -> str:
        if confidence >= self.high:
            return "high"
        if confidence >= self.medium:
            return "medium"
        return "low"


@dataclass(frozen=True)
class Prediction:
    """One message's result: the type (None when none/undetermined) and why."""

    type: str | None
    label: str | None
    outcome: str  # "type" | "none" | "undetermined"
    confidence: float
    confidence_level: str
    probabilities: dict[str, float]
    language: str
    evidence: list[Evidence]
    strategy: Recommendation
    model_version: str
    reason: str | None = None
    internal_only: bool = field(default=True)

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract (see README): type, confidence, evidence, strategy..."""
        return {
            "type": self.type,
            "label": self.label,
            "outcome": self.outcome,
            "confidence": round(self.confidence, 4),
            "confidence_level": self.confidence_level,
            "probabilities": {k: round(v, 4) for k, v in self.probabilities.items()},
            "language": self.language,
            "evidence": [e.to_dict() for e in self.evidence],
            "strategy": self.strategy.model_dump(),
            "model_version": self.model_version,
            "reason": self.reason,
            "internal_only": True,
        }


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def library_versions() -> dict[str, str]:
    """Versions of the libraries the model was built with, read from the installed packages'
    metadata rather than by importing them (scikit-learn alone takes ~0.8 s to import)."""
    from importlib.metadata import PackageNotFoundError, version

    def installed(lib: str) -> str:
        try:
            return version(lib)
        except PackageNotFoundError:  # then no saved version is compatible: a clear refusal
            return "none"

    return {lib: installed(lib) for lib in ("scikit-learn", "numpy", "scipy")}


@dataclass(frozen=True, eq=False)  # (numpy arrays: compare the weights, not the objects)
class LinearModel:
    """The trained linear layer: one row of weights and an intercept per label, in label order.

    Stored instead of the scikit-learn estimator that fitted it, so that a model file holds
    only numpy arrays and custtype classes (older files with the estimator still load).
    """

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


def _compatible(saved: str, current: str, parts: int) -> bool:
    return saved.split(".")[:parts] == current.split(".")[:parts]


def default_model_dir() -> Path:
    """The model `custtype` uses by default: $CUSTTYPE_MODEL or the newest shipped one."""
    env = os.environ.get("CUSTTYPE_MODEL")
    if env:
        return Path(env)
    root = Path(str(files("custtype.models")))
    versions = sorted(p for p in root.iterdir() if (p / CARD_FILE).is_file())
    if not versions:
        raise ModelError(f"No trained model found in {root}. Run `custtype train` first.")
    return versions[-1]


def read_card(path: Path) -> dict[str, Any]:
    """Read and check a model card; refuse a tampered or mismatched model file."""
    card_path = path / CARD_FILE
    model_path = path / MODEL_FILE
    if not card_path.is_file() or not model_path.is_file():
        raise ModelError(f"{path} is not a model directory: expected {MODEL_FILE} and {CARD_FILE}.")
    try:
        card: dict[str, Any] = json.loads(card_path.read_text("utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"Cannot read model card {card_path}: {exc}.") from None
    expected = card.get("sha256")
    actual = _sha256(model_path)
    if expected != actual:
        raise ModelError(
            f"Refusing to load {model_path}: its sha256 {actual[:12]}… does not match the model "
            f"card ({str(expected)[:12]}…). The file was changed or replaced; pickles execute "
            "code, so only load models you trained or trust."
        )
    saved = card.get("library_versions", {})
    now = library_versions()
    for lib, parts in (("scikit-learn", 2), ("numpy", 1), ("scipy", 1)):
        if lib in saved and not _compatible(saved[lib], now[lib], parts):
            raise ModelError(
                f"Model {path.name} was trained with {lib} {saved[lib]}, but "
                + (f"{now[lib]} is installed" if now[lib] != "none" else "it is not installed")
                + f". Install a matching {lib} or retrain with `custtype train`."
            )
    return card


def softmax(scores: np.ndarray, temperature: float) -> np.ndarray:
    z = scores / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    out: np.ndarray = e / e.sum(axis=1, keepdims=True)
    return out


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
        estimator: Any,
        labels: Sequence[str],
        temperature: float,
        thresholds: Thresholds,
        version: str,
        card: dict[str, Any] | None = None,
        playbook: Playbook | None = None,
        policy: Policy | None = None,
    ) -> None:
        self.vectorizer = vectorizer
        self.estimator = estimator
        self.labels = list(labels)
        self.temperature = temperature
        self.thresholds = thresholds
        self.policy = policy or load_policy()
        self._bias = self.policy.log_prior_ratio(self.labels)
        self.version = version
        self.card = card or {}
        self.playbook = playbook or load_playbook()
        linear = LinearModel.of(estimator)  # a LinearModel or an older file's estimator
        coef = linear.coef_
        self._directions = coef - coef.mean(axis=0, keepdims=True)
        # scores as X @ W + b on a contiguous copy made once: the estimator's own
        # decision_function copies the whole coefficient matrix on every call
        self._weights = np.ascontiguousarray(coef.T)
        self._intercept = linear.intercept_

    @classmethod
    def load(
        cls,
        path: str | Path | None = None,
        playbook: str | Path | None = None,
        thresholds: str | Path | None = None,
    ) -> Classifier:
        """Load a model directory (default: the shipped model), checking its card first.

        `thresholds` is a team's own decision-policy file; by default the policy the model
        was trained with (recorded in its card) is used.
        """
        import joblib

        directory = Path(path) if path is not None else default_model_dir()
        card = read_card(directory)
        bundle = joblib.load(directory / MODEL_FILE)
        if thresholds is not None:
            policy = load_policy(thresholds)
            th = {
                "abstain": max(policy.abstain_min, card["thresholds"]["abstain_held_out"]),
                **policy.bands,
            }
        else:
            policy = Policy.model_validate(card["policy"])
            th = card["thresholds"]
        return cls(
            vectorizer=bundle["vectorizer"],
            estimator=bundle["estimator"],
            labels=bundle["labels"],
            temperature=float(bundle["temperature"]),
            thresholds=Thresholds(th["abstain"], th["medium"], th["high"]),
            version=str(card["version"]),
            card=card,
            playbook=load_playbook(playbook),
            policy=policy,
        )

    # -- scoring ----------------------------------------------------------------------
    def probabilities(self, analyses: Sequence[Analysis]) -> np.ndarray:
        """Calibrated, prior-corrected probabilities (rows: messages, columns: labels).

        A message in an unsupported language gets the uniform row (the model abstains).
        """
        out = np.full((len(analyses), len(self.labels)), 1.0 / len(self.labels))
        ok = [i for i, a in enumerate(analyses) if a.supported]
        if ok:
            x = self.vectorizer.transform([analyses[i] for i in ok])
            out[ok] = self._calibrate(x)
        return out

    def _calibrate(self, x: Any) -> np.ndarray:
        """Calibrated, prior-corrected probabilities of feature rows `x`."""
        scores = np.asarray(x @ self._weights) + self._intercept
        return softmax(scores / self.temperature + self._bias, 1.0)

    def predict(
        self,
        texts: Sequence[str],
        lang: str | Sequence[str | None] | None = None,
        contexts: Sequence[MessageContext | None] | None = None,
        agent_lang: str | None = None,
        explain_evidence: bool = True,
    ) -> list[Prediction]:
        """Predict the type of each text.

        `lang` forces the language: one code for all texts, or one per text (None: detect).

        Example: ``Classifier.load().predict(["Где мой заказ?!"])[0].to_dict()``
        """
        if isinstance(texts, str):
            raise InputError("predict() takes a list of texts, not a single string.")
        for i, t in enumerate(texts):
            check_text(t, f"text #{i}")
        langs = [lang] * len(texts) if lang is None or isinstance(lang, str) else list(lang)
        if len(langs) != len(texts):
            raise InputError(f"got {len(langs)} languages for {len(texts)} texts.")
        for i, code in enumerate(langs):
            if code is not None and code not in LANGS:
                raise InputError(
                    f"lang of text #{i} must be one of {', '.join(LANGS)}, got {code!r}."
                )
        if contexts is not None and len(contexts) != len(texts):
            raise InputError(f"got {len(contexts)} contexts for {len(texts)} texts.")
        out: list[Prediction] = []
        for at in range(0, len(texts), _MAX_BATCH):
            part = slice(at, at + _MAX_BATCH)
            out += self._predict_batch(
                texts[part],
                langs[part],
                contexts[part] if contexts is not None else None,
                agent_lang,
                explain_evidence,
            )
        return out

    def _predict_batch(
        self,
        texts: Sequence[str],
        langs: list[str | None],
        contexts: Sequence[MessageContext | None] | None,
        agent_lang: str | None,
        explain_evidence: bool,
    ) -> list[Prediction]:
        """`predict` on at most `_MAX_BATCH` checked texts."""
        analyses = [analyze(t, code) for t, code in zip(texts, langs, strict=True)]
        ok = [i for i, a in enumerate(analyses) if a.supported]
        scored = [analyses[i] for i in ok]
        x, trace = self.vectorizer.transform_traced(scored, trace=explain_evidence)
        probs = self._calibrate(x)
        best = np.argmax(probs, axis=1)
        evidence = (
            explain(self.vectorizer, self._directions, scored, x, trace, best)
            if trace is not None
            else [[] for _ in ok]
        )
        out: list[Prediction] = []
        row_of = {i: r for r, i in enumerate(ok)}
        for i, a in enumerate(analyses):
            ctx = (contexts[i] if contexts is not None else None) or MessageContext()
            if ctx.text is None:
                ctx = ctx.model_copy(update={"text": texts[i]})
            r = row_of.get(i)
            if r is None:
                out.append(self._unsupported(a, ctx, agent_lang))
            else:
                out.append(self._one(a, probs[r], evidence[r], ctx, agent_lang))
        return out

    def _strategy(
        self, type_key: str | None, a: Analysis, ctx: MessageContext, agent_lang: str | None
    ) -> Recommendation:
        lang = agent_lang or (a.lang if a.lang in LANGS else _DEFAULT_AGENT_LANG)
        found = cue_categories(a.cues) if a.supported else None
        return recommend(type_key, lang, ctx, self.playbook, cues=found)

    def _unsupported(self, a: Analysis, ctx: MessageContext, agent_lang: str | None) -> Prediction:
        return Prediction(
            type=None,
            label=None,
            outcome="undetermined",
            confidence=0.0,
            confidence_level="low",
            probabilities={},
            language=a.lang,
            evidence=[],
            strategy=self._strategy(None, a, ctx, agent_lang),
            model_version=self.version,
            reason=f"language {a.lang!r} is not supported (ru, pl, en)",
        )

    def _one(
        self,
        a: Analysis,
        p: np.ndarray,
        evidence: list[Evidence],
        ctx: MessageContext,
        agent_lang: str | None,
    ) -> Prediction:
        k = int(np.argmax(p))
        label = self.labels[k]
        confidence = float(p[k])
        abstained = confidence < self.thresholds.abstain
        if abstained:
            outcome, type_key, reason = "undetermined", None, "confidence below the threshold"
        elif label == NONE:
            outcome, type_key, reason = "none", None, None
        else:
            outcome, type_key, reason = "type", label, None
        return Prediction(
            type=type_key,
            label=None if abstained else label,
            outcome=outcome,
            confidence=confidence,
            confidence_level=self.thresholds.level(confidence),
            probabilities={lab: float(v) for lab, v in zip(self.labels, p, strict=True)},
            language=a.lang,
            evidence=evidence,
            strategy=self._strategy(type_key, a, ctx, agent_lang),
            model_version=self.version,
            reason=reason,
        )

    def predict_frame(
        self, df: pd.DataFrame, text_column: str = "text", lang: str | None = None
    ) -> pd.DataFrame:
        """Predict for a DataFrame column; returns the frame with custtype_* columns added."""
        from .batch import score_frame

        return score_frame(df, classifier=self, text_column=text_column, lang=lang)
