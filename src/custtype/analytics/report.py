"""An analyst's report on a scored file: one self-contained HTML page with embedded plots.

Type distribution overall, by language, by channel and by month (when those columns
exist), a confidence histogram, the top evidence phrases per type and the errors. The file
is read in chunks (memory stays flat); plots are matplotlib PNGs embedded as base64, so
the page opens in any browser with no network access. It states the responsible-use notice.
"""

from __future__ import annotations

import base64
import io
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from custtype.batch.read import open_reader
from custtype.batch.score import (
    CONFIDENCE,
    ERROR,
    EVIDENCE,
    LANGUAGE,
    MODEL_VERSION,
    OUTCOME,
    TYPE,
    read_back,
)
from custtype.errors import InputError
from custtype.files import atomic_output, check_columns
from custtype.resources import resource
from custtype.taxonomy import NONE, RESPONSIBLE_USE, TYPES, type_name

if TYPE_CHECKING:
    import pandas as pd

DATE_COLUMNS = ("date", "created_at", "timestamp", "datetime", "time", "sent_at", "created")
ORDER: tuple[str, ...] = (*TYPES, NONE, "undetermined", "error")
BINS = 20
TOP_TERMS = 10
MAX_GROUPS = 12
NOTICE = (
    f"Internal use only. {RESPONSIBLE_USE} The figures describe patterns in messages for "
    "service planning; they are model estimates and contain errors."
)
_WHERE = re.compile(r"^(?:line|row) \d+(?: \(id .*?\))?: ")
_DIGITS = re.compile(r"(?<![\w-])\d+(?![\w-])")  # counts and line numbers, not "UTF-8"


@dataclass
class ReportData:
    """Counts gathered from a scored file, ready to plot."""

    source: str
    rows: int = 0
    labels: Counter[str] = field(default_factory=Counter)
    by_language: dict[str, Counter[str]] = field(default_factory=dict)
    by_channel: dict[str, Counter[str]] = field(default_factory=dict)
    by_month: dict[str, Counter[str]] = field(default_factory=dict)
    confidence: dict[str, list[int]] = field(default_factory=dict)
    terms: dict[str, Counter[str]] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    models: Counter[str] = field(default_factory=Counter)
    channel_column: str | None = None
    date_column: str | None = None


def _row_labels(frame: pd.DataFrame) -> pd.Series:
    """Each row's label: type key, none, undetermined or error."""
    outcome = frame[OUTCOME].astype(object)
    label = frame[TYPE].astype(object).where(outcome == "type", outcome)
    return label.where(outcome.notna(), "error")


def _group(data: dict[str, Counter[str]], keys: pd.Series, labels: pd.Series) -> None:
    for (key, label), n in Counter(zip(keys.tolist(), labels.tolist(), strict=True)).items():
        data.setdefault(str(key), Counter())[label] += n


def _months(values: pd.Series) -> pd.Series:
    """YYYY-MM of each date, '(no date)' when unreadable."""
    import pandas as pd

    text = values.astype(object).map(lambda v: None if v is None else str(v))
    when = pd.to_datetime(text, errors="coerce", utc=True, format="mixed")
    return when.dt.strftime("%Y-%m").astype(object).where(when.notna(), "(no date)")


def _phrases(cell: Any) -> list[str]:
    """The evidence phrases of a cell, lower-cased with spaces collapsed."""
    if not isinstance(cell, str) or not cell:
        return []
    try:
        found = json.loads(cell)
    except json.JSONDecodeError:
        return []
    return [" ".join(str(p).lower().split()) for p in found if str(p).strip()]


