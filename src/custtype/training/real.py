"""Figures on real, independently labelled messages (the format of ../shared/real_dev.jsonl).

A labels file has one `{"id", "lang", "label", "sure"}` a line; the texts come from a corpus
folder of JSON Lines files with `{"id", "text"}`. What matters to an agent, per language:
how many ordinary messages get a type (a false alarm), at any and at high confidence, and
how many typed messages get their type.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from custtype.errors import DataError
from custtype.files import json_lines
from custtype.model.policy import Policy, choose_floor
from custtype.taxonomy import JUDGEMENT_TYPES, LABELS, LANGS, NONE


@dataclass(frozen=True)
class RealItem:
    """One labelled real message."""

    id: str
    lang: str
    label: str
    sure: bool
    text: str


def _jsonl(path: Path) -> list[tuple[int, dict[str, Any]]]:
    rows = []
    for n, raw, problem in json_lines(path):
        if problem or not isinstance(raw, dict):
            raise DataError(f"{path}:{n}: {problem or 'expected a JSON object'}")
        rows.append((n, raw))
    return rows


def load_real(labels: Path, corpus: Path) -> list[RealItem]:
    """The labelled messages of `labels` with their texts from `corpus` (a folder of JSON Lines
    files, or one file); a row naming an unknown id or label is an error naming file:line."""
    files = sorted(corpus.glob("*.jsonl")) if corpus.is_dir() else [corpus]
    if not files:
        raise DataError(f"No JSON Lines files in {corpus}.")
    texts = {str(r["id"]): str(r.get("text", "")) for f in files for _, r in _jsonl(f) if "id" in r}
    out = []
    for n, row in _jsonl(labels):
        where = f"{labels}:{n}"
        for field in ("id", "lang", "label"):
            if field not in row:
                raise DataError(f"{where}: field {field} is missing")
        if row["label"] not in LABELS:
            raise DataError(f"{where}: field label: unknown label {row['label']!r}")
        if row["id"] not in texts:
            raise DataError(f"{where}: field id: {row['id']!r} is not in {corpus}")
        out.append(
            RealItem(
                str(row["id"]),
                str(row["lang"]),
                row["label"],
                bool(row.get("sure")),
                texts[row["id"]],
            )
        )
    return out


def real_figures(
    items: Sequence[RealItem], types: Sequence[str | None], levels: Sequence[str]
) -> dict[str, Any]:
    """Per language and overall: ordinary messages given a type (any / high confidence),
    typed messages given their type, and given any type; per type, how many were found."""
    out: dict[str, Any] = {}
    for lang in [*LANGS, "all"]:
        idx = [i for i, it in enumerate(items) if lang in ("all", it.lang)]
        ordinary = [i for i in idx if items[i].label == NONE]
        typed = [i for i in idx if items[i].label != NONE]
        per_type = {}
        for t in sorted({items[i].label for i in typed}):
            mine = [i for i in typed if items[i].label == t]
            per_type[t] = {"n": len(mine), "found": sum(types[i] == t for i in mine)}
        out[lang] = {
            "ordinary": len(ordinary),
            "typed": len(typed),
            "ordinary_typed": _share(sum(types[i] is not None for i in ordinary), len(ordinary)),
            "ordinary_typed_high": _share(
                sum(types[i] is not None and levels[i] == "high" for i in ordinary), len(ordinary)
            ),
            "typed_found": _share(sum(types[i] == items[i].label for i in typed), len(typed)),
            "typed_any_type": _share(sum(types[i] is not None for i in typed), len(typed)),
            "per_type": per_type,
        }
    return out


def _share(k: int, n: int) -> float:
    return k / n if n else 0.0


def real_curve(
    items: Sequence[RealItem], scores: np.ndarray, guesses: Sequence[str], steps: int = 401
) -> dict[str, list[tuple[float, float, float]]]:
    """Per language, as the threshold on a message's type score moves from 0 to 1: (threshold,
    share of ordinary messages typed, share of typed messages given their type). `scores` is
    each message's score for its best type `guesses[i]`."""
    out: dict[str, list[tuple[float, float, float]]] = {}
    for lang in [*LANGS, "all"]:
        idx = np.asarray([i for i, it in enumerate(items) if lang in ("all", it.lang)], dtype=int)
        if not len(idx):
            continue
        label = np.asarray([items[i].label for i in idx])
        right = np.asarray([guesses[i] for i in idx]) == label
        s = scores[idx]
        ordinary, typed = label == NONE, label != NONE
        rows = []
        for t in np.linspace(0.0, 1.0, steps):
            hit = s >= t
            rows.append(
                (
                    float(t),
                    float(hit[ordinary].mean()) if ordinary.any() else 0.0,
                    float((hit & right)[typed].mean()) if typed.any() else 0.0,
                )
            )
        out[lang] = rows
    return out


