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
from custtype.model.linear import LinearModel, single_precision, softmax
from custtype.model.policy import Policy, load_policy
from custtype.model.vectorizer import MessageVectorizer
from custtype.taxonomy import LABELS, RESPONSIBLE_USE
from custtype.text.analysis import Analysis, analyze
from custtype.text.tokens import use_lemma_tables
from custtype.training.dataset import Located, data_hash, load_split
from custtype.training.from_feedback import FeedbackData
from custtype.training.lemma_tables import build_lemma_tables
from custtype.training.metrics import metrics, model_metrics
from custtype.training.real import RealItem, load_real, real_evaluation, tune_policy

log = logging.getLogger(__name__)
C_GRID = (1.0, 3.0, 10.0)
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


def band_precision(probs: np.ndarray, y: np.ndarray, lo: float) -> dict[str, float]:
    """Share of held-out messages at or above a confidence, and how often they are right."""
    conf = probs.max(axis=1)
    kept = conf >= lo
    correct = np.asarray(LABELS)[probs.argmax(axis=1)] == y
    return {
        "share": float(kept.mean()),
        "accuracy": float(correct[kept].mean()) if kept.any() else 0.0,
    }


def tune_and_evaluate(
    model: Classifier,
    policy: Policy,
    real_items: Sequence[RealItem],
    real_source: str | None,
    test_rows: Sequence[Located],
) -> tuple[Policy, dict[str, Any] | None, dict[str, Any]]:
    """Set `policy`'s floors from real labelled messages (if any) and measure the model with
    it on them and on the test split; the model keeps the tuned policy."""
    real_report: dict[str, Any] | None = None
    if real_items:
        policy, real_report = tune_on_real(model, policy, real_items, real_source)
    model.policy = policy
    return policy, real_report, model_metrics(model, test_rows)


def tune_on_real(
    model: Classifier, policy: Policy, items: Sequence[RealItem], source: str | None
) -> tuple[Policy, dict[str, Any]]:
    """`policy` with its floors set from real labelled messages and, from the two-fold
    estimate, how often a named type was right (a named type's confidence); and the model's
    figures on them under it."""
    raw = model.raw_scores([model.analyze(it.text) for it in items])
    scores = policy.scores(raw)
    untuned, policy = policy, tune_policy(policy, scores, items, LABELS)
    log.info("floors from %d real messages: %s", len(items), policy.type_floor)
    report = {
        "source": source,
        "n": len(items),
        **real_evaluation(policy, model.calibrated(raw), scores, items, LABELS, untuned),
    }
    # a language or level these messages name nothing at keeps the figures it had; one they
    # name types at gets all its figures from them
    new = report["precision"]
    kept = {lang: dict(levels) for lang, levels in (untuned.precision or {}).items()}
    kept_types = {
        lang: {level: dict(t) for level, t in levels.items()}
        for lang, levels in (untuned.type_precision or {}).items()
    }
    for lang, levels in new["shares"].items():
        kept.setdefault(lang, {}).update(levels)
        for level in levels:
            kept_types.setdefault(lang, {})[level] = dict(new["type_shares"][lang][level])
    update = {"precision": kept or None, "type_precision": kept_types or None}
    return policy.model_copy(update=update), report


def tune(
    model_dir: Path,
    data_root: Path,
    real: tuple[Path, Path],
    thresholds_file: Path | None = None,
) -> TrainResult:
    """Set an existing model's decision floors from real labelled messages (a team's own,
    or a policy file's new targets) without retraining; rewrites its card."""
    model = Classifier.load(model_dir, thresholds=thresholds_file)
    found = artifact.load(model_dir)
    items = load_real(*real)
    policy, real_report, test_metrics = tune_and_evaluate(
        model, model.policy, items, real[0].name, load_split(data_root, "test")
    )
    card = {
        **{k: v for k, v in found.card.items() if k not in ("files", "labels", "temperature")},
        "policy": policy.model_dump(),
        "metrics_test": test_metrics,
        "metrics_real": real_report,
        "tuned": dt.date.today().isoformat(),
    }
    written = artifact.save(
        model_dir,
        found.vectorizer,
        found.linear,
        found.labels,
        found.temperature,
        card,
        found.lemma_tables,
    )
    return TrainResult(model_dir, written)