def add_chunk(data: ReportData, frame: pd.DataFrame) -> None:
    """Add one chunk of scored rows to the counts."""
    import numpy as np
    import pandas as pd

    frame = read_back(frame)
    labels = _row_labels(frame)
    data.rows += len(frame)
    data.labels.update(labels.tolist())
    lang = frame[LANGUAGE].astype(object).fillna("(none)")
    _group(data.by_language, lang, labels)
    if data.channel_column:
        ch = (
            frame[data.channel_column]
            .astype(object)
            .map(
                lambda v: (
                    "(missing)" if v is None or str(v).strip() == "" else str(v).strip().lower()
                )
            )
        )
        _group(data.by_channel, ch, labels)
    if data.date_column:
        _group(data.by_month, _months(frame[data.date_column]), labels)
    conf = pd.to_numeric(frame[CONFIDENCE], errors="coerce")
    for outcome in ("type", NONE, "undetermined"):
        values = conf[frame[OUTCOME] == outcome].dropna().to_numpy(dtype=float)
        counts, _ = np.histogram(values, bins=BINS, range=(0.0, 1.0))
        old = data.confidence.get(outcome, [0] * BINS)
        data.confidence[outcome] = [a + int(b) for a, b in zip(old, counts, strict=True)]
    if EVIDENCE in frame.columns:
        typed = frame[frame[OUTCOME] == "type"]
        for key, cell in zip(typed[TYPE].tolist(), typed[EVIDENCE].tolist(), strict=True):
            data.terms.setdefault(str(key), Counter()).update(_phrases(cell))
    for err in frame[ERROR].dropna().tolist():
        data.errors[_DIGITS.sub("N", _WHERE.sub("", str(err)))] += 1
    data.models.update(frame[MODEL_VERSION].dropna().astype(str).tolist())


def gather(
    source: str | Path,
    channel_column: str | None = None,
    date_column: str | None = None,
    chunk_rows: int = 20_000,
    delimiter: str | None = None,
    encoding: str | None = None,
) -> ReportData:
    """Read a scored file in chunks and count what the report shows.

    `channel_column` defaults to 'channel' and `date_column` to the first of DATE_COLUMNS,
    when such a column exists.
    """
    reader = open_reader(source, delimiter=delimiter, encoding=encoding)
    data = ReportData(str(source))
    for ch in reader.chunks(None, chunk_rows):
        frame = ch.frame
        if data.rows == 0:
            _choose_columns(data, reader.name, list(frame.columns), channel_column, date_column)
        add_chunk(data, frame)
    if data.rows == 0:
        raise InputError(f"{reader.name} has no rows to report on.")
    return data


def _choose_columns(
    data: ReportData, name: str, columns: list[str], channel: str | None, date: str | None
) -> None:
    """Check the file is scored; pick the channel and date columns."""
    missing = [c for c in (OUTCOME, TYPE, CONFIDENCE, LANGUAGE, ERROR) if c not in columns]
    if missing:
        raise InputError(
            f"{name} is not a scored file: it has no {', '.join(missing)} column. "
            "Score it first with `custtype score`."
        )
    check_columns(name, columns, [("--channel-column", channel), ("--date-column", date)])
    data.channel_column = channel or ("channel" if "channel" in columns else None)
    data.date_column = date or next((c for c in DATE_COLUMNS if c in columns), None)


# -- plots ---------------------------------------------------------------------------------
def _colors() -> dict[str, Any]:
    from matplotlib import colormaps

    tab = colormaps["tab10"]
    found: dict[str, Any] = {t: tab(i) for i, t in enumerate(TYPES)}
    found.update({NONE: "#9e9e9e", "undetermined": "#e0b000", "error": "#c62828"})
    return found


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=96, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _label(key: str) -> str:
    if key in TYPES:
        return type_name(key, "en")
    return {NONE: "No type (none)", "undetermined": "Undetermined", "error": "Error"}.get(key, key)


def plot_overall(labels: Counter[str]) -> str:
    """Horizontal bars: messages per label."""
    from matplotlib.figure import Figure

    keys = [k for k in ORDER if labels.get(k)]
    fig = Figure(figsize=(7, 0.4 * len(keys) + 1))
    ax = fig.subplots()
    colors = _colors()
    ax.barh([_label(k) for k in keys], [labels[k] for k in keys], color=[colors[k] for k in keys])
    ax.invert_yaxis()
    ax.set_xlabel("messages")
    return _png(fig)


def plot_stacked(groups: dict[str, Counter[str]], title: str, sort_by_size: bool = True) -> str:
    """100 % stacked bars: the label mix within each group (biggest groups first)."""
    from matplotlib.figure import Figure

    names = _top_groups(groups) if sort_by_size else sorted(groups)
    fig = Figure(figsize=(8, 0.35 * len(names) + 1.6))
    ax = fig.subplots()
    colors = _colors()
    left = [0.0] * len(names)
    for key in ORDER:
        share = [groups[g].get(key, 0) / max(1, sum(groups[g].values())) for g in names]
        if any(share):
            ax.barh(names, share, left=left, color=colors[key], label=_label(key))
            left = [a + b for a, b in zip(left, share, strict=True)]
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of messages")
    ax.set_title(title)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    return _png(fig)


