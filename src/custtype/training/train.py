"""Train a model from training_data/ and write models/<version>/ with its card.

Honest held-out figures need other writers: probabilities are calibrated (temperature) and the
abstention threshold and confidence bands are chosen on cross-writer out-of-fold predictions
(each language's writers split into two groups), and the card reports metrics on
training_data/test/, written by other hands than the training set.
"""

from __future__ import annotations

import datetime as dt
import logging
import platform
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from custtype import __version__
from custtype.model import artifact
from custtype.model.classifier import Classifier
from custtype.model.linear import LinearModel, softmax
from custtype.model.policy import Policy, Thresholds, load_policy
from custtype.model.vectorizer import MessageVectorizer
from custtype.taxonomy import LABELS
from custtype.text.analysis import Analysis, analyze
from custtype.training.dataset import Located, data_hash, load_split
from custtype.training.metrics import decide, metrics

log = logging.getLogger(__name__)
C_GRID = (3.0, 10.0, 30.0)
C_TOLERANCE = 0.005


@dataclass(frozen=True)
class TrainResult:
    path: Path
    card: dict[str, Any]


def _fit(
    analyses: Sequence[Analysis], y: Sequence[str] | np.ndarray, c: float, seed: int
) -> tuple[Any, Any]:
    from sklearn.linear_model import LogisticRegression

    vec = MessageVectorizer().fit(analyses)
    clf = LogisticRegression(
        C=c, max_iter=3000, class_weight="balanced", random_state=seed, tol=1e-5
    )
    clf.fit(vec.transform(analyses), list(y))
    return vec, clf


def writer_folds(rows: Sequence[Located]) -> np.ndarray:
    """Fold 0/1 per message: within each language, its writers (sources) alternate folds."""
    folds = np.zeros(len(rows), dtype=int)
    for lang in sorted({r.message.lang for r in rows}):
        sources = sorted({r.message.source for r in rows if r.message.lang == lang})
        fold_of = {s: i % 2 for i, s in enumerate(sources)}
        for i, r in enumerate(rows):
            if r.message.lang == lang:
                folds[i] = fold_of[r.message.source]
    if len(set(folds.tolist())) < 2:  # one writer only: fall back to alternate rows
        folds = np.arange(len(rows)) % 2
    return folds


def _oof_scores(
    analyses: Sequence[Analysis], y: np.ndarray, folds: np.ndarray, c: float, seed: int
) -> np.ndarray:
    scores = np.zeros((len(analyses), len(LABELS)))
    for f in (0, 1):
        train_idx = np.flatnonzero(folds != f)
        held = np.flatnonzero(folds == f)
        vec, clf = _fit([analyses[int(i)] for i in train_idx], y[train_idx], c, seed)
        cols = [list(clf.classes_).index(lab) for lab in LABELS]
        scores[held] = clf.decision_function(vec.transform([analyses[int(i)] for i in held]))[
            :, cols
        ]
    return scores


def fit_temperature(scores: np.ndarray, y: np.ndarray) -> float:
    """Temperature minimising the negative log-likelihood of held-out predictions."""
    from scipy.optimize import minimize_scalar

    idx = np.asarray([LABELS.index(v) for v in y])

    def nll(t: float) -> float:
        p = softmax(scores, t)
        return float(-np.mean(np.log(p[np.arange(len(idx)), idx] + 1e-12)))

    res = minimize_scalar(nll, bounds=(0.05, 20.0), method="bounded")
    return float(res.x)


def choose_thresholds(probs: np.ndarray, y: np.ndarray, policy: Policy) -> dict[str, float]:
    """Abstention threshold maximising held-out macro-F1, floored by the policy; its bands."""
    from sklearn.metrics import f1_score

    best_t, best_f1 = 0.0, -1.0
    for t in np.round(np.arange(0.2, 0.81, 0.025), 3):
        f1 = f1_score(y, decide(probs, LABELS, float(t)), labels=list(LABELS), average="macro")
        if f1 > best_f1 + 1e-9:
            best_t, best_f1 = float(t), float(f1)
    return {
        "abstain": max(best_t, policy.abstain_min),
        "abstain_held_out": best_t,
        "medium": policy.bands["medium"],
        "high": policy.bands["high"],
    }


def band_precision(probs: np.ndarray, y: np.ndarray, lo: float) -> dict[str, float]:
    """Share of held-out messages at or above a confidence, and how often they are right."""
    conf = probs.max(axis=1)
    kept = conf >= lo
    correct = np.asarray(LABELS)[probs.argmax(axis=1)] == y
    return {
        "share": float(kept.mean()),
        "accuracy": float(correct[kept].mean()) if kept.any() else 0.0,
    }