def train(
    data_root: Path,
    models_root: Path,
    version: str | None = None,
    seed: int = 13,
    c_grid: Sequence[float] = C_GRID,
    thresholds_file: Path | None = None,
    real: tuple[Path, Path] | None = None,
    feedback: FeedbackData | None = None,
) -> TrainResult:
    """Train, calibrate, evaluate on the test split and write models/<version>/.

    `real` is (labels file, corpus folder) of real labelled messages (real_dev's format):
    the per-language floors of the decision policy are set from them and the card reports
    figures on them. They are never training text. `feedback` adds the messages agents
    labelled (its training part; the hold-out stays out, for `custtype models compare`).
    """
    rows = load_split(data_root, "train") + (feedback.train if feedback else [])
    test_rows = load_split(data_root, "test")
    real_items = load_real(*real) if real is not None else []
    digest = data_hash(data_root)
    log.info("analysing %d training messages", len(rows))
    use_lemma_tables({})  # simplemma itself, whatever model was loaded in this process
    analyses = [analyze(r.message.text, r.message.lang) for r in rows]
    y = np.asarray([r.message.label for r in rows])
    langs = [r.message.lang for r in rows]
    folds = writer_folds(rows)

    search: dict[str, float] = {}
    oof_by_c: dict[float, np.ndarray] = {}
    for c in sorted(c_grid):
        oof_by_c[c] = _oof_scores(analyses, y, folds, c, seed)
        f1 = metrics(softmax(oof_by_c[c], 1.0), list(y), langs, LABELS, None)["macro_f1"]
        search[str(c)] = f1
        log.info("C=%s cross-writer macro-F1 %.3f", c, f1)
    # the strongest regularisation within a hair of the best: weights that stay modest
    # extrapolate less wildly to real traffic, which differs from any writer's style
    top = max(search.values())
    best_c = min(c for c in oof_by_c if search[str(c)] >= top - C_TOLERANCE)
    best_scores = oof_by_c[best_c]
    temperature = fit_temperature(best_scores, y)
    # a precision figure belongs to the model it was measured on: a new model starts without
    # one (its confidences are probabilities until `--real` or `custtype tune` measures them)
    policy = load_policy(thresholds_file).model_copy(
        update={"precision": None, "type_precision": None}
    )
    oof_probs = softmax(best_scores / temperature + policy.log_prior_ratio(LABELS), 1.0)
    oof_decision = policy.scores(best_scores)

    vec, clf = _fit(analyses, y, best_c, seed)
    lemma_tables = build_lemma_tables(analyses)
    cols = [list(clf.classes_).index(lab) for lab in LABELS]
    coef = single_precision(clf.coef_[cols])  # as the model file stores it
    linear = LinearModel(coef, clf.intercept_[cols], np.asarray(LABELS))
    today = dt.date.today()
    suffix = f"-fb{len(feedback.train)}" if feedback else ""
    version = version or f"{today:%Y.%m.%d}-{digest[:7]}{suffix}"
    model = Classifier(
        vec,
        linear.coef_,
        linear.intercept_,
        LABELS,
        temperature,
        version,
        policy=policy,
        lemma_tables=lemma_tables,
    )
    policy, real_report, test_metrics = tune_and_evaluate(
        model, policy, real_items, real[0].name if real else None, test_rows
    )
    oof = metrics(oof_probs, list(y), langs, LABELS, policy, oof_decision)

    out = models_root / version
    card = {
        "version": version,
        "date": today.isoformat(),
        "custtype_version": __version__,
        "training_data_sha256": digest,
        "labels": list(LABELS),
        "n_train": len(rows),
        "feedback": None
        if feedback is None
        else {
            "store": feedback.where,
            "train": len(feedback.train),
            "holdout": len(feedback.holdout),
        },
        "n_test": len(test_rows),
        "features": {"lemma_ngrams": vec.n_lemma, "char_ngrams": vec.n_char},
        "lemma_tables": {lang: len(t) for lang, t in lemma_tables.items()},
        "estimator": {
            "type": "LogisticRegression",
            "C": best_c,
            "class_weight": "balanced",
            "seed": seed,
        },
        "c_search_cross_writer_macro_f1": search,
        "temperature": temperature,
        "policy": policy.model_dump(),
        "metrics_cross_writer_oof": {
            **{k: oof[k] for k in ("macro_f1", "macro_f1_per_language", "ece")},
        },
        "metrics_test": test_metrics,
        "metrics_real": real_report,
        "library_versions": artifact.library_versions(),
        "python": platform.python_version(),
        "intended_use": f"Types describe behaviour shown in one message. {RESPONSIBLE_USE}",
    }
    written = artifact.save(out, vec, linear, list(LABELS), temperature, card, lemma_tables)
    return TrainResult(out, written)
