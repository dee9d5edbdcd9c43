"""The Dask engine: the same scoring as the local engine, partition by partition on a cluster.

Workers read their own partitions of the input (so the path must be visible to every
worker, e.g. a shared disk), score them with the same `score_chunk` and send them back in
order; the client writes them with the same writer, so both engines give identical output.
`score_dask(ddf)` adds the custtype_* columns to any Dask DataFrame you already have.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from custtype.batch.read import PROBLEM, WHERE, Format, Position, Reader, open_reader
from custtype.batch.score import OUTPUT_COLUMNS, ScoreOptions, attach, cached_assistant, score_chunk

if TYPE_CHECKING:
    import pandas as pd

    from custtype.batch.run import RunOptions

# path, format, columns, start, rows, CSV delimiter and encoding, whether the user gave it
PartSpec = tuple[str, Format, list[str], Position, int, str | None, str | None, bool]


def _empty(columns: list[str]) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame({c: pd.Series([], dtype=object) for c in [*columns, WHERE, PROBLEM]})


def read_part(spec: PartSpec) -> pd.DataFrame:
    """One partition: `n` records from a position, as the local reader's chunk frame."""
    path, fmt, columns, start, n, delimiter, encoding, given = spec
    reader = open_reader(path, fmt, delimiter, encoding, given)
    reader.columns = list(columns)
    chunk = next(reader.chunks(start, n), None)
    if chunk is None:
        return _empty(columns)
    return chunk.frame.reindex(columns=[*columns, WHERE, PROBLEM])


def _score_partition(
    frame: pd.DataFrame, opts: ScoreOptions, model: str | None, playbook: str | None
) -> pd.DataFrame:
    return score_chunk(frame, opts, cached_assistant(model, playbook))


def score_dask(
    ddf: Any,
    options: ScoreOptions | None = None,
    model: str | None = None,
    playbook: str | None = None,
) -> Any:
    """Add the custtype_* columns to a Dask DataFrame; each worker loads the model once.

    Example: ``score_dask(dd.read_parquet("s3://bucket/messages/")).to_parquet("s3://…")``
    """
    opts = options or ScoreOptions()
    meta = attach(ddf._meta, {c: [] for c in OUTPUT_COLUMNS})
    return ddf.map_partitions(_score_partition, opts, model, playbook, meta=meta)


@contextmanager
def dask_client(scheduler: str | None, workers: int) -> Iterator[Any]:
    """A client of the cluster at `scheduler`, or of a local cluster of `workers` processes."""
    import dask
    from distributed import Client, LocalCluster

    if scheduler:
        with Client(scheduler) as client:  # type: ignore[no-untyped-call]
            yield client
        return
    # the workers' statistical profiler samples every thread's stack every 10 ms: ~8% of
    # a scoring worker's CPU here, for a dashboard this local cluster does not serve
    with (
        dask.config.set({"distributed.worker.profile.enabled": False}),
        LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,  # type: ignore[no-untyped-call]
    ):
        yield client


def _plan(reader: Reader, start: Position, every: int) -> tuple[list[PartSpec], list[Position]]:
    """Partition specs from the record boundaries, and each one's end."""
    if reader.path is None:  # pragma: no cover - stdin is spooled to a file first
        raise ValueError("the Dask engine reads files")
    marks = reader.boundaries(start, every)
    path = str(reader.path.resolve())
    specs = [
        (
            path,
            reader.fmt,
            list(reader.columns),
            a,
            b.rows - a.rows,
            reader.delimiter,
            reader.encoding,
            reader.given,
        )
        for a, b in pairwise(marks)
    ]
    return specs, marks[1:]


def dask_engine(
    reader: Reader, start: Position, opts: ScoreOptions, run: RunOptions
) -> Iterator[tuple[pd.DataFrame, Position]]:
    """Scored partitions in input order, computed on a Dask cluster."""
    import dask
    import dask.dataframe as dd

    specs, ends = _plan(reader, start, run.partition_rows)
    if not specs:
        return
    with (
        dask.config.set({"dataframe.convert-string": False}),
        dask_client(run.scheduler, run.jobs) as client,
    ):
        meta = _empty(list(reader.columns))
        ddf = dd.from_map(  # type: ignore[no-untyped-call]
            read_part, specs, meta=meta, enforce_metadata=False
        )
        parts = score_dask(ddf, opts, run.model, run.playbook).to_delayed()
        workers = max(1, len(client.scheduler_info().get("workers", {})))
        window: deque[tuple[Any, Position]] = deque()
        for part, end in zip(parts, ends, strict=True):
            window.append((client.compute(part), end))
            if len(window) >= 2 * workers:
                fut, done = window.popleft()
                yield fut.result(), done
        while window:
            fut, done = window.popleft()
            yield fut.result(), done