def train(
    data_root: Path,
    models_root: Path,
    version: str | None = None,
    seed: int = 13,
    c_grid: Sequence[float] = C_GRID,
    thresholds_file: Path | None = None,
) -> TrainResult:
    """Train, calibrate, evaluate on the test split and write models/<version>/."""
    rows = load_split(data_root, "train")
    test_rows = load_split(data_root, "test")
    digest = data_hash(data_root)
    log.info("analysing %d training messages", len(rows))
    analyses = [analyze(r.message.text, r.message.lang) for r in rows]
    y = np.asarray([r.message.label for r in rows])
    folds = writer_folds(rows)

    search: dict[str, float] = {}
    oof_by_c: dict[float, np.ndarray] = {}
    for c in sorted(c_grid):
        oof_by_c[c] = _oof_scores(analyses, y, folds, c, seed)
        probs = softmax(oof_by_c[c], 1.0)
        f1 = metrics(probs, list(y), [r.message.lang for r in rows], LABELS, 0.0)["macro_f1"]
        search[str(c)] = f1
        log.info("C=%s cross-writer macro-F1 %.3f", c, f1)
    # the strongest regularisation within a hair of the best: weights that stay modest
    # extrapolate less wildly to real traffic, which differs from any writer's style
    top = max(search.values())
    best_c = min(c for c in oof_by_c if search[str(c)] >= top - C_TOLERANCE)
    best_scores = oof_by_c[best_c]
    temperature = fit_temperature(best_scores, y)
    policy = load_policy(thresholds_file)
    oof_probs = softmax(best_scores / temperature + policy.log_prior_ratio(LABELS), 1.0)
    thresholds = choose_thresholds(oof_probs, y, policy)
    oof = metrics(oof_probs, list(y), [r.message.lang for r in rows], LABELS, thresholds["abstain"])

    vec, clf = _fit(analyses, y, best_c, seed)
    cols = [list(clf.classes_).index(lab) for lab in LABELS]
    clf.coef_ = clf.coef_[cols]
    clf.intercept_ = clf.intercept_[cols]
    clf.classes_ = np.asarray(LABELS)

    today = dt.date.today()
    version = version or f"{today:%Y.%m.%d}-{digest[:7]}"
    linear = LinearModel.of(clf)
    model = Classifier(
        vec,
        linear.coef_,
        linear.intercept_,
        LABELS,
        temperature,
        Thresholds(thresholds["abstain"], thresholds["medium"], thresholds["high"]),
        version,
        policy=policy,
    )
    # language detected, as in use
    test_probs = model.probabilities([analyze(r.message.text) for r in test_rows])
    test_metrics = metrics(
        test_probs,
        [r.message.label for r in test_rows],
        [r.message.lang for r in test_rows],
        LABELS,
        thresholds["abstain"],
    )

    out = models_root / version
    card = {
        "version": version,
        "date": today.isoformat(),
        "custtype_version": __version__,
        "training_data_sha256": digest,
        "labels": list(LABELS),
        "n_train": len(rows),
        "n_test": len(test_rows),
        "features": {
            "lemma_ngrams": vec.n_lemma,
            "char_ngrams": vec.n_char,
            "dense": vec.n_features - vec.n_lemma - vec.n_char,
        },
        "estimator": {
            "type": "LogisticRegression",
            "C": best_c,
            "class_weight": "balanced",
            "seed": seed,
        },
        "c_search_cross_writer_macro_f1": search,
        "temperature": temperature,
        "policy": policy.model_dump(),
        "thresholds": thresholds,
        "metrics_cross_writer_oof": {
            **{k: oof[k] for k in ("macro_f1", "macro_f1_per_language", "ece")},
            "high_band": band_precision(oof_probs, y, thresholds["high"]),
            "medium_band": band_precision(oof_probs, y, thresholds["medium"]),
        },
        "metrics_test": test_metrics,
        "library_versions": artifact.library_versions(),
        "python": platform.python_version(),
        "intended_use": (
            "Internal aid for support agents. Types describe behaviour in a message; never show "
            "them to the customer and never use them as the sole trigger of an adverse action."
        ),
    }
    written = artifact.save(out, vec, linear, list(LABELS), temperature, card)
    return TrainResult(out, written)
