"""Customer profiles: the type a customer shows across their messages, and how stable it is.

One message is weak evidence; a history is better. Each scored message adds its confidence
to its label (a type or `none`); with a time column, a message `h` days older than the
customer's latest one weighs half as much (h = the half-life, 90 days by default). The
dominant type needs support from at least `min_support` messages, a share of at least
`min_share` of the customer's scored weight, and a stability (its share of the weight of
all typed messages) of at least 0.5; otherwise the profile is `none` (mostly routine
messages) or stays `undetermined`.

The profile is an internal aid for agents: never shown to the customer, never the sole
trigger of an adverse action.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field

from custtype.batch.score import (
    CONFIDENCE,
    LANGUAGE,
    OUTCOME,
    TYPE,
    ScoreOptions,
    blank_cell,
    read_back,
    score_frame,
)
from custtype.errors import InputError
from custtype.files import atomic_output, check_columns
from custtype.strategy.context import MessageContext
from custtype.strategy.playbook import Playbook, load_playbook
from custtype.strategy.rules import recommend, strategy_summary
from custtype.taxonomy import CHANNELS, LABELS, LANGS, NONE, TYPES, Lang
from custtype.validation import Options

if TYPE_CHECKING:
    import pandas as pd

    from custtype.advice import Assistant
    from custtype.batch.run import RunOptions

HALF_LIFE_DAYS = 90.0
MIN_SUPPORT = 2
MIN_SHARE = 0.3
MIN_STABILITY = 0.5
_SCORED = (TYPE, OUTCOME, CONFIDENCE, LANGUAGE)


class ProfileOptions(Options):
    """How to build profiles: the columns, the recency half-life and the evidence bars."""

    customer_column: str
    time_column: str | None = None
    channel_column: str | None = None
    half_life_days: float = Field(HALF_LIFE_DAYS, gt=0)
    min_support: int = Field(MIN_SUPPORT, ge=1)
    min_share: float = Field(MIN_SHARE, ge=0, le=1)
    agent_lang: Lang | None = None


def is_scored(df: pd.DataFrame) -> bool:
    """Whether a frame already has the custtype_* columns a profile needs."""
    return all(c in df.columns for c in _SCORED)


def _times(df: pd.DataFrame, opts: ProfileOptions) -> pd.Series:
    """Message times (UTC; missing when absent or unreadable), or all missing."""
    import pandas as pd

    if opts.time_column is None:
        return pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns, UTC]")
    raw = df[opts.time_column].astype(object).map(lambda v: None if v is None else str(v))
    return pd.to_datetime(raw, errors="coerce", utc=True, format="mixed")


def _weights(df: pd.DataFrame, opts: ProfileOptions, when: pd.Series) -> pd.Series:
    """Recency weight per message (`when`: its time, from `_times`): 0.5 ** (days before the
    customer's latest message / h)."""
    import pandas as pd

    if opts.time_column is None:
        return pd.Series(1.0, index=df.index)
    latest = when.groupby(df[opts.customer_column]).transform("max")
    age_days = (latest - when).dt.total_seconds() / 86_400.0
    weight = 0.5 ** (age_days.astype(float) / opts.half_life_days)
    # a message without a readable time counts like the customer's oldest dated message
    oldest = weight.groupby(df[opts.customer_column]).transform("min")
    return weight.fillna(oldest).fillna(1.0)


def _labels(df: pd.DataFrame) -> pd.Series:
    """A message's label: its type, 'none', or missing (undetermined or not scored)."""
    outcome = df[OUTCOME].astype(object)
    label = df[TYPE].astype(object).where(outcome == "type")
    return label.where(outcome != NONE, NONE)


def _strategy(book: Playbook, type_key: str | None, lang: str, channel: str | None) -> str:
    """The type's standing strategy (no per-message context: a profile spans many matters)."""
    ctx = MessageContext(channel=channel)  # type: ignore[arg-type, unused-ignore]
    return strategy_summary(recommend(type_key, lang, ctx, book))


def _mode(values: pd.Series, allowed: tuple[str, ...]) -> str | None:
    kept = values[values.isin(allowed)]
    return str(kept.mode().iloc[0]) if len(kept) else None


def _level(stability: float) -> str:
    return "high" if stability >= 0.8 else "medium" if stability >= 0.6 else "low"


def _decide(row: dict[Any, Any], opts: ProfileOptions) -> dict[str, Any]:
    """Outcome, type, support, share, stability and reason for one customer."""
    mass = {lab: float(row[f"mass_{lab}"]) for lab in LABELS}
    support = {lab: int(row[f"support_{lab}"]) for lab in LABELS}
    total, typed = sum(mass.values()), sum(mass[t] for t in TYPES)
    result: dict[str, Any] = {
        "profile_outcome": "undetermined",
        "profile_type": None,
        "support": 0,
        "share": None,
        "stability": None,
        "stability_level": None,
        "reason": None,
    }
    scored = int(row["scored"])
    if scored < opts.min_support or total <= 0:
        result["reason"] = f"{scored} scored message(s); a profile needs {opts.min_support}"
        return result
    best = max(TYPES, key=lambda t: (mass[t], support[t]))
    share = mass[best] / total
    stability = mass[best] / typed if typed > 0 else 0.0
    if support[best] >= opts.min_support and share >= opts.min_share:
        if stability > MIN_STABILITY:
            result.update(
                profile_outcome="type",
                profile_type=best,
                support=support[best],
                share=round(share, 4),
                stability=round(stability, 4),
                stability_level=_level(stability),
            )
        else:
            result["reason"] = f"mixed types (the strongest, {best}, has {stability:.0%})"
    elif mass[NONE] / total >= 0.5:
        result.update(profile_outcome=NONE, support=support[NONE])
    else:
        result["reason"] = "no type is shown by enough messages"
    return result


def profile_frame(
    df: pd.DataFrame,
    customer_column: str,
    time_column: str | None = None,
    *,
    assistant: Assistant | None = None,
    text_column: str = "text",
    lang_column: str | None = None,
    channel_column: str | None = None,
    half_life_days: float = HALF_LIFE_DAYS,
    min_support: int = MIN_SUPPORT,
    min_share: float = MIN_SHARE,
    agent_lang: str | None = None,
) -> pd.DataFrame:
    """One row per customer: type distribution, dominant type, support, stability, strategy.

    `df` is scored first unless it already has the custtype_* columns.

    Example: ``profile_frame(messages, "customer_id", "sent_at")[["customer_id", "profile_type"]]``
    """
    opts = ProfileOptions(
        customer_column=customer_column,
        time_column=time_column,
        channel_column=channel_column,
        half_life_days=half_life_days,
        min_support=min_support,
        min_share=min_share,
        agent_lang=agent_lang,
    )
    for column in (customer_column, time_column, channel_column):
        if column is not None and column not in df.columns:
            raise InputError(
                f"No column {column!r}; the columns are: {', '.join(map(str, df.columns))}."
            )
    if not is_scored(df):
        df = score_frame(df, assistant, text_column, lang_column=lang_column, evidence=False)
    book = assistant.playbook if assistant is not None else load_playbook()
    return _profiles(read_back(df), opts, book)


def _profiles(df: pd.DataFrame, opts: ProfileOptions, book: Playbook) -> pd.DataFrame:
    """Label weights and supports per customer, then the decisions."""
    import pandas as pd

    key = df[opts.customer_column].astype(object)
    blank = key.map(blank_cell).astype(bool)
    when = _times(df, opts)
    frame = pd.DataFrame(
        {
            "customer": key.where(~blank),  # a row without a customer id belongs to no one
            "label": _labels(df),
            "confidence": pd.to_numeric(df[CONFIDENCE], errors="coerce").fillna(0.0),
            "weight": _weights(df, opts, when),
            "outcome": df[OUTCOME].astype(object),
            "when": when,
        }
    ).dropna(subset=["customer"])
    frame["mass"] = frame["confidence"] * frame["weight"]
    grouped = frame.groupby("customer", sort=False)
    out = pd.DataFrame(
        {
            "messages": grouped.size(),
            "scored": grouped["label"].count(),
            "undetermined": grouped["outcome"].agg(lambda s: int((s == "undetermined").sum())),
            "errors": grouped["outcome"].agg(lambda s: int(s.isna().sum())),
        }
    )
    mass = frame.pivot_table(index="customer", columns="label", values="mass", aggfunc="sum")
    support = frame.pivot_table(index="customer", columns="label", values="mass", aggfunc="count")
    for lab in LABELS:
        out[f"mass_{lab}"] = mass[lab] if lab in mass.columns else 0.0
        out[f"support_{lab}"] = support[lab] if lab in support.columns else 0
    out = out.fillna(0.0)
    result = _finish(out, df, frame, opts, book)
    result.attrs["rows_without_customer"] = int(blank.sum())  # said by `custtype profile`
    unreadable = 0
    if opts.time_column:  # a time was written but could not be read
        written = ~df[opts.time_column].map(blank_cell).astype(bool)
        unreadable = int((written & when.isna() & ~blank).sum())
    result.attrs["unreadable_times"] = unreadable
    return result


def _per_customer(
    df: pd.DataFrame, column: str | None, key: str, allowed: tuple[str, ...]
) -> dict[Any, str | None]:
    """Each customer's most frequent allowed value of a column."""
    if column is None:
        return {}
    values = df[column].astype(object).map(lambda v: str(v).strip().lower() if v else None)
    groups: Any = values.groupby(df[key])
    found = groups.agg(lambda s: _mode(s, allowed)).to_dict()
    return {k: v if isinstance(v, str) else None for k, v in found.items()}


def _finish(
    out: pd.DataFrame,
    df: pd.DataFrame,
    frame: pd.DataFrame,
    opts: ProfileOptions,
    book: Playbook,
) -> pd.DataFrame:
    """One output record per customer: decision, shares, language, strategy."""
    import pandas as pd

    key = opts.customer_column
    langs = _per_customer(df, LANGUAGE, key, LANGS)
    channels = _per_customer(df, opts.channel_column, key, CHANNELS)
    rows = []
    for customer, row in zip(out.index, out.to_dict("records"), strict=True):
        decided = _decide(row, opts)
        total = sum(row[f"mass_{lab}"] for lab in LABELS)
        lang = langs.get(customer)
        record: dict[str, Any] = {
            key: customer,
            **{k: row[k] for k in ("messages", "scored", "undetermined", "errors")},
            **{k: v for k, v in decided.items() if k != "reason"},
            **{
                f"share_{lab}": round(row[f"mass_{lab}"] / total, 4) if total else 0.0
                for lab in LABELS
            },
            "language": lang,
            "strategy": _strategy(
                book,
                decided["profile_type"],
                opts.agent_lang or lang or "en",
                channels.get(customer),
            ),
            "reason": decided["reason"],
            "internal_only": True,
        }
        rows.append(record)
    result = pd.DataFrame(rows)
    if opts.time_column is not None and len(result):
        when = frame.groupby("customer", sort=False)["when"]
        result.insert(len(result.columns) - 2, "first_seen", result[key].map(when.min()))
        result.insert(len(result.columns) - 2, "last_seen", result[key].map(when.max()))
    return result


def _write(df: pd.DataFrame, target: Path, delimiter: str | None = None) -> None:
    """Write a small table atomically, in the format of the target's extension (a CSV with
    `delimiter`, default ',')."""
    from custtype.batch.read import file_format

    fmt = file_format(target)
    if str(target) == "-":
        raise InputError("Write profiles to a file (.csv, .tsv, .jsonl or .parquet).")
    with atomic_output(target) as tmp:
        if fmt == "parquet":
            df.to_parquet(tmp, index=False)
        elif fmt == "jsonl":
            df.to_json(tmp, orient="records", lines=True, force_ascii=False, date_format="iso")
        else:
            sep = "\t" if fmt == "tsv" else (delimiter or ",")  # BOM: Excel reads UTF-8
            df.to_csv(tmp, index=False, sep=sep, encoding="utf-8-sig")


def _scored_messages(
    source: str | Path, popts: ProfileOptions, sopts: ScoreOptions, run: RunOptions
) -> tuple[pd.DataFrame, str | None]:
    """The columns a profile needs, for every row of `source` (scored here if not yet), and
    the source's CSV delimiter (a ';' file gets its profiles back with ';')."""
    import pandas as pd

    from custtype.batch.read import open_reader
    from custtype.batch.run import local_engine, progress_bar
    from custtype.batch.score import score_chunk

    reader = open_reader(source, delimiter=run.delimiter, encoding=run.encoding)
    keep = [c for c in (popts.customer_column, popts.time_column, popts.channel_column) if c]
    frames: list[pd.DataFrame] = []
    chunks = reader.chunks(None, run.chunk_rows)
    first = next(chunks, None)
    if first is None:
        raise InputError(f"{reader.name} has no rows.")
    check_columns(
        reader.name,
        first.frame.columns,
        [
            ("--customer-column", popts.customer_column),
            ("--time-column", popts.time_column),
            ("--channel-column", popts.channel_column),
        ],
    )
    from itertools import chain

    every = chain([first], chunks)
    if is_scored(first.frame):
        scored = (ch.frame for ch in every)
    elif run.jobs == 1:
        from custtype.batch.score import cached_assistant

        assistant = cached_assistant(run.model, run.playbook)
        scored = (score_chunk(ch.frame, sopts, assistant) for ch in every)
    else:
        scored = (frame for frame, _ in local_engine(every, sopts, run))
    with progress_bar(run, reader.estimate_rows(), 0, "custtype profile") as bar:
        for frame in scored:
            frames.append(read_back(frame[[*keep, *_SCORED]]))
            bar.update(len(frame))
    return pd.concat(frames, ignore_index=True), reader.csv_delimiter


def profile_file(
    source: str | Path,
    target: str | Path,
    options: ProfileOptions,
    score_options: ScoreOptions | None = None,
    **run: Any,
) -> pd.DataFrame:
    """Profile every customer in `source` (scored or not) and write the table to `target`.

    Example:
    ``profile_file("in.csv", "out.csv", ProfileOptions(customer_column="customer_id"))``
    """
    from custtype.batch.run import RunOptions

    sopts = score_options or ScoreOptions(evidence=False)
    runopts = RunOptions(**run)
    messages, delimiter = _scored_messages(source, options, sopts, runopts)
    result = _profiles(messages, options, load_playbook(runopts.playbook))
    _write(result, Path(target), delimiter)
    return result
