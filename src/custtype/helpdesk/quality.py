"""The quality dashboard from the store: how agents answer each type and language, their
verdicts week by week, how the model's confidence compares with them, and the type mix week
by week."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

from custtype.files import atomic_output
from custtype.helpdesk.feedback import TypeSummary, summarise
from custtype.resources import resource
from custtype.store.records import Store
from custtype.taxonomy import RESPONSIBLE_USE

BINS = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0001)


@dataclass(frozen=True)
class CalibrationBin:
    """Predictions an agent answered, by the model's confidence: how often they agreed."""

    low: float
    high: float
    answered: int
    confirmed: int

    @property
    def agreement(self) -> float | None:
        return self.confirmed / self.answered if self.answered else None


@dataclass(frozen=True)
class Quality:
    """Everything the dashboard shows, computed from the store's rows."""

    types: list[TypeSummary]
    by_language: list[TypeSummary]
    calibration: list[CalibrationBin]
    weeks: list[tuple[str, Counter[str]]]
    verdict_weeks: list[tuple[str, Counter[str]]]
    predictions: int
    answered: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "predictions": self.predictions,
            "answered": self.answered,
            "types": [t.to_dict() for t in self.types],
            "by_language": [t.to_dict() for t in self.by_language],
            "calibration": [
                {
                    "from": b.low,
                    "to": min(b.high, 1.0),
                    "answered": b.answered,
                    "confirmed": b.confirmed,
                }
                for b in self.calibration
            ],
            "weeks": [{"week": w, "mix": dict(c)} for w, c in self.weeks],
            "verdict_weeks": [
                {
                    "week": w,
                    "confirmed": c["confirm"],
                    "corrected": c["correct"],
                    "unsure": c["unsure"],
                }
                for w, c in self.verdict_weeks
            ],
        }


def _week(at: datetime) -> str:
    year, week, _ = at.isocalendar()
    return f"{year}-W{week:02d}"


def quality(rows: list[dict[str, Any]]) -> Quality:
    """The dashboard's figures from `Store.latest_verdicts()` rows."""
    answered = [r for r in rows if r["verdict"] in ("confirm", "correct")]
    bins = []
    for low, high in pairwise(BINS):
        inside = [r for r in answered if low <= r["confidence"] < high]
        bins.append(
            CalibrationBin(low, high, len(inside), sum(r["verdict"] == "confirm" for r in inside))
        )
    weeks: dict[str, Counter[str]] = {}
    for r in rows:
        weeks.setdefault(_week(r["created_at"]), Counter())[r["predicted"]] += 1
    verdict_weeks: dict[str, Counter[str]] = {}
    for r in rows:
        if r["verdict"] is not None:
            verdict_weeks.setdefault(_week(r["verdict_at"]), Counter())[r["verdict"]] += 1
    return Quality(
        types=summarise(rows),
        by_language=summarise(rows, by_language=True),
        calibration=bins,
        weeks=sorted(weeks.items()),
        verdict_weeks=sorted(verdict_weeks.items()),
        predictions=len(rows),
        answered=sum(1 for r in rows if r["verdict"] is not None),
    )


def render(q: Quality, where: str, generated: str) -> str:
    """The dashboard as one self-contained HTML page (templates/feedback.html.j2)."""
    from jinja2 import Environment, select_autoescape

    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    template = env.from_string(resource("templates/feedback.html.j2").read_text("utf-8"))
    labels = sorted({k for _, c in q.weeks for k in c})
    return template.render(
        q=q, where=where, generated=generated, notice=RESPONSIBLE_USE, week_labels=labels
    )


def write_report(store: Store, output: Path, generated: str) -> Quality:
    """Compute the dashboard from the store and write it to `output` (atomically)."""
    q = quality(store.latest_verdicts())
    with atomic_output(output) as tmp:
        tmp.write_text(render(q, store.where, generated), "utf-8")
    return q
