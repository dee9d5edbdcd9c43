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
from typing import TYPE_CHECKING, Any, Literal

from custtype.batch.read import PROBLEM, WHERE
from custtype.errors import InputError
from custtype.files import check_columns
from custtype.model.classifier import check_text
from custtype.strategy.context import MessageContext
from custtype.strategy.rules import strategy_summary
from custtype.taxonomy import CHANNELS, LANGS, Lang, channel_of
from custtype.validation import Options

if TYPE_CHECKING:
    import pandas as pd

    from custtype.advice import Advice, Assistant

TYPE = "custtype_type"
OUTCOME = "custtype_outcome"
CONFIDENCE = "custtype_confidence"
LEVEL = "custtype_confidence_level"
LANGUAGE = "custtype_language"
STRATEGY = "custtype_strategy"
ACTION = "custtype_action"
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
    ACTION,
    EVIDENCE,
    REASON,
    MODEL_VERSION,
    ERROR,
    INTERNAL,
)
StrategyFormat = Literal["summary", "json"]


class ScoreOptions(Options):
    """What to score and how to present it (the same for every engine)."""

    text_column: str = "text"
    id_column: str | None = None
    lang_column: str | None = None
    channel_column: str | None = None
    lang: Lang | None = None
    agent_lang: Lang | None = None
    evidence: bool = True
    strategy: StrategyFormat = "summary"

    def fingerprint(self) -> dict[str, Any]:
        """The options that change output values (a resumed run must use the same)."""
        return self.model_dump(exclude={"id_column"})


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
def cached_assistant(model: str | None = None, playbook: str | None = None) -> Assistant:
    """One assistant per process, model and playbook (what each worker loads once)."""
    from custtype.advice import Assistant
    from custtype.model.memory import freeze_memory

    assistant = Assistant.load(model, playbook=playbook)
    freeze_memory()
    return assistant


def blank_cell(value: Any) -> bool:
    """Whether a cell holds no value or only spaces."""
    return _missing(value) or (isinstance(value, str) and not value.strip())


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
    if blank_cell(value):
        return default, None
    code = str(value).strip().lower()
    if code in LANGS:
        return code, None
    return None, (
        f"column {column!r} has {value!r}; expected one of {', '.join(LANGS)}, "
        "or an empty value to detect the language"
    )


def _row_channel(value: Any, column: str | None) -> tuple[MessageContext | None, str | None]:
    """(the message context of a channel cell, problem): a channel's key or a name exports
    use for it (resources/taxonomy.yaml); anything else is a problem named in the row, as
    the CLI and the API refuse it, not silently left out of the rules."""
    if blank_cell(value):
        return None, None
    code = channel_of(str(value))
    if code is not None:
        return MessageContext(channel=code), None  # type: ignore[arg-type, unused-ignore]
    return None, (
        f"column {column!r} has {value!r}; expected one of {', '.join(CHANNELS)} (or a "
        "name exports use for one, e.g. telefon, чат, e-mail), or an empty value"
    )


def _prediction_cells(a: Advice, opts: ScoreOptions) -> dict[str, Any]:
    """The custtype_* cells of one message's advice."""
    strategy = (
        strategy_summary(a.strategy)
        if opts.strategy == "summary"
        else json.dumps(a.strategy.model_dump(), ensure_ascii=False)
    )
    evidence = (
        json.dumps([e.text for e in a.evidence], ensure_ascii=False) if opts.evidence else None
    )
    return {
        TYPE: a.type,
        OUTCOME: a.outcome,
        CONFIDENCE: round(a.confidence, 4),
        LEVEL: a.confidence_level,
        LANGUAGE: a.language,
        STRATEGY: strategy,
        ACTION: a.action.level,
        EVIDENCE: evidence,
        REASON: a.prediction.reason,
    }


def score_columns(cols: Columns, opts: ScoreOptions, assistant: Assistant) -> dict[str, list[Any]]:
    """The custtype_* column values for one chunk of rows (the core every engine runs)."""
    n = len(cols.texts)
    out: dict[str, list[Any]] = {c: [None] * n for c in OUTPUT_COLUMNS}
    out[MODEL_VERSION] = [assistant.version] * n
    out[INTERNAL] = [True] * n
    todo: list[int] = []
    langs: list[str | None] = []
    ctxs: list[MessageContext | None] = []
    for i in range(n):
        problem = cols.problems[i] if cols.problems else None
        problem = problem or _text_problem(cols.texts[i], opts.text_column)
        lang, lang_problem = _row_lang(
            cols.langs[i] if cols.langs else None, opts.lang, opts.lang_column
        )
        ctx, channel_problem = _row_channel(
            cols.channels[i] if cols.channels else None, opts.channel_column
        )
        problem = problem or lang_problem or channel_problem
        if problem:
            ident = f" (id {cols.ids[i]!r})" if cols.ids and not _missing(cols.ids[i]) else ""
            out[ERROR][i] = f"{cols.wheres[i]}{ident}: {problem}"
            continue
        todo.append(i)
        langs.append(lang)
        ctxs.append(ctx)
    results = (
        assistant.advise_each(
            [cols.texts[i] for i in todo], langs, ctxs, opts.agent_lang, opts.evidence
        )
        if todo
        else []
    )
    for i, p in zip(todo, results, strict=True):
        if isinstance(p, Exception):
            out[ERROR][i] = f"{cols.wheres[i]}: could not be scored ({type(p).__name__}: {p})"
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


def score_chunk(frame: pd.DataFrame, opts: ScoreOptions, assistant: Assistant) -> pd.DataFrame:
    """Score a chunk frame from a reader (or any frame): input columns plus custtype_*."""
    return attach(frame, score_columns(columns_of(frame, opts), opts, assistant))


def score_frame(
    df: pd.DataFrame,
    assistant: Assistant | None = None,
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
    check_columns(
        "The DataFrame",
        map(str, df.columns),
        [
            ("text_column", text_column),
            ("lang_column", lang_column),
            ("channel_column", channel_column),
            ("id_column", id_column),
        ],
    )
    opts = ScoreOptions(
        text_column=text_column,
        id_column=id_column,
        lang_column=lang_column,
        channel_column=channel_column,
        lang=lang,
        agent_lang=agent_lang,
        evidence=evidence,
        strategy=strategy,
    )
    return score_chunk(df, opts, assistant if assistant is not None else cached_assistant())


__all__ = [
    "OUTPUT_COLUMNS",
    "Columns",
    "ScoreOptions",
    "read_back",
    "score_chunk",
    "score_columns",
    "score_frame",
    "strategy_summary",
]
