"""Run a scoring job over a file: read in chunks, score on a process pool or Dask, write.

Memory stays flat: only a bounded window of chunks (two per worker) is in flight, and each
worker process loads the model once.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import multiprocessing
import os
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, ValidationInfo, field_validator

from custtype.batch.lifeline import die_with_parent
from custtype.batch.read import (
    PROBLEM,
    STDIO,
    WHERE,
    Chunk,
    Format,
    JsonlReader,
    ParquetReader,
    Position,
    Reader,
    file_format,
    open_reader,
)
from custtype.batch.score import (
    ERROR,
    OUTCOME,
    OUTPUT_COLUMNS,
    Columns,
    ScoreOptions,
    attach,
    cached_assistant,
    columns_of,
    score_chunk,
    score_columns,
)
from custtype.batch.write import OutputJob, json_text, json_value
from custtype.errors import CusttypeError, InputError
from custtype.files import check_columns
from custtype.taxonomy import RESPONSIBLE_USE
from custtype.validation import Options

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)
Engine = Literal["local", "dask"]
_MAX_EXAMPLES = 10


class RunOptions(Options):
    """How to run a job: engine, processes, chunk size, resume, progress, model."""

    jobs: int = Field(1, ge=1)
    engine: Engine = "local"
    chunk_rows: int = Field(1000, ge=1)
    partition_rows: int = Field(10_000, ge=1)
    resume: bool = False
    progress: bool | None = None  # None: a bar on a terminal, quiet in a pipe
    model: str | None = None  # a path (a Path is taken as its string)
    playbook: str | None = None
    scheduler: str | None = None
    delimiter: str | None = Field(None, min_length=1, max_length=1)  # CSV: None detects it
    encoding: str | None = None  # CSV/TSV: None detects it

    @field_validator("model", "playbook", mode="before")
    @classmethod
    def _path_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, Path) else value

    @field_validator("scheduler")
    @classmethod
    def _scheduler_needs_dask(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value and info.data.get("engine") != "dask":
            raise ValueError("--scheduler needs --engine dask")
        return value


@dataclass
class ScoreSummary:
    """What a run did: rows written, outcomes, errors with examples, time."""

    output: str
    model_version: str
    resumed_from: int = 0
    rows: int = 0
    errors: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    error_examples: list[str] = field(default_factory=list)
    seconds: float = 0.0
    read_as: dict[str, str] = field(default_factory=dict)  # detected encoding, delimiter

    def add(self, frame: pd.DataFrame) -> None:
        """Count a written chunk."""
        self.rows += len(frame)
        errors = [e for e in frame[ERROR].tolist() if e is not None]
        self.errors += len(errors)
        room = _MAX_EXAMPLES - len(self.error_examples)
        self.error_examples.extend(errors[: max(0, room)])
        self.outcomes.update("error" if o is None else str(o) for o in frame[OUTCOME].tolist())

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0

    def lines(self) -> list[str]:
        """What the CLI tells the user at the end of a run."""
        counts = ", ".join(
            f"{k} {self.outcomes[k]:,}"
            for k in ("type", "none", "undetermined", "error")
            if self.outcomes.get(k)
        )
        out = [
            f"scored {self.rows:,} rows into {self.output} in {self.seconds:.1f} s "
            f"({self.rows_per_second:,.0f} rows/s; model {self.model_version})"
            + (f": {counts}" if counts else "")
        ]
        if self.read_as:
            out.append("read as " + ", ".join(f"{k} {v}" for k, v in self.read_as.items()))
        if self.resumed_from:
            out.append(f"resumed after the {self.resumed_from:,} rows an earlier run wrote")
        if self.errors:
            rows = "row" if self.errors == 1 else "rows"
            out.append(
                f"{self.errors:,} {rows} could not be scored (custtype_error says why), e.g.:"
            )
            out.extend(f"  {e}" for e in self.error_examples[:5])
        out.append(RESPONSIBLE_USE)
        return out


@dataclass
class Layout:
    """Output columns (CSV/TSV), Arrow schema and value converters (Parquet)."""

    columns: list[str] | None = None
    schema: Any = None
    converters: dict[str, Any] = field(default_factory=dict)


def _input_columns(reader: Reader) -> list[str]:
    return [c for c in reader.columns if c not in (WHERE, PROBLEM, *OUTPUT_COLUMNS)]


def _arrow_type(kinds: set[str]) -> Any:
    """The Arrow type for a JSON column from the kinds of its values."""
    import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]

    found = kinds - {"null"}
    if found == {"bool"}:
        return pa.bool_()
    if found == {"int"}:
        return pa.int64()
    if found and found <= {"int", "float"}:
        return pa.float64()
    return pa.string()


def output_layout(
    reader: Reader, fmt: Format, kinds: dict[str, set[str]] | None, playbook: str | None = None
) -> Layout:
    """Fixed columns for CSV/TSV and a schema for Parquet; JSON Lines needs neither."""
    import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]

    from custtype.strategy.playbook import load_playbook

    inputs = _input_columns(reader)
    if fmt == "jsonl":
        return Layout()
    if fmt != "parquet":
        return Layout(columns=[*inputs, *OUTPUT_COLUMNS])
    fields, conv = [], {}
    for name in inputs:
        if isinstance(reader, ParquetReader):
            fields.append(reader.schema.field(name))
            conv[name] = lambda v: v
            continue
        typ = _arrow_type(kinds.get(name, set())) if kinds is not None else pa.string()
        fields.append(pa.field(name, typ))
        conv[name] = json_text if typ == pa.string() else json_value
    for name in OUTPUT_COLUMNS:
        typ = {"custtype_confidence": pa.float64(), "custtype_internal_only": pa.bool_()}
        fields.append(pa.field(name, typ.get(name, pa.string())))
    notice = load_playbook(playbook).notice["en"]
    schema = pa.schema(fields, metadata={"custtype_notice": notice})
    return Layout(schema=schema, converters=conv)


def _check_columns(reader: Reader, opts: ScoreOptions) -> ScoreOptions:
    """Refuse a missing text/lang/channel/id column up front, listing the columns there are."""
    have = set(reader.columns)
    if opts.id_column is None and "id" in have:
        opts = opts.model_copy(update={"id_column": "id"})
    check_columns(
        reader.name,
        reader.columns,
        [
            ("--text-column", opts.text_column),
            ("--lang-column", opts.lang_column),
            ("--channel-column", opts.channel_column),
            ("--id-column", opts.id_column),
        ],
    )
    return opts


def _peek_jsonl(chunks: Iterator[Chunk], opts: ScoreOptions, name: str) -> Iterator[Chunk]:
    """Fail early when no well-formed line of the first chunk has the text field."""
    first = next(chunks, None)
    if first is None:
        return iter(())
    frame = first.frame
    parsed = frame[PROBLEM].isna()
    if parsed.any() and (
        opts.text_column not in frame.columns or frame.loc[parsed, opts.text_column].isna().all()
    ):
        keys = [c for c in frame.columns if c not in (WHERE, PROBLEM)]
        raise InputError(
            f"{name}: no line has the field {opts.text_column!r} (found: "
            f"{', '.join(keys) or 'none'}). Name the right one with --text-column."
        )
    return chain([first], chunks)


def _init_worker(parent: int, model: str | None, playbook: str | None) -> None:
    """Each worker process: die with the parent, leave Ctrl-C to it; load the model once."""
    die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    cached_assistant(model, playbook)


def _score_remote(
    cols: Columns, opts: ScoreOptions, model: str | None, playbook: str | None
) -> dict[str, list[Any]]:
    return score_columns(cols, opts, cached_assistant(model, playbook))


def local_engine(
    chunks: Iterable[Chunk], opts: ScoreOptions, run: RunOptions
) -> Iterator[tuple[pd.DataFrame, Position]]:
    """Scored chunks in input order, on this process (jobs=1) or a pool of `jobs` processes."""
    if run.jobs == 1:
        assistant = cached_assistant(run.model, run.playbook)
        for ch in chunks:
            yield score_chunk(ch.frame, opts, assistant), ch.end
        return
    ctx = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(
        run.jobs,
        mp_context=ctx,
        initializer=_init_worker,
        initargs=(os.getpid(), run.model, run.playbook),
    )
    try:
        yield from _pooled(pool, chunks, opts, run)
    except BrokenProcessPool:
        raise CusttypeError(
            "a worker process died (out of memory, killed, or the job was started from a "
            "script without `if __name__ == '__main__':`). Run again with --resume to continue."
        ) from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _pooled(
    pool: ProcessPoolExecutor, chunks: Iterable[Chunk], opts: ScoreOptions, run: RunOptions
) -> Iterator[tuple[pd.DataFrame, Position]]:
    """Submit chunks to the pool, at most 2 per worker in flight; yield in order."""
    window: deque[tuple[Future[dict[str, list[Any]]], Chunk]] = deque()
    for ch in chunks:
        cols = columns_of(ch.frame, opts)
        window.append((pool.submit(_score_remote, cols, opts, run.model, run.playbook), ch))
        if len(window) >= 2 * run.jobs:
            fut, done = window.popleft()
            yield attach(done.frame, fut.result()), done.end
    while window:
        fut, done = window.popleft()
        yield attach(done.frame, fut.result()), done.end


@contextmanager
def _readable(source: str | Path, spool: bool) -> Iterator[str]:
    """The input path; stdin is copied to a temp file first when it must be read twice."""
    if str(source) != STDIO or not spool:
        yield str(source)
        return
    with tempfile.TemporaryDirectory(prefix="custtype-") as tmp:
        path = Path(tmp) / "stdin.jsonl"
        with path.open("wb") as fh:
            shutil.copyfileobj(sys.stdin.buffer, fh)
        yield str(path)


def _model_version(model: str | None) -> str:
    """The version of the model a run uses (from its card, not unpickled)."""
    from custtype.model.artifact import default_model_dir, read_card

    return str(read_card(Path(model) if model else default_model_dir())["version"])


def progress_bar(
    run: RunOptions, total: int | None, initial: int, desc: str = "custtype score"
) -> Any:
    """A tqdm bar on stderr (rows/s, ETA); off in a pipe unless forced."""
    from tqdm.auto import tqdm

    disable = None if run.progress is None else not run.progress
    return tqdm(
        total=total,
        initial=initial,
        unit=" rows",
        disable=disable,
        file=sys.stderr,
        smoothing=0.05,
        mininterval=0.5,
        dynamic_ncols=True,
        desc=desc,
    )


def _fingerprint(reader: Reader, fmt: Format, opts: ScoreOptions, version: str) -> dict[str, Any]:
    """What a resumed run must share with the interrupted one."""
    path = reader.path
    stat = path.stat() if path is not None else None
    return {
        "input": str(path.resolve()) if path is not None else STDIO,
        "input_size": stat.st_size if stat else None,
        "input_mtime_ns": stat.st_mtime_ns if stat else None,
        "format": fmt,
        "read": [reader.delimiter, reader.encoding],
        "options": opts.fingerprint(),
        "model_version": version,
    }


def run_scoring(
    source: str | Path, target: str | Path, opts: ScoreOptions, run: RunOptions
) -> ScoreSummary:
    """Score `source` into `target`; see `custtype.batch.score_file`."""
    _refuse_same_file(source, target)
    in_fmt, out_fmt = file_format(source), file_format(target)
    if out_fmt == "xlsx":
        raise InputError(
            f"Cannot write {target}: write the scored table as .csv, .tsv, .jsonl or .parquet "
            "(Excel opens all but JSON Lines)."
        )
    if run.resume and str(source) == STDIO:
        raise InputError("--resume needs an input file, not '-' (stdin).")
    scan = in_fmt == "jsonl" and (out_fmt != "jsonl" or run.engine == "dask")
    with _readable(source, spool=scan) as path:
        reader = open_reader(path, in_fmt, run.delimiter, run.encoding)
        if str(source) == STDIO:
            reader.name = "<stdin>"
        kinds = reader.scan() if scan and isinstance(reader, JsonlReader) else None
        if in_fmt != "jsonl" or kinds is not None:
            opts = _check_columns(reader, opts)
        elif opts.id_column is None:
            opts = opts.model_copy(update={"id_column": "id"})
        layout = output_layout(reader, out_fmt, kinds, run.playbook)
        version = _model_version(run.model)
        job = OutputJob(
            target,
            out_fmt,
            _fingerprint(reader, out_fmt, opts, version),
            run.resume,
            layout.columns,
            layout.schema,
            layout.converters,
            reader.csv_delimiter,  # a ';' file comes back as one
        )
        summary = ScoreSummary(
            str(target), version, resumed_from=job.start.rows, read_as=reader.detected
        )
        return _drive(reader, job, opts, run, summary, in_fmt == "jsonl" and kinds is None)


def _refuse_same_file(source: str | Path, target: str | Path) -> None:
    """Writing the output over the input would lose the input: refuse it up front."""
    if STDIO in (str(source), str(target)):
        return
    src, dst = Path(source), Path(target)
    same = src.resolve() == dst.resolve()
    if not same and dst.exists():
        with contextlib.suppress(OSError):
            same = src.samefile(dst)  # a hard link or another path to the same file
    if same:
        raise InputError(f"The output {target} is the input file: choose another output path.")


def _drive(
    reader: Reader,
    job: OutputJob,
    opts: ScoreOptions,
    run: RunOptions,
    summary: ScoreSummary,
    peek: bool,
) -> ScoreSummary:
    """Pull scored chunks through the writer, committing a checkpoint after each."""
    started = time.perf_counter()
    bar = progress_bar(run, reader.estimate_rows(), job.start.rows)
    try:
        if run.engine == "dask":
            from custtype.batch.dask import dask_engine

            scored = dask_engine(reader, job.start, opts, run)
        else:
            chunks = reader.chunks(job.start, run.chunk_rows)
            if peek:
                chunks = _peek_jsonl(chunks, opts, reader.name)
            scored = local_engine(chunks, opts, run)
        for frame, end in scored:
            job.writer.write(frame)
            job.commit(end)
            summary.add(frame)
            bar.update(len(frame))
    except BaseException as exc:
        job.abort()
        bar.close()
        resumable = not (job.committed == 0 and job.start.rows == 0) and not job.stdout
        if not resumable and not job.stdout:
            job.discard()  # nothing worth resuming: leave no partial output behind
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            hint = " Then run the same command with --resume." if resumable else ""
            raise InputError(
                f"No space left on the device while writing {job.final}: free some space.{hint}"
            ) from None
        raise
    job.finish()
    bar.total = bar.n
    bar.close()
    summary.seconds = time.perf_counter() - started
    log.info("scored %d rows (%d errors) in %.1f s", summary.rows, summary.errors, summary.seconds)
    return summary


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
    return run_scoring(source, target, options or ScoreOptions(), RunOptions(**run))