def plot_real_curve(
    curve: dict[str, list[tuple[float, float, float]]],
    path: Path,
    title: str,
    marks: dict[str, tuple[float, float]] | None = None,
) -> Path:
    """Typed messages found against ordinary messages typed, one line per language; `marks`
    are the operating points of the shipped policy."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    for lang, rows in curve.items():
        xs = [r[1] for r in rows]
        ys = [r[2] for r in rows]
        (line,) = ax.plot(xs, ys, label=lang, linewidth=2 if lang == "all" else 1.2)
        if marks and lang in marks:
            ax.plot(*marks[lang], "o", color=line.get_color())
    ax.axvline(0.10, color="grey", linestyle=":", linewidth=1)
    ax.axhline(0.60, color="grey", linestyle=":", linewidth=1)
    ax.set_xlim(0, 0.5)
    ax.set_ylim(0, 1)
    ax.set_xlabel("ordinary messages given a type")
    ax.set_ylabel("typed messages given their type")
    ax.set_title(title)
    ax.legend(loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def best_types(probs: np.ndarray, labels: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Each row's most probable type (never `none`) and its probability."""
    types = np.asarray([i for i, lab in enumerate(labels) if lab != NONE])
    best = types[probs[:, types].argmax(axis=1)]
    return best, probs[np.arange(len(probs)), best]


_MIN_ORDINARY = 20  # ordinary messages needed to set a floor from them


def tune_policy(
    policy: Policy, scores: np.ndarray, items: Sequence[RealItem], labels: Sequence[str]
) -> Policy:
    """The policy with each language's type and high floors set from real labelled messages
    (`scores`: their decision scores): the lowest floors at which at most `policy.targets`
    of the ordinary ones get a type.

    The high floor is also at least the one all languages' ordinary messages give together:
    a 1 % tail of ~140 messages is one or two of them, so per language it swings with the
    sample (two-fold estimate on real_dev, high-confidence false alarms: 2.4 % → 1.9 %)."""
    best, score = best_types(scores, labels)
    judged = np.isin(np.asarray(labels)[best], JUDGEMENT_TYPES)
    margin = np.where(judged, policy.judgement_margin, 0.0)
    type_floor, high_floor = dict(policy.type_floor), dict(policy.high_floor)
    pooled = np.asarray([it.lang in LANGS and it.label == NONE for it in items])
    pooled_high = (
        choose_floor(score[pooled], policy.targets.ordinary_typed_high)
        if pooled.sum() >= _MIN_ORDINARY
        else 0.0
    )
    for lang in LANGS:
        ordinary = np.asarray([it.lang == lang and it.label == NONE for it in items])
        if ordinary.sum() < _MIN_ORDINARY:  # too few to set a floor: keep the file's
            continue
        floor = choose_floor(score[ordinary] - margin[ordinary], policy.targets.ordinary_typed)
        high = choose_floor(score[ordinary], policy.targets.ordinary_typed_high)
        type_floor[lang], high_floor[lang] = floor, max(high, pooled_high, floor)
    return policy.model_copy(update={"type_floor": type_floor, "high_floor": high_floor})


def decide_all(
    policy: Policy,
    probs: np.ndarray,
    scores: np.ndarray,
    items: Sequence[RealItem],
    labels: Sequence[str],
) -> tuple[list[str | None], list[str]]:
    """The type named (or None) and the decision-score level of each message."""
    decisions = [
        policy.decide(p, labels, it.lang, s) for p, s, it in zip(probs, scores, items, strict=True)
    ]
    return [d.label if d.outcome == "type" else None for d in decisions], [
        d.score_level for d in decisions
    ]