def plot_confidence(hist: dict[str, list[int]]) -> str:
    """Stacked histogram of confidence by outcome."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 3.2))
    ax = fig.subplots()
    colors = {"type": "#1f77b4", NONE: "#9e9e9e", "undetermined": "#e0b000"}
    edges = [i / BINS for i in range(BINS)]
    bottom = [0] * BINS
    for outcome in ("type", NONE, "undetermined"):
        counts = hist.get(outcome, [0] * BINS)
        ax.bar(
            edges,
            counts,
            width=1 / BINS,
            align="edge",
            bottom=bottom,
            color=colors[outcome],
            edgecolor="white",
            label=outcome,
        )
        bottom = [a + b for a, b in zip(bottom, counts, strict=True)]
    ax.set_xlabel("confidence")
    ax.set_ylabel("messages")
    ax.legend(fontsize=8)
    return _png(fig)


def _top_groups(groups: dict[str, Counter[str]]) -> list[str]:
    ranked = sorted(groups, key=lambda g: -sum(groups[g].values()))
    return ranked[:MAX_GROUPS]


# -- HTML ----------------------------------------------------------------------------------
def _pct(n: int, total: int) -> str:
    return f"{100 * n / total:.1f} %" if total else "–"


def _breakdown(
    groups: dict[str, Counter[str]], title: str, head: str, by_time: bool
) -> dict[str, Any] | None:
    """One breakdown section: its stacked-bar plot and table rows."""
    if not groups:
        return None
    names = sorted(groups)[-MAX_GROUPS * 3 :] if by_time else _top_groups(groups)
    keys = [k for k in ORDER if any(groups[g].get(k) for g in names)]
    rows = []
    for g in names:
        total = sum(groups[g].values())
        rows.append(
            {"name": g, "total": total, "cells": [_pct(groups[g].get(k, 0), total) for k in keys]}
        )
    return {
        "title": title,
        "head": head,
        "png": plot_stacked({g: groups[g] for g in names}, title, sort_by_size=not by_time),
        "columns": [_label(k) for k in keys],
        "rows": rows,
        "more": max(0, len(groups) - len(names)),
    }


def render_html(data: ReportData, title: str = "Customer-type report") -> str:
    """The whole report as one self-contained HTML page (resources/templates/report.html.j2,
    every value HTML-escaped by Jinja2)."""
    from jinja2 import Environment, select_autoescape

    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    template = env.from_string(resource("templates/report.html.j2").read_text("utf-8"))
    breakdowns = [
        _breakdown(data.by_language, "By language", "language", by_time=False),
        _breakdown(data.by_channel, f"By channel ({data.channel_column})", "channel", False),
        _breakdown(data.by_month, f"By month ({data.date_column})", "month", by_time=True),
    ]
    return template.render(
        title=title,
        source=Path(data.source).name,
        rows=data.rows,
        models=", ".join(sorted(data.models)) or "–",
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        notice=NOTICE,
        overall_png=plot_overall(data.labels),
        summary=[
            {
                "name": _label(k),
                "key": k,
                "n": data.labels[k],
                "share": _pct(data.labels[k], data.rows),
            }
            for k in ORDER
            if data.labels.get(k)
        ],
        breakdowns=[b for b in breakdowns if b is not None],
        confidence_png=plot_confidence(data.confidence),
        terms=[
            {"name": _label(key), "top": data.terms[key].most_common(TOP_TERMS)}
            for key in TYPES
            if data.terms.get(key)
        ],
        errors=data.errors.most_common(15),
    )


def build_report(
    source: str | Path,
    target: str | Path,
    channel_column: str | None = None,
    date_column: str | None = None,
    title: str = "Customer-type report",
    delimiter: str | None = None,
    encoding: str | None = None,
) -> ReportData:
    """Read a scored file and write the HTML report to `target` (atomically).

    Example: ``build_report("scored.parquet", "report.html")``
    """
    data = gather(source, channel_column, date_column, delimiter=delimiter, encoding=encoding)
    page = render_html(data, title)
    with atomic_output(target) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return data
