"""Batch scoring: the custtype_* columns for a DataFrame or for every row of a file.

`score_frame(df)` scores a DataFrame in memory. `score_file(src, dst)` streams a CSV, TSV,
JSON Lines or Parquet file in chunks on one or more processes (or on Dask) and writes one
output row per input row, in input order, atomically and resumably. Rows that cannot be
scored keep their place and say why in `custtype_error`.

The type is an internal aid for agents: never shown to the customer, never the sole
trigger of an adverse action. Every output row says so in `custtype_internal_only`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from .batch_read import PROBLEM, WHERE
from .errors import InputError
from .model import check_text
from .recommend import CHANNELS, MessageContext, Recommendation
from .taxonomy import LANGS

if TYPE_CHECKING:
    import pandas as pd

    from .batch_run import ScoreSummary
    from .model import Classifier, Prediction

TYPE = "custtype_type"
OUTCOME = "custtype_outcome"
CONFIDENCE = "custtype_confidence"
LEVEL = "custtype_confidence_level"
LANGUAGE = "custtype_language"
STRATEGY = "custtype_strategy"
EVIDENCE = "custtype_evidence"
REASON = "custtype_reason"
MODEL_VERSION = "custtype_model_version"
ERROR = "custtype_error"
INTERNAL = "custtype_internal_only"
OUTPUT_COLUMNS: tuple[str, ...] = (
    TYPE,
    OUTCOME,
    CONFIDENCE,
    LEVEL,
    LANGUAGE,
    STRATEGY,
    EVIDENCE,
    REASON,
    MODEL_VERSION,
    ERROR,
    INTERNAL,
)
StrategyFormat = Literal["summary", "json"]


@dataclass(frozen=True)
class ScoreOptions:
    """What to score and how to present it (the same for every engine)."""

    text_column: str = "text"
    id_column: str | None = None
    lang_column: str | None = None
    channel_column: str | None = None
    lang: str | None = None
    agent_lang: str | None = None
    evidence: bool = True
    strategy: StrategyFormat = "summary"

    def check(self) -> ScoreOptions:
        """Refuse unsupported languages or strategy formats before any work starts."""
        for name, code in (("lang", self.lang), ("agent_lang", self.agent_lang)):
            if code is not None and code not in LANGS:
                raise InputError(f"{name} must be one of {', '.join(LANGS)}, got {code!r}.")
        if self.strategy not in ("summary", "json"):
            raise InputError(f"strategy must be 'summary' or 'json', got {self.strategy!r}.")
        return self

    def fingerprint(self) -> dict[str, Any]:
        """The options that change output values (a resumed run must use the same)."""
        return {k: v for k, v in self.__dict__.items() if k != "id_column"}


@dataclass
class Columns:
    """The inputs of one chunk, as plain lists (cheap to send to a worker process)."""

    texts: list[Any]
    wheres: list[str]
    langs: list[Any] | None = None
    channels: list[Any] | None = None
    ids: list[Any] | None = None
    problems: list[str | None] = field(default_factory=list)


@lru_cache(maxsize=4)
def cached_classifier(model: str | None = None, playbook: str | None = None) -> Classifier:
    """One classifier per process and model (what each worker loads once)."""
    from .model import Classifier, freeze_memory

    clf = Classifier.load(model, playbook=playbook)
    freeze_memory()
    return clf


def _missing(value: Any) -> bool:
    """Whether a cell holds no value (None, NaN, pandas NA/NaT)."""
    if value is None:
        return True
    try:
        import pandas as pd

        return bool(
            value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value))
        )
    except ImportError:  # pragma: no cover
        return False


def _text_problem(value: Any, column: str) -> str | None:
    """Why a text cell cannot be scored, or None if it can."""
    if _missing(value):
        return f"column {column!r} is empty (no value)"
    try:
        check_text(value, f"column {column!r}")
    except InputError as exc:
        return str(exc).rstrip(".")
    return None


def _row_lang(value: Any, default: str | None, column: str | None) -> tuple[str | None, str | None]:
    """(language to force or None to detect, problem)."""
    if _missing(value) or (isinstance(value, str) and not value.strip()):
        return default, None
    code = str(value).strip().lower()
    if code in LANGS:
        return code, None
    return None, (
        f"column {column!r} has {value!r}; expected one of {', '.join(LANGS)}, "
        "or an empty value to detect the language"
    )


def _context(value: Any) -> MessageContext | None:
    """The message context for a channel cell (unknown channels are ignored)."""
    code = None if _missing(value) else str(value).strip().lower()
    return MessageContext(channel=code) if code in CHANNELS else None


def _minutes(m: int) -> str:
    return f"{m // 60} h" if m >= 60 and m % 60 == 0 else f"{m} min"


def strategy_summary(rec: Recommendation) -> str:
    """One line for a table cell: name, priority, time, channel, escalation, first action."""
    parts = [
        rec.type_name,
        f"priority {rec.priority}",
        f"answer within {_minutes(rec.target_response_minutes)}",
        f"reply {rec.reply_channel}",
    ]
    if rec.escalate:
        parts.append("ESCALATE")
    if rec.rules_applied:
        parts.append("rules: " + ", ".join(rec.rules_applied))
    actions = [*rec.added_actions, *rec.strategy.get("actions", [])]
    if actions:
        parts.append(str(actions[0]))
    return " | ".join(parts)


def _prediction_cells(p: Prediction, opts: ScoreOptions) -> dict[str, Any]:
    """The custtype_* cells of one prediction."""
    strategy = (
        strategy_summary(p.strategy)
        if opts.strategy == "summary"
        else json.dumps(p.strategy.model_dump(), ensure_ascii=False)
    )
    evidence = (
        json.dumps([e.text for e in p.evidence], ensure_ascii=False) if opts.evidence else None
    )
    return {
        TYPE: p.type,
        OUTCOME: p.outcome,
        CONFIDENCE: round(p.confidence, 4),
        LEVEL: p.confidence_level,
        LANGUAGE: p.language,
        STRATEGY: strategy,
        EVIDENCE: evidence,
        REASON: p.reason,
    }


def _predict_safe(
    clf: Classifier,
    texts: list[str],
    langs: list[str | None],
    ctxs: list[MessageContext | None],
    opts: ScoreOptions,
) -> list[Prediction | str]:
    """Predict a batch; if it fails, predict row by row so one bad row cannot sink the rest."""
    kwargs: dict[str, Any] = {"agent_lang": opts.agent_lang, "explain_evidence": opts.evidence}
    try:
        return list(clf.predict(texts, lang=langs, contexts=ctxs, **kwargs))
    except Exception:  # isolate the failing row below
        out: list[Prediction | str] = []
        for t, lang, ctx in zip(texts, langs, ctxs, strict=True):
            try:
                out.append(clf.predict([t], lang=[lang], contexts=[ctx], **kwargs)[0])
            except Exception as exc:
                out.append(f"could not be scored ({type(exc).__name__}: {exc})")
        return out


def score_columns(cols: Columns, opts: ScoreOptions, clf: Classifier) -> dict[str, list[Any]]:
    """The custtype_* column values for one chunk of rows (the core every engine runs)."""
    n = len(cols.texts)
    out: dict[str, list[Any]] = {c: [None] * n for c in OUTPUT_COLUMNS}
    out[MODEL_VERSION] = [clf.version] * n
    out[INTERNAL] = [True] * n
    todo: list[int] = []
    langs: list[str | None] = []
    for i in range(n):
        problem = cols.problems[i] if cols.problems else None
        problem = problem or _text_problem(cols.texts[i], opts.text_column)
        lang, lang_problem = _row_lang(
            cols.langs[i] if cols.langs else None, opts.lang, opts.lang_column
        )
        problem = problem or lang_problem
        if problem:
            ident = f" (id {cols.ids[i]!r})" if cols.ids and not _missing(cols.ids[i]) else ""
            out[ERROR][i] = f"{cols.wheres[i]}{ident}: {problem}"
            continue
        todo.append(i)
        langs.append(lang)
    ctxs = [_context(cols.channels[i]) if cols.channels else None for i in todo]
    results = _predict_safe(clf, [cols.texts[i] for i in todo], langs, ctxs, opts) if todo else []
    for i, p in zip(todo, results, strict=True):
        if isinstance(p, str):
            out[ERROR][i] = f"{cols.wheres[i]}: {p}"
            continue
        for key, value in _prediction_cells(p, opts).items():
            out[key][i] = value
    return out


def columns_of(frame: pd.DataFrame, opts: ScoreOptions) -> Columns:
    """The lists `score_columns` needs from a chunk frame (WHERE/PROBLEM if present)."""

    def col(name: str | None) -> list[Any] | None:
        return frame[name].tolist() if name is not None and name in frame.columns else None

    texts = col(opts.text_column) or [None] * len(frame)
    wheres = col(WHERE) or [f"row {i}" for i in frame.index]
    return Columns(
        texts=texts,
        wheres=wheres,
        langs=col(opts.lang_column),
        channels=col(opts.channel_column),
        ids=col(opts.id_column),
        problems=col(PROBLEM) or [],
    )


def attach(frame: pd.DataFrame, scored: dict[str, list[Any]]) -> pd.DataFrame:
    """`frame` without internal or stale custtype_* columns, plus the new ones."""
    import pandas as pd

    drop = [c for c in frame.columns if c in (WHERE, PROBLEM, *OUTPUT_COLUMNS)]
    base = frame.drop(columns=drop)
    new = pd.DataFrame({c: scored[c] for c in OUTPUT_COLUMNS}, index=frame.index, dtype=object)
    return pd.concat([base, new], axis=1)


def read_back(frame: pd.DataFrame) -> pd.DataFrame:
    """A scored frame as read from a file: empty custtype_* cells (CSV) become missing."""
    cols = [c for c in OUTPUT_COLUMNS if c in frame.columns]
    if not cols:
        return frame
    fixed = frame[cols].astype(object)
    return frame.assign(**{c: fixed[c].where(fixed[c] != "", None) for c in cols})


def score_chunk(frame: pd.DataFrame, opts: ScoreOptions, clf: Classifier) -> pd.DataFrame:
    """Score a chunk frame from a reader (or any frame): input columns plus custtype_*."""
    return attach(frame, score_columns(columns_of(frame, opts), opts, clf))


def score_frame(
    df: pd.DataFrame,
    classifier: Classifier | None = None,
    text_column: str = "text",
    lang: str | None = None,
    *,
    lang_column: str | None = None,
    channel_column: str | None = None,
    id_column: str | None = None,
    evidence: bool = True,
    strategy: StrategyFormat = "summary",
    agent_lang: str | None = None,
) -> pd.DataFrame:
    """Score a DataFrame's text column; returns a copy with the custtype_* columns added.

    Rows that cannot be scored (empty, non-text, over 20,000 characters) keep their place
    and say why in `custtype_error`.

    Example: ``score_frame(pd.DataFrame({"text": ["Где мой заказ?!"]}))["custtype_type"]``
    """
    for name, column in (
        ("text_column", text_column),
        ("lang_column", lang_column),
        ("channel_column", channel_column),
        ("id_column", id_column),
    ):
        if column is not None and column not in df.columns:
            raise InputError(
                f"The DataFrame has no column {column!r} ({name}); its columns are: "
                f"{', '.join(map(str, df.columns))}."
            )
    opts = ScoreOptions(
        text_column, id_column, lang_column, channel_column, lang, agent_lang, evidence, strategy
    ).check()
    clf = classifier if classifier is not None else cached_classifier()
    return score_chunk(df, opts, clf)


def score_file(
    source: str | Path,
    target: str | Path,
    options: ScoreOptions | None = None,
    **run: Any,
) -> ScoreSummary:
    """Score every row of `source` into `target` (CSV, TSV, JSONL, Parquet; '-' is stdio).

    Keyword arguments are `RunOptions` fields: jobs, engine, chunk_rows, resume, ...

    Example: ``score_file("messages.csv", "scored.parquet", jobs=2)``
    """
    from .batch_run import RunOptions, run_scoring

    return run_scoring(source, target, (options or ScoreOptions()).check(), RunOptions(**run))


__all__ = [
    "OUTPUT_COLUMNS",
    "Columns",
    "ScoreOptions",
    "read_back",
    "score_chunk",
    "score_columns",
    "score_file",
    "score_frame",
    "strategy_summary",
]