_SHRINK = 10  # messages' worth of all languages' share in each language's precision


def _drawn(right: int, named: int, toward: float) -> float:
    """right / named, drawn toward the share `toward` by _SHRINK messages' worth."""
    return (right + _SHRINK * toward) / (named + _SHRINK)


def named_precision(
    items: Sequence[RealItem], types: Sequence[str | None], levels: Sequence[str]
) -> dict[str, Any]:
    """Per language and level, how often a message named a type was named the right one:
    (right + _SHRINK × all languages' share) / (named + _SHRINK), since a language names
    only ~5-30 messages per level on real_dev and its own share swings with one message.
    Per type named, the same drawn toward its language and level's share (a level's figure
    pools types: Russian strong calls were prize_hunter 19/19 but want_it_now 3/5).
    `shares` and `type_shares` feed the policy; `counts` (named, right) are the evidence."""
    shares: dict[str, dict[str, float]] = {}
    type_shares: dict[str, dict[str, dict[str, float]]] = {}
    counts: dict[str, dict[str, dict[str, Any]]] = {}
    for level in ("high", "medium"):
        named = [i for i, t in enumerate(types) if t is not None and levels[i] == level]
        named = [i for i in named if items[i].lang in LANGS]
        if not named:
            continue
        pooled = sum(types[i] == items[i].label for i in named) / len(named)
        for lang in LANGS:
            mine = [i for i in named if items[i].lang == lang]
            if not mine:  # nothing of its own: no figure (the policy keeps the one it had)
                continue
            right = sum(types[i] == items[i].label for i in mine)
            share = _drawn(right, len(mine), pooled)
            shares.setdefault(lang, {})[level] = round(share, 3)
            per_type: dict[str, dict[str, int]] = {}
            for t in sorted({str(types[i]) for i in mine}):
                as_t = [i for i in mine if types[i] == t]
                right_t = sum(items[i].label == t for i in as_t)
                per_type[t] = {"named": len(as_t), "right": right_t}
                type_share = _drawn(right_t, len(as_t), share)
                type_shares.setdefault(lang, {}).setdefault(level, {})[t] = round(type_share, 3)
            counts.setdefault(lang, {})[level] = {
                "named": len(mine),
                "right": right,
                "types": per_type,
            }
    return {"shares": shares, "type_shares": type_shares, "counts": counts}


def real_evaluation(
    policy: Policy,
    probs: np.ndarray,
    scores: np.ndarray,
    items: Sequence[RealItem],
    labels: Sequence[str],
    untuned: Policy | None = None,
) -> dict[str, Any]:
    """Figures on real messages under `policy` as it is, a two-fold estimate of what
    floors tuned on one half of the messages give on the other (an honest figure for
    messages the floors never saw), and from that estimate how often a named type was right
    per language and level. The folds start from `untuned` (the policy before its floors
    were set on these messages; default `policy`): a language with too few ordinary
    messages in a fold keeps that policy's floors, which must not have seen the other half."""
    types, levels = decide_all(policy, probs, scores, items, labels)
    base = untuned or policy
    halves = np.asarray([zlib.crc32(it.id.encode()) % 2 for it in items])
    cv_types: list[str | None] = [None] * len(items)
    cv_levels = ["low"] * len(items)
    for k in (0, 1):
        fit = np.flatnonzero(halves != k).tolist()
        held = np.flatnonzero(halves == k).tolist()
        tuned = tune_policy(base, scores[fit], [items[i] for i in fit], labels)
        t, lv = decide_all(tuned, probs[held], scores[held], [items[i] for i in held], labels)
        for i, ti, li in zip(held, t, lv, strict=True):
            cv_types[i], cv_levels[i] = ti, li
    return {
        "figures": real_figures(items, types, levels),
        "two_fold_estimate": real_figures(items, cv_types, cv_levels),
        "precision": named_precision(items, cv_types, cv_levels),
    }
